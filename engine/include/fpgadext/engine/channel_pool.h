// Which channels are free, and who gets the next one (docs/engine.md "Scheduling"). Several user
// clients run transfers at once, each on its own queue; a channel serves one transfer at a time.
// Transfers that find no channel wait in a queue per direction: clients take turns (round robin
// by their last grant), a client's own transfers in order; while other clients wait, a client is
// held to its fair part of the shared channels. Rings take channels for themselves, but never
// the last shared one of a direction. The pool owns no thread and never blocks: waiting is the
// caller's, through the ChannelWaitSeam (the dext sleeps on a dispatch queue).
#pragma once

#include <fpgadext/engine/completion_wait.h>
#include <fpgadext/engine/types.h>

#include <atomic>

namespace fpgadext::engine {

// One per client (a dext user client): who is waiting and what it holds. Owned by the client,
// zero-initialised, alive as long as any of its transfers; the pool only reads and writes it under
// its lock.
struct ChannelClient {
  uint32_t held[2] = {};       // shared channels its transfers hold, per direction
  uint32_t queued[2] = {};     // its transfers waiting in each direction's queue
  uint64_t lastGrant[2] = {};  // the pool's grant number of its last grant (0: none yet)
  // How its synchronous transfers wait for completion (TransferPlanner::Execute).
  CompletionPolicy completion = CompletionPolicy::kDefault;
};

// A transfer waiting for channels, linked into the pool's queue (the caller owns it: no
// allocation). It must leave the queue (a grant or ChannelPool::Cancel) before it is destroyed.
struct ChannelWaiter {
  ChannelWaiter* next = nullptr;
  ChannelWaiter* previous = nullptr;
  ChannelClient* client = nullptr;
  uint64_t arrival = 0;  // queue order
  uint32_t wanted = 1;
  Direction direction = Direction::kHostToCard;
  bool queued = false;
};

// How a caller waiting for a channel sleeps until the pool changes (a futex-like seam the dext
// fills from DriverKit, docs/engine.md "Scheduling"). Both null: waiting falls back to
// Platform::relax.
struct ChannelWaitSeam {
  void* context = nullptr;
  // Returns once `*word` != `seen`, at `deadlineNs` (Platform::nowNs time), or earlier: a return
  // for no reason is allowed, the caller checks again.
  void (*wait)(void* context, const std::atomic<uint32_t>* word, uint32_t seen,
               uint64_t deadlineNs) = nullptr;
  // Called after `*word` changed: every wait on it returns.
  void (*wake)(void* context, const std::atomic<uint32_t>* word) = nullptr;
};

class ChannelPool {
 public:
  // `count[d]` channels of direction d (≤ 4 each).
  ChannelPool(uint32_t h2cChannels, uint32_t c2hChannels);

  uint32_t Count(Direction direction) const { return count_[static_cast<int>(direction)]; }

  // Quarantine (docs/engine.md "Quarantine"): channels the caller holds whose engine did not
  // stop (a timeout, an abort). They stay taken, so TryAcquire never hands them out, until a
  // check finds them idle. One caller at a time checks a direction: BeginQuarantineCheck
  // returns the quarantined channels (0 if none, or another caller is checking), and
  // EndQuarantineCheck gives those in `healthy` back to the pool as free channels.
  void Quarantine(Direction direction, uint32_t mask);
  uint32_t Quarantined(Direction direction) const {
    return quarantined_[static_cast<int>(direction)].load(std::memory_order_acquire);
  }
  uint32_t BeginQuarantineCheck(Direction direction);
  void EndQuarantineCheck(Direction direction, uint32_t healthy);

  // Fair shared use (the planner): takes up to `wanted` free channels of `direction` for
  // `client` if it is `waiter`'s turn, else queues `waiter` (once) and returns 0. The mask
  // returned is the channels taken; the waiter has then left the queue.
  uint32_t Acquire(ChannelWaiter* waiter, Direction direction, ChannelClient* client,
                   uint32_t wanted);
  // Takes `waiter` out of the queue (a transfer that stops waiting: timeout, abort). Harmless if
  // it is not queued.
  void Cancel(ChannelWaiter* waiter);
  // Gives channels back (from Acquire, TryAcquire or AcquireExclusive), counted off `client` if
  // given, and wakes the waiters.
  void Release(Direction direction, uint32_t mask, ChannelClient* client = nullptr);
  // Drops channels from `client`'s count without giving them back (they stay taken, e.g. set
  // aside as quarantined).
  void Disown(Direction direction, uint32_t mask, ChannelClient* client);

  // A channel for one client's exclusive use (a ring): kIOReturnSuccess with *mask its bit;
  // kIOReturnExclusiveAccess when it would be the last shared channel of the direction (every
  // client's transfers must keep one; it stays so until a ring gives one back); kIOReturnBusy
  // when every shared channel is in use right now (try again). Given back with Release.
  [[nodiscard]] IOReturn AcquireExclusive(Direction direction, uint32_t* mask);
  // Channels held exclusively now.
  uint32_t Exclusive(Direction direction) const;

  // Takes up to `wanted` free channels now, ignoring the queue and the reserve: for tests and
  // callers that manage channels themselves. Returns the mask taken (0 if none is free).
  uint32_t TryAcquire(Direction direction, uint32_t wanted);

  // Waiting. Events() changes whenever a channel is given back or the queue's head may have
  // changed: read it before an Acquire that returned 0, then Wait(seen, deadline) returns once
  // it differs (or at the deadline, or at once without a seam: HasWaitSeam() false).
  void SetWaitSeam(const ChannelWaitSeam& seam) { seam_ = seam; }
  bool HasWaitSeam() const { return seam_.wait != nullptr && seam_.wake != nullptr; }
  uint32_t Events() const { return events_.load(std::memory_order_acquire); }
  void Wait(uint32_t seen, uint64_t deadlineNs) const;
  // Changes Events() and wakes every waiter (e.g. a transfer was cancelled).
  void Notify();

 private:
  // Lock guarding the queues and the accounting: short sections, no call out while held.
  void Lock() const;
  void Unlock() const;
  uint32_t FreeLocked(int d) const;
  uint32_t TakeLocked(int d, uint32_t n);
  void UnlinkLocked(ChannelWaiter* waiter);
  // The queued waiter whose turn it is (null: none may take a channel now), and how many
  // channels it may take.
  ChannelWaiter* HeadLocked(int d, uint32_t* limit) const;
  uint32_t FairShareLocked(int d, const ChannelClient* client) const;

  uint32_t count_[2];
  std::atomic<uint32_t> busy_[2];
  std::atomic<uint32_t> quarantined_[2] = {};  // Quarantine: taken, not stopping
  std::atomic<bool> checking_[2] = {};         // a BeginQuarantineCheck is in progress
  mutable std::atomic<bool> locked_{false};
  uint32_t exclusive_[2] = {};
  ChannelWaiter* first_[2] = {};
  ChannelWaiter* last_[2] = {};
  uint32_t waitingClients_[2] = {};  // clients with at least one queued waiter
  uint64_t arrivals_ = 0;
  uint64_t grants_ = 0;
  std::atomic<uint32_t> events_{0};
  ChannelWaitSeam seam_;
};

}  // namespace fpgadext::engine
