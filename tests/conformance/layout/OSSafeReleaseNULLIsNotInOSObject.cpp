// Must not compile: OSSafeReleaseNULL is declared by <DriverKit/IOLib.h>, not by OSObject.h.
#include <DriverKit/OSObject.h>

void Drop(OSObject*& object) {
  OSSafeReleaseNULL(object);
}
