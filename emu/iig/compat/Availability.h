// Stand-in for the Mac SDK's <Availability.h>, which .iig files include: availability annotations
// expand to nothing on Linux. Added to the include path by fpgadext_iig() (emu/iig/Iig.cmake)
// while emu/include does not provide this header itself.
#pragma once

#define API_AVAILABLE(...)
#define API_UNAVAILABLE(...)
#define API_DEPRECATED(...)
#define API_DEPRECATED_WITH_REPLACEMENT(...)
#define __API_AVAILABLE(...)
#define __API_UNAVAILABLE(...)
#define __API_DEPRECATED(...)
#define __OSX_AVAILABLE(...)
#define __IOS_AVAILABLE(...)
#define __DRIVERKIT_AVAILABLE(...)
