// OSBoolean: exactly two instances exist, kOSBooleanTrue and kOSBooleanFalse (DriverKit
// OSBoolean; Apple's reference lists retain, release, free and the two constants, and no value
// accessors). Compare with `value == kOSBooleanTrue`. retain and release do nothing: the
// instances are immutable and never freed.
#pragma once

#include <DriverKit/OSContainer.h>

class OSBoolean;
typedef OSBoolean* OSBooleanPtr;

class OSBoolean : public OSContainer {
  OSDeclareEmulatedClass(OSBoolean);

 public:
  void retain() const override;
  void release() const override;
  void free() override;

 private:
  friend struct OSBooleanStorage;
  explicit OSBoolean(bool value) : value_(value) {}

  [[maybe_unused]] bool value_;
};

extern OSBooleanPtr kOSBooleanTrue;
extern OSBooleanPtr kOSBooleanFalse;
