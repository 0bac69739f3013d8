// DriverKit's IOLib.h (a closed SDK header) as the emulation provides it: logging, general-purpose
// memory (IOMalloc, IONew), mutexes (IOLock, IORecursiveLock, IORWLock), delays, the Mach
// absolute clock, OSSafeReleaseNULL and IOVMPageSize. Like Apple's, it brings in <os/log.h>,
// <DriverKit/IOReturn.h>, <DriverKit/IOTypes.h> and <stdlib.h>; it does not bring in OSObject.h.
//
// Emulation rules that make wrong code fail here as on a Mac:
// - IOFree must be given the size that was allocated; a mismatch aborts with a message. IOFree
//   of memory IOMalloc did not hand out (e.g. from `new`) is released as a Mac's malloc would
//   release it (operator delete here), with an error in the log.
// - IOSleep and IODelay sleep (off the CPU) for at least the time asked; they never spin.
// - IONew/IONewZero return NULL when sizeof(type) * count overflows, as Apple's do.
// - mach_absolute_time() ticks at 24 MHz with a timebase of 125/3, as on Apple Silicon, so code
//   that treats ticks as nanoseconds is visibly wrong.
// - IOVMPageSize is the emulated Mac's page size, whatever the Linux host uses: 16384 in the
//   apple-silicon hardware profile (the default), 4096 in the intel one (docs/emulation.md).
#pragma once

#include <DriverKit/IOReturn.h>
#include <DriverKit/IOTypes.h>
#include <os/log.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

extern "C" {

// Logging. IOLog and IOLogv write through os_log (default level, OS_LOG_DEFAULT).
void IOLogBuffer(const char* title, const void* buffer, size_t size);
uint32_t crc32(uint32_t crc, const void* buf, size_t size);
int IOLog(const char* format, ...) __attribute__((format(printf, 1, 2)));
int IOLogv(const char* format, va_list ap) __attribute__((format(printf, 1, 0)));

// General-purpose memory. IOMalloc and IOMallocZero return NULL on failure; IOFree(NULL, n) does
// nothing. `length` given to IOFree must equal the length given to IOMalloc.
void* IOMalloc(size_t length) __attribute__((alloc_size(1)));
void* IOMallocZero(size_t length) __attribute__((alloc_size(1)));
void IOFree(void* address, size_t length);

// Puts the calling thread to sleep for at least `ms` milliseconds / `us` microseconds; other
// threads run meanwhile. IODelay(0) only lets other threads run.
void IOSleep(uint64_t ms);
void IODelay(uint64_t us);

// Mach time (DriverKit declares it here, not in <mach/mach_time.h>).
struct mach_timebase_info {
  uint32_t numer;
  uint32_t denom;
};
typedef struct mach_timebase_info* mach_timebase_info_t;
typedef struct mach_timebase_info mach_timebase_info_data_t;
kern_return_t mach_timebase_info(mach_timebase_info_t info);
uint64_t mach_absolute_time(void);
// Like mach_absolute_time, but also counting time the machine slept.
uint64_t mach_continuous_time(void);

#ifndef NSEC_PER_SEC
#define NSEC_PER_SEC 1000000000ull
enum {
  kNanosecondScale = 1,
  kMicrosecondScale = 1000,
  kMillisecondScale = 1000 * 1000,
  kSecondScale = 1000 * 1000 * 1000,
};
#endif

// A full memory barrier for device accesses.
void OSSynchronizeIO(void);

// 16.16 fixed-point arithmetic.
static inline IOFixed IOFixedMultiply(IOFixed a, IOFixed b) {
  return (IOFixed)(((int64_t)a * (int64_t)b) >> 16);
}
static inline IOFixed IOFixedDivide(IOFixed a, IOFixed b) {
  return (IOFixed)(((int64_t)a << 16) / (int64_t)b);
}

// Kernel boot-args. The emulated machine has none: both return false.
bool IOParseBootArgNumber(const char* arg_string, void* arg_ptr, int max_len);
bool IOParseBootArgString(const char* arg_string, char* arg_ptr, int strlen);

// Logs the message (printf format) and the caller's backtrace.
void __attribute__((noinline, not_tail_called)) OSReportWithBacktrace(const char* str, ...);

// The VM page size a dext sees.
extern uint64_t IOVMPageSize;

// Mutexes. A locked IOLock must not be locked again by the same thread (that deadlocks).
struct IOLock;
struct IOLock* IOLockAlloc(void);
void IOLockFree(struct IOLock* lock);
void IOLockLock(struct IOLock* lock);
void IOLockUnlock(struct IOLock* lock);
bool IOLockTryLock(struct IOLock* lock);

typedef enum {
  kIOLockAssertOwned = 1,
  kIOLockAssertNotOwned = 2,
} IOLockAssertState;
// Aborts if the calling thread's ownership of `lock` is not `type`.
void IOLockAssert(struct IOLock* lock, IOLockAssertState type);

// Recursive mutexes: the owning thread may lock again; each lock needs an unlock.
struct IORecursiveLock;
struct IORecursiveLock* IORecursiveLockAlloc(void);
void IORecursiveLockFree(struct IORecursiveLock* lock);
void IORecursiveLockLock(struct IORecursiveLock* lock);
bool IORecursiveLockTryLock(struct IORecursiveLock* lock);
void IORecursiveLockUnlock(struct IORecursiveLock* lock);
bool IORecursiveLockHaveLock(struct IORecursiveLock* lock);

// Read/write locks: many readers or one writer; not recursive.
struct IORWLock;
struct IORWLock* IORWLockAlloc(void);
void IORWLockFree(struct IORWLock* lock);
void IORWLockRead(struct IORWLock* lock);
void IORWLockWrite(struct IORWLock* lock);
void IORWLockUnlock(struct IORWLock* lock);

typedef enum {
  kIORWLockAssertRead = 1,
  kIORWLockAssertWrite = 2,
  kIORWLockAssertHeld = 3,
  kIORWLockAssertNotHeld = 4,
} IORWLockAssertState;

}  // extern "C"

#define IOLockFreeZero(l) \
  do {                    \
    if (l) {              \
      IOLockFree(l);      \
      l = NULL;           \
    }                     \
  } while (0);
#define IORecursiveLockFreeZero(l) \
  do {                             \
    if (l) {                       \
      IORecursiveLockFree(l);      \
      l = NULL;                    \
    }                              \
  } while (0);
#define IORWLockFreeZero(l) \
  do {                      \
    if (l) {                \
      IORWLockFree(l);      \
      l = NULL;             \
    }                       \
  } while (0);

// Releases an object if it is not NULL, then sets the variable to NULL. A braced block, as
// Apple's: `if (x) OSSafeReleaseNULL(a); else ...` does not compile, as on a Mac.
#define OSSafeReleaseNULL(inst) \
  {                             \
    if (NULL != (inst)) {       \
      (inst)->release();        \
      (inst) = NULL;            \
    }                           \
  }

// Allocate / free arrays of `count` `type`s (no constructors run). NULL if the size overflows.
#define IONew(type, count)                                                                        \
  ({                                                                                              \
    size_t ioNewSize_;                                                                            \
    (__builtin_mul_overflow(sizeof(type), (count), &ioNewSize_)) ? ((type*)NULL)                  \
                                                                 : ((type*)IOMalloc(ioNewSize_)); \
  })
#define IONewZero(type, count)                                   \
  ({                                                             \
    size_t ioNewSize_;                                           \
    (__builtin_mul_overflow(sizeof(type), (count), &ioNewSize_)) \
        ? ((type*)NULL)                                          \
        : ((type*)IOMallocZero(ioNewSize_));                     \
  })
#define IODelete(ptr, type, count)                                        \
  ({                                                                      \
    size_t ioDeleteSize_;                                                 \
    if (!__builtin_mul_overflow(sizeof(type), (count), &ioDeleteSize_)) { \
      IOFree((ptr), ioDeleteSize_);                                       \
    }                                                                     \
  })
#define IOSafeDeleteNULL(ptr, type, count) \
  do {                                     \
    if (NULL != (ptr)) {                   \
      IODelete((ptr), type, count);        \
      (ptr) = NULL;                        \
    }                                      \
  } while (0)

// Byte order (little-endian hosts only, as every Mac DriverKit runs on).
#define OSSwapLittleToHostInt16(x) ((uint16_t)(x))
#define OSSwapHostToLittleInt16(x) ((uint16_t)(x))
#define OSSwapLittleToHostInt32(x) ((uint32_t)(x))
#define OSSwapHostToLittleInt32(x) ((uint32_t)(x))
#define OSSwapLittleToHostInt64(x) ((uint64_t)(x))
#define OSSwapHostToLittleInt64(x) ((uint64_t)(x))
#define OSSwapBigToHostInt16(x) __builtin_bswap16((uint16_t)(x))
#define OSSwapHostToBigInt16(x) __builtin_bswap16((uint16_t)(x))
#define OSSwapBigToHostInt32(x) __builtin_bswap32((uint32_t)(x))
#define OSSwapHostToBigInt32(x) __builtin_bswap32((uint32_t)(x))
#define OSSwapBigToHostInt64(x) __builtin_bswap64((uint64_t)(x))
#define OSSwapHostToBigInt64(x) __builtin_bswap64((uint64_t)(x))
