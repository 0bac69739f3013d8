// Uses a type no header it includes declares: does not compile on its own.
#pragma once

inline FakeType Broken() {
  return 0;
}
#define kBrokenMacro 3
