// Declarations of another header: not collected when Fake.h is checked.
#pragma once

class OtherClass {
 public:
  int OtherMethod();
};
#define kOtherMacro 2
