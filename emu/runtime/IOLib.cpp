// IOLib for the emulated DriverKit runtime. See DriverKit/IOLib.h for the rules it enforces.
#include <DriverKit/IOLib.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <atomic>
#include <mutex>
#include <new>

extern "C" {
uint64_t IOVMPageSize = 16384;
}

namespace {

// Every IOMalloc block starts with this header, so IOFree can check the caller's size. 16 bytes
// keep the returned pointer 16-byte aligned, as malloc's is.
struct alignas(16) AllocHeader {
  uint64_t length;
  uint64_t magic;
};
constexpr uint64_t kAllocMagic = 0x494f4d616c6c6f63ull;  // "IOMalloc"
constexpr uint64_t kFreedMagic = 0x494f467265656421ull;  // "IOFreed!"

[[noreturn]] void Fatal(const char* what, const void* address, uint64_t expected, uint64_t given) {
  fprintf(stderr, "fpgadext emulation: %s (address %p, allocated %llu bytes, freed as %llu)\n",
          what, address, (unsigned long long)expected, (unsigned long long)given);
  abort();
}

void* Allocate(size_t length, bool zero) {
  if (length > SIZE_MAX - sizeof(AllocHeader)) return nullptr;
  void* raw = zero ? calloc(1, sizeof(AllocHeader) + length) : malloc(sizeof(AllocHeader) + length);
  if (raw == nullptr) return nullptr;
  auto* header = static_cast<AllocHeader*>(raw);
  header->length = length;
  header->magic = kAllocMagic;
  return header + 1;
}

// An address unique to each thread, used as a lock owner token.
uintptr_t ThreadToken() {
  static thread_local char token;
  return reinterpret_cast<uintptr_t>(&token);
}

}  // namespace

extern "C" {

void* IOMalloc(size_t length) {
  return Allocate(length, false);
}
void* IOMallocZero(size_t length) {
  return Allocate(length, true);
}

void IOFree(void* address, size_t length) {
  if (address == nullptr) return;
  AllocHeader* header = static_cast<AllocHeader*>(address) - 1;
  if (header->magic != kAllocMagic) {
    Fatal(header->magic == kFreedMagic ? "IOFree of memory already freed"
                                       : "IOFree of memory not from IOMalloc",
          address, 0, length);
  }
  if (header->length != length)
    Fatal("IOFree with a wrong length", address, header->length, length);
  header->magic = kFreedMagic;
  free(header);
}

void* IOMallocTypeArray_emulated(size_t elementSize, size_t count, bool zero) {
  size_t bytes;
  if (__builtin_mul_overflow(elementSize, count, &bytes)) return nullptr;
  return Allocate(bytes, zero);
}

}  // extern "C"

struct IOLock {
  std::mutex mutex;
  std::atomic<uintptr_t> owner{0};
};

struct IORecursiveLock {
  std::recursive_mutex mutex;
  std::atomic<uintptr_t> owner{0};
  uint32_t depth = 0;  // guarded by mutex
};

extern "C" {

IOLock* IOLockAlloc(void) {
  return new (std::nothrow) IOLock;
}
void IOLockFree(IOLock* lock) {
  delete lock;
}

void IOLockLock(IOLock* lock) {
  lock->mutex.lock();
  lock->owner.store(ThreadToken(), std::memory_order_relaxed);
}

void IOLockUnlock(IOLock* lock) {
  lock->owner.store(0, std::memory_order_relaxed);
  lock->mutex.unlock();
}

bool IOLockTryLock(IOLock* lock) {
  if (!lock->mutex.try_lock()) return false;
  lock->owner.store(ThreadToken(), std::memory_order_relaxed);
  return true;
}

void IOLockAssert(IOLock* lock, IOLockAssertState type) {
  bool owned = lock->owner.load(std::memory_order_relaxed) == ThreadToken();
  if ((type == kIOLockAssertOwned) != owned) {
    fprintf(stderr, "fpgadext emulation: IOLockAssert(%p, %s) failed\n", static_cast<void*>(lock),
            type == kIOLockAssertOwned ? "kIOLockAssertOwned" : "kIOLockAssertNotOwned");
    abort();
  }
}

IORecursiveLock* IORecursiveLockAlloc(void) {
  return new (std::nothrow) IORecursiveLock;
}
void IORecursiveLockFree(IORecursiveLock* lock) {
  delete lock;
}

void IORecursiveLockLock(IORecursiveLock* lock) {
  lock->mutex.lock();
  lock->owner.store(ThreadToken(), std::memory_order_relaxed);
  ++lock->depth;
}

void IORecursiveLockUnlock(IORecursiveLock* lock) {
  if (--lock->depth == 0) lock->owner.store(0, std::memory_order_relaxed);
  lock->mutex.unlock();
}

bool IORecursiveLockTryLock(IORecursiveLock* lock) {
  if (!lock->mutex.try_lock()) return false;
  lock->owner.store(ThreadToken(), std::memory_order_relaxed);
  ++lock->depth;
  return true;
}

bool IORecursiveLockHaveLock(const IORecursiveLock* lock) {
  return lock->owner.load(std::memory_order_relaxed) == ThreadToken();
}

void IOSleep(uint64_t ms) {
  struct timespec ts;
  ts.tv_sec = static_cast<time_t>(ms / 1000);
  ts.tv_nsec = static_cast<long>((ms % 1000) * 1000000);
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

void IODelay(uint64_t us) {
  // A busy wait, as in the kernel: IODelay is for short waits where sleeping costs too much.
  // It yields between clock reads: here the "hardware" the caller polls is a thread (the board
  // model's engine), which the scheduler may have queued on this very CPU; a pure spin would
  // keep it off until the next tick (4 ms). The caller still waits at least `us`.
  struct timespec start;
  clock_gettime(CLOCK_MONOTONIC, &start);
  const uint64_t begin =
      static_cast<uint64_t>(start.tv_sec) * 1000000000ull + static_cast<uint64_t>(start.tv_nsec);
  const uint64_t end = begin + us * 1000ull;
  for (;;) {
    sched_yield();
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (static_cast<uint64_t>(now.tv_sec) * 1000000000ull + static_cast<uint64_t>(now.tv_nsec) >=
        end) {
      return;
    }
  }
}

// Apple Silicon: 24 MHz ticks, 1 tick = 125/3 ns.
uint64_t mach_absolute_time(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  const unsigned __int128 ns =
      static_cast<unsigned __int128>(now.tv_sec) * 1000000000u + static_cast<uint64_t>(now.tv_nsec);
  return static_cast<uint64_t>(ns * 3 / 125);
}

kern_return_t mach_timebase_info(mach_timebase_info_t info) {
  if (info == nullptr) return 4;  // KERN_INVALID_ARGUMENT
  info->numer = 125;
  info->denom = 3;
  return kIOReturnSuccess;
}

}  // extern "C"
