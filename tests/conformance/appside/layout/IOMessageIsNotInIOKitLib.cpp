// Must not compile: kIOMessageServiceIsTerminated is declared by <IOKit/IOMessage.h>, which
// Apple's IOKitLib.h does not include.
#include <IOKit/IOKitLib.h>

unsigned Terminated() {
  return kIOMessageServiceIsTerminated;
}
