// The transfer planner: checks a transfer against the card and the engine, splits it into
// per-channel shares, runs them side by side, waits with a timeout and recovers channels after
// errors. Shared by every path of the dext (in-band staging buffer, out-of-line descriptor,
// client memory, registered buffer).
#pragma once

#include <fpgadext/engine/channel_pool.h>
#include <fpgadext/engine/completion_wait.h>
#include <fpgadext/engine/dma_engine.h>
#include <fpgadext/engine/platform.h>

#include <atomic>

namespace fpgadext::engine {

struct PlannerOptions {
  // Transfers at least this long use every free channel of the direction (one share each);
  // shorter ones use one channel.
  uint64_t parallelThreshold = 4ull << 20;
  // Timeout: base plus length / minimum rate.
  uint64_t timeoutBaseNs = 2'000'000'000ull;
  uint64_t minimumBytesPerSecond = 50'000'000ull;
  // How Execute waits for a running transfer when its client asks for nothing else
  // (ChannelClient::completion); kInterrupt and kAdaptive need SetCompletionWait, else poll.
  CompletionPolicy completion = CompletionPolicy::kPoll;
  // kAdaptive polls this long after the transfer last made progress before it sleeps: about
  // the cost of one interrupt delivery to the dext on a Mac (docs/performance.md, 37 µs), so
  // that a completion that comes sooner never pays it, and a longer wait spends at most twice
  // what sleeping at once would have (the spin-then-block rule).
  uint64_t adaptiveSpinNs = 40'000;
};

// A transfer started with TransferPlanner::Begin and advanced with Poll: plain data the caller
// owns (no allocation). The host memory must stay alive until Poll returns a final status or
// Abort returns.
struct TransferJob {
  // kIdle: never begun (or Begin refused it). kWaitingForChannel: checked, no channel free yet.
  // kRunning: shares started on their channels. kDone: `result` is final, no channel held.
  enum class State : uint8_t { kIdle, kWaitingForChannel, kRunning, kDone };
  static constexpr uint32_t kMaxShares = 4;  // channels per direction (xdma-facts §2)
  struct Share {
    uint32_t channel;
    bool active;
    uint64_t length;
  };
  State state = State::kIdle;
  Direction direction = Direction::kHostToCard;
  uint64_t cardAddress = 0;
  uint64_t length = 0;
  HostMemory* host = nullptr;
  uint64_t deadline = 0;
  uint32_t wanted = 1;
  uint32_t ownedChannels = 0;  // channels the caller holds itself (not taken from the pool)
  uint32_t shareCount = 0;
  uint32_t active = 0;
  Share shares[kMaxShares] = {};
  IOReturn result = kIOReturnSuccess;
  uint64_t done = 0;  // bytes known to have moved
  // Scheduling (docs/engine.md "Scheduling"): who the transfer is for, and its place in the
  // pool's queue while it waits for a channel.
  ChannelClient* client = nullptr;
  ChannelWaiter waiter;
  // Channels whose engine did not stop when the job ended (a timeout, an abort): quarantined,
  // their windows handed over to the mover (the host memory may go). Owned channels among them
  // refuse Start until a Recover finds them idle (docs/engine.md "Quarantine").
  uint32_t quarantined = 0;
};

// Lets another queue stop a synchronous transfer (TransferPlanner::Execute): set with
// TransferPlanner::Cancel, checked between polls and while waiting for a channel. Zero-initialised
// (not requested); the caller owns it and keeps it alive while Execute runs.
struct TransferCancel {
  std::atomic<bool> requested{false};
};

class TransferPlanner {
 public:
  TransferPlanner(DataMover& mover, ChannelPool& channels, const Platform& platform,
                  const PlannerOptions& options = {});

  // Moves `length` bytes between card address `cardAddress` and host bytes [0, length) of
  // `host`. Errors: kIOReturnBadArgument when length > host.Length() or the card range wraps
  // around; kIOReturnOverrun when it ends past the card's memory; kIOReturnTimeout; the
  // engine's error otherwise (the channels are recovered before returning). Length 0 succeeds
  // at once. Begin, then Poll until the job is done, relaxing (Platform::relax) between polls
  // that found nothing new: the same checks, shares, deadline and recovery as the job API.
  // While no channel is free it sleeps through the pool's ChannelWaitSeam if the pool has one
  // (else relaxes). `client`: whose transfer it is, for the pool's fairness (null: the planner's
  // anonymous client, shared by every caller that names none). `cancel`: when another queue
  // sets it (Cancel), the transfer stops between two polls: kIOReturnAborted, its channels
  // recovered, the host memory no longer touched.
  [[nodiscard]] IOReturn Execute(Direction direction, uint64_t cardAddress, HostMemory& host,
                                 uint64_t length, ChannelClient* client = nullptr,
                                 TransferCancel* cancel = nullptr);
  // Asks the Execute given `cancel` to stop (from any queue or thread) and wakes it if it sleeps.
  void Cancel(TransferCancel* cancel);
  // The seam kInterrupt and kAdaptive sleep through; set before the first transfer.
  void SetCompletionWait(const CompletionWaitSeam& seam) { completionWait_ = seam; }
  // The policy Execute uses for `client`'s transfers (never kDefault).
  CompletionPolicy PolicyFor(const ChannelClient* client) const;

  // The same transfer without blocking: Begin checks it (the errors of Execute, returned at
  // once; nothing started) and starts it if a channel is free; Poll advances it and returns
  // kIOReturnNotReady while it runs, else its final status (job->done bytes moved), with the
  // channels recovered after an error and given back. Neither waits nor relaxes: the caller
  // polls again when it likes (e.g. from a dispatch queue). `ownedChannels`, if not 0, is a
  // mask of channels of `direction` the caller has taken from the pool for itself (a ring's
  // exclusive channel): the job runs on those and never takes or gives back pool channels.
  // `client` as for Execute. A job still waiting for a channel must not be begun again
  // (kIOReturnBusy): Poll it to the end or Abort it.
  [[nodiscard]] IOReturn Begin(Direction direction, uint64_t cardAddress, HostMemory& host,
                               uint64_t length, TransferJob* job, uint32_t ownedChannels = 0,
                               ChannelClient* client = nullptr);
  [[nodiscard]] IOReturn Poll(TransferJob* job);
  // Stops a job that has not finished (its channels recovered and given back; the host memory
  // is no longer touched once it returns) and completes it with `reason`.
  void Abort(TransferJob* job, IOReturn reason);

 private:
  DataMover& mover_;
  ChannelPool& channels_;
  Platform platform_;
  PlannerOptions options_;
  CompletionWaitSeam completionWait_;
  ChannelClient anonymous_;  // the client of transfers that name none

  // Begin for a job that is already default-initialised.
  [[nodiscard]] IOReturn BeginFresh(Direction direction, uint64_t cardAddress, HostMemory& host,
                                    uint64_t length, TransferJob* job, uint32_t ownedChannels,
                                    ChannelClient* client);
  // The channels a waiting job may start on now (0: none free).
  uint32_t TakeChannels(TransferJob* job);
  void StartShares(TransferJob* job, uint32_t mask);
  void ReleaseChannels(TransferJob* job, uint32_t mask);
  void Finish(TransferJob* job, IOReturn result);
  // Recovers a channel of the job after an error: given back, or quarantined when the engine
  // did not stop (job->quarantined; pool channels stay taken until a check finds them idle).
  void StopChannel(TransferJob* job, uint32_t channel);
  // Execute found nothing new on a running job: relax or sleep as `policy` says.
  void AwaitProgress(const TransferJob& job, CompletionPolicy policy, uint64_t lastProgressNs);
  // Looks at the direction's quarantined channels once (no waiting): those now idle are given
  // back to the pool. Returns whether any was.
  bool RecoverQuarantined(Direction direction);
};

}  // namespace fpgadext::engine
