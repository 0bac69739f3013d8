// <sys/_types/_mbstate_t.h> as the DriverKit SDK installs it (xnu bsd/sys/_types/Makefile,
// DRIVERKIT_DATAFILES): Darwin's conversion state, a 128-byte union (xnu bsd/arm/_types.h and
// bsd/i386/_types.h). libc++ finds mbstate_t here on Darwin.
#ifndef _MBSTATE_T
#define _MBSTATE_T

typedef union {
  char __mbstate8[128];
  long long _mbstateL;
} __mbstate_t;
typedef __mbstate_t __darwin_mbstate_t;
typedef __darwin_mbstate_t mbstate_t;

#endif  // _MBSTATE_T
