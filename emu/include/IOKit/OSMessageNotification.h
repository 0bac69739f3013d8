// Async reference layout (IOKit/OSMessageNotification.h).
#pragma once

enum {
  kOSAsyncRef64Count = 8,
  kOSAsyncRefCount = 8,
};
enum {
  kIOAsyncReservedIndex = 0,
  kIOAsyncReservedCount,
  kIOAsyncCalloutFuncIndex = kIOAsyncReservedCount,
  kIOAsyncCalloutRefconIndex,
  kIOAsyncCalloutCount,
};
#define kMaxAsyncArgs 16
