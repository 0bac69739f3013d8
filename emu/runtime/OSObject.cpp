#include <DriverKit/OSObject.h>

#include <atomic>
#include <cstring>

namespace {
// Head of the list of every OSMetaClass; classes register during static initialisation, which
// is single-threaded, and dlopen of a dext registers its classes under the loader lock.
std::atomic<const OSMetaClass*> gClassList{nullptr};
}  // namespace

OSMetaClass::OSMetaClass(const char* name, const OSMetaClass* superClass, Allocator allocator)
    : name_(name), superClass_(superClass), allocator_(allocator) {
  next_ = gClassList.load();
  while (!gClassList.compare_exchange_weak(next_, this)) {
  }
}

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

OSObject* OSMetaClassBase::safeMetaCast(const OSObject* object, const OSMetaClass* toType) {
  if (object == nullptr || !object->getMetaClass()->isSubclassOf(toType)) return nullptr;
  return const_cast<OSObject*>(object);
}

const OSMetaClass OSObject::gMetaClass("OSObject", nullptr, nullptr);

OSObject::OSObject() : retainCount_(1) {}
OSObject::~OSObject() = default;

bool OSObject::init() { return true; }
void OSObject::free() {}

void OSObject::retain() const { retainCount_.fetch_add(1, std::memory_order_relaxed); }

void OSObject::release() const {
  if (retainCount_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    OSObject* self = const_cast<OSObject*>(this);
    self->free();
    delete self;
  }
}

kern_return_t OSObject::_Dispatch(OSObject* self, const IORPC rpc) { return kIOReturnUnsupported; }
