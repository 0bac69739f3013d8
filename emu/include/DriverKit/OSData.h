// OSData: a growable array of bytes (DriverKit OSData).
//
// DriverKit semantics reproduced:
// - withBytesNoCopy copies, like withBytes (Apple documents it as a synonym kept for kernel
//   compatibility); nothing ever wraps caller memory.
// - getBytesNoCopy() is NULL when the length is zero; getBytesNoCopy(start, n) is NULL unless
//   [start, start + n) lies inside the data.
// - Lengths are limited to 32 bits, as capacities are uint32_t.
// Storage comes from IOMalloc/IOFree. No locking: callers serialise access.
#pragma once

#include <DriverKit/OSContainer.h>
#include <stddef.h>
#include <stdint.h>

class OSData;
typedef OSData* OSDataPtr;

class OSData : public OSContainer {
  OSDeclareEmulatedClass(OSData);

 public:
  // All return +1 or NULL on failure.
  static OSDataPtr withBytes(const void* bytes, size_t numBytes);
  static OSDataPtr withBytesNoCopy(void* bytes, size_t numBytes);
  static OSDataPtr withCapacity(uint32_t capacity);
  static OSDataPtr withData(const OSData* inData);
  // Fails if start + numBytes exceeds inData's length.
  static OSDataPtr withData(const OSData* inData, size_t start, size_t numBytes);

  // Append a copy of the bytes, growing the capacity as needed; false on allocation failure or
  // if the length would exceed UINT32_MAX. A NULL `bytes` appends `numBytes` zero bytes.
  bool appendBytes(const void* bytes, size_t numBytes);
  bool appendBytes(const OSData* aDataObj);

  size_t getLength() const { return length_; }
  // Bytes the data can hold before it must reallocate.
  size_t getCapacity() const { return capacity_; }

  const void* getBytesNoCopy() const;
  const void* getBytesNoCopy(size_t start, size_t numBytes) const;

  // Same length and same bytes.
  bool isEqualTo(const OSData* aDataObj) const;
  bool isEqualTo(const void* bytes, size_t numBytes) const;
  // Same bytes as the string, without its terminating NUL.
  bool isEqualTo(const OSString* aString) const;
  bool isEqualTo(const OSMetaClassBase* anObject) const override;

  void free() override;

 private:
  bool initWithCapacity(size_t capacity);
  bool grow(size_t needed);

  uint8_t* data_ = nullptr;
  size_t length_ = 0;
  size_t capacity_ = 0;
};
