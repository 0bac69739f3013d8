// TransferPlanner's non-blocking API (Begin/Poll/Abort): the same checks, shares and recovery
// as Execute, as a state machine the caller advances. Used by the dext's async selectors and
// its submission rings, which poll from dispatch queues instead of blocking a client's queue.
#include <fpgadext/engine/transfer_planner.h>

namespace fpgadext::engine {

namespace {

constexpr uint64_t kShareAlignment = 4096;
constexpr uint32_t kMaxShares = 4;

uint64_t JobTimeoutNs(const PlannerOptions& options, uint64_t length) {
  const uint64_t rate = options.minimumBytesPerSecond == 0 ? 1 : options.minimumBytesPerSecond;
  const unsigned __int128 transferNs =
      static_cast<unsigned __int128>(length) * 1'000'000'000u / rate;
  const unsigned __int128 total = transferNs + options.timeoutBaseNs;
  return total > ~uint64_t{0} ? ~uint64_t{0} : static_cast<uint64_t>(total);
}

}  // namespace

IOReturn TransferPlanner::Begin(Direction direction, uint64_t cardAddress, HostMemory& host,
                                uint64_t length, TransferJob* job, uint32_t ownedChannels) {
  if (job == nullptr) return kIOReturnBadArgument;
  *job = TransferJob{};
  if (length > host.Length()) return kIOReturnBadArgument;
  if (cardAddress + length < cardAddress) return kIOReturnBadArgument;
  if (cardAddress + length > mover_.Limits().cardMemorySize) return kIOReturnOverrun;
  if (length != 0 && host.Slots() == 0) return kIOReturnBadArgument;
  job->direction = direction;
  job->cardAddress = cardAddress;
  job->length = length;
  job->host = &host;
  job->ownedChannels = ownedChannels;
  if (length == 0) {
    job->state = TransferJob::State::kDone;
    return kIOReturnSuccess;
  }
  const uint64_t start = platform_.nowNs();
  const uint64_t timeout = JobTimeoutNs(options_, length);
  job->deadline = start + timeout < start ? ~uint64_t{0} : start + timeout;
  uint32_t wanted = 1;
  if (length >= options_.parallelThreshold) {
    wanted = ownedChannels != 0 ? static_cast<uint32_t>(__builtin_popcount(ownedChannels))
                                : channels_.Count(direction);
    if (host.Slots() < wanted) wanted = host.Slots();
    if (wanted > kMaxShares) wanted = kMaxShares;
    if (wanted == 0) wanted = 1;
  }
  job->wanted = wanted;
  job->state = TransferJob::State::kWaitingForChannel;
  (void)Poll(job);  // starts it now if a channel is free
  return kIOReturnSuccess;
}

void TransferPlanner::ReleaseChannels(TransferJob* job, uint32_t mask) {
  if (job->ownedChannels == 0 && mask != 0) channels_.Release(job->direction, mask);
}

void TransferPlanner::Finish(TransferJob* job, IOReturn result) {
  // Every channel still holding part of the transfer is stopped before the job is done: the
  // host memory must not be touched afterwards.
  for (uint32_t i = 0; i < job->shareCount; ++i) {
    if (!job->shares[i].active) continue;
    if (result != kIOReturnSuccess) (void)mover_.Recover(job->direction, job->shares[i].channel);
    job->shares[i].active = false;
    ReleaseChannels(job, 1u << job->shares[i].channel);
  }
  job->active = 0;
  job->result = result;
  job->state = TransferJob::State::kDone;
}

void TransferPlanner::StartShares(TransferJob* job, uint32_t mask) {
  const uint32_t taken = static_cast<uint32_t>(__builtin_popcount(mask));
  uint64_t shareLength = (job->length + taken - 1) / taken;
  shareLength = (shareLength + kShareAlignment - 1) / kShareAlignment * kShareAlignment;
  IOReturn result = kIOReturnSuccess;
  uint64_t offset = 0;
  for (uint32_t ch = 0; ch < 32 && mask >> ch != 0; ++ch) {
    if ((mask & (1u << ch)) == 0) continue;
    if (offset >= job->length || result != kIOReturnSuccess || job->shareCount == kMaxShares) {
      ReleaseChannels(job, 1u << ch);
      continue;
    }
    const uint64_t n = job->length - offset < shareLength ? job->length - offset : shareLength;
    const IOReturn r = mover_.Start(job->direction, ch, job->cardAddress + offset, *job->host,
                                    job->shareCount, offset, n);
    if (r != kIOReturnSuccess) {
      (void)mover_.Recover(job->direction, ch);
      ReleaseChannels(job, 1u << ch);
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

IOReturn TransferPlanner::Poll(TransferJob* job) {
  if (job == nullptr) return kIOReturnBadArgument;
  switch (job->state) {
    case TransferJob::State::kIdle:
      return kIOReturnNotOpen;
    case TransferJob::State::kDone:
      return job->result;
    case TransferJob::State::kWaitingForChannel: {
      uint32_t mask = 0;
      if (job->ownedChannels != 0) {
        // The caller's own channels: as many as wanted, lowest first.
        uint32_t rest = job->ownedChannels;
        for (uint32_t n = 0; rest != 0 && n < job->wanted; ++n) {
          const uint32_t lowest = rest & (~rest + 1u);
          mask |= lowest;
          rest &= ~lowest;
        }
      } else {
        mask = channels_.TryAcquire(job->direction, job->wanted);
      }
      if (mask == 0) {
        if (platform_.nowNs() > job->deadline) Finish(job, kIOReturnTimeout);
        return job->state == TransferJob::State::kDone ? job->result : kIOReturnNotReady;
      }
      StartShares(job, mask);
      return job->state == TransferJob::State::kDone ? job->result : kIOReturnNotReady;
    }
    case TransferJob::State::kRunning:
      break;
  }
  for (uint32_t i = 0; i < job->shareCount; ++i) {
    TransferJob::Share& share = job->shares[i];
    if (!share.active) continue;
    uint64_t moved = 0;
    const IOReturn r = mover_.Poll(job->direction, share.channel, &moved);
    if (r == kIOReturnNotReady) continue;
    if (r == kIOReturnSuccess) {
      share.active = false;
      --job->active;
      job->done += share.length;
      ReleaseChannels(job, 1u << share.channel);
      continue;
    }
    // This channel stopped on an error (its window is completed); it needs Recover too.
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
