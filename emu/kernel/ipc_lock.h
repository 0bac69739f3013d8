// The lock xnu takes around what an app asks of a user client (iokit/Kernel/IOUserClient.cpp:
// IOUserClient::ipcEnter/ipcExit on the user client's IORWLock). A call takes it shared, or not
// at all when the user client's properties say IOUserClientDefaultLocking = false
// (is_io_service_open_extended reads the key; IOService::Create in IOUserServer.cpp gives a
// dext's user client the properties of its personality's dictionary); IOServiceClose
// (is_io_service_close) always takes it exclusive. So by default a close waits for every call
// in flight on that connection, and a dext whose user client opts out can see its Stop run while
// a call is still in its ExternalMethod. A waiting close goes before calls that come after it
// (the emulation's choice: xnu's read-write lock policy is not what these tests are about).
#pragma once

#include <condition_variable>
#include <mutex>

namespace fpgadext::emu::broker {

class IpcLock {
 public:
  enum class Mode { kNone, kShared, kExclusive };

  void Enter(Mode mode) {
    if (mode == Mode::kNone) return;
    std::unique_lock guard(lock_);
    if (mode == Mode::kShared) {
      changed_.wait(guard, [&] { return !writer_ && waitingWriters_ == 0; });
      ++readers_;
      return;
    }
    ++waitingWriters_;
    changed_.wait(guard, [&] { return !writer_ && readers_ == 0; });
    --waitingWriters_;
    writer_ = true;
  }

  void Exit(Mode mode) {
    if (mode == Mode::kNone) return;
    {
      std::lock_guard guard(lock_);
      if (mode == Mode::kShared) {
        --readers_;
      } else {
        writer_ = false;
      }
    }
    changed_.notify_all();
  }

 private:
  std::mutex lock_;
  std::condition_variable changed_;
  int readers_ = 0;
  int waitingWriters_ = 0;
  bool writer_ = false;
};

// Holds the lock for a scope.
class IpcScope {
 public:
  IpcScope(IpcLock& lock, IpcLock::Mode mode) : lock_(lock), mode_(mode) { lock_.Enter(mode_); }
  ~IpcScope() { lock_.Exit(mode_); }
  IpcScope(const IpcScope&) = delete;
  IpcScope& operator=(const IpcScope&) = delete;

 private:
  IpcLock& lock_;
  IpcLock::Mode mode_;
};

}  // namespace fpgadext::emu::broker
