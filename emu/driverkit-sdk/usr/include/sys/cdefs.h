// <sys/cdefs.h> as the DriverKit SDK installs it (xnu bsd/sys/Makefile, DRIVERKIT_DATAFILES):
// the C linkage brackets and the attribute shorthands the other headers here use. A subset.
#ifndef _CDEFS_H_
#define _CDEFS_H_

#if defined(__cplusplus)
#define __BEGIN_DECLS extern "C" {
#define __END_DECLS }
#else
#define __BEGIN_DECLS
#define __END_DECLS
#endif

#define __dead2 __attribute__((__noreturn__))
#define __pure2 __attribute__((__const__))
#define __cold __attribute__((__cold__))
#define __printflike(fmtarg, firstvararg) \
  __attribute__((__format__(__printf__, fmtarg, firstvararg)))
#define __scanflike(fmtarg, firstvararg) __attribute__((__format__(__scanf__, fmtarg, firstvararg)))

#endif  // _CDEFS_H_
