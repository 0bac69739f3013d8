// Must not compile: CFNumber is declared by <CoreFoundation/CFNumber.h>, which none of the CF
// headers Apple's IOKitLib.h includes (CFBase, CFDictionary, CFRunLoop and theirs) brings in.
#include <IOKit/IOKitLib.h>

bool Read(CFTypeRef value, int* out) {
  return CFNumberGetValue(value, 9, out);
}
