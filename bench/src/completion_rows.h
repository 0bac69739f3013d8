// Rows per completion policy (docs/performance.md "Completion policy"): registered-buffer
// transfers with each policy chosen per call, and the CPU time each operation costs.
#pragma once

#include <fpgadext/bench.hpp>

#include <span>
#include <string>

#include "event_latency.h"

namespace fpgadext::bench {

// Adds "registered-poll", "registered-interrupt", "registered-adaptive" (those `options` wants)
// for every size, through a buffer registered over `memory`.
void MeasureCompletionPolicies(Device& device, const Options& options,
                               const std::vector<uint64_t>& sizes, std::span<std::byte> memory,
                               const AddMeasurement& add);

// CPU time of the process (every thread) and of the calling thread, in ns.
struct CpuTimes {
  double process = 0;
  double thread = 0;
};
CpuTimes CpuNow();

}  // namespace fpgadext::bench
