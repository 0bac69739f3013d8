#include <DriverKit/OSBoolean.h>

#include <new>

OSDefineAbstractMetaClass(OSBoolean, OSContainer);

// Static storage for the two instances that is never destroyed, so they stay valid during
// static destruction too. The pointers below are constant-initialised.
struct OSBooleanStorage {
  union Slot {
    constexpr Slot() : unused(0) {}
    ~Slot() {}
    char unused;
    OSBoolean value;
  };
  static Slot trueSlot;
  static Slot falseSlot;

  OSBooleanStorage() {
    new (&trueSlot.value) OSBoolean(true);
    new (&falseSlot.value) OSBoolean(false);
  }
};

OSBooleanStorage::Slot OSBooleanStorage::trueSlot;
OSBooleanStorage::Slot OSBooleanStorage::falseSlot;
// Built before ordinary static initialisers, so other files may use the singletons in theirs.
static OSBooleanStorage gBuildBooleans __attribute__((init_priority(101)));

OSBooleanPtr kOSBooleanTrue = &OSBooleanStorage::trueSlot.value;
OSBooleanPtr kOSBooleanFalse = &OSBooleanStorage::falseSlot.value;

void OSBoolean::retain() const {}
void OSBoolean::release() const {}
void OSBoolean::free() {}
