// The libdispatch subset of the emulated app side, over the runtime's serial queues.
#include <Block.h>
#include <dispatch/dispatch.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>

#include "../runtime/serial_queue.h"

struct dispatch_object_header {
  std::atomic<int> references{1};
  virtual ~dispatch_object_header() = default;
};

struct dispatch_queue_s : dispatch_object_header {
  explicit dispatch_queue_s(const char* label) : queue(new fpgadext::emu::SerialQueue(label ? label : "dispatch")) {}
  ~dispatch_queue_s() override { fpgadext::emu::SerialQueue::Destroy(queue); }
  fpgadext::emu::SerialQueue* queue;
};

struct dispatch_semaphore_s : dispatch_object_header {
  std::mutex lock;
  std::condition_variable wake;
  long value = 0;
};

extern "C" {

dispatch_queue_t dispatch_queue_create(const char* label, dispatch_queue_attr_t attr) {
  return new dispatch_queue_s(label);
}

void dispatch_async(dispatch_queue_t queue, dispatch_block_t block) {
  dispatch_block_t copy = Block_copy(block);
  queue->queue->Async([copy] {
    copy();
    Block_release(copy);
  });
}

void dispatch_sync(dispatch_queue_t queue, dispatch_block_t block) {
  queue->queue->Sync([block] { block(); });
}

void dispatch_retain(void* object) { static_cast<dispatch_object_header*>(object)->references++; }

void dispatch_release(void* object) {
  auto* header = static_cast<dispatch_object_header*>(object);
  if (--header->references == 0) delete header;
}

dispatch_semaphore_t dispatch_semaphore_create(long value) {
  auto* s = new dispatch_semaphore_s;
  s->value = value;
  return s;
}

long dispatch_semaphore_wait(dispatch_semaphore_t s, dispatch_time_t timeout) {
  std::unique_lock guard(s->lock);
  auto ready = [s] { return s->value > 0; };
  if (timeout == DISPATCH_TIME_FOREVER) {
    s->wake.wait(guard, ready);
  } else {
    const auto deadline = std::chrono::steady_clock::time_point(std::chrono::nanoseconds(timeout));
    if (!s->wake.wait_until(guard, deadline, ready)) return 1;
  }
  --s->value;
  return 0;
}

long dispatch_semaphore_signal(dispatch_semaphore_t s) {
  {
    std::lock_guard guard(s->lock);
    ++s->value;
  }
  s->wake.notify_one();
  return 0;
}

dispatch_time_t dispatch_time(dispatch_time_t when, int64_t delta) {
  if (when == DISPATCH_TIME_FOREVER) return when;
  const uint64_t base = when == DISPATCH_TIME_NOW
                            ? static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                                        std::chrono::steady_clock::now().time_since_epoch())
                                                        .count())
                            : when;
  return base + delta;
}

}  // extern "C"
