// AXI-Stream throughput (docs/streams.md "Throughput"): continuous receive from the card into
// the receive ring, and sends to the card, on the board's stream channels.
#pragma once

#include <fpgadext/bench.hpp>

#include <cstdint>
#include <vector>

#include "event_latency.h"  // AddMeasurement

namespace fpgadext::bench {

// Adds "stream-receive" (direction "read": one slot received and handed back per operation, the
// card's generator sending packets of the slot's size) and "stream-send" (direction "write":
// one packet per operation) when the board has stream channels and `options` wants them.
// Receive needs Options::streamGenerator (a source of data at line rate); send runs without it.
// `sizes`: the run's sizes (receive uses those that can be slots).
void MeasureStreamThroughput(Device& device, const Options& options,
                             const std::vector<uint64_t>& sizes, const AddMeasurement& add);

}  // namespace fpgadext::bench
