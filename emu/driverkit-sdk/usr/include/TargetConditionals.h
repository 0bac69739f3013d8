// <TargetConditionals.h> as an Apple SDK provides it (DriverKit's IOLib.h includes it). clang 19
// already defines the TARGET_OS_* macros for an apple-driverkit or apple-macos target (its
// -fdefine-target-os-macros default), so this header fills in only what the compiler does not:
// the CPU and runtime macros, and TARGET_OS_* for an older compiler.
#ifndef __TARGETCONDITIONALS__
#define __TARGETCONDITIONALS__

#ifndef TARGET_OS_MAC
#define TARGET_OS_MAC 1
#endif
#ifndef TARGET_OS_DRIVERKIT
#if defined(__ENVIRONMENT_DRIVERKIT_VERSION_MIN_REQUIRED__)
#define TARGET_OS_DRIVERKIT 1
#else
#define TARGET_OS_DRIVERKIT 0
#endif
#endif
#ifndef TARGET_OS_OSX
#if defined(__ENVIRONMENT_MAC_OS_X_VERSION_MIN_REQUIRED__)
#define TARGET_OS_OSX 1
#else
#define TARGET_OS_OSX 0
#endif
#endif
#ifndef TARGET_OS_IPHONE
#define TARGET_OS_IPHONE 0
#endif
#ifndef TARGET_OS_IOS
#define TARGET_OS_IOS 0
#endif
#ifndef TARGET_OS_TV
#define TARGET_OS_TV 0
#endif
#ifndef TARGET_OS_WATCH
#define TARGET_OS_WATCH 0
#endif
#ifndef TARGET_OS_SIMULATOR
#define TARGET_OS_SIMULATOR 0
#endif

#if defined(__arm64__) || defined(__aarch64__)
#define TARGET_CPU_ARM64 1
#define TARGET_CPU_X86_64 0
#elif defined(__x86_64__)
#define TARGET_CPU_ARM64 0
#define TARGET_CPU_X86_64 1
#else
#error "the darwin check targets arm64 and x86_64 only"
#endif
#define TARGET_RT_64_BIT 1
#define TARGET_RT_LITTLE_ENDIAN 1
#define TARGET_RT_BIG_ENDIAN 0
#define TARGET_RT_MAC_MACHO 1

#endif  // __TARGETCONDITIONALS__
