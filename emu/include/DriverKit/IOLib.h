// DriverKit's IOLib.h as the emulation provides it: general-purpose memory (IOMalloc, IONew),
// mutexes (IOLock, IORecursiveLock), delays, and the Mach absolute clock a dext reads through
// mach_absolute_time().
//
// Emulation rules that make wrong code fail here as on a Mac:
// - IOFree must be given the size that was allocated; a mismatch aborts with a message.
// - IONew/IONewZero return NULL when sizeof(type) * count overflows, as Apple's do.
// - mach_absolute_time() ticks at 24 MHz with a timebase of 125/3, as on Apple Silicon, so code
//   that treats ticks as nanoseconds is visibly wrong.
#pragma once

#include <DriverKit/IOReturn.h>
#include <DriverKit/IOTypes.h>
#include <stddef.h>
#include <stdint.h>

extern "C" {

// General-purpose memory. IOMalloc and IOMallocZero return NULL on failure; IOFree(NULL, n) does
// nothing. `length` given to IOFree must equal the length given to IOMalloc.
void* IOMalloc(size_t length);
void* IOMallocZero(size_t length);
void IOFree(void* address, size_t length);

// Used by IONew/IONewZero: NULL if elementSize * count overflows or allocation fails.
void* IOMallocTypeArray_emulated(size_t elementSize, size_t count, bool zero);

// Mutexes. A locked IOLock must not be locked again by the same thread (that deadlocks).
struct IOLock;
typedef struct IOLock IOLock;
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
typedef struct IORecursiveLock IORecursiveLock;
struct IORecursiveLock* IORecursiveLockAlloc(void);
void IORecursiveLockFree(struct IORecursiveLock* lock);
void IORecursiveLockLock(struct IORecursiveLock* lock);
void IORecursiveLockUnlock(struct IORecursiveLock* lock);
bool IORecursiveLockTryLock(struct IORecursiveLock* lock);
bool IORecursiveLockHaveLock(const struct IORecursiveLock* lock);

// Blocks the calling thread for `ms` milliseconds / spins for `us` microseconds.
void IOSleep(uint64_t ms);
void IODelay(uint64_t us);

// Mach absolute time (as <mach/mach_time.h> declares it on macOS).
struct mach_timebase_info {
  uint32_t numer;
  uint32_t denom;
};
typedef struct mach_timebase_info* mach_timebase_info_t;
typedef struct mach_timebase_info mach_timebase_info_data_t;
uint64_t mach_absolute_time(void);
kern_return_t mach_timebase_info(mach_timebase_info_t info);

}  // extern "C"

#define IOMallocType_emulated_array(type, count, zero) \
  ((type*)IOMallocTypeArray_emulated(sizeof(type), (size_t)(count), (zero)))

// Allocate / free arrays of `count` `type`s (no constructors run, as with Apple's macros).
#define IONew(type, count) IOMallocType_emulated_array(type, count, false)
#define IONewZero(type, count) IOMallocType_emulated_array(type, count, true)
#define IODelete(ptr, type, count) IOFree((ptr), sizeof(type) * (size_t)(count))
#define IOSafeDeleteNULL(ptr, type, count) \
  do {                                     \
    if (NULL != (ptr)) {                   \
      IODelete((ptr), type, count);        \
      (ptr) = NULL;                        \
    }                                      \
  } while (0)
