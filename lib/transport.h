// The seam under fpgadext::Device: how the library reaches a dext's user client. Everything the
// components above it (transfers, registered buffers, async, ring, registers) send to the dext
// goes through these calls; today's backend is IokitTransport (an IOKit user-client connection:
// IOConnectCallMethod, IOConnectMapMemory64, an IONotificationPort), a later one may reach the
// dext another way (e.g. another process) without the components changing.
//
// Removal: once the board or its driver is gone (a call found the connection dead, or the
// kernel said the service terminated), the transport is `gone()`: every call fails with
// kIOReturnNoDevice without reaching the kernel, and the memory it mapped stays readable until
// Close() (docs/library.md, "When the board goes away").
#pragma once

#include <dispatch/dispatch.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>

namespace fpgadext {

// Runs once per async call, on the transport's completion queue: the IOAsyncCallback shape.
using AsyncDone = void (*)(void* refcon, int result, void** args, uint32_t count);

class Transport {
 public:
  virtual ~Transport() = default;

  // One synchronous method call: scalars in and out, a structure in, a structure out
  // (IOConnectCallMethod's shape; null/0 for what a selector does not use).
  virtual int Call(uint32_t selector, const uint64_t* in, uint32_t inCount, uint64_t* out,
                   uint32_t* outCount, const void* structIn = nullptr, size_t structInSize = 0,
                   void* structOut = nullptr, size_t* structOutSize = nullptr) = 0;
  // Starts an async method with scalar inputs; `done(refcon, …)` runs on CompletionQueue()
  // when the dext completes it (not when this returns an error).
  virtual int CallAsync(uint32_t selector, const uint64_t* in, uint32_t inCount, AsyncDone done,
                        void* refcon) = 0;
  // Maps the dext's memory of `type` into this process; valid until Unmap or Close.
  virtual int Map(uint32_t type, uint64_t* address, uint64_t* size) = 0;
  virtual int Unmap(uint32_t type, uint64_t address) = 0;
  // The serial queue async completions and removal news run on.
  virtual dispatch_queue_t CompletionQueue() const = 0;
  // Ends the connection (the dext completes what it still holds); mappings go.
  virtual void Close() = 0;

  // Whether the board or its driver is gone.
  bool gone() const { return gone_.load(std::memory_order_acquire); }
  // Called once, on whichever thread learns of the removal first.
  void SetRemovalHandler(std::function<void()> handler) {
    std::lock_guard guard(lock_);
    onRemoval_ = std::move(handler);
  }

 protected:
  // The backend learnt that the board is gone.
  void MarkGone() {
    if (gone_.exchange(true, std::memory_order_acq_rel)) return;
    std::function<void()> handler;
    {
      std::lock_guard guard(lock_);
      handler = onRemoval_;
    }
    if (handler) handler();
  }

 private:
  std::atomic<bool> gone_{false};
  std::mutex lock_;
  std::function<void()> onRemoval_;
};

}  // namespace fpgadext
