// Visits every entry of an OSDictionary, whichever way the runtime's iterateObjects reads its
// block's result (Apple's: true stops; checked once with a two-entry dictionary).
#pragma once

#include <DriverKit/OSDictionary.h>
#include <DriverKit/OSString.h>

namespace fpgadext::emu {

inline bool OSIterateContinueValue() {
  static const bool value = [] {
    OSDictionary* probe = OSDictionary::withCapacity(2);
    OSString* s = OSString::withCString("x");
    probe->setObject("a", s);
    probe->setObject("b", s);
    __block int visits = 0;
    probe->iterateObjects(^bool(OSObject*, OSObject*) {
      ++visits;
      return false;
    });
    s->release();
    probe->release();
    return visits != 2;  // false did not continue: true does
  }();
  return value;
}

template <class Fn>
void ForEachEntry(OSDictionary* dictionary, Fn fn) {
  const bool keepGoing = OSIterateContinueValue();
  dictionary->iterateObjects(^bool(OSObject* key, OSObject* value) {
    fn(key, value);
    return keepGoing;
  });
}

}  // namespace fpgadext::emu
