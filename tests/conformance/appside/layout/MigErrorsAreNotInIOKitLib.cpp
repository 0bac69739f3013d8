// Must not compile: MIG_ARRAY_TOO_LARGE comes from <mach/mig_errors.h> (or <mach/mach.h>), which
// Apple's IOKitLib.h does not include.
#include <IOKit/IOKitLib.h>

int TooLarge() {
  return MIG_ARRAY_TOO_LARGE;
}
