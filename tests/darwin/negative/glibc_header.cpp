// Rejected by the darwin check, builds on Linux: a glibc header. No Linux header is in reach of
// the darwin check, and the DriverKit SDK has no <malloc.h>.
#include <malloc.h>
