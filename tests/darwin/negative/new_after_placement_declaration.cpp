// Rejected by the darwin check: DriverKit's declaration of the placement operator new (as the
// emulated DriverKit headers make it for Apple targets) followed by libc++'s <new>, which is
// what a dext that includes <new> after DriverKit headers gives on a Mac.
#include <fpgadext/emu/placement_new.h>

#include <new>
