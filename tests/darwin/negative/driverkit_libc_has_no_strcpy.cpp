// Rejected by the darwin check, builds on Linux: DriverKit's <string.h> has no strcpy (Apple's
// Libc leaves it out of the DriverKit SDK; strlcpy is there).
#include <string.h>

void Copy(char* destination, const char* source) {
  strcpy(destination, source);
}
