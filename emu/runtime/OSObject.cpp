#include <DriverKit/OSObject.h>
#include <stdio.h>
#include <stdlib.h>

#include <atomic>
#include <cstring>

namespace {
// Head of the list of every OSMetaClass; classes register during static initialisation, which
// is single-threaded, and dlopen of a dext registers its classes under the loader lock.
std::atomic<const OSMetaClass*> gClassList{nullptr};
}  // namespace

// ---- OSMetaClassBase ----

OSMetaClassBase::OSMetaClassBase() : refcount(1) {}
OSMetaClassBase::~OSMetaClassBase() = default;

const OSMetaClass* OSMetaClassBase::getMetaClass() const {
  return nullptr;
}

void OSMetaClassBase::retain() const {
  refcount.fetch_add(1, std::memory_order_relaxed);
}

void OSMetaClassBase::release() const {
  if (refcount.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    delete const_cast<OSMetaClassBase*>(this);
  }
}

uint32_t OSMetaClassBase::getRetainCount() const {
  return static_cast<uint32_t>(refcount.load(std::memory_order_relaxed));
}

bool OSMetaClassBase::isEqualTo(const OSMetaClassBase* anObject) const {
  return this == anObject;
}

bool OSMetaClassBase::IsRemote() {
  return false;
}
const OSMetaClass* OSMetaClassBase::GetClass() {
  return getMetaClass();
}

const char* OSMetaClassBase::GetClassName() const {
  const OSMetaClass* meta = getMetaClass();
  return meta ? meta->getClassName() : "OSMetaClassBase";
}
const char* OSMetaClassBase::GetClassName() {
  return static_cast<const OSMetaClassBase*>(this)->GetClassName();
}

kern_return_t OSMetaClassBase::Dispatch(IORPC invoke) {
  return kIOReturnUnsupported;
}
kern_return_t OSMetaClassBase::Invoke(IORPC invoke) {
  return kIOReturnUnsupported;
}

OSMetaClassBase* OSMetaClassBase::safeMetaCast(const OSMetaClassBase* anObject,
                                               const OSMetaClass* toMeta) {
  if (anObject == nullptr || toMeta == nullptr) return nullptr;
  const OSMetaClass* meta = anObject->getMetaClass();
  if (meta == nullptr || !meta->isSubclassOf(toMeta)) return nullptr;
  return const_cast<OSMetaClassBase*>(anObject);
}

OSMetaClassBase* OSMetaClassBase::requiredMetaCast(const OSMetaClassBase* anObject,
                                                   const OSMetaClass* toMeta) {
  if (anObject == nullptr) return nullptr;
  OSMetaClassBase* result = safeMetaCast(anObject, toMeta);
  if (result == nullptr) {
    // DriverKit aborts the process here (OSMetaClass.h: "aborts on failure").
    fprintf(stderr, "OSRequiredCast: object of class %s is not a %s\n", anObject->GetClassName(),
            toMeta ? toMeta->getClassName() : "(null class)");
    fflush(stderr);
    abort();
  }
  return result;
}

// ---- OSMetaClass ----

OSMetaClass::OSMetaClass(const char* name, const OSMetaClass* superClass, Allocator allocator)
    : name_(name), superClass_(superClass), allocator_(allocator) {
  next_ = gClassList.load();
  while (!gClassList.compare_exchange_weak(next_, this)) {
  }
}

OSMetaClass::~OSMetaClass() = default;

bool OSMetaClass::isSubclassOf(const OSMetaClass* other) const {
  for (const OSMetaClass* c = this; c != nullptr; c = c->superClass_) {
    if (c == other) return true;
  }
  return false;
}

const OSMetaClass* OSMetaClass::lookup(const char* name) {
  if (name == nullptr) return nullptr;
  for (const OSMetaClass* c = gClassList.load(); c != nullptr; c = c->next_) {
    if (std::strcmp(c->name_, name) == 0) return c;
  }
  return nullptr;
}

kern_return_t OSObjectAllocate(const OSMetaClass* meta, OSObject** pObject) {
  if (meta == nullptr || pObject == nullptr) return kIOReturnBadArgument;
  OSObject* object = meta->alloc();
  if (object == nullptr) return kIOReturnUnsupported;  // abstract class
  *pObject = object;
  return kIOReturnSuccess;
}

// ---- OSObject ----

const OSMetaClass OSObject::gMetaClass("OSObject", nullptr, nullptr);

OSObject::OSObject() = default;
OSObject::~OSObject() = default;

bool OSObject::init() {
  return true;
}
void OSObject::free() {}

void OSObject::retain() const {
  OSMetaClassBase::retain();
}

void OSObject::release() const {
  if (refcount.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    OSObject* self = const_cast<OSObject*>(this);
    self->free();
    delete self;
  }
}

kern_return_t OSObject::SetDispatchQueue_Impl(const char* name, IODispatchQueue* queue) {
  return kIOReturnUnsupported;
}
kern_return_t OSObject::CopyDispatchQueue_Impl(const char* name, IODispatchQueue** queue) {
  return kIOReturnUnsupported;
}

kern_return_t OSObject::_Dispatch(OSObject* self, const IORPC rpc) {
  switch (rpc.msgid) {
    case IORPCMethodID("SetDispatchQueue"):
      return IORPCInvoke(rpc, &OSObject::SetDispatchQueue_Impl,
                         [self](const char* n, IODispatchQueue* q) {
                           return self->OSObject::SetDispatchQueue_Impl(n, q);
                         });
    case IORPCMethodID("CopyDispatchQueue"):
      return IORPCInvoke(rpc, &OSObject::CopyDispatchQueue_Impl,
                         [self](const char* n, IODispatchQueue** q) {
                           return self->OSObject::CopyDispatchQueue_Impl(n, q);
                         });
    default:
      return kIOReturnUnsupported;
  }
}
