#include <execinfo.h>
#include <fcntl.h>
#include <fpgadext/emu/iommu.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define FPGADEXT_SANITIZED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define FPGADEXT_SANITIZED 1
#endif
#ifdef FPGADEXT_SANITIZED
extern "C" void __sanitizer_print_stack_trace();
#endif

namespace fpgadext::emu {
namespace {

// First bus address past the pages a mapping of `length` bytes at `iova` occupies.
uint64_t PagesEnd(uint64_t iova, uint64_t length, uint64_t page) {
  return (iova & ~(page - 1)) + (((iova & (page - 1)) + length + page - 1) & ~(page - 1));
}

const char* AccessName(DmaAccess access) {
  return access == DmaAccess::kDeviceWrite ? "write" : "read";
}

Iommu::Config Completed(Iommu::Config config) {
  const bool dart = config.kind == Iommu::Kind::kDart;
  if (config.pageSize == 0) config.pageSize = dart ? 16384 : 4096;
  if (config.apertureSize == 0) {
    config.apertureSize = dart ? Iommu::kDartApertureSize : Iommu::kVtdApertureSize;
  }
  return config;
}

// A DART translation fault for a device access: an Apple-silicon Mac does not survive it, so
// neither does the emulated one. The report names what a developer needs to find the access.
[[noreturn]] void StopTheMachine(const char* device, uint64_t busAddress, uint64_t length,
                                 DmaAccess access) {
  std::fprintf(stderr,
               "fpgadext emulation: DART fault: %s: device %s of %llu bytes at IOVA 0x%llx, "
               "which no DMA preparation maps. On an Apple-silicon Mac an access to an unmapped "
               "IOVA stops the machine; the emulated Mac stops here. Stack:\n",
               device != nullptr ? device : "a device", AccessName(access),
               static_cast<unsigned long long>(length),
               static_cast<unsigned long long>(busAddress));
#ifdef FPGADEXT_SANITIZED
  __sanitizer_print_stack_trace();
#else
  void* frames[64];
  const int count = backtrace(frames, 64);
  backtrace_symbols_fd(frames, count, STDERR_FILENO);
#endif
  std::fflush(stderr);
  std::abort();
}

// The process's memory as a debugger sees it (/proc/self/mem): accesses ignore the CPU's page
// protection and fail, instead of faulting, on an address nothing maps. One descriptor per
// process: a child made by fork (death tests) opens its own, since the file names the memory of
// the process that opened it.
int ProcessMemory() {
  static std::mutex lock;
  static int fd = -1;
  static pid_t owner = 0;
  std::lock_guard guard(lock);
  const pid_t pid = getpid();
  if (fd < 0 || owner != pid) {
    fd = open("/proc/self/mem", O_RDWR | O_CLOEXEC);  // the parent's descriptor stays its own
    owner = pid;
  }
  return fd;
}

// Copies between `buffer` and the process's bytes at `host` as the device reaches wired pages:
// process_vm_readv/writev (fast, but they honour the CPU's protection), then, for a page they
// refuse, ProcessMemory (which does not); a page neither reaches is not mapped at all and is
// skipped (a read gives zeros). Returns the bytes skipped.
uint64_t CopyAsTheDevice(uint8_t* host, uint8_t* buffer, uint64_t length, bool write) {
  static const uint64_t hostPage = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  const pid_t self = getpid();
  uint64_t skipped = 0;
  for (uint64_t done = 0; done < length;) {
    iovec local{buffer + done, length - done};
    iovec remote{host + done, length - done};
    ssize_t n = write ? process_vm_writev(self, &local, 1, &remote, 1, 0)
                      : process_vm_readv(self, &local, 1, &remote, 1, 0);
    if (n > 0) {
      done += static_cast<uint64_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    // The page at host + done: through /proc/self/mem, up to its end.
    const uint64_t address = reinterpret_cast<uintptr_t>(host + done);
    const uint64_t piece = std::min(length - done, hostPage - (address & (hostPage - 1)));
    const int fd = ProcessMemory();
    n = -1;
    if (fd >= 0) {
      do {
        n = write ? pwrite(fd, buffer + done, piece, static_cast<off_t>(address))
                  : pread(fd, buffer + done, piece, static_cast<off_t>(address));
      } while (n < 0 && errno == EINTR);
    }
    if (n > 0) {
      done += static_cast<uint64_t>(n);
      continue;
    }
    if (!write) std::memset(buffer + done, 0, piece);
    skipped += piece;
    done += piece;
  }
  return skipped;
}

}  // namespace

Iommu::Iommu() : Iommu(Config{}) {}

Iommu::Iommu(const Config& config) : config_(Completed(config)) {}

IOReturn Iommu::Map(void* host, uint64_t length, DmaAccess access, unsigned maxAddressBits,
                    uint64_t* busAddress, HostPages pages) {
  if (host == nullptr || length == 0 || busAddress == nullptr) return kIOReturnBadArgument;
  const uint64_t page = config_.pageSize;
  const uint64_t offsetInPage = reinterpret_cast<uintptr_t>(host) & (page - 1);
  const uint64_t span = PagesEnd(offsetInPage, length, page);
  if (span < length) return kIOReturnNoResources;  // wraps around
  uint64_t limit = maxAddressBits >= 64 ? ~0ull : (1ull << maxAddressBits);
  const uint64_t apertureEnd = config_.iovaBase + config_.apertureSize;
  if (apertureEnd > config_.iovaBase && apertureEnd < limit) limit = apertureEnd;

  std::unique_lock guard(lock_);
  // The lowest gap that holds the pages, a guard page after a neighbour below and before one
  // above: a range freed a moment ago is the first to be handed out again.
  uint64_t candidate = config_.iovaBase;
  for (auto it = mappings_.begin();; ++it) {
    if (candidate + span < candidate || candidate + span > limit) break;
    if (it == mappings_.end() || candidate + span + page <= (it->first & ~(page - 1))) {
      const uint64_t iova = candidate + offsetInPage;
      mappings_.emplace(iova, Mapping{static_cast<uint8_t*>(host), length, access, pages});
      *busAddress = iova;
      return kIOReturnSuccess;
    }
    candidate = std::max(candidate, PagesEnd(it->first, it->second.length, page) + page);
  }
  return kIOReturnNoResources;
}

IOReturn Iommu::Unmap(uint64_t busAddress) {
  std::unique_lock guard(lock_);
  return mappings_.erase(busAddress) == 1 ? kIOReturnSuccess : kIOReturnNotFound;
}

uint8_t* Iommu::Translate(uint64_t busAddress, uint64_t length, DmaAccess access,
                          const char* device, bool* readOnlyIgnored, HostPages* pages) {
  const uint64_t page = config_.pageSize;
  const bool dart = config_.kind == Kind::kDart;
  const char* reason = nullptr;
  bool unmapped = false;  // the access touches an IOVA page no mapping covers
  {
    std::shared_lock guard(lock_);
    auto next = mappings_.upper_bound(busAddress);
    const bool inFirstPageOfNext =
        next != mappings_.end() && (next->first & ~(page - 1)) <= busAddress;
    if (next == mappings_.begin()) {
      unmapped = !inFirstPageOfNext;
      reason = unmapped ? "unmapped" : "outside the prepared bytes";
    } else {
      auto it = std::prev(next);
      const Mapping& m = it->second;
      const uint64_t offset = busAddress - it->first;
      const uint64_t pagesEnd = PagesEnd(it->first, m.length, page);
      if (offset >= m.length) {
        unmapped = busAddress >= pagesEnd && !inFirstPageOfNext;
        reason = unmapped ? "unmapped" : "outside the prepared bytes";
      } else if (length > m.length - offset) {
        unmapped = busAddress + length > pagesEnd || busAddress + length < busAddress;
        reason = "range crosses mapping end";
      } else if (!Allows(m.access, access)) {
        if (dart && access == DmaAccess::kDeviceWrite && readOnlyIgnored != nullptr) {
          *readOnlyIgnored = true;  // DART does not enforce read-only for the device
          *pages = m.pages;
          return m.host + offset;
        }
        reason = "direction";
      } else {
        *pages = m.pages;
        return m.host + offset;
      }
    }
  }
  if (dart && unmapped) StopTheMachine(device, busAddress, length, access);
  std::lock_guard guard(violationsLock_);
  violations_.push_back(IommuViolation{busAddress, length, access, reason});
  return nullptr;
}

// Naturally aligned 4- and 8-byte device accesses are single bus transactions that a driver may
// poll concurrently (completion writebacks, ring indices): they are done as atomic accesses, so
// a CPU polling with atomic loads sees them whole (and ThreadSanitizer sees no race).
IOReturn Iommu::DeviceRead(uint64_t busAddress, void* dst, uint64_t length, const char* device) {
  if (length == 0) return kIOReturnSuccess;
  HostPages pages = HostPages::kEmulation;
  uint8_t* host = Translate(busAddress, length, DmaAccess::kDeviceRead, device, nullptr, &pages);
  if (host == nullptr) return kIOReturnNotPermitted;
  if (pages == HostPages::kApp) {
    CountUnmappedAppBytes(CopyAsTheDevice(host, static_cast<uint8_t*>(dst), length, false));
    return kIOReturnSuccess;
  }
  if (length == 4 && reinterpret_cast<uintptr_t>(host) % 4 == 0) {
    const uint32_t v = __atomic_load_n(reinterpret_cast<uint32_t*>(host), __ATOMIC_ACQUIRE);
    std::memcpy(dst, &v, 4);
  } else if (length == 8 && reinterpret_cast<uintptr_t>(host) % 8 == 0) {
    const uint64_t v = __atomic_load_n(reinterpret_cast<uint64_t*>(host), __ATOMIC_ACQUIRE);
    std::memcpy(dst, &v, 8);
  } else {
    std::memcpy(dst, host, length);
  }
  return kIOReturnSuccess;
}

IOReturn Iommu::DeviceWrite(uint64_t busAddress, const void* src, uint64_t length,
                            const char* device) {
  if (length == 0) return kIOReturnSuccess;
  bool readOnlyIgnored = false;
  HostPages pages = HostPages::kEmulation;
  uint8_t* host =
      Translate(busAddress, length, DmaAccess::kDeviceWrite, device, &readOnlyIgnored, &pages);
  if (host == nullptr) return kIOReturnNotPermitted;
  if (readOnlyIgnored || pages == HostPages::kApp) {
    // Wired app pages, or a write DART lets through into a read-only preparation: the bytes
    // land whatever the CPU's view of the page allows.
    auto* bytes = static_cast<uint8_t*>(const_cast<void*>(src));  // only read from
    CountUnmappedAppBytes(CopyAsTheDevice(host, bytes, length, true));
    return kIOReturnSuccess;
  }
  if (length == 4 && reinterpret_cast<uintptr_t>(host) % 4 == 0) {
    uint32_t v;
    std::memcpy(&v, src, 4);
    __atomic_store_n(reinterpret_cast<uint32_t*>(host), v, __ATOMIC_RELEASE);
  } else if (length == 8 && reinterpret_cast<uintptr_t>(host) % 8 == 0) {
    uint64_t v;
    std::memcpy(&v, src, 8);
    __atomic_store_n(reinterpret_cast<uint64_t*>(host), v, __ATOMIC_RELEASE);
  } else {
    std::memcpy(host, src, length);
  }
  return kIOReturnSuccess;
}

size_t Iommu::LiveMappings() const {
  std::shared_lock guard(lock_);
  return mappings_.size();
}

size_t Iommu::LiveAppMappings() const {
  std::shared_lock guard(lock_);
  size_t count = 0;
  for (const auto& [iova, m] : mappings_) count += m.pages == HostPages::kApp ? 1 : 0;
  return count;
}

uint64_t Iommu::MappedBytes() const {
  std::shared_lock guard(lock_);
  uint64_t bytes = 0;
  for (const auto& [iova, m] : mappings_) {
    bytes += PagesEnd(iova, m.length, config_.pageSize) - (iova & ~(config_.pageSize - 1));
  }
  return bytes;
}

std::vector<IommuViolation> Iommu::Violations() const {
  std::lock_guard guard(violationsLock_);
  return violations_;
}

size_t Iommu::ViolationCount() const {
  std::lock_guard guard(violationsLock_);
  return violations_.size();
}

void Iommu::CountUnmappedAppBytes(uint64_t bytes) {
  if (bytes == 0) return;
  std::lock_guard guard(violationsLock_);
  unmappedAppBytes_ += bytes;
}

uint64_t Iommu::BytesOfUnmappedAppPages() const {
  std::lock_guard guard(violationsLock_);
  return unmappedAppBytes_;
}

void Iommu::ClearViolations() {
  std::lock_guard guard(violationsLock_);
  violations_.clear();
}

}  // namespace fpgadext::emu
