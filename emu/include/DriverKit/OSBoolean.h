// OSBoolean: exactly two instances exist, kOSBooleanTrue and kOSBooleanFalse (DriverKit
// OSBoolean). They need not be retained or released, but may be; they are never freed. Compare
// with `value == kOSBooleanTrue`.
#pragma once

#include <DriverKit/OSContainer.h>

class OSBoolean;
typedef OSBoolean* OSBooleanPtr;

class OSBoolean : public OSContainer {
  OSDeclareEmulatedClass(OSBoolean);

 public:
  bool isTrue() const { return value_; }
  bool isFalse() const { return !value_; }
  bool getValue() const { return value_; }

  bool isEqualTo(const OSBoolean* aBoolean) const { return aBoolean == this; }
  bool isEqualTo(const OSObject* anObject) const override { return anObject == this; }

  void free() override;

  // The two instances live in static storage; an over-release that drops one to zero
  // references lands here and rebuilds it in place instead of freeing it.
  static void operator delete(void* object);

 private:
  friend struct OSBooleanStorage;
  explicit OSBoolean(bool value) : value_(value) {}

  bool value_;
};

extern OSBooleanPtr kOSBooleanTrue;
extern OSBooleanPtr kOSBooleanFalse;
