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
  // own thread, which would deadlock, or after cancellation.
  bool Sync(const std::function<void()>& work);
  bool OnQueue() const { return std::this_thread::get_id() == thread_.get_id(); }
  // Accepts nothing more; `last` runs after everything already queued.
  void Cancel(std::function<void()> last);
  const std::string& name() const { return name_; }

  // The queue whose thread is running the caller, or nullptr.
  static SerialQueue* Current();

  // How long the queue thread spins for more work, and a Sync caller for its block's end,
  // before sleeping.
  static constexpr uint64_t kSpinNs = 50'000;
  static constexpr uint64_t kSyncSpinNs = 20'000;

 private:
  ~SerialQueue() = default;
  void Run();

  std::string name_;
  std::mutex lock_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> work_;
  std::atomic<uint64_t> queued_{0};  // blocks ever queued (read without the lock while spinning)
  bool sleeping_ = false;            // the thread waits on wake_ (under lock_)
  bool cancelled_ = false;
  bool stopping_ = false;
  bool selfDestruct_ = false;
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
