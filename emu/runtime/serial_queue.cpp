#include "serial_queue.h"

namespace fpgadext::emu {
namespace {
thread_local SerialQueue* tCurrent = nullptr;
}

SerialQueue::SerialQueue(std::string name) : name_(std::move(name)) {
  thread_ = std::thread([this] { Run(); });
}

void SerialQueue::Destroy(SerialQueue* queue) {
  if (queue == nullptr) return;
  std::unique_lock guard(queue->lock_);
  queue->stopping_ = true;
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

SerialQueue* SerialQueue::Current() { return tCurrent; }

bool SerialQueue::Async(std::function<void()> work) {
  {
    std::lock_guard guard(lock_);
    if (cancelled_) return false;
    work_.push_back(std::move(work));
  }
  wake_.notify_one();
  return true;
}

bool SerialQueue::Sync(const std::function<void()>& work) {
  if (OnQueue()) return false;
  std::mutex doneLock;
  std::condition_variable doneWake;
  bool done = false;
  bool queued = Async([&] {
    work();
    std::lock_guard guard(doneLock);
    done = true;
    doneWake.notify_one();
  });
  if (!queued) return false;
  std::unique_lock guard(doneLock);
  doneWake.wait(guard, [&] { return done; });
  return true;
}

void SerialQueue::Cancel(std::function<void()> last) {
  {
    std::lock_guard guard(lock_);
    if (cancelled_) return;
    if (last) work_.push_back(std::move(last));
    cancelled_ = true;
  }
  wake_.notify_one();
}

void SerialQueue::Run() {
  tCurrent = this;
  std::unique_lock guard(lock_);
  for (;;) {
    wake_.wait(guard, [this] { return stopping_ || !work_.empty(); });
    if (work_.empty()) break;  // stopping and drained
    auto work = std::move(work_.front());
    work_.pop_front();
    guard.unlock();
    work();
    work = nullptr;  // captured references go now, on the queue
    guard.lock();
  }
  tCurrent = nullptr;
  if (selfDestruct_) {
    guard.unlock();
    delete this;
  }
}

}  // namespace fpgadext::emu
