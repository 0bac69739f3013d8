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
#include <unordered_map>

#include <fpgadext/emu/host_cost.h>
#include <fpgadext/emu/iolib_stats.h>

extern "C" {
uint64_t IOVMPageSize = 16384;  // the apple-silicon profile's; a Machine sets its profile's
}

namespace {

// IOMalloc's bookkeeping: the length of every live block, by address, so that IOFree can check
// the caller's length without a header in front of the block. A Mac keeps no header either
// (IOMalloc and `new` both end in the dext process's malloc), so memory from `new` can reach
// IOFree there and be released; a table lets the emulation accept it too.
class AllocationTable {
 public:
  void Add(void* address, size_t length) {
    std::lock_guard lock(mutex_);
    lengths_[address] = length;
  }
  // The length recorded for `address` (erased), or false if IOMalloc did not hand it out.
  bool Remove(void* address, size_t* length) {
    std::lock_guard lock(mutex_);
    auto it = lengths_.find(address);
    if (it == lengths_.end()) return false;
    *length = it->second;
    lengths_.erase(it);
    return true;
  }
  fpgadext::emu::iolib::Allocations Live() {
    std::lock_guard lock(mutex_);
    fpgadext::emu::iolib::Allocations live;
    live.blocks = lengths_.size();
    for (const auto& [address, length] : lengths_) live.bytes += length;
    return live;
  }

 private:
  std::mutex mutex_;
  std::unordered_map<void*, size_t> lengths_;
};

AllocationTable& Allocations() {
  // Never destroyed: a dext object may be freed by a static destructor after this one would run.
  static AllocationTable* table = new AllocationTable;
  return *table;
}

[[noreturn]] void Fatal(const char* what, const void* address, uint64_t expected, uint64_t given) {
  fprintf(stderr, "fpgadext emulation: %s (address %p, allocated %llu bytes, freed as %llu)\n",
          what, address, (unsigned long long)expected, (unsigned long long)given);
  abort();
}

void* Allocate(size_t length, bool zero) {
  // malloc(0) may return NULL; IOMalloc(0) gives a block (of one byte) like any other.
  const size_t size = length == 0 ? 1 : length;
  void* address = zero ? calloc(1, size) : malloc(size);
  if (address != nullptr) Allocations().Add(address, length);
  return address;
}

// Blocks the calling thread, off the CPU, until `ns` nanoseconds of CLOCK_MONOTONIC have passed.
void SleepFor(uint64_t ns) {
  struct timespec deadline;
  clock_gettime(CLOCK_MONOTONIC, &deadline);
  const uint64_t end = static_cast<uint64_t>(deadline.tv_nsec) + ns % 1000000000ull;
  deadline.tv_sec += static_cast<time_t>(ns / 1000000000ull + end / 1000000000ull);
  deadline.tv_nsec = static_cast<long>(end % 1000000000ull);
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, nullptr) == EINTR) {
  }
}

// An address unique to each thread, used as a lock owner token.
uintptr_t ThreadToken() {
  static thread_local char token;
  return reinterpret_cast<uintptr_t>(&token);
}

}  // namespace

fpgadext::emu::iolib::Allocations fpgadext::emu::iolib::LiveAllocations() {
  return ::Allocations().Live();  // the table above, not the struct of this namespace
}

extern "C" {

void* IOMalloc(size_t length) {
  return Allocate(length, false);
}
void* IOMallocZero(size_t length) {
  return Allocate(length, true);
}

void IOFree(void* address, size_t length) {
  if (address == nullptr) return;
  size_t allocated = 0;
  if (Allocations().Remove(address, &allocated)) {
    if (allocated != length) Fatal("IOFree with a wrong length", address, allocated, length);
    free(address);
    return;
  }
  // Not from IOMalloc: on a Mac it can only be the process's malloc memory, most plausibly from
  // `new` (Apple's samples and ports mix them). A Mac's allocator releases it silently; the
  // emulation releases it with the allocator `new` uses (so ASan sees a matching pair) and says
  // so in the log, as the code is relying on something Apple does not document. A pointer no
  // allocator handed out fails in that allocator, as in malloc on a Mac.
  os_log_error(OS_LOG_DEFAULT,
               "fpgadext emulation: IOFree(%p, %zu) of memory not from IOMalloc/IOMallocZero "
               "(e.g. from new): released with operator delete, as a Mac's malloc would accept it",
               address, length);
  ::operator delete(address);
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

// Both put the thread to sleep for no less than the time asked, letting other threads run: that is
// how Apple's DriverKit reference and SDK IOLib.h describe them (the implementation is closed).
// A dext's IODelay is not the kernel's, which busy-waits below a threshold (xnu osfmk/kern/clock.c
// _clock_delay_until_deadline_with_leeway, ml_delay_should_spin).
void IOSleep(uint64_t ms) {
  SleepFor(ms > UINT64_MAX / 1000000ull ? UINT64_MAX : ms * 1000000ull);
  fpgadext::emu::ChargeHostCost(fpgadext::emu::HostCost::kSleepOvershoot);  // a Mac's wake-up
}

void IODelay(uint64_t us) {
  // A wait of no minimum length: it still lets other threads run, and returns as soon as it can.
  if (us == 0) {
    sched_yield();
    return;
  }
  SleepFor(us > UINT64_MAX / 1000ull ? UINT64_MAX : us * 1000ull);
  fpgadext::emu::ChargeHostCost(fpgadext::emu::HostCost::kDelayOvershoot);  // a Mac's wake-up
}

// Apple Silicon: 24 MHz ticks, 1 tick = 125/3 ns.
uint64_t mach_absolute_time(void) {
  fpgadext::emu::SpinClockReadDelayForTests();  // 0 unless a test widens the dext's windows
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
