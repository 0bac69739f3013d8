#include <DriverKit/IOLib.h>
#include <DriverKit/OSArray.h>
#include <string.h>

OSDefineMetaClass(OSArray, OSCollection);

bool OSArray::initWithCapacity(uint32_t capacity) {
  if (!OSCollection::init()) return false;
  if (capacity != 0) {
    array_ = IONewZero(const OSObject*, capacity);
    if (array_ == nullptr) return false;
  }
  capacity_ = capacity;
  count_ = 0;
  return true;
}

void OSArray::free() {
  flushCollection();
  IOSafeDeleteNULL(array_, const OSObject*, capacity_);
  capacity_ = 0;
  OSCollection::free();
}

OSArrayPtr OSArray::withCapacity(uint32_t capacity) {
  OSArray* me = ::new OSArray;
  if (!me->initWithCapacity(capacity)) {
    me->release();
    return nullptr;
  }
  return me;
}

OSArrayPtr OSArray::withObjects(const OSObject** values, uint32_t count, uint32_t capacity) {
  if (values == nullptr || (capacity != 0 && count > capacity)) return nullptr;
  for (uint32_t i = 0; i < count; ++i) {
    if (values[i] == nullptr) return nullptr;
  }
  OSArray* me = withCapacity(capacity ? capacity : count);
  if (me == nullptr) return nullptr;
  for (uint32_t i = 0; i < count; ++i) me->setObject(values[i]);
  return me;
}

OSArrayPtr OSArray::withArray(const OSArray* array, uint32_t capacity) {
  if (array == nullptr || (capacity != 0 && array->count_ > capacity)) return nullptr;
  OSArray* me = withCapacity(capacity ? capacity : array->count_);
  if (me == nullptr) return nullptr;
  if (!me->merge(array)) {
    me->release();
    return nullptr;
  }
  return me;
}

uint32_t OSArray::ensureCapacity(uint32_t newCapacity) {
  if (newCapacity <= capacity_) return capacity_;
  auto** grown = IONewZero(const OSObject*, newCapacity);
  if (grown == nullptr) return capacity_;
  if (count_ != 0) memcpy(grown, array_, count_ * sizeof(*array_));
  IOSafeDeleteNULL(array_, const OSObject*, capacity_);
  array_ = grown;
  capacity_ = newCapacity;
  return capacity_;
}

void OSArray::flushCollection() {
  for (uint32_t i = 0; i < count_; ++i) {
    array_[i]->release();
    array_[i] = nullptr;
  }
  count_ = 0;
}

bool OSArray::iterateObjects(OSCollectionIterateObjectsBlock block) const {
  for (uint32_t i = 0; i < count_; ++i) {
    if (!block(const_cast<OSObject*>(array_[i]))) return false;
  }
  return true;
}

bool OSArray::setObject(const OSMetaClassBase* anObject) {
  return setObject(count_, anObject);
}

bool OSArray::setObject(uint32_t index, const OSMetaClassBase* object) {
  auto* anObject = static_cast<const OSObject*>(object);
  if (anObject == nullptr || index > count_ || count_ == UINT32_MAX) return false;
  if (count_ == capacity_) {
    // Grow by the larger of 16 and the current capacity.
    uint32_t step = capacity_ < 16 ? 16 : capacity_;
    uint32_t wanted = capacity_ > UINT32_MAX - step ? UINT32_MAX : capacity_ + step;
    if (ensureCapacity(wanted) <= count_) return false;
  }
  memmove(&array_[index + 1], &array_[index], (count_ - index) * sizeof(*array_));
  anObject->retain();
  array_[index] = anObject;
  ++count_;
  return true;
}

bool OSArray::merge(const OSArray* otherArray) {
  if (otherArray == nullptr) return false;
  const uint32_t n = otherArray->count_;  // stable even if otherArray == this
  if (n == 0) return true;
  if (count_ > UINT32_MAX - n || ensureCapacity(count_ + n) < count_ + n) return false;
  for (uint32_t i = 0; i < n; ++i) setObject(otherArray->array_[i]);
  return true;
}

bool OSArray::replaceObject(uint32_t index, const OSMetaClassBase* object) {
  auto* anObject = static_cast<const OSObject*>(object);
  if (anObject == nullptr || index >= count_) return false;
  anObject->retain();
  const OSObject* old = array_[index];
  array_[index] = anObject;
  old->release();
  return true;
}

void OSArray::removeObject(uint32_t index) {
  if (index >= count_) return;
  const OSObject* old = array_[index];
  memmove(&array_[index], &array_[index + 1], (count_ - index - 1) * sizeof(*array_));
  array_[--count_] = nullptr;
  old->release();
}

OSObject* OSArray::getObject(uint32_t index) const {
  return index < count_ ? const_cast<OSObject*>(array_[index]) : nullptr;
}

OSObject* OSArray::getLastObject() const {
  return count_ ? const_cast<OSObject*>(array_[count_ - 1]) : nullptr;
}

uint32_t OSArray::getNextIndexOfObject(const OSMetaClassBase* anObject, uint32_t index) const {
  for (uint32_t i = index; i < count_; ++i) {
    if (array_[i] == anObject) return i;
  }
  return UINT32_MAX;
}

bool OSArray::isEqualTo(const OSArray* anArray) const {
  if (anArray == nullptr) return false;
  if (anArray == this) return true;
  if (anArray->count_ != count_) return false;
  for (uint32_t i = 0; i < count_; ++i) {
    if (!array_[i]->isEqualTo(anArray->array_[i])) return false;
  }
  return true;
}

bool OSArray::isEqualTo(const OSMetaClassBase* anObject) const {
  const OSArray* other = OSDynamicCast(OSArray, anObject);
  return other != nullptr && isEqualTo(other);
}
