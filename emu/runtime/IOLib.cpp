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
#include <shared_mutex>

extern "C" {
uint64_t IOVMPageSize = 16384;  // the apple-silicon profile's; a Machine sets its profile's
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

struct IORWLock {
  std::shared_mutex mutex;
  std::atomic<uintptr_t> writer{0};  // the thread holding it for writing, else 0
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

bool IORecursiveLockHaveLock(IORecursiveLock* lock) {
  return lock->owner.load(std::memory_order_relaxed) == ThreadToken();
}

IORWLock* IORWLockAlloc(void) {
  return new (std::nothrow) IORWLock;
}
void IORWLockFree(IORWLock* lock) {
  delete lock;
}
void IORWLockRead(IORWLock* lock) {
  lock->mutex.lock_shared();
}
void IORWLockWrite(IORWLock* lock) {
  lock->mutex.lock();
  lock->writer.store(ThreadToken(), std::memory_order_relaxed);
}
void IORWLockUnlock(IORWLock* lock) {
  if (lock->writer.load(std::memory_order_relaxed) == ThreadToken()) {
    lock->writer.store(0, std::memory_order_relaxed);
    lock->mutex.unlock();
  } else {
    lock->mutex.unlock_shared();
  }
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

uint64_t mach_continuous_time(void) {
  struct timespec now;
  clock_gettime(CLOCK_BOOTTIME, &now);
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

// ---- logging and miscellany ----

extern "C" {

int IOLogv(const char* format, va_list ap) {
  char message[1024];
  int n = vsnprintf(message, sizeof(message), format, ap);
  os_log(OS_LOG_DEFAULT, "%{public}s", message);
  return n;
}

int IOLog(const char* format, ...) {
  va_list ap;
  va_start(ap, format);
  int n = IOLogv(format, ap);
  va_end(ap);
  return n;
}

void IOLogBuffer(const char* title, const void* buffer, size_t size) {
  const auto* bytes = static_cast<const uint8_t*>(buffer);
  IOLog("%s (%zu bytes)", title ? title : "", size);
  for (size_t line = 0; bytes != nullptr && line < size; line += 16) {
    char text[16 * 3 + 1] = {};
    size_t used = 0;
    for (size_t i = line; i < size && i < line + 16; ++i) {
      used += static_cast<size_t>(snprintf(text + used, sizeof(text) - used, " %02x", bytes[i]));
    }
    IOLog("%06zx:%s", line, text);
  }
}

// CRC-32 as zlib computes it (reflected polynomial 0xEDB88320).
uint32_t crc32(uint32_t crc, const void* buf, size_t size) {
  const auto* p = static_cast<const uint8_t*>(buf);
  crc = ~crc;
  for (size_t i = 0; i < size; ++i) {
    crc ^= p[i];
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

void OSSynchronizeIO(void) {
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

bool IOParseBootArgNumber(const char* arg_string, void* arg_ptr, int max_len) {
  return false;
}
bool IOParseBootArgString(const char* arg_string, char* arg_ptr, int strlen) {
  return false;
}

void OSReportWithBacktrace(const char* str, ...) {
  char message[1024];
  va_list ap;
  va_start(ap, str);
  vsnprintf(message, sizeof(message), str, ap);
  va_end(ap);
  // The emulation logs the message; it does not symbolicate a backtrace.
  os_log(OS_LOG_DEFAULT, "%{public}s (OSReportWithBacktrace)", message);
}

}  // extern "C"
