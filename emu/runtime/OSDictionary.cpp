#include <DriverKit/IOLib.h>
#include <DriverKit/OSDictionary.h>
#include <DriverKit/OSString.h>
#include <string.h>

OSDefineMetaClass(OSDictionary, OSCollection);

namespace {
bool KeysMatch(const OSObject* stored, const OSObject* key) {
  if (stored == key) return true;
  const OSString* storedString = OSDynamicCast(OSString, stored);
  return storedString != nullptr && storedString->isEqualTo(OSDynamicCast(OSString, key));
}
}  // namespace

bool OSDictionary::initWithCapacity(uint32_t capacity) {
  if (!OSCollection::init()) return false;
  if (capacity != 0) {
    entries_ = IONewZero(Entry, capacity);
    if (entries_ == nullptr) return false;
  }
  capacity_ = capacity;
  count_ = 0;
  return true;
}

void OSDictionary::free() {
  flushCollection();
  IOSafeDeleteNULL(entries_, Entry, capacity_);
  capacity_ = 0;
  OSCollection::free();
}

OSDictionaryPtr OSDictionary::withCapacity(uint32_t capacity) {
  OSDictionary* me = ::new OSDictionary;
  if (!me->initWithCapacity(capacity)) {
    me->release();
    return nullptr;
  }
  return me;
}

OSDictionaryPtr OSDictionary::withObjects(const OSObject** values, const OSObject** keys,
                                          uint32_t count, uint32_t capacity) {
  if (values == nullptr || keys == nullptr || (capacity != 0 && count > capacity)) return nullptr;
  for (uint32_t i = 0; i < count; ++i) {
    if (values[i] == nullptr || keys[i] == nullptr) return nullptr;
  }
  OSDictionary* me = withCapacity(capacity ? capacity : count);
  if (me == nullptr) return nullptr;
  for (uint32_t i = 0; i < count; ++i) {
    if (!me->setObject(keys[i], values[i])) {
      me->release();
      return nullptr;
    }
  }
  return me;
}

OSDictionaryPtr OSDictionary::withDictionary(const OSDictionary* dict, uint32_t capacity) {
  if (dict == nullptr || (capacity != 0 && dict->count_ > capacity)) return nullptr;
  OSDictionary* me = withCapacity(capacity ? capacity : dict->count_);
  if (me == nullptr) return nullptr;
  if (!me->merge(dict)) {
    me->release();
    return nullptr;
  }
  return me;
}

uint32_t OSDictionary::ensureCapacity(uint32_t newCapacity) {
  if (newCapacity <= capacity_) return capacity_;
  Entry* grown = IONewZero(Entry, newCapacity);
  if (grown == nullptr) return capacity_;
  if (count_ != 0) memcpy(grown, entries_, count_ * sizeof(Entry));
  IOSafeDeleteNULL(entries_, Entry, capacity_);
  entries_ = grown;
  capacity_ = newCapacity;
  return capacity_;
}

void OSDictionary::flushCollection() {
  for (uint32_t i = 0; i < count_; ++i) {
    entries_[i].value->release();
    entries_[i].key->release();
    entries_[i] = Entry{nullptr, nullptr};
  }
  count_ = 0;
}

bool OSDictionary::iterateObjects(OSCollectionIterateObjectsBlock block) const {
  for (uint32_t i = 0; i < count_; ++i) {
    if (!block(const_cast<OSObject*>(entries_[i].key))) return false;
  }
  return true;
}

bool OSDictionary::iterateObjects(OSDictionaryIterateObjectsBlock block) const {
  for (uint32_t i = 0; i < count_; ++i) {
    if (!block(const_cast<OSObject*>(entries_[i].key), const_cast<OSObject*>(entries_[i].value))) {
      return false;
    }
  }
  return true;
}

int64_t OSDictionary::find(const OSObject* aKey) const {
  if (aKey == nullptr) return -1;
  for (uint32_t i = 0; i < count_; ++i) {
    if (KeysMatch(entries_[i].key, aKey)) return i;
  }
  return -1;
}

int64_t OSDictionary::find(const char* aKey) const {
  if (aKey == nullptr) return -1;
  for (uint32_t i = 0; i < count_; ++i) {
    const OSString* key = OSDynamicCast(OSString, entries_[i].key);
    if (key != nullptr && key->isEqualTo(aKey)) return i;
  }
  return -1;
}

bool OSDictionary::setAt(int64_t index, const OSObject* aKey, const OSObject* anObject) {
  if (index >= 0) {
    anObject->retain();
    const OSObject* old = entries_[index].value;
    entries_[index].value = anObject;
    old->release();
    return true;
  }
  if (count_ == capacity_) {
    uint32_t step = capacity_ < 16 ? 16 : capacity_;
    uint32_t wanted = capacity_ > UINT32_MAX - step ? UINT32_MAX : capacity_ + step;
    if (ensureCapacity(wanted) <= count_) return false;
  }
  aKey->retain();
  anObject->retain();
  entries_[count_++] = Entry{aKey, anObject};
  return true;
}

bool OSDictionary::setObject(const OSObject* aKey, const OSMetaClassBase* object) {
  auto* anObject = static_cast<const OSObject*>(object);
  if (aKey == nullptr || anObject == nullptr) return false;
  return setAt(find(aKey), aKey, anObject);
}

bool OSDictionary::setObject(const char* aKey, const OSMetaClassBase* object) {
  auto* anObject = static_cast<const OSObject*>(object);
  if (aKey == nullptr || anObject == nullptr) return false;
  int64_t index = find(aKey);
  if (index >= 0) return setAt(index, nullptr, anObject);
  OSString* key = OSString::withCString(aKey);
  if (key == nullptr) return false;
  bool ok = setAt(-1, key, anObject);
  key->release();
  return ok;
}

bool OSDictionary::merge(const OSDictionary* otherDictionary) {
  if (otherDictionary == nullptr) return false;
  if (otherDictionary == this) return true;
  for (uint32_t i = 0; i < otherDictionary->count_; ++i) {
    if (!setObject(otherDictionary->entries_[i].key, otherDictionary->entries_[i].value)) {
      return false;
    }
  }
  return true;
}

OSObject* OSDictionary::getObject(const OSObject* aKey) const {
  int64_t index = find(aKey);
  return index >= 0 ? const_cast<OSObject*>(entries_[index].value) : nullptr;
}

OSObject* OSDictionary::getObject(const char* aKey) const {
  int64_t index = find(aKey);
  return index >= 0 ? const_cast<OSObject*>(entries_[index].value) : nullptr;
}

void OSDictionary::removeAt(uint32_t index) {
  Entry old = entries_[index];
  memmove(&entries_[index], &entries_[index + 1], (count_ - index - 1) * sizeof(Entry));
  entries_[--count_] = Entry{nullptr, nullptr};
  old.value->release();
  old.key->release();
}

void OSDictionary::removeObject(const OSObject* aKey) {
  int64_t index = find(aKey);
  if (index >= 0) removeAt(static_cast<uint32_t>(index));
}

void OSDictionary::removeObject(const char* aKey) {
  int64_t index = find(aKey);
  if (index >= 0) removeAt(static_cast<uint32_t>(index));
}

bool OSDictionary::isEqualTo(const OSDictionary* aDictionary) const {
  if (aDictionary == nullptr) return false;
  if (aDictionary == this) return true;
  if (aDictionary->count_ != count_) return false;
  for (uint32_t i = 0; i < count_; ++i) {
    const OSObject* theirs = aDictionary->getObject(entries_[i].key);
    if (theirs == nullptr || !entries_[i].value->isEqualTo(theirs)) return false;
  }
  return true;
}

bool OSDictionary::isEqualTo(const OSMetaClassBase* anObject) const {
  const OSDictionary* other = OSDynamicCast(OSDictionary, anObject);
  return other != nullptr && isEqualTo(other);
}
