// The emulation's object-model plumbing: what replaces iig's Mach-message dispatch and the
// DriverKit runtime's class registry. Not an Apple header; the DriverKit headers include it so
// that the headers emu/iig writes, and the framework classes, can use it.
//
// - An `IORPC` here is a method id and a pointer to the method's arguments packed in a
//   std::tuple, not Apple's Mach message (xnu iokit/DriverKit/IORPC.h); `OSDispatchMethod` takes
//   it. Every method that can be called with SUPERDISPATCH has a virtual `<Method>_Impl`, and a
//   class's static `_Dispatch` calls its own implementation non-virtually for the method an
//   IORPC names (see docs/emulation.md, "How iig is emulated").
// - OSDeclareEmulatedClass / OSDefineMetaClass give a class its OSMetaClass (`gMetaClass`).
#pragma once

#include <DriverKit/IOReturn.h>
#include <stdint.h>

#include <tuple>
#include <type_traits>
#include <utility>

class OSObject;
class OSMetaClass;

// The emulation's stand-in for an iig message: which method, and a pointer to its arguments as
// a std::tuple of the method's parameter types.
struct IORPC {
  uint64_t msgid;
  void* args;
};
typedef kern_return_t (*OSDispatchMethod)(OSObject* self, const IORPC rpc);

// Message id of a dispatchable method: a hash of its name (FNV-1a, 64 bits).
constexpr uint64_t IORPCMethodID(const char* name) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (; *name; ++name) h = (h ^ static_cast<uint8_t>(*name)) * 0x100000001b3ull;
  return h;
}

// Packs arguments for a SUPERDISPATCH call (framework side).
template <class... Args>
kern_return_t IORPCCallSuper(OSObject* self, OSDispatchMethod supermethod, uint64_t msgid,
                             Args... args) {
  std::tuple<Args...> packed{args...};
  return supermethod(self, IORPC{msgid, &packed});
}

// Unpacks arguments in a `_Dispatch` (generated side). `signature` is `&Class::Method_Impl`,
// used for its parameter types only; `call` makes the non-virtual, qualified call.
template <class C, class R, class... Args, class Call>
kern_return_t IORPCInvoke(const IORPC& rpc, R (C::*signature)(Args...), Call&& call) {
  (void)signature;
  auto* packed = static_cast<std::tuple<Args...>*>(rpc.args);
  if constexpr (std::is_void_v<R>) {
    std::apply(call, *packed);
    return kIOReturnSuccess;
  } else {
    return std::apply(call, *packed);
  }
}

// Declares the emulation's class information; used by the framework headers and the headers
// the iig generator writes. `gMetaClass` is defined by OSDefineMetaClass in a .cpp.
#define OSDeclareEmulatedClass(_class)               \
 public:                                             \
  static const OSMetaClass gMetaClass;               \
  const OSMetaClass* getMetaClass() const override { \
    return &_class::gMetaClass;                      \
  }                                                  \
                                                     \
 private:

#define OSDefineMetaClassWithAllocator(_class, _super, _alloc) \
  const OSMetaClass _class::gMetaClass(#_class, &_super::gMetaClass, _alloc)
#define OSDefineMetaClass(_class, _super) \
  OSDefineMetaClassWithAllocator(_class, _super, []() -> OSObject* { return ::new _class; })
#define OSDefineAbstractMetaClass(_class, _super) \
  OSDefineMetaClassWithAllocator(_class, _super, nullptr)

// Runs `Cls::Method_Impl` of the class named by `supermethod` when one is given, else the most
// derived implementation. Used by the framework's non-virtual method wrappers.
#define OSEmulatedWrapperBody(_method, ...)                                              \
  (supermethod ? IORPCCallSuper(this, supermethod, IORPCMethodID(#_method), __VA_ARGS__) \
               : _method##_Impl(__VA_ARGS__))
#define OSEmulatedWrapperBodyNoArgs(_method) \
  (supermethod ? IORPCCallSuper(this, supermethod, IORPCMethodID(#_method)) : _method##_Impl())

// The framework's own "allocate and init" (what DriverKit's runtime does for its objects):
// an instance of T (+1) whose init() ran, or nullptr if init failed. Dext code uses
// OSTypeAlloc(T) and calls init() itself, as on a Mac.
template <class T>
T* OSTypeAllocInitEmulated() {
  T* object = ::new T;
  if (!object->init()) {
    object->release();
    return nullptr;
  }
  return object;
}
