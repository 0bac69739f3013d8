#include "serial_queue.h"

#include <algorithm>
#include <memory>

namespace fpgadext::emu {
namespace {
thread_local SerialQueue* tCurrent = nullptr;
// Queues held by the threads that are waiting in Sync for the block this thread runs.
thread_local std::vector<const SerialQueue*> tLent;
}  // namespace

bool SerialQueue::OnQueue() const {
  if (holder_.load(std::memory_order_acquire) == std::this_thread::get_id()) return true;
  return std::find(tLent.begin(), tLent.end(), this) != tLent.end();
}

SerialQueue::SerialQueue(std::string name) : name_(std::move(name)) {
  thread_ = std::thread([this] { Run(); });
}

void SerialQueue::Destroy(SerialQueue* queue) {
  if (queue == nullptr) return;
  std::unique_lock guard(queue->lock_);
  queue->stopping_ = true;
  queue->queued_.fetch_add(1, std::memory_order_release);  // ends a spin at once
  if (queue->OnQueue()) {
    queue->selfDestruct_ = true;
    queue->thread_.detach();
    return;  // Run() deletes the queue when it leaves its loop
  }
  guard.unlock();
  queue->wake_.notify_one();
  queue->thread_.join();
  delete queue;
}

SerialQueue* SerialQueue::Current() {
  return tCurrent;
}

bool SerialQueue::Async(std::function<void()> work) {
  bool sleeping;
  {
    std::lock_guard guard(lock_);
    if (cancelled_) return false;
    work_.push_back(std::move(work));
    queued_.fetch_add(1, std::memory_order_release);
    sleeping = sleeping_;  // a spinning thread sees queued_; only a sleeping one needs a wake-up
  }
  if (sleeping) wake_.notify_one();
  return true;
}

bool SerialQueue::Sync(const std::function<void()>& work) {
  if (OnQueue()) return false;
  // Everything the block touches of this frame is used under doneLock, so the frame may go as
  // soon as this thread has held doneLock after `done` was set.
  std::mutex doneLock;
  std::condition_variable doneWake;
  std::atomic<bool> done{false};
  bool waiting = false;
  // The block runs as if on the queues this thread holds as well.
  std::vector<const SerialQueue*> lent = tLent;
  if (tCurrent != nullptr &&
      tCurrent->holder_.load(std::memory_order_acquire) == std::this_thread::get_id()) {
    lent.push_back(tCurrent);
  }
  // Signals the waiter when the block is destroyed: after it ran, or unrun when Cancel drops it.
  struct Done {
    std::mutex* lock;
    std::condition_variable* wake;
    std::atomic<bool>* done;
    bool* waiting;
    Done(std::mutex* l, std::condition_variable* w, std::atomic<bool>* d, bool* wt)
        : lock(l), wake(w), done(d), waiting(wt) {}
    Done(const Done&) = delete;
    Done& operator=(const Done&) = delete;
    ~Done() {
      std::lock_guard guard(*lock);
      done->store(true, std::memory_order_release);
      if (*waiting) wake->notify_one();
    }
  };
  auto signal = std::make_shared<Done>(&doneLock, &doneWake, &done, &waiting);
  bool ran = false;
  bool queued = Async([&, signal] {
    const size_t before = tLent.size();
    tLent.insert(tLent.end(), lent.begin(), lent.end());
    work();
    tLent.resize(before);
    ran = true;
  });
  signal.reset();
  if (!queued) return false;
  SpinUntil([&] { return done.load(std::memory_order_acquire); }, kSyncSpinNs);
  std::unique_lock guard(doneLock);
  waiting = true;
  doneWake.wait(guard, [&] { return done.load(std::memory_order_acquire); });
  return ran;
}

void SerialQueue::Cancel(std::function<void()> last) {
  bool sleeping;
  std::deque<std::function<void()>> dropped;
  {
    std::lock_guard guard(lock_);
    if (cancelled_) return;
    // Work not yet started is never dequeued; the block running now (if any) finishes.
    dropped.swap(work_);
    if (last) work_.push_back(std::move(last));
    cancelled_ = true;
    queued_.fetch_add(1, std::memory_order_release);
    sleeping = sleeping_;
  }
  if (sleeping) wake_.notify_one();
  dropped.clear();  // outside the lock: dropping a block may release objects (and queues)
}

void SerialQueue::Run() {
  tCurrent = this;
  holder_.store(std::this_thread::get_id(), std::memory_order_release);
  std::unique_lock guard(lock_);
  bool spin = false;
  for (;;) {
    if (spin && work_.empty() && !stopping_) {
      // Just ran a block: the next one often follows at once (a client's next call).
      const uint64_t seen = queued_.load(std::memory_order_acquire);
      guard.unlock();
      SpinUntil([&] { return queued_.load(std::memory_order_acquire) != seen; }, kSpinNs);
      guard.lock();
    }
    sleeping_ = true;
    wake_.wait(guard, [this] { return stopping_ || !work_.empty(); });
    sleeping_ = false;
    if (work_.empty()) break;  // stopping and drained
    auto work = std::move(work_.front());
    work_.pop_front();
    guard.unlock();
    work();
    work = nullptr;  // captured references go now, on the queue
    guard.lock();
    spin = true;
  }
  tCurrent = nullptr;
  if (selfDestruct_) {
    guard.unlock();
    delete this;
  }
}

SerialQueue::SleepResult SerialQueue::Sleep(void* event,
                                            const std::chrono::steady_clock::time_point* deadline) {
  if (!OnQueue()) return SleepResult::kNotOnQueue;
  Sleeper sleeper;
  sleeper.event = event;
  sleeper.thread = std::this_thread::get_id();
  std::unique_lock guard(lock_);
  sleepers_.push_back(&sleeper);
  std::thread standIn([this, &sleeper] { StandIn(&sleeper); });
  while (!sleeper.woken) {
    if (deadline == nullptr) {
      sleeper.wake.wait(guard);
    } else if (sleeper.wake.wait_until(guard, *deadline) == std::cv_status::timeout &&
               !sleeper.woken) {
      sleeper.woken = sleeper.timedOut = true;
      std::erase(sleepers_, &sleeper);
    }
  }
  sleeper.wantsQueue = true;
  wake_.notify_all();  // the stand-in, if it waits for work, hands the queue back
  sleeper.wake.wait(guard, [&] { return sleeper.handedBack; });
  guard.unlock();
  standIn.join();
  return sleeper.timedOut ? SleepResult::kTimedOut : SleepResult::kWoken;
}

bool SerialQueue::Wakeup(void* event, bool all) {
  bool any = false;
  std::lock_guard guard(lock_);
  for (auto it = sleepers_.begin(); it != sleepers_.end();) {
    Sleeper* s = *it;
    if (s->event != event) {
      ++it;
      continue;
    }
    s->woken = true;
    s->wake.notify_one();
    it = sleepers_.erase(it);
    any = true;
    if (!all) break;
  }
  return any;
}

void SerialQueue::StandIn(Sleeper* sleeper) {
  tCurrent = this;
  std::unique_lock guard(lock_);
  holder_.store(std::this_thread::get_id(), std::memory_order_release);
  for (;;) {
    if (sleeper->wantsQueue) break;
    if (work_.empty()) {
      sleeping_ = true;
      wake_.wait(guard, [&] { return sleeper->wantsQueue || !work_.empty(); });
      sleeping_ = false;
      continue;
    }
    auto work = std::move(work_.front());
    work_.pop_front();
    guard.unlock();
    work();
    work = nullptr;
    guard.lock();
  }
  holder_.store(sleeper->thread, std::memory_order_release);
  sleeper->handedBack = true;
  sleeper->wake.notify_one();
  tCurrent = nullptr;
}

}  // namespace fpgadext::emu
