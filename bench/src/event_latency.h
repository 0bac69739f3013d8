// Event delivery latency (docs/library.md "Events"): user logic asserts a line → the app sees
// it, per way of waiting.
#pragma once

#include <fpgadext/bench.hpp>

#include <functional>
#include <string>

namespace fpgadext::bench {

// One measurement: `op` is one event, raised and seen (false on an error).
using AddMeasurement = std::function<void(const std::string& path, const std::string& direction,
                                          uint64_t size, const std::function<bool()>& op)>;

// Adds "events-block", "events-callback" and "events-poll" (those `options` wants) when the
// board has user interrupts and the reference design's raise register.
void MeasureEventLatency(Device& device, const Options& options, const AddMeasurement& add);

}  // namespace fpgadext::bench
