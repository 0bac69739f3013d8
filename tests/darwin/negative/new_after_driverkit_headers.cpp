// Rejected by the darwin check, builds on Linux: <new> after a DriverKit header. On a Mac the
// DriverKit headers have declared the placement operator new by then, and libc++'s <new> fails.
#include <DriverKit/IOService.h>

#include <new>

struct Widget {
  int value;
};

Widget* Place(void* storage) {
  return new (storage) Widget{1};
}
