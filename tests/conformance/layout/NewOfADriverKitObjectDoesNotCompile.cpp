// Must not compile: OSMetaClassBase declares only the placement operator new, which hides the
// global one; DriverKit objects come from OSTypeAlloc or a class's factory methods.
#include <DriverKit/OSObject.h>

OSObject* Make() {
  return new OSObject;
}
