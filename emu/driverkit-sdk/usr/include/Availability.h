// <Availability.h> as an Apple SDK provides it: the availability annotations Apple's headers
// and .iig files put on declarations. Here they expand to nothing, so the darwin check does not
// catch a call to an API newer than the deployment target (a Mac build with Xcode does).
#ifndef __AVAILABILITY__
#define __AVAILABILITY__

#define API_AVAILABLE(...)
#define API_UNAVAILABLE(...)
#define API_DEPRECATED(...)
#define API_DEPRECATED_WITH_REPLACEMENT(...)
#define __API_AVAILABLE(...)
#define __API_UNAVAILABLE(...)
#define __API_DEPRECATED(...)
#define __OSX_AVAILABLE(...)
#define __IOS_AVAILABLE(...)
#define __TVOS_AVAILABLE(...)
#define __WATCHOS_AVAILABLE(...)
#define __DRIVERKIT_AVAILABLE(...)
#define __OSX_AVAILABLE_STARTING(...)

#endif  // __AVAILABILITY__
