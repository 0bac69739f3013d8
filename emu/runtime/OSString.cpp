#include <DriverKit/IOLib.h>
#include <DriverKit/OSData.h>
#include <DriverKit/OSString.h>
#include <string.h>

OSDefineMetaClass(OSString, OSContainer);

bool OSString::initWithBytes(const char* bytes, size_t length) {
  if (!OSContainer::init() || length >= UINT32_MAX) return false;
  string_ = static_cast<char*>(IOMalloc(length + 1));
  if (string_ == nullptr) return false;
  if (length != 0) memcpy(string_, bytes, length);
  string_[length] = '\0';
  length_ = length;
  return true;
}

void OSString::free() {
  if (string_ != nullptr) IOFree(string_, length_ + 1);
  string_ = nullptr;
  length_ = 0;
  OSContainer::free();
}

OSStringPtr OSString::withCString(const char* cString, size_t length) {
  if (cString == nullptr) return nullptr;
  OSString* me = ::new OSString;
  if (!me->initWithBytes(cString, strnlen(cString, length))) {
    me->release();
    return nullptr;
  }
  return me;
}

OSStringPtr OSString::withCString(const char* cString) {
  if (cString == nullptr) return nullptr;
  return withCString(cString, strlen(cString));
}

OSStringPtr OSString::withCStringNoCopy(const char* cString) {
  return withCString(cString);
}

OSStringPtr OSString::withString(const OSString* aString) {
  if (aString == nullptr) return nullptr;
  return withCString(aString->string_, aString->length_);
}

bool OSString::isEqualTo(const char* cString) const {
  if (cString == nullptr) return false;
  return strncmp(string_, cString, length_) == 0 && cString[length_] == '\0';
}

bool OSString::isEqualTo(const OSString* aString) const {
  if (aString == nullptr) return false;
  if (aString == this) return true;
  return aString->length_ == length_ && memcmp(aString->string_, string_, length_) == 0;
}

bool OSString::isEqualTo(const OSMetaClassBase* anObject) const {
  const OSString* other = OSDynamicCast(OSString, anObject);
  return other != nullptr && isEqualTo(other);
}

bool OSString::isEqualTo(const OSData* aDataObject) const {
  if (aDataObject == nullptr) return false;
  return aDataObject->isEqualTo(string_, length_);
}
