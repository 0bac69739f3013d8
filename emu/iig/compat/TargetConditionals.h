// Stand-in for the Mac SDK's <TargetConditionals.h>: the emulation builds DriverKit code as a Mac
// would for a DriverKit target, on the host's CPU: TARGET_OS_DRIVERKIT 1 and TARGET_OS_OSX 0, the
// values clang defines for an apple-driverkit target (emu/driverkit-sdk's copy relies on them).
// Added to the include path by fpgadext_iig() (emu/iig/Iig.cmake) while emu/include does not
// provide this header itself.
#pragma once

#define TARGET_OS_MAC 1
#define TARGET_OS_OSX 0
#define TARGET_OS_DRIVERKIT 1
#define TARGET_OS_IPHONE 0
#define TARGET_OS_IOS 0
#define TARGET_OS_TV 0
#define TARGET_OS_WATCH 0
#define TARGET_OS_SIMULATOR 0
#if defined(__aarch64__)
#define TARGET_CPU_ARM64 1
#define TARGET_CPU_X86_64 0
#elif defined(__x86_64__)
#define TARGET_CPU_ARM64 0
#define TARGET_CPU_X86_64 1
#else
#define TARGET_CPU_ARM64 0
#define TARGET_CPU_X86_64 0
#endif
