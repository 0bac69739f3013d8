// A serial work queue on its own thread: the engine under IODispatchQueue and the app-side
// dispatch queues of the emulated libdispatch subset.
#pragma once

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

 private:
  ~SerialQueue() = default;
  void Run();

  std::string name_;
  std::mutex lock_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> work_;
  bool cancelled_ = false;
  bool stopping_ = false;
  bool selfDestruct_ = false;
  std::thread thread_;
};

}  // namespace fpgadext::emu
