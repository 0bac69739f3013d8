// The libdispatch subset of the emulated app side (libdispatch-1542.0.4 semantics): serial queues
// over the runtime's serial queues, the main queue (drained by the main thread's CFRunLoop or
// dispatch_main), the global concurrent queues (a small worker pool each) and semaphores.
// Misuse that libdispatch turns into a crash ("BUG IN CLIENT OF LIBDISPATCH") aborts here.
#include <Block.h>
#include <dispatch/dispatch.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "../runtime/serial_queue.h"
#include "cf_internal.h"

namespace {

[[noreturn]] void ClientBug(const char* what) {
  std::fprintf(stderr, "BUG IN CLIENT OF LIBDISPATCH: %s\n", what);
  std::abort();
}

// Every dispatch object is one of these; the public types only point at them.
struct Object {
  virtual ~Object() = default;
  virtual void Dispose() { delete this; }
  std::atomic<int> references{1};
  bool immortal = false;  // main and global queues
  void* context = nullptr;
};

struct Queue : Object {
  virtual void Async(std::function<void()> work) = 0;
  virtual void Sync(const std::function<void()>& work) = 0;
  std::string label;
};

struct SerialQueue final : Queue {
  explicit SerialQueue(const char* name) : queue(new fpgadext::emu::SerialQueue(name ? name : "")) {
    label = name ? name : "";
  }
  ~SerialQueue() override { fpgadext::emu::SerialQueue::Destroy(queue); }
  void Async(std::function<void()> work) override { queue->Async(std::move(work)); }
  void Sync(const std::function<void()>& work) override {
    if (queue->OnQueue())
      ClientBug("dispatch_sync called on queue already owned by current thread");
    queue->Sync(work);
  }
  fpgadext::emu::SerialQueue* queue;
};

// Blocks run on worker threads, several at a time; dispatch_sync runs on the caller's thread.
struct GlobalQueue final : Queue {
  explicit GlobalQueue(const char* name) {
    label = name;
    immortal = true;
  }
  void Async(std::function<void()> work) override {
    {
      std::lock_guard guard(lock);
      pending.push_back(std::move(work));
      if (idle == 0 && workers < kMaxWorkers) {
        ++workers;
        std::thread([this] { Work(); }).detach();
      }
    }
    wake.notify_one();
  }
  void Sync(const std::function<void()>& work) override { work(); }
  void Work() {
    std::unique_lock guard(lock);
    for (;;) {
      ++idle;
      wake.wait(guard, [this] { return !pending.empty(); });
      --idle;
      std::function<void()> work = std::move(pending.front());
      pending.pop_front();
      guard.unlock();
      work();
      guard.lock();
    }
  }
  static constexpr int kMaxWorkers = 4;
  std::mutex lock;
  std::condition_variable wake;
  std::deque<std::function<void()>> pending;
  int workers = 0;
  int idle = 0;
};

// Bound to the process's main thread: only that thread runs its blocks, from its run loop.
struct MainQueue final : Queue {
  MainQueue() {
    label = "com.apple.main-thread";
    immortal = true;
  }
  void Async(std::function<void()> work) override {
    {
      std::lock_guard guard(lock);
      pending.push_back(std::move(work));
    }
    fpgadext::emu::cf::WakeMainRunLoop();
  }
  void Sync(const std::function<void()>& work) override {
    if (fpgadext::emu::cf::IsMainThread()) {
      ClientBug("dispatch_sync called on queue already owned by current thread");
    }
    std::mutex doneLock;
    std::condition_variable doneWake;
    bool done = false;
    Async([&] {
      work();
      std::lock_guard guard(doneLock);
      done = true;
      doneWake.notify_one();
    });
    std::unique_lock guard(doneLock);
    doneWake.wait(guard, [&] { return done; });
  }
  bool Drain() {
    std::deque<std::function<void()>> batch;
    {
      std::lock_guard guard(lock);
      batch.swap(pending);
    }
    for (auto& work : batch) work();
    return !batch.empty();
  }
  bool HasWork() {
    std::lock_guard guard(lock);
    return !pending.empty();
  }
  std::mutex lock;
  std::deque<std::function<void()>> pending;
};

struct Semaphore final : Object {
  std::mutex lock;
  std::condition_variable wake;
  intptr_t value = 0;
  intptr_t original = 0;
  intptr_t waiters = 0;
  void Dispose() override {
    // libdispatch refuses to free a semaphore with waiters or with fewer signals than waits.
    if (value - waiters < original) ClientBug("Semaphore object deallocated while in use");
    delete this;
  }
};

struct Attr final : Object {};

Queue* AsQueue(dispatch_queue_t queue);

// A count of unfinished work and what to run when it reaches zero.
struct Group final : Object {
  std::mutex lock;
  std::condition_variable idle;
  intptr_t count = 0;
  std::vector<std::pair<dispatch_queue_t, std::function<void()>>> notify;  // queues retained
  void Dispose() override {
    if (count != 0) ClientBug("Group object deallocated while in use");
    delete this;
  }
  void Enter() {
    std::lock_guard guard(lock);
    ++count;
  }
  void Leave() {
    std::vector<std::pair<dispatch_queue_t, std::function<void()>>> ready;
    {
      std::lock_guard guard(lock);
      if (count <= 0) ClientBug("Unbalanced call to dispatch_group_leave()");
      if (--count == 0) ready.swap(notify);
      // Under the lock: a waiter that returns may release the group at once.
      idle.notify_all();
    }
    for (auto& [queue, work] : ready) {
      AsQueue(queue)->Async(std::move(work));
      dispatch_release(queue);  // the queue runs what it was given before it goes
    }
  }
};

MainQueue& Main() {
  static MainQueue* queue = new MainQueue;  // never freed
  return *queue;
}

template <class T>
T* Cast(const void* object) {
  return static_cast<T*>(const_cast<Object*>(static_cast<const Object*>(object)));
}

Queue* AsQueue(dispatch_queue_t queue) {
  if (queue == nullptr) ClientBug("NULL queue");
  return Cast<Queue>(queue);
}

std::function<void()> Wrap(dispatch_block_t block) {
  if (block == nullptr) ClientBug("NULL block");
  dispatch_block_t copy = Block_copy(block);
  auto shared = std::shared_ptr<void>(reinterpret_cast<void*>(copy), [](void* b) {
    Block_release(reinterpret_cast<dispatch_block_t>(b));
  });
  return [shared] { reinterpret_cast<dispatch_block_t>(shared.get())(); };
}

}  // namespace

namespace fpgadext::emu::cf {

bool DrainMainQueue() {
  return Main().Drain();
}
bool MainQueueHasWork() {
  return Main().HasWork();
}
bool IsMainThread() {
  return static_cast<pid_t>(syscall(SYS_gettid)) == getpid();
}

}  // namespace fpgadext::emu::cf

extern "C" {

dispatch_queue_t dispatch_queue_create(const char* label, dispatch_queue_attr_t attr) {
  if (attr != nullptr) ClientBug("only DISPATCH_QUEUE_SERIAL queues are emulated");
  return reinterpret_cast<dispatch_queue_t>(static_cast<Object*>(new SerialQueue(label)));
}

const char* dispatch_queue_get_label(dispatch_queue_t queue) {
  return queue ? AsQueue(queue)->label.c_str() : "";
}

void dispatch_async(dispatch_queue_t queue, dispatch_block_t block) {
  AsQueue(queue)->Async(Wrap(block));
}

void dispatch_async_f(dispatch_queue_t queue, void* context, dispatch_function_t work) {
  AsQueue(queue)->Async([context, work] { work(context); });
}

void dispatch_sync(dispatch_queue_t queue, dispatch_block_t block) {
  AsQueue(queue)->Sync([block] { block(); });
}

void dispatch_sync_f(dispatch_queue_t queue, void* context, dispatch_function_t work) {
  AsQueue(queue)->Sync([context, work] { work(context); });
}

dispatch_queue_main_t dispatch_get_main_queue(void) {
  return reinterpret_cast<dispatch_queue_main_t>(static_cast<Object*>(&Main()));
}

dispatch_queue_global_t dispatch_get_global_queue(intptr_t identifier, uintptr_t flags) {
  // DISPATCH_QUEUE_PRIORITY_* or the QoS class each stands for (QOS_CLASS_USER_INTERACTIVE 0x21,
  // USER_INITIATED 0x19, DEFAULT 0x15, UTILITY 0x11, BACKGROUND 0x09, UNSPECIFIED 0).
  static GlobalQueue* queues[5] = {
      new GlobalQueue("com.apple.root.user-interactive-qos"),
      new GlobalQueue("com.apple.root.user-initiated-qos"),
      new GlobalQueue("com.apple.root.default-qos"),
      new GlobalQueue("com.apple.root.utility-qos"),
      new GlobalQueue("com.apple.root.background-qos"),
  };
  if (flags != 0) return nullptr;  // flags are reserved
  int index;
  switch (identifier) {
    case 0x21:
      index = 0;
      break;
    case DISPATCH_QUEUE_PRIORITY_HIGH:
    case 0x19:
      index = 1;
      break;
    case DISPATCH_QUEUE_PRIORITY_DEFAULT:
    case 0x15:
      index = 2;
      break;
    case DISPATCH_QUEUE_PRIORITY_LOW:
    case 0x11:
      index = 3;
      break;
    case DISPATCH_QUEUE_PRIORITY_BACKGROUND:
    case 0x09:
      index = 4;
      break;
    default:
      return nullptr;
  }
  return reinterpret_cast<dispatch_queue_global_t>(static_cast<Object*>(queues[index]));
}

void dispatch_main(void) {
  if (!fpgadext::emu::cf::IsMainThread())
    ClientBug("dispatch_main() must be called on the main thread");
  for (;;) CFRunLoopRunInMode(kCFRunLoopDefaultMode, 1.0e10, false);
}

void dispatch_retain(dispatch_object_t object) {
  Object* o = Cast<Object>(object);
  if (!o->immortal) o->references.fetch_add(1, std::memory_order_relaxed);
}

void dispatch_release(dispatch_object_t object) {
  Object* o = Cast<Object>(object);
  if (o->immortal) return;
  const int before = o->references.fetch_sub(1, std::memory_order_acq_rel);
  if (before <= 0) ClientBug("over-release of an object");
  if (before == 1) o->Dispose();
}

void* dispatch_get_context(dispatch_object_t object) {
  return Cast<Object>(object)->context;
}

void dispatch_set_context(dispatch_object_t object, void* context) {
  Object* o = Cast<Object>(object);
  if (!o->immortal) o->context = context;
}

void dispatch_after_f(dispatch_time_t when, dispatch_queue_t queue, void* context,
                      dispatch_function_t work) {
  if (when == DISPATCH_TIME_FOREVER) return;  // libdispatch logs and drops it
  Queue* q = AsQueue(queue);
  dispatch_retain(queue);
  std::thread([when, q, queue, context, work] {
    std::this_thread::sleep_until(
        std::chrono::steady_clock::time_point(std::chrono::nanoseconds(when)));
    q->Async([context, work] { work(context); });
    dispatch_release(queue);
  }).detach();
}

void dispatch_after(dispatch_time_t when, dispatch_queue_t queue, dispatch_block_t block) {
  if (when == DISPATCH_TIME_FOREVER) return;
  std::function<void()> work = Wrap(block);
  Queue* q = AsQueue(queue);
  dispatch_retain(queue);
  std::thread([when, q, queue, work] {
    std::this_thread::sleep_until(
        std::chrono::steady_clock::time_point(std::chrono::nanoseconds(when)));
    q->Async(work);
    dispatch_release(queue);
  }).detach();
}

void dispatch_once_f(dispatch_once_t* predicate, void* context, dispatch_function_t function) {
  auto* state = reinterpret_cast<std::atomic<intptr_t>*>(predicate);
  intptr_t expected = 0;
  if (state->compare_exchange_strong(expected, 1, std::memory_order_acquire)) {
    function(context);
    state->store(~intptr_t{0}, std::memory_order_release);
    return;
  }
  while (state->load(std::memory_order_acquire) != ~intptr_t{0}) std::this_thread::yield();
}

void dispatch_once(dispatch_once_t* predicate, dispatch_block_t block) {
  dispatch_once_f(predicate, reinterpret_cast<void*>(block),
                  [](void* b) { reinterpret_cast<dispatch_block_t>(b)(); });
}

dispatch_group_t dispatch_group_create(void) {
  return reinterpret_cast<dispatch_group_t>(static_cast<Object*>(new Group));
}

void dispatch_group_enter(dispatch_group_t group) {
  Cast<Group>(group)->Enter();
}
void dispatch_group_leave(dispatch_group_t group) {
  Cast<Group>(group)->Leave();
}

void dispatch_group_async(dispatch_group_t group, dispatch_queue_t queue, dispatch_block_t block) {
  Group* g = Cast<Group>(group);
  g->Enter();
  std::function<void()> work = Wrap(block);
  AsQueue(queue)->Async([g, work] {
    work();
    g->Leave();
  });
}

void dispatch_group_async_f(dispatch_group_t group, dispatch_queue_t queue, void* context,
                            dispatch_function_t work) {
  Group* g = Cast<Group>(group);
  g->Enter();
  AsQueue(queue)->Async([g, context, work] {
    work(context);
    g->Leave();
  });
}

intptr_t dispatch_group_wait(dispatch_group_t group, dispatch_time_t timeout) {
  Group* g = Cast<Group>(group);
  std::unique_lock guard(g->lock);
  auto done = [g] { return g->count == 0; };
  if (timeout == DISPATCH_TIME_FOREVER) {
    g->idle.wait(guard, done);
    return 0;
  }
  const auto deadline = std::chrono::steady_clock::time_point(std::chrono::nanoseconds(timeout));
  return g->idle.wait_until(guard, deadline, done) ? 0 : 1;
}

static void Notify(dispatch_group_t group, dispatch_queue_t queue, std::function<void()> work) {
  Group* g = Cast<Group>(group);
  Queue* q = AsQueue(queue);
  {
    std::lock_guard guard(g->lock);
    if (g->count != 0) {
      dispatch_retain(queue);
      g->notify.emplace_back(queue, std::move(work));
      return;
    }
  }
  q->Async(std::move(work));
}

void dispatch_group_notify(dispatch_group_t group, dispatch_queue_t queue, dispatch_block_t block) {
  Notify(group, queue, Wrap(block));
}

void dispatch_group_notify_f(dispatch_group_t group, dispatch_queue_t queue, void* context,
                             dispatch_function_t work) {
  Notify(group, queue, [context, work] { work(context); });
}

dispatch_semaphore_t dispatch_semaphore_create(intptr_t value) {
  if (value < 0) return nullptr;
  auto* s = new Semaphore;
  s->value = value;
  s->original = value;
  return reinterpret_cast<dispatch_semaphore_t>(static_cast<Object*>(s));
}

intptr_t dispatch_semaphore_wait(dispatch_semaphore_t semaphore, dispatch_time_t timeout) {
  auto* s = Cast<Semaphore>(semaphore);
  std::unique_lock guard(s->lock);
  auto ready = [s] { return s->value > 0; };
  ++s->waiters;
  bool signalled = true;
  if (timeout == DISPATCH_TIME_FOREVER) {
    s->wake.wait(guard, ready);
  } else {
    const auto deadline = std::chrono::steady_clock::time_point(std::chrono::nanoseconds(timeout));
    signalled = s->wake.wait_until(guard, deadline, ready);
  }
  --s->waiters;
  if (!signalled) return 1;  // KERN_OPERATION_TIMED_OUT in libdispatch: any non-zero
  --s->value;
  return 0;
}

intptr_t dispatch_semaphore_signal(dispatch_semaphore_t semaphore) {
  auto* s = Cast<Semaphore>(semaphore);
  // Notified under the lock: a waiter that returns may release the semaphore at once (the
  // usual pattern), so nothing of it may be touched after the lock is given up.
  std::lock_guard guard(s->lock);
  ++s->value;
  const bool woke = s->waiters > 0;
  s->wake.notify_one();
  return woke ? 1 : 0;  // non-zero when a thread was woken
}

dispatch_time_t dispatch_time(dispatch_time_t when, int64_t delta) {
  if (when == DISPATCH_TIME_FOREVER) return when;
  const uint64_t base =
      when == DISPATCH_TIME_NOW
          ? static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                      std::chrono::steady_clock::now().time_since_epoch())
                                      .count())
          : when;
  return base + static_cast<uint64_t>(delta);
}

}  // extern "C"
