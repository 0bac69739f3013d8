// Time intervals and absolute time (CF-1153.18 CFDate.h); a subset.
#ifndef __COREFOUNDATION_CFDATE__
#define __COREFOUNDATION_CFDATE__

#include <CoreFoundation/CFBase.h>

CF_EXTERN_C_BEGIN

typedef double CFTimeInterval;
typedef CFTimeInterval CFAbsoluteTime;

// Seconds since 1 January 2001 00:00:00 GMT.
CFAbsoluteTime CFAbsoluteTimeGetCurrent(void);

extern const CFTimeInterval kCFAbsoluteTimeIntervalSince1970;
extern const CFTimeInterval kCFAbsoluteTimeIntervalSince1904;

CF_EXTERN_C_END

#endif
