// OSNumber: an immutable unsigned integer of 8, 16, 32 or 64 bits (DriverKit OSNumber). The
// value is truncated to its size at creation.
#pragma once

#include <DriverKit/OSContainer.h>
#include <stddef.h>
#include <stdint.h>

class OSNumber;
typedef OSNumber* OSNumberPtr;

class OSNumber : public OSContainer {
  OSDeclareEmulatedClass(OSNumber);

 public:
  // +1, or NULL if numberOfBits is not 8, 16, 32 or 64.
  static OSNumberPtr withNumber(uint64_t value, size_t numberOfBits);
  // Parses valueString with strtoll(valueString, NULL, 0); NULL if it is not a number.
  static OSNumberPtr withNumber(const char* valueString, size_t numberOfBits);

  size_t numberOfBits() const { return bits_; }
  uint8_t unsigned8BitValue() const { return static_cast<uint8_t>(value_); }
  uint16_t unsigned16BitValue() const { return static_cast<uint16_t>(value_); }
  uint32_t unsigned32BitValue() const { return static_cast<uint32_t>(value_); }
  uint64_t unsigned64BitValue() const { return value_; }

  // Same value (sizes are not compared, as in Apple's implementation).
  bool isEqualTo(const OSNumber* aNumber) const;
  bool isEqualTo(const OSMetaClassBase* anObject) const override;

 private:
  uint64_t value_ = 0;
  size_t bits_ = 0;
};
