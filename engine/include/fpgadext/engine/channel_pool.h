// Which channels are free. Several user clients run transfers at once, each on its own queue;
// a channel serves one transfer at a time. Lock-free: a bit per channel.
#pragma once

#include <fpgadext/engine/types.h>

#include <atomic>

namespace fpgadext::engine {

class ChannelPool {
 public:
  // `count[d]` channels of direction d (≤ 4 each).
  ChannelPool(uint32_t h2cChannels, uint32_t c2hChannels);

  // Takes up to `wanted` free channels of `direction`; returns a bit mask of those taken (0 if
  // none is free now).
  uint32_t TryAcquire(Direction direction, uint32_t wanted);
  void Release(Direction direction, uint32_t mask);
  uint32_t Count(Direction direction) const { return count_[static_cast<int>(direction)]; }

 private:
  uint32_t count_[2];
  std::atomic<uint32_t> busy_[2];
};

}  // namespace fpgadext::engine
