// The transfer planner's one state machine (docs/engine.md "Transfer planner"): Begin checks a
// transfer and starts it when a channel is free, Poll advances it, Abort stops it. Execute is
// Begin plus Poll until the job is done, relaxing between polls that found nothing new; the
// dext's synchronous selectors use Execute, its async selectors and submission rings poll the
// job themselves from dispatch queues.
#include <fpgadext/engine/transfer_planner.h>

namespace fpgadext::engine {

namespace {

// Shares are whole multiples of this, so every channel but the last starts on a page boundary
// of the host memory and of the card.
constexpr uint64_t kShareAlignment = 4096;

// A transfer asleep waiting for a channel while some are quarantined looks again this often: a
// quarantined channel found idle is reaped by the next acquire, and nothing wakes the sleeper.
constexpr uint64_t kQuarantineLookNs = 1'000'000;

// A transfer asleep waiting for a completion interrupt polls at least this often: a board that
// was removed interrupts nobody, and the poll's Status check is what notices it.
constexpr uint64_t kInterruptLookNs = 1'000'000;

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

// Every channel of the direction is quarantined (and it has any).
bool AllQuarantined(const ChannelPool& channels, Direction direction) {
  const uint32_t count = channels.Count(direction);
  const uint32_t all = count >= 32 ? ~0u : (1u << count) - 1u;
  return all != 0 && channels.Quarantined(direction) == all;
}

// The channels of the job's shares that are running now.
uint32_t RunningChannels(const TransferJob& job) {
  uint32_t mask = 0;
  for (uint32_t i = 0; i < job.shareCount; ++i) {
    if (job.shares[i].active) mask |= 1u << job.shares[i].channel;
  }
  return mask;
}

}  // namespace

TransferPlanner::TransferPlanner(DataMover& mover, ChannelPool& channels, const Platform& platform,
                                 const PlannerOptions& options)
    : mover_(mover), channels_(channels), platform_(platform), options_(options) {}

IOReturn TransferPlanner::Execute(Direction direction, uint64_t cardAddress, HostMemory& host,
                                  uint64_t length, ChannelClient* client, TransferCancel* cancel) {
  // Nothing to move is never an error here, wherever it points (Begin checks the range even
  // for 0 bytes).
  if (length == 0) return kIOReturnSuccess;
  if (cancel != nullptr && cancel->requested.load(std::memory_order_acquire)) {
    return kIOReturnAborted;
  }
  TransferJob job;  // already fresh: BeginFresh, not Begin, so it is not cleared twice
  const IOReturn begun = BeginFresh(direction, cardAddress, host, length, &job, 0, client);
  if (begun != kIOReturnSuccess) return begun;
  const CompletionPolicy policy = PolicyFor(job.client);
  uint64_t lastProgressNs = platform_.nowNs();
  for (;;) {
    const TransferJob::State before = job.state;
    const uint32_t activeBefore = job.active;
    const uint64_t doneBefore = job.done;
    // Read before the poll: a channel given back after it makes the wait below return at once.
    const uint32_t seen = channels_.Events();
    const IOReturn r = Poll(&job);
    if (r != kIOReturnNotReady) return r;
    if (cancel != nullptr && cancel->requested.load(std::memory_order_acquire)) {
      Abort(&job, kIOReturnAborted);  // channels recovered (or set aside) and given back
      return kIOReturnAborted;
    }
    // Relax only when the round found nothing new: a share that just finished gave its channel
    // back, and the next round should look at the others at once. A transfer queued for a
    // channel sleeps until the pool changes (or its deadline), instead of spinning.
    if (job.state != before || job.active != activeBefore || job.done != doneBefore) {
      lastProgressNs = platform_.nowNs();
    } else {
      if (job.state == TransferJob::State::kRunning && policy != CompletionPolicy::kPoll) {
        AwaitProgress(job, policy, lastProgressNs);
        continue;
      }
      if (job.state == TransferJob::State::kWaitingForChannel && channels_.HasWaitSeam()) {
        uint64_t until = job.deadline;
        // A quarantined channel that goes idle wakes nobody: look again soon.
        if (channels_.Quarantined(direction) != 0) {
          const uint64_t soon = platform_.nowNs() + kQuarantineLookNs;
          if (soon < until) until = soon;
        }
        channels_.Wait(seen, until);
      } else {
        platform_.relax();
      }
    }
  }
}

void TransferPlanner::Cancel(TransferCancel* cancel) {
  if (cancel == nullptr) return;
  cancel->requested.store(true, std::memory_order_release);
  channels_.Notify();  // a transfer asleep waiting for a channel wakes and sees it
  if (completionWait_.wake != nullptr) completionWait_.wake(completionWait_.context);  // or one
}

CompletionPolicy TransferPlanner::PolicyFor(const ChannelClient* client) const {
  CompletionPolicy policy = client != nullptr && client->completion != CompletionPolicy::kDefault
                                ? client->completion
                                : options_.completion;
  if (policy == CompletionPolicy::kDefault || !completionWait_.Usable()) {
    policy = CompletionPolicy::kPoll;
  }
  return policy;
}

void TransferPlanner::AwaitProgress(const TransferJob& job, CompletionPolicy policy,
                                    uint64_t lastProgressNs) {
  const uint64_t now = platform_.nowNs();
  const uint32_t mask = RunningChannels(job);
  if (mask == 0 ||
      (policy == CompletionPolicy::kAdaptive && now - lastProgressNs < options_.adaptiveSpinNs)) {
    platform_.relax();
    return;
  }
  // Read after the poll: a completion logged since then interrupts again when the wait enables
  // the channel (the IRQ block's source is a level), so none is slept through.
  const uint64_t seen = completionWait_.events(completionWait_.context, job.direction, mask);
  uint64_t until = now + kInterruptLookNs;
  if (job.deadline < until) until = job.deadline;
  completionWait_.wait(completionWait_.context, job.direction, mask, seen, until);
}

IOReturn TransferPlanner::Begin(Direction direction, uint64_t cardAddress, HostMemory& host,
                                uint64_t length, TransferJob* job, uint32_t ownedChannels,
                                ChannelClient* client) {
  if (job == nullptr) return kIOReturnBadArgument;
  if (job->waiter.queued) return kIOReturnBusy;  // clearing it would corrupt the pool's queue
  *job = TransferJob{};
  return BeginFresh(direction, cardAddress, host, length, job, ownedChannels, client);
}

IOReturn TransferPlanner::BeginFresh(Direction direction, uint64_t cardAddress, HostMemory& host,
                                     uint64_t length, TransferJob* job, uint32_t ownedChannels,
                                     ChannelClient* client) {
  if (length > host.Length()) return kIOReturnBadArgument;
  if (cardAddress + length < cardAddress) return kIOReturnBadArgument;  // wraps around
  if (cardAddress + length > mover_.Limits().cardMemorySize) return kIOReturnOverrun;
  if (length != 0 && host.Slots() == 0) return kIOReturnBadArgument;
  job->direction = direction;
  job->cardAddress = cardAddress;
  job->length = length;
  job->host = &host;
  job->ownedChannels = ownedChannels;
  job->client = client != nullptr ? client : &anonymous_;
  if (length == 0) {
    job->state = TransferJob::State::kDone;
    return kIOReturnSuccess;
  }
  // One deadline, computed once: it covers waiting for a channel too.
  const uint64_t start = platform_.nowNs();
  const uint64_t timeout = TimeoutNs(options_, length);
  job->deadline = start + timeout < start ? ~uint64_t{0} : start + timeout;
  // How many shares: one, or as many channels as the direction has and the memory has slots.
  uint32_t wanted = 1;
  if (length >= options_.parallelThreshold) {
    wanted = ownedChannels != 0 ? PopCount(ownedChannels) : channels_.Count(direction);
    if (host.Slots() < wanted) wanted = host.Slots();
    if (wanted > TransferJob::kMaxShares) wanted = TransferJob::kMaxShares;
    if (wanted == 0) wanted = 1;
  }
  job->wanted = wanted;
  job->state = TransferJob::State::kWaitingForChannel;
  // Start it now if a channel is free. What the first poll finds (an error of Start, say) is
  // the job's result, which the caller's next Poll returns.
  (void)Poll(job);
  return kIOReturnSuccess;
}

void TransferPlanner::ReleaseChannels(TransferJob* job, uint32_t mask) {
  if (job->ownedChannels == 0 && mask != 0) channels_.Release(job->direction, mask, job->client);
}

void TransferPlanner::StopChannel(TransferJob* job, uint32_t channel) {
  const uint32_t bit = 1u << channel;
  if (mover_.Recover(job->direction, channel) != kIOReturnNotResponding) {
    ReleaseChannels(job, bit);
    return;
  }
  // Still busy: the mover keeps its window mapped (the late bytes land there, nowhere else), and
  // the channel stays out of use until a check finds it idle; handing it out would only fail the
  // next transfer of the direction with kIOReturnBusy.
  job->quarantined |= bit;
  if (job->ownedChannels == 0) {
    channels_.Quarantine(job->direction, bit);
    channels_.Disown(job->direction, bit, job->client);  // taken, but no longer the client's
  }
}

bool TransferPlanner::RecoverQuarantined(Direction direction) {
  const uint32_t quarantined = channels_.BeginQuarantineCheck(direction);
  if (quarantined == 0) return false;
  uint32_t healthy = 0;
  for (uint32_t ch = 0; ch < 32 && quarantined >> ch != 0; ++ch) {
    // A quarantined channel's Recover reads its Status once (no waiting): cheap enough to do
    // at every acquire while any is quarantined.
    if ((quarantined & (1u << ch)) != 0 &&
        mover_.Recover(direction, ch) != kIOReturnNotResponding) {
      healthy |= 1u << ch;
    }
  }
  channels_.EndQuarantineCheck(direction, healthy);
  return healthy != 0;
}

void TransferPlanner::Finish(TransferJob* job, IOReturn result) {
  channels_.Cancel(&job->waiter);  // a job that ends while waiting leaves the pool's queue
  // Every channel still holding part of the transfer is stopped before the job is done: the
  // host memory must not be touched afterwards. A channel that does not go idle is quarantined
  // (StopChannel), and the job's result stays the first error, which is what the caller needs.
  for (uint32_t i = 0; i < job->shareCount; ++i) {
    if (!job->shares[i].active) continue;
    job->shares[i].active = false;
    if (result != kIOReturnSuccess) {
      StopChannel(job, job->shares[i].channel);
    } else {
      ReleaseChannels(job, 1u << job->shares[i].channel);
    }
  }
  job->active = 0;
  job->result = result;
  job->state = TransferJob::State::kDone;
}

void TransferPlanner::StartShares(TransferJob* job, uint32_t mask) {
  // Shares of whole 4 KiB multiples, the last one takes the rest; share i uses window slot i.
  // Channels that would get nothing are given back at once.
  const uint32_t taken = PopCount(mask);
  uint64_t shareLength = (job->length + taken - 1) / taken;
  shareLength = (shareLength + kShareAlignment - 1) / kShareAlignment * kShareAlignment;
  IOReturn result = kIOReturnSuccess;
  uint64_t offset = 0;
  for (uint32_t ch = 0; ch < 32 && mask >> ch != 0; ++ch) {
    if ((mask & (1u << ch)) == 0) continue;
    if (offset >= job->length || result != kIOReturnSuccess ||
        job->shareCount == TransferJob::kMaxShares) {
      ReleaseChannels(job, 1u << ch);
      continue;
    }
    const uint64_t n = job->length - offset < shareLength ? job->length - offset : shareLength;
    const IOReturn r = mover_.Start(job->direction, ch, job->cardAddress + offset, *job->host,
                                    job->shareCount, offset, n);
    if (r != kIOReturnSuccess) {
      // A failed Start may have touched the engine (a window refused after the channel was
      // stopped): recover it like the others. Its own result adds nothing to Start's error.
      StopChannel(job, ch);
      result = r;
      continue;
    }
    job->shares[job->shareCount++] = TransferJob::Share{ch, true, n};
    ++job->active;
    offset += n;
  }
  job->state = TransferJob::State::kRunning;
  if (result != kIOReturnSuccess) Finish(job, result);
}

uint32_t TransferPlanner::TakeChannels(TransferJob* job) {
  if (job->ownedChannels == 0) {
    // Quarantined channels are reaped here, at acquire: a look at each (no waiting), so that an
    // idle one serves this very transfer and its kept window is unmapped soon after it stopped.
    if (channels_.Quarantined(job->direction) != 0) (void)RecoverQuarantined(job->direction);
    // In turn (the pool's queue, docs/engine.md "Scheduling"): 0 while others go first.
    return channels_.Acquire(&job->waiter, job->direction, job->client, job->wanted);
  }
  // The caller's own channels: as many as wanted, lowest first.
  uint32_t mask = 0;
  uint32_t rest = job->ownedChannels;
  for (uint32_t n = 0; rest != 0 && n < job->wanted; ++n) {
    const uint32_t lowest = rest & (~rest + 1u);
    mask |= lowest;
    rest &= ~lowest;
  }
  return mask;
}

IOReturn TransferPlanner::Poll(TransferJob* job) {
  if (job == nullptr) return kIOReturnBadArgument;
  switch (job->state) {
    case TransferJob::State::kIdle:
      return kIOReturnNotOpen;
    case TransferJob::State::kDone:
      return job->result;
    case TransferJob::State::kWaitingForChannel: {
      const uint32_t mask = TakeChannels(job);
      if (mask != 0) {
        StartShares(job, mask);
      } else if (job->ownedChannels == 0 && AllQuarantined(channels_, job->direction)) {
        // Every channel of the direction is hung: fail now rather than wait for the deadline.
        Finish(job, kIOReturnNotResponding);
      } else if (platform_.nowNs() > job->deadline) {
        Finish(job, kIOReturnTimeout);  // nothing started
      }
      return job->state == TransferJob::State::kDone ? job->result : kIOReturnNotReady;
    }
    case TransferJob::State::kRunning:
      break;
  }
  // One round over the running shares.
  for (uint32_t i = 0; i < job->shareCount; ++i) {
    TransferJob::Share& share = job->shares[i];
    if (!share.active) continue;
    uint64_t moved = 0;
    const IOReturn r = mover_.Poll(job->direction, share.channel, &moved);
    if (r == kIOReturnNotReady) continue;
    if (r == kIOReturnSuccess) {
      // Done: its channel goes back at once (another transfer may take it).
      share.active = false;
      --job->active;
      job->done += share.length;
      ReleaseChannels(job, 1u << share.channel);
      continue;
    }
    // This channel stopped on an error (its window is completed); the first error ends the
    // transfer, and every channel still holding a share, this one included, is recovered.
    job->done += moved;
    Finish(job, r);
    return r;
  }
  if (job->active == 0) {
    Finish(job, kIOReturnSuccess);
    return kIOReturnSuccess;
  }
  if (platform_.nowNs() > job->deadline) {
    Finish(job, kIOReturnTimeout);
    return kIOReturnTimeout;
  }
  return kIOReturnNotReady;
}

void TransferPlanner::Abort(TransferJob* job, IOReturn reason) {
  if (job == nullptr || job->state == TransferJob::State::kDone ||
      job->state == TransferJob::State::kIdle) {
    return;
  }
  Finish(job, reason);
}

}  // namespace fpgadext::engine
