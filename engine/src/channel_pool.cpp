// The channel scheduler (docs/engine.md "Scheduling"): free channels, the waiting queue per
// direction, per-client accounting and the exclusive channels of rings.
#include <fpgadext/engine/channel_pool.h>

namespace fpgadext::engine {

namespace {

constexpr uint32_t kMaxChannelsPerDirection = 4;
// Channels of a direction that rings can never take: every client's transfers keep these.
constexpr uint32_t kSharedReserve = 1;

uint32_t AllChannels(uint32_t count) {
  return count >= 32 ? 0xFFFF'FFFFu : ((1u << count) - 1u);
}

uint32_t PopCount(uint32_t mask) {
  return static_cast<uint32_t>(__builtin_popcount(mask));
}

void SpinWaitHint() {
#if defined(__aarch64__)
  __builtin_arm_yield();
#elif defined(__x86_64__)
  __builtin_ia32_pause();
#endif
}

}  // namespace

ChannelPool::ChannelPool(uint32_t h2cChannels, uint32_t c2hChannels)
    : count_{h2cChannels < kMaxChannelsPerDirection ? h2cChannels : kMaxChannelsPerDirection,
             c2hChannels < kMaxChannelsPerDirection ? c2hChannels : kMaxChannelsPerDirection},
      busy_{0, 0} {}

void ChannelPool::Lock() const {
  // Held for a few dozen instructions at a time (no call out), so a spin is cheaper than a
  // sleeping lock, and the engine stays free of DriverKit's IOLock.
  for (;;) {
    if (!locked_.exchange(true, std::memory_order_acquire)) return;
    while (locked_.load(std::memory_order_relaxed)) SpinWaitHint();
  }
}

void ChannelPool::Unlock() const {
  locked_.store(false, std::memory_order_release);
}

uint32_t ChannelPool::FreeLocked(int d) const {
  return ~busy_[d].load(std::memory_order_relaxed) & AllChannels(count_[d]);
}

uint32_t ChannelPool::TakeLocked(int d, uint32_t n) {
  uint32_t free = FreeLocked(d);
  uint32_t take = 0;
  for (uint32_t i = 0; free != 0 && i < n; ++i) {
    const uint32_t lowest = free & (~free + 1u);
    take |= lowest;
    free &= ~lowest;
  }
  // Acquire: what the previous holder did with the channel happens before our use of it (the
  // lock orders it too; the bits are also read without the lock by TryAcquire).
  if (take != 0) busy_[d].fetch_or(take, std::memory_order_acq_rel);
  return take;
}

void ChannelPool::UnlinkLocked(ChannelWaiter* waiter) {
  const int d = static_cast<int>(waiter->direction);
  if (waiter->previous != nullptr) {
    waiter->previous->next = waiter->next;
  } else {
    first_[d] = waiter->next;
  }
  if (waiter->next != nullptr) {
    waiter->next->previous = waiter->previous;
  } else {
    last_[d] = waiter->previous;
  }
  waiter->next = waiter->previous = nullptr;
  waiter->queued = false;
  if (--waiter->client->queued[d] == 0) --waitingClients_[d];
}

uint32_t ChannelPool::FairShareLocked(int d, const ChannelClient* client) const {
  // While other clients wait, a client may hold its part of the shared channels (at least one):
  // shared / clients waiting or asking.
  const uint32_t shared = count_[d] - PopCount(exclusive_[d]);
  const uint32_t clients = waitingClients_[d] + (client->queued[d] == 0 ? 1u : 0u);
  const uint32_t share = clients == 0 ? shared : shared / clients;
  return share == 0 ? 1 : share;
}

ChannelWaiter* ChannelPool::HeadLocked(int d, uint32_t* limit) const {
  // Round robin over clients: the waiter of the client served longest ago goes first, a client's
  // own waiters in arrival order. A client at its fair share waits while others do; if every
  // waiting client is at its share, the channel would idle: the first in turn gets one.
  ChannelWaiter* best = nullptr;
  ChannelWaiter* bestAtShare = nullptr;
  const bool othersWait = waitingClients_[d] > 1;
  for (ChannelWaiter* w = first_[d]; w != nullptr; w = w->next) {
    const bool atShare = othersWait && w->client->held[d] >= FairShareLocked(d, w->client);
    ChannelWaiter*& slot = atShare ? bestAtShare : best;
    if (slot == nullptr || w->client->lastGrant[d] < slot->client->lastGrant[d] ||
        (w->client->lastGrant[d] == slot->client->lastGrant[d] && w->arrival < slot->arrival)) {
      slot = w;
    }
  }
  if (best != nullptr) {
    const uint32_t share = FairShareLocked(d, best->client);
    *limit = othersWait ? share - best->client->held[d] : best->wanted;
    return best;
  }
  *limit = 1;
  return bestAtShare;
}

uint32_t ChannelPool::Acquire(ChannelWaiter* waiter, Direction direction, ChannelClient* client,
                              uint32_t wanted) {
  if (waiter == nullptr || client == nullptr || wanted == 0) return 0;
  const int d = static_cast<int>(direction);
  Lock();
  if (!waiter->queued) {
    waiter->client = client;
    waiter->direction = direction;
    waiter->wanted = wanted;
    waiter->arrival = ++arrivals_;
    waiter->queued = true;
    waiter->next = nullptr;
    waiter->previous = last_[d];
    if (last_[d] != nullptr) {
      last_[d]->next = waiter;
    } else {
      first_[d] = waiter;
    }
    last_[d] = waiter;
    if (client->queued[d]++ == 0) ++waitingClients_[d];
  }
  uint32_t limit = 0;
  uint32_t taken = 0;
  if (FreeLocked(d) != 0 && HeadLocked(d, &limit) == waiter) {
    taken = TakeLocked(d, wanted < limit ? wanted : limit);
    if (taken != 0) {
      UnlinkLocked(waiter);
      client->held[d] += PopCount(taken);
      client->lastGrant[d] = ++grants_;
    }
  }
  // Channels left and someone still waiting: the next in turn should look now.
  const bool others = taken != 0 && first_[d] != nullptr && FreeLocked(d) != 0;
  Unlock();
  if (others) Notify();
  return taken;
}

void ChannelPool::Cancel(ChannelWaiter* waiter) {
  if (waiter == nullptr) return;
  Lock();
  const bool was = waiter->queued;
  if (was) UnlinkLocked(waiter);
  Unlock();
  if (was) Notify();  // the turn may have passed to another waiter
}

void ChannelPool::Release(Direction direction, uint32_t mask, ChannelClient* client) {
  const int d = static_cast<int>(direction);
  mask &= AllChannels(count_[d]);
  if (mask == 0) return;
  Lock();
  exclusive_[d] &= ~mask;
  if (client != nullptr) {
    const uint32_t n = PopCount(mask);
    client->held[d] = client->held[d] > n ? client->held[d] - n : 0;
  }
  busy_[d].fetch_and(~mask, std::memory_order_release);
  const bool waiting = first_[d] != nullptr;
  Unlock();
  // The seam's wake costs a trip to the dext's queue: only when a transfer waits.
  events_.fetch_add(1, std::memory_order_acq_rel);
  if (waiting && HasWaitSeam()) seam_.wake(seam_.context, &events_);
}

void ChannelPool::Disown(Direction direction, uint32_t mask, ChannelClient* client) {
  if (client == nullptr) return;
  const int d = static_cast<int>(direction);
  Lock();
  const uint32_t n = PopCount(mask & AllChannels(count_[d]));
  client->held[d] = client->held[d] > n ? client->held[d] - n : 0;
  const bool waiting = first_[d] != nullptr;
  Unlock();
  if (waiting) Notify();  // the client's fair share has room again
}

IOReturn ChannelPool::AcquireExclusive(Direction direction, uint32_t* mask) {
  if (mask == nullptr) return kIOReturnBadArgument;
  *mask = 0;
  const int d = static_cast<int>(direction);
  Lock();
  IOReturn result = kIOReturnSuccess;
  if (count_[d] - PopCount(exclusive_[d]) <= kSharedReserve) {
    result = kIOReturnExclusiveAccess;
  } else if (first_[d] != nullptr) {
    result = kIOReturnBusy;  // transfers are waiting: they go first
  } else {
    *mask = TakeLocked(d, 1);
    if (*mask == 0) result = kIOReturnBusy;
    exclusive_[d] |= *mask;
  }
  Unlock();
  return result;
}

uint32_t ChannelPool::Exclusive(Direction direction) const {
  Lock();
  const uint32_t mask = exclusive_[static_cast<int>(direction)];
  Unlock();
  return mask;
}

uint32_t ChannelPool::TryAcquire(Direction direction, uint32_t wanted) {
  const int d = static_cast<int>(direction);
  Lock();
  const uint32_t taken = wanted == 0 ? 0 : TakeLocked(d, wanted);
  Unlock();
  return taken;
}

void ChannelPool::Wait(uint32_t seen, uint64_t deadlineNs) const {
  if (HasWaitSeam()) seam_.wait(seam_.context, &events_, seen, deadlineNs);
}

void ChannelPool::Notify() {
  events_.fetch_add(1, std::memory_order_acq_rel);
  if (HasWaitSeam()) seam_.wake(seam_.context, &events_);
}

// Quarantine (docs/engine.md "Quarantine"): lock-free, apart from the scheduler's lock.

void ChannelPool::Quarantine(Direction direction, uint32_t mask) {
  // They stay taken: nothing else keeps TryAcquire and Acquire away from them.
  quarantined_[static_cast<int>(direction)].fetch_or(mask, std::memory_order_acq_rel);
}

uint32_t ChannelPool::BeginQuarantineCheck(Direction direction) {
  const int d = static_cast<int>(direction);
  if (quarantined_[d].load(std::memory_order_acquire) == 0) return 0;
  // One checker per direction: a channel's engine is driven by one caller at a time.
  if (checking_[d].exchange(true, std::memory_order_acquire)) return 0;
  const uint32_t mask = quarantined_[d].load(std::memory_order_acquire);
  if (mask == 0) checking_[d].store(false, std::memory_order_release);
  return mask;
}

void ChannelPool::EndQuarantineCheck(Direction direction, uint32_t healthy) {
  const int d = static_cast<int>(direction);
  quarantined_[d].fetch_and(~healthy, std::memory_order_acq_rel);
  checking_[d].store(false, std::memory_order_release);
  if (healthy != 0) Release(direction, healthy);  // free again, waiters woken
}

}  // namespace fpgadext::engine
