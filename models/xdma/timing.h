// Optional timing model of the link between host and board (off by default: the model moves
// data as fast as the host can copy). Sources of the preset figures: docs/models.md "Timing".
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>

namespace fpgadext::models {

struct LinkTiming {
  bool enabled = false;
  // Payload bandwidth per direction after encoding and TLP overhead, bytes per second. 0 = as
  // fast as memcpy.
  double h2cBytesPerSecond = 0;
  double c2hBytesPerSecond = 0;
  uint64_t mmioReadNs = 0;         // a BAR read: non-posted request + completion round trip
  uint64_t postedWriteNs = 0;      // a BAR write, as seen by the writer
  uint64_t descriptorFetchNs = 0;  // an engine read of a descriptor block from host memory
  uint64_t writebackNs = 0;        // a poll-mode writeback or MSI reaching host memory

  static LinkTiming None() { return {}; }
  // PCIe Gen3 x4 in a Thunderbolt 3 enclosure: ≈2.8 GB/s, ≈1 µs read round trip.
  static LinkTiming Thunderbolt3();
  static LinkTiming Gen3x8();
  static LinkTiming Gen4x16();
};

// Paces a direction of the link: chunks from every channel of that direction share it.
class LinkPacer {
 public:
  // Blocks the calling engine thread for the time `bytes` occupy a link of `bytesPerSecond`
  // (after earlier chunks of other channels). Does nothing when bytesPerSecond <= 0.
  void Transfer(uint64_t bytes, double bytesPerSecond);
  // The same in two steps, so that the data copy overlaps the link time: Reserve books the
  // link and returns when the chunk is through (a default time point when not paced); the
  // engine copies, then waits with DelayUntil.
  std::chrono::steady_clock::time_point Reserve(uint64_t bytes, double bytesPerSecond);

 private:
  std::mutex lock_;
  std::chrono::steady_clock::time_point nextFree_{};
};

// Waits `ns` nanoseconds: spins for short waits (sleep granularity is tens of microseconds),
// sleeps for long ones up to shortly before the end and spins the rest. The spin does not yield:
// a yield can hand the CPU to a busy-polling driver thread for a whole scheduler tick (ms).
void DelayNs(uint64_t ns);
void DelayUntil(std::chrono::steady_clock::time_point deadline);

// Link time the model charged since the process began (every DelayNs, and each chunk's time on
// a paced link), for `fpgadext bench`'s predicted column (docs/performance.md "Host-cost model").
uint64_t ModelledLinkNs();

}  // namespace fpgadext::models
