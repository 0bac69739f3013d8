#include <fpgadext/engine/transfer_planner.h>

namespace fpgadext::engine {

namespace {

constexpr uint64_t kShareAlignment = 4096;
constexpr uint32_t kMaxShares = 4;  // channels per direction (xdma-facts §2)

// base + length / rate, in ns, saturating instead of wrapping.
uint64_t TimeoutNs(const PlannerOptions& options, uint64_t length) {
  const uint64_t rate = options.minimumBytesPerSecond == 0 ? 1 : options.minimumBytesPerSecond;
  const unsigned __int128 transferNs =
      static_cast<unsigned __int128>(length) * 1'000'000'000u / rate;
  const unsigned __int128 total = transferNs + options.timeoutBaseNs;
  return total > ~uint64_t{0} ? ~uint64_t{0} : static_cast<uint64_t>(total);
}

uint32_t PopCount(uint32_t mask) {
  return static_cast<uint32_t>(__builtin_popcount(mask));
}

}  // namespace

TransferPlanner::TransferPlanner(DataMover& mover, ChannelPool& channels, const Platform& platform,
                                 const PlannerOptions& options)
    : mover_(mover), channels_(channels), platform_(platform), options_(options) {}

IOReturn TransferPlanner::Execute(Direction direction, uint64_t cardAddress, HostMemory& host,
                                  uint64_t length) {
  if (length == 0) return kIOReturnSuccess;
  if (length > host.Length()) return kIOReturnBadArgument;
  if (cardAddress + length < cardAddress) return kIOReturnBadArgument;  // wraps around
  const EngineLimits& limits = mover_.Limits();
  if (cardAddress + length > limits.cardMemorySize) return kIOReturnOverrun;

  const uint64_t start = platform_.nowNs();
  const uint64_t timeout = TimeoutNs(options_, length);
  const uint64_t deadline = start + timeout < start ? ~uint64_t{0} : start + timeout;

  // How many shares: one, or as many channels as are free and as the memory has slots.
  uint32_t wanted = 1;
  if (length >= options_.parallelThreshold) {
    wanted = channels_.Count(direction);
    if (host.Slots() < wanted) wanted = host.Slots();
    if (wanted > kMaxShares) wanted = kMaxShares;
    if (wanted == 0) wanted = 1;
  }
  if (host.Slots() == 0) return kIOReturnBadArgument;

  // Wait (politely) for at least one free channel.
  uint32_t mask;
  while ((mask = channels_.TryAcquire(direction, wanted)) == 0) {
    if (platform_.nowNs() > deadline) return kIOReturnTimeout;
    platform_.relax();
  }

  // Split into shares of whole 4 KiB multiples (the last one takes the rest). Channels that
  // would get nothing are given back at once.
  struct Share {
    uint32_t channel;
    bool active;
  };
  Share shares[kMaxShares] = {};
  uint32_t shareCount = 0;
  const uint32_t taken = PopCount(mask);
  uint64_t shareLength = (length + taken - 1) / taken;
  shareLength = (shareLength + kShareAlignment - 1) / kShareAlignment * kShareAlignment;

  IOReturn result = kIOReturnSuccess;
  uint64_t offset = 0;
  for (uint32_t ch = 0; ch < 32 && mask >> ch != 0; ++ch) {
    if ((mask & (1u << ch)) == 0) continue;
    if (offset >= length || result != kIOReturnSuccess) {
      channels_.Release(direction, 1u << ch);
      mask &= ~(1u << ch);
      continue;
    }
    const uint64_t n = length - offset < shareLength ? length - offset : shareLength;
    const IOReturn r =
        mover_.Start(direction, ch, cardAddress + offset, host, shareCount, offset, n);
    if (r != kIOReturnSuccess) {
      // A failed Start may have touched the engine (e.g. a window was refused after the channel
      // was stopped): recover it like the others.
      (void)mover_.Recover(direction, ch);
      channels_.Release(direction, 1u << ch);
      mask &= ~(1u << ch);
      result = r;
      continue;
    }
    shares[shareCount++] = Share{ch, true};
    offset += n;
  }

  uint32_t active = result == kIOReturnSuccess ? shareCount : 0;
  while (active > 0) {
    bool finished = false;
    for (uint32_t i = 0; i < shareCount && result == kIOReturnSuccess; ++i) {
      if (!shares[i].active) continue;
      const IOReturn r = mover_.Poll(direction, shares[i].channel, nullptr);
      if (r == kIOReturnNotReady) continue;
      if (r == kIOReturnSuccess) {
        shares[i].active = false;
        --active;
        channels_.Release(direction, 1u << shares[i].channel);
        finished = true;
        continue;
      }
      // This channel stopped on an error (its window is completed); it needs Recover too.
      result = r;
    }
    if (result == kIOReturnSuccess && active > 0 && platform_.nowNs() > deadline) {
      result = kIOReturnTimeout;
    }
    if (result != kIOReturnSuccess) break;
    if (!finished && active > 0) platform_.relax();
  }

  // After an error or a timeout, stop every channel still holding part of this transfer: the
  // host memory must not be touched once we return.
  for (uint32_t i = 0; i < shareCount; ++i) {
    if (!shares[i].active) continue;
    if (result != kIOReturnSuccess) (void)mover_.Recover(direction, shares[i].channel);
    channels_.Release(direction, 1u << shares[i].channel);
  }
  return result;
}

}  // namespace fpgadext::engine
