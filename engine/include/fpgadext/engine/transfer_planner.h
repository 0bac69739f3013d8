// The transfer planner: checks a transfer against the card and the engine, splits it into
// per-channel shares, runs them side by side, waits with a timeout and recovers channels after
// errors. Shared by every path of the dext (in-band staging buffer, out-of-line descriptor,
// client memory, registered buffer).
#pragma once

#include <fpgadext/engine/channel_pool.h>
#include <fpgadext/engine/dma_engine.h>
#include <fpgadext/engine/platform.h>

namespace fpgadext::engine {

struct PlannerOptions {
  // Transfers at least this long use every free channel of the direction (one share each);
  // shorter ones use one channel.
  uint64_t parallelThreshold = 4ull << 20;
  // Timeout: base plus length / minimum rate.
  uint64_t timeoutBaseNs = 2'000'000'000ull;
  uint64_t minimumBytesPerSecond = 50'000'000ull;
};

class TransferPlanner {
 public:
  TransferPlanner(DataMover& mover, ChannelPool& channels, const Platform& platform,
                  const PlannerOptions& options = {});

  // Moves `length` bytes between card address `cardAddress` and host bytes [0, length) of
  // `host`. Errors: kIOReturnBadArgument when length > host.Length() or the card range wraps
  // around; kIOReturnOverrun when it ends past the card's memory; kIOReturnTimeout; the
  // engine's error otherwise (the channels are recovered before returning). Length 0 succeeds
  // at once.
  IOReturn Execute(Direction direction, uint64_t cardAddress, HostMemory& host, uint64_t length);

 private:
  DataMover& mover_;
  ChannelPool& channels_;
  Platform platform_;
  PlannerOptions options_;
};

}  // namespace fpgadext::engine
