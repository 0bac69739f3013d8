// Basic Carbon-era integer types (the macOS SDK's MacTypes.h, reached from libkern/OSTypes.h and
// CoreFoundation); a subset.
#ifndef __MACTYPES__
#define __MACTYPES__

typedef unsigned char UInt8;
typedef signed char SInt8;
typedef unsigned short UInt16;
typedef signed short SInt16;
typedef unsigned int UInt32;
typedef signed int SInt32;
typedef unsigned long long UInt64;
typedef signed long long SInt64;
typedef SInt32 OSStatus;
typedef unsigned char Boolean;

#endif
