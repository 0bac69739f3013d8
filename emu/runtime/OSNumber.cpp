#include <DriverKit/OSNumber.h>
#include <errno.h>
#include <stdlib.h>

OSDefineMetaClass(OSNumber, OSContainer);

OSNumberPtr OSNumber::withNumber(uint64_t value, size_t numberOfBits) {
  if (numberOfBits != 8 && numberOfBits != 16 && numberOfBits != 32 && numberOfBits != 64) {
    return nullptr;
  }
  OSNumber* me = ::new OSNumber;
  if (!me->init()) {
    me->release();
    return nullptr;
  }
  me->bits_ = numberOfBits;
  me->value_ = numberOfBits == 64 ? value : value & ((uint64_t{1} << numberOfBits) - 1);
  return me;
}

OSNumberPtr OSNumber::withNumber(const char* valueString, size_t numberOfBits) {
  if (valueString == nullptr) return nullptr;
  char* end = nullptr;
  errno = 0;
  long long value = strtoll(valueString, &end, 0);
  if (end == valueString || errno == ERANGE) return nullptr;
  return withNumber(static_cast<uint64_t>(value), numberOfBits);
}

bool OSNumber::isEqualTo(const OSNumber* aNumber) const {
  return aNumber != nullptr && aNumber->value_ == value_;
}

bool OSNumber::isEqualTo(const OSMetaClassBase* anObject) const {
  const OSNumber* other = OSDynamicCast(OSNumber, anObject);
  return other != nullptr && isEqualTo(other);
}
