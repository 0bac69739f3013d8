#include <DriverKit/IOLib.h>
#include <DriverKit/OSData.h>
#include <DriverKit/OSString.h>
#include <string.h>

OSDefineMetaClass(OSData, OSContainer);

namespace {
constexpr size_t kMaxLength = UINT32_MAX;
}

bool OSData::initWithCapacity(size_t capacity) {
  if (!OSContainer::init() || capacity > kMaxLength) return false;
  if (capacity != 0) {
    data_ = static_cast<uint8_t*>(IOMalloc(capacity));
    if (data_ == nullptr) return false;
  }
  capacity_ = capacity;
  length_ = 0;
  return true;
}

void OSData::free() {
  IOFree(data_, capacity_);
  data_ = nullptr;
  length_ = capacity_ = 0;
  OSContainer::free();
}

OSDataPtr OSData::withCapacity(uint32_t capacity) {
  OSData* me = ::new OSData;
  if (!me->initWithCapacity(capacity)) {
    me->release();
    return nullptr;
  }
  return me;
}

OSDataPtr OSData::withBytes(const void* bytes, size_t numBytes) {
  if (bytes == nullptr && numBytes != 0) return nullptr;
  if (numBytes > kMaxLength) return nullptr;
  OSData* me = withCapacity(static_cast<uint32_t>(numBytes));
  if (me == nullptr) return nullptr;
  if (numBytes != 0) memcpy(me->data_, bytes, numBytes);
  me->length_ = numBytes;
  return me;
}

OSDataPtr OSData::withBytesNoCopy(void* bytes, size_t numBytes) {
  return withBytes(bytes, numBytes);
}

OSDataPtr OSData::withData(const OSData* inData) {
  if (inData == nullptr) return nullptr;
  return withBytes(inData->data_, inData->length_);
}

OSDataPtr OSData::withData(const OSData* inData, size_t start, size_t numBytes) {
  if (inData == nullptr) return nullptr;
  size_t end;
  if (__builtin_add_overflow(start, numBytes, &end) || end > inData->length_) return nullptr;
  return withBytes(numBytes ? inData->data_ + start : nullptr, numBytes);
}

bool OSData::grow(size_t needed) {
  if (needed <= capacity_) return true;
  if (needed > kMaxLength) return false;
  size_t newCapacity = capacity_ < 16 ? 16 : capacity_;
  while (newCapacity < needed)
    newCapacity = newCapacity > kMaxLength / 2 ? kMaxLength : newCapacity * 2;
  auto* newData = static_cast<uint8_t*>(IOMalloc(newCapacity));
  if (newData == nullptr) return false;
  if (length_ != 0) memcpy(newData, data_, length_);
  IOFree(data_, capacity_);
  data_ = newData;
  capacity_ = newCapacity;
  return true;
}

bool OSData::appendBytes(const void* bytes, size_t numBytes) {
  size_t newLength;
  if (__builtin_add_overflow(length_, numBytes, &newLength) || !grow(newLength)) return false;
  if (numBytes != 0) {
    if (bytes != nullptr) {
      memmove(data_ + length_, bytes, numBytes);  // bytes may point into this OSData
    } else {
      memset(data_ + length_, 0, numBytes);
    }
  }
  length_ = newLength;
  return true;
}

bool OSData::appendBytes(const OSData* aDataObj) {
  if (aDataObj == nullptr) return false;
  if (aDataObj == this) {
    // grow() may move our bytes, so append from a stable position afterwards.
    const size_t n = length_;
    if (!grow(n * 2)) return false;
    if (n != 0) memcpy(data_ + n, data_, n);
    length_ = n * 2;
    return true;
  }
  return appendBytes(aDataObj->data_, aDataObj->length_);
}

const void* OSData::getBytesNoCopy() const {
  return length_ ? data_ : nullptr;
}

const void* OSData::getBytesNoCopy(size_t start, size_t numBytes) const {
  size_t end;
  if (length_ == 0 || __builtin_add_overflow(start, numBytes, &end) || end > length_ ||
      start >= length_) {
    return nullptr;
  }
  return data_ + start;
}

bool OSData::isEqualTo(const void* bytes, size_t numBytes) const {
  if (numBytes != length_) return false;
  if (numBytes == 0) return true;
  return bytes != nullptr && memcmp(data_, bytes, numBytes) == 0;
}

bool OSData::isEqualTo(const OSData* aDataObj) const {
  if (aDataObj == nullptr) return false;
  return isEqualTo(aDataObj->data_, aDataObj->length_);
}

bool OSData::isEqualTo(const OSMetaClassBase* anObject) const {
  const OSData* other = OSDynamicCast(OSData, anObject);
  return other != nullptr && isEqualTo(other);
}

bool OSData::isEqualTo(const OSString* aString) const {
  if (aString == nullptr) return false;
  return isEqualTo(aString->getCStringNoCopy(), aString->getLength());
}
