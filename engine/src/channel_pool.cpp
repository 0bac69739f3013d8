#include <fpgadext/engine/channel_pool.h>

namespace fpgadext::engine {

namespace {

constexpr uint32_t kMaxChannelsPerDirection = 4;

uint32_t AllChannels(uint32_t count) {
  return count >= 32 ? 0xFFFF'FFFFu : ((1u << count) - 1u);
}

}  // namespace

ChannelPool::ChannelPool(uint32_t h2cChannels, uint32_t c2hChannels)
    : count_{h2cChannels < kMaxChannelsPerDirection ? h2cChannels : kMaxChannelsPerDirection,
             c2hChannels < kMaxChannelsPerDirection ? c2hChannels : kMaxChannelsPerDirection},
      busy_{0, 0} {}

uint32_t ChannelPool::TryAcquire(Direction direction, uint32_t wanted) {
  const int d = static_cast<int>(direction);
  const uint32_t all = AllChannels(count_[d]);
  if (wanted == 0) return 0;
  uint32_t busy = busy_[d].load(std::memory_order_relaxed);
  for (;;) {
    uint32_t free = ~busy & all;
    uint32_t take = 0;
    for (uint32_t n = 0; free != 0 && n < wanted; ++n) {
      const uint32_t lowest = free & (~free + 1u);
      take |= lowest;
      free &= ~lowest;
    }
    if (take == 0) return 0;
    // Acquire: what the previous owner did with the channel happens before our use of it.
    if (busy_[d].compare_exchange_weak(busy, busy | take, std::memory_order_acquire,
                                       std::memory_order_relaxed)) {
      return take;
    }
  }
}

void ChannelPool::Release(Direction direction, uint32_t mask) {
  const int d = static_cast<int>(direction);
  busy_[d].fetch_and(~mask, std::memory_order_release);
}

}  // namespace fpgadext::engine
