// OSString: an immutable, NUL-terminated byte string (DriverKit OSString). No encoding is
// assumed. getCStringNoCopy() is NULL for a zero-length string, as Apple documents.
#pragma once

#include <DriverKit/OSContainer.h>
#include <stddef.h>

class OSString;
typedef OSString* OSStringPtr;

class OSString : public OSContainer {
  OSDeclareEmulatedClass(OSString);

 public:
  // All return +1 or NULL on failure (NULL cString included).
  static OSStringPtr withCString(const char* cString);
  // Copies at most `length` characters of cString.
  static OSStringPtr withCString(const char* cString, size_t length);
  // A copy, like withCString (kept by Apple for kernel compatibility).
  static OSStringPtr withCStringNoCopy(const char* cString);
  static OSStringPtr withString(const OSString* aString);

  // Length in bytes, without the terminating NUL.
  size_t getLength() const { return length_; }
  const char* getCStringNoCopy() const { return length_ ? string_ : nullptr; }

  // Same length and same characters.
  bool isEqualTo(const OSString* aString) const;
  bool isEqualTo(const char* cString) const;
  // Same bytes as the data (which need not end with a NUL).
  bool isEqualTo(const OSData* aDataObject) const;
  bool isEqualTo(const OSMetaClassBase* anObject) const override;

  void free() override;

 private:
  bool initWithBytes(const char* bytes, size_t length);

  char* string_ = nullptr;
  size_t length_ = 0;
};
