// A serial work queue on its own thread: the engine under IODispatchQueue and the app-side
// dispatch queues of the emulated libdispatch subset.
//
// Performance (docs/performance.md): each queued block stands for a Mach message, and handing
// it to a sleeping thread costs a futex wake-up and, on a VM, waking an idle virtual CPU (tens
// of µs). So both sides spin briefly before they sleep: the queue thread for kSpinNs after its
// last block (the next call of a busy client usually arrives within that), a Sync caller for
// kSyncSpinNs (short calls finish within it). Spinning changes timing only, never ordering.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace fpgadext::emu {

class SerialQueue {
 public:
  explicit SerialQueue(std::string name);
  // Runs what is queued, then stops the thread and frees the queue. From the queue's own
  // thread (the last reference to an object dropped by one of its blocks) the queue finishes
  // what is queued and frees itself when its thread exits.
  static void Destroy(SerialQueue* queue);

  // False once the queue is cancelled.
  bool Async(std::function<void()> work);
  // Runs `work` on the queue and waits. False (and nothing run) when called from the queue's
  // own thread, which would deadlock, or after cancellation (also when Cancel drops it unrun).
  bool Sync(const std::function<void()>& work);
  // True in the thread that holds the queue (its own thread, or the one standing in for a block
  // that sleeps), and in a block another queue's holder runs with Sync (as IODispatchQueue's
  // OnQueue is for a queue that "invoked a second queue").
  bool OnQueue() const;
  // Accepts nothing more and drops what is queued but not started (IODispatchQueue.iig: the
  // queue stops dequeuing work); `last` runs once the block running now, if any, has finished.
  void Cancel(std::function<void()> last);
  const std::string& name() const { return name_; }

  // The queue whose thread is running the caller, or nullptr.
  static SerialQueue* Current();

  // Releases the queue while the calling block (which must hold it) waits for Wakeup(event) or
  // `deadline` (nullptr: none): another thread runs the queue's blocks meanwhile, and the caller
  // continues once it holds the queue again, after the block that thread is running.
  enum class SleepResult { kWoken, kTimedOut, kNotOnQueue };
  SleepResult Sleep(void* event, const std::chrono::steady_clock::time_point* deadline);
  // Wakes the first (or every) block sleeping on `event`; false if there was none.
  bool Wakeup(void* event, bool all);

  // How long the queue thread spins for more work, and a Sync caller for its block's end,
  // before sleeping.
  static constexpr uint64_t kSpinNs = 50'000;
  static constexpr uint64_t kSyncSpinNs = 20'000;

 private:
  struct Sleeper {
    void* event;
    std::thread::id thread;
    bool woken = false;
    bool timedOut = false;
    bool wantsQueue = false;  // woken or timed out: waits for its stand-in to hand back
    bool handedBack = false;
    std::condition_variable wake;
  };

  ~SerialQueue() = default;
  void Run();
  // Runs the queue's blocks for `sleeper` until it wants the queue back.
  void StandIn(Sleeper* sleeper);

  std::string name_;
  std::mutex lock_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> work_;
  std::atomic<uint64_t> queued_{0};  // blocks ever queued (read without the lock while spinning)
  bool sleeping_ = false;            // the thread waits on wake_ (under lock_)
  bool cancelled_ = false;
  bool stopping_ = false;
  bool selfDestruct_ = false;
  std::vector<Sleeper*> sleepers_;  // asleep and not yet woken (under lock_)
  std::atomic<std::thread::id> holder_{};
  std::thread thread_;
};

// Spins until `done()` or `ns` have passed; returns done(). Yields the CPU between checks, so
// that a spinning thread never keeps a runnable one (often the one it waits for) off a CPU —
// the machines this runs on may have only 2. Not inlined, so that instruction counts can leave
// spinning out (bench/callgrind.sh).
template <typename Done>
[[gnu::noinline]] bool SpinUntil(Done&& done, uint64_t ns) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::nanoseconds(ns);
  for (;;) {
    if (done()) return true;
    std::this_thread::yield();
    if (std::chrono::steady_clock::now() >= deadline) return done();
  }
}

}  // namespace fpgadext::emu
