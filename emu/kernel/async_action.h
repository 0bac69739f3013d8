// The OSAction the kernel passes as IOUserClientMethodArguments::completion for an async call
// (CreateActionKernelCompletion on a Mac): it remembers the app's notification port and async
// reference, and AsyncCompletion sends a message through it.
#pragma once

#include <DriverKit/OSAction.h>

#include "broker.h"

namespace fpgadext::emu {

class AsyncCompletionAction final : public OSAction {
  OSDeclareEmulatedClass(AsyncCompletionAction)

 public:
  static AsyncCompletionAction* Create(OSObject* target, uint32_t port,
                                       const uint64_t reference[broker::kAsyncRefCount]);
  void Complete(IOReturn status, const uint64_t* arguments, uint32_t count);

 private:
  uint32_t port_ = 0;
  uint64_t reference_[broker::kAsyncRefCount] = {};
};

}  // namespace fpgadext::emu
