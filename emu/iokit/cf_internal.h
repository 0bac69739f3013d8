// The object model behind the emulated CoreFoundation subset (CoreFoundation.cpp, CFRunLoop.cpp):
// every CF object derives from CFObject, which carries its type and reference count.
#pragma once

#include <CoreFoundation/CoreFoundation.h>

#include <atomic>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace fpgadext::emu::cf {

enum TypeID : CFTypeID {
  kAllocator = 2,
  kNull = 16,
  kString = 7,
  kDictionary = 18,
  kArray = 19,
  kData = 20,
  kBoolean = 21,
  kNumber = 22,
  kRunLoop = 43,
  kRunLoopSource = 44,
};

struct Object {
  explicit Object(CFTypeID t, bool isImmortal = false) : type(t), immortal(isImmortal) {}
  virtual ~Object() = default;
  const CFTypeID type;
  const bool immortal;  // constants: retain and release do nothing
  std::atomic<CFIndex> references{1};
};

// The object a CFTypeRef points to; aborts (as CoreFoundation crashes) on NULL.
Object* Get(CFTypeRef ref, const char* function);
[[noreturn]] void WrongType(const char* function);
// The object as `T` when its type is `id`; aborts when it is another type, as CF does when a
// function is given the wrong kind of object.
template <class T>
T* As(CFTypeRef ref, CFTypeID id, const char* function);

// Runs `work` on the run loop(s) the source is added to, the next time they run (used by
// IOKitLib for IONotificationPortGetRunLoopSource).
CFRunLoopSourceRef NewRunLoopSource();
void PostToRunLoopSource(CFRunLoopSourceRef source, std::function<void()> work);

// The main queue, drained by the main thread's run loop (dispatch.cpp).
bool DrainMainQueue();
bool MainQueueHasWork();
void WakeMainRunLoop();
bool IsMainThread();

}  // namespace fpgadext::emu::cf

struct __CFString : fpgadext::emu::cf::Object {
  explicit __CFString(std::string s, bool isImmortal = false)
      : Object(fpgadext::emu::cf::kString, isImmortal), value(std::move(s)) {}
  std::string value;  // UTF-8
};

struct __CFNumber : fpgadext::emu::cf::Object {
  __CFNumber() : Object(fpgadext::emu::cf::kNumber) {}
  CFNumberType type = kCFNumberSInt64Type;  // canonical: SInt8..SInt64, Float32, Float64
  bool isFloat = false;
  int64_t integer = 0;
  double real = 0;
};

struct __CFBoolean : fpgadext::emu::cf::Object {
  explicit __CFBoolean(bool v) : Object(fpgadext::emu::cf::kBoolean, true), value(v) {}
  const bool value;
};

struct __CFData : fpgadext::emu::cf::Object {
  __CFData() : Object(fpgadext::emu::cf::kData) {}
  std::vector<UInt8> bytes;
};

struct __CFArray : fpgadext::emu::cf::Object {
  __CFArray() : Object(fpgadext::emu::cf::kArray) {}
  ~__CFArray() override;
  bool mutableArray = false;
  std::vector<CFTypeRef> values;  // retained
};

struct __CFDictionary : fpgadext::emu::cf::Object {
  __CFDictionary() : Object(fpgadext::emu::cf::kDictionary) {}
  ~__CFDictionary() override;
  bool mutableDictionary = false;
  std::vector<std::pair<CFTypeRef, CFTypeRef>> entries;  // both retained; keys compared by CFEqual
};

template <class T>
T* fpgadext::emu::cf::As(CFTypeRef ref, CFTypeID id, const char* function) {
  Object* object = Get(ref, function);
  if (object->type != id) WrongType(function);
  return static_cast<T*>(object);
}
