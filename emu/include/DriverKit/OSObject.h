// OSObject, the root of DriverKit's object model, as the emulation provides it.
//
// The names a dext uses are Apple's (iokit/DriverKit/OSObject.iig): retain/release, init/free,
// OSDynamicCast, OSSafeReleaseNULL, the iig annotations, IMPL and SUPERDISPATCH. Underneath, the
// emulation replaces iig's Mach-message dispatch with a direct one: every method that can be
// called with SUPERDISPATCH has a virtual `<Method>_Impl`, and a class's static `_Dispatch`
// calls its own implementation non-virtually for the method an IORPC names (see
// docs/emulation.md, "How iig is emulated").
#pragma once

#include <DriverKit/IOReturn.h>
#include <stddef.h>
#include <stdint.h>

#include <atomic>
#include <tuple>
#include <type_traits>
#include <utility>

// iig annotations: empty for the C++ compiler, as OSObject.iig defines them when __IIG is 0.
#define KERNEL
#define LOCAL
#define LOCALONLY
#define REMOTE
#define LOCALHOST
#define REPLY
#define TARGET
#define NATIVE
#define SERIALIZABLE
#define TYPE(p)
#define QUEUENAME(name)
#define EXTENDS(cls)
#define INVOKEREPLY

typedef uint32_t IOOptionBits;
typedef int32_t IOIndex;
typedef uint64_t IOVirtualAddress;
typedef uint64_t IOByteCount;
typedef uint64_t IOPhysicalAddress;

class OSObject;
class OSMetaClass;
class OSAction;
class IODispatchQueue;

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

// IMPL(Class, Method) names the implementation of an iig method.
#define IMPL(_class, _method) _class::_method##_Impl(_class##_##_method##_Args)
#define SUPERDISPATCH ((OSDispatchMethod) & super::_Dispatch)

// Runtime class information: enough for OSDynamicCast, class lookup by name (IOUserClass in an
// Info.plist) and allocation by name.
class OSMetaClass {
 public:
  typedef OSObject* (*Allocator)();
  OSMetaClass(const char* name, const OSMetaClass* superClass, Allocator allocator);
  const char* getClassName() const { return name_; }
  const OSMetaClass* getSuperClass() const { return superClass_; }
  bool isSubclassOf(const OSMetaClass* other) const;
  // nullptr for classes that cannot be instantiated by name.
  OSObject* alloc() const { return allocator_ ? allocator_() : nullptr; }
  static const OSMetaClass* lookup(const char* name);

 private:
  const char* name_;
  const OSMetaClass* superClass_;
  Allocator allocator_;
  const OSMetaClass* next_;  // registry of every class, built at static-initialisation time
};

// Declares the emulation's class information; used by the framework headers and the headers
// the iig generator writes. `gMetaClass` is defined by OSDefineMetaClass in a .cpp.
#define OSDeclareEmulatedClass(_class)                                              \
 public:                                                                            \
  static const OSMetaClass gMetaClass;                                              \
  const OSMetaClass* getMetaClass() const override { return &_class::gMetaClass; } \
                                                                                    \
 private:

#define OSDefineMetaClassWithAllocator(_class, _super, _alloc) \
  const OSMetaClass _class::gMetaClass(#_class, &_super::gMetaClass, _alloc)
#define OSDefineMetaClass(_class, _super) \
  OSDefineMetaClassWithAllocator(_class, _super, []() -> OSObject* { return new _class; })
#define OSDefineAbstractMetaClass(_class, _super) \
  OSDefineMetaClassWithAllocator(_class, _super, nullptr)

#define OSTypeID(type) (&type::gMetaClass)
#define OSDynamicCast(type, inst) \
  (static_cast<type*>(OSMetaClassBase::safeMetaCast((inst), OSTypeID(type))))
#define OSRequiredCast(type, inst) OSDynamicCast(type, inst)

class OSMetaClassBase {
 public:
  static OSObject* safeMetaCast(const OSObject* object, const OSMetaClass* toType);
};

class OSObject {
 public:
  static const OSMetaClass gMetaClass;
  virtual const OSMetaClass* getMetaClass() const { return &gMetaClass; }

  OSObject();
  virtual bool init();
  virtual void free();

  void retain() const;
  // Drops a reference; at zero the object's free() runs and the object is deleted.
  void release() const;
  int getRetainCount() const { return retainCount_.load(std::memory_order_relaxed); }
  virtual bool isEqualTo(const OSObject* other) const { return this == other; }

  // Dispatch root: OSObject has no dispatchable methods.
  static kern_return_t _Dispatch(OSObject* self, const IORPC rpc);

 protected:
  virtual ~OSObject();

 private:
  OSObject(const OSObject&) = delete;
  OSObject& operator=(const OSObject&) = delete;
  mutable std::atomic<int> retainCount_;
};

// Creates an instance of `type` (+1) and runs init(); nullptr if init fails.
template <class T>
T* OSTypeAllocInit() {
  T* object = new T;
  if (!object->init()) {
    object->release();
    return nullptr;
  }
  return object;
}

#define OSSafeReleaseNULL(inst) \
  do {                          \
    if (inst) (inst)->release(); \
    (inst) = nullptr;           \
  } while (0)
#define OSSafeRelease(inst) \
  do {                      \
    if (inst) (inst)->release(); \
  } while (0)

// Runs `Cls::Method_Impl` of the class named by `supermethod` when one is given, else the most
// derived implementation. Used by the framework's non-virtual method wrappers.
#define OSEmulatedWrapperBody(_method, ...)                                              \
  (supermethod ? IORPCCallSuper(this, supermethod, IORPCMethodID(#_method), __VA_ARGS__) \
               : _method##_Impl(__VA_ARGS__))
