#include <execinfo.h>
#include <fcntl.h>
#include <fpgadext/emu/iommu.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

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
  if (config.pageSize == 0) config.pageSize = config.kind == Iommu::Kind::kDart ? 16384 : 4096;
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

// A device write that DART lets through into a range prepared for device reads: the bytes
// change in memory whatever the CPU's view of the page allows, so they are written as a
// debugger would (through /proc/self/mem), which also cannot crash the emulation.
bool WriteAsTheDevice(uint8_t* host, const void* src, uint64_t length) {
  const int fd = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
  if (fd < 0) return false;
  const ssize_t n = pwrite(fd, src, length, static_cast<off_t>(reinterpret_cast<uintptr_t>(host)));
  close(fd);
  return n == static_cast<ssize_t>(length);
}

}  // namespace

Iommu::Iommu() : Iommu(Config{}) {}

Iommu::Iommu(const Config& config) : config_(Completed(config)), cursor_(config.iovaBase) {}

IOReturn Iommu::Map(void* host, uint64_t length, DmaAccess access, unsigned maxAddressBits,
                    uint64_t* busAddress) {
  if (host == nullptr || length == 0 || busAddress == nullptr) return kIOReturnBadArgument;
  const uint64_t page = config_.pageSize;
  const uint64_t offsetInPage = reinterpret_cast<uintptr_t>(host) & (page - 1);
  const uint64_t span = PagesEnd(offsetInPage, length, page);
  const uint64_t limit = maxAddressBits >= 64 ? ~0ull : (1ull << maxAddressBits);

  std::unique_lock guard(lock_);
  // First fit from the cursor, then once more from the bottom of the space.
  for (uint64_t start : {cursor_, config_.iovaBase}) {
    uint64_t candidate = start;
    auto it = mappings_.upper_bound(candidate);
    if (it != mappings_.begin()) {
      auto prev = std::prev(it);
      const uint64_t prevEnd = PagesEnd(prev->first, prev->second.length, page);
      if (prevEnd + page > candidate) candidate = prevEnd + page;  // guard page
    }
    for (;;) {
      if (candidate + span < candidate || candidate + span > limit) break;
      if (it == mappings_.end() || candidate + span + page <= (it->first & ~(page - 1))) {
        const uint64_t iova = candidate + offsetInPage;
        mappings_.emplace(iova, Mapping{static_cast<uint8_t*>(host), length, access});
        cursor_ = candidate + span + page;
        *busAddress = iova;
        return kIOReturnSuccess;
      }
      candidate = PagesEnd(it->first, it->second.length, page) + page;
      ++it;
    }
  }
  return kIOReturnNoResources;
}

IOReturn Iommu::Unmap(uint64_t busAddress) {
  std::unique_lock guard(lock_);
  return mappings_.erase(busAddress) == 1 ? kIOReturnSuccess : kIOReturnNotFound;
}

uint8_t* Iommu::Translate(uint64_t busAddress, uint64_t length, DmaAccess access,
                          const char* device, bool* readOnlyIgnored) {
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
          return m.host + offset;
        }
        reason = "direction";
      } else {
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
  uint8_t* host = Translate(busAddress, length, DmaAccess::kDeviceRead, device, nullptr);
  if (host == nullptr) return kIOReturnNotPermitted;
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
  uint8_t* host = Translate(busAddress, length, DmaAccess::kDeviceWrite, device, &readOnlyIgnored);
  if (host == nullptr) return kIOReturnNotPermitted;
  if (readOnlyIgnored) {
    // DART let a write into a read-only preparation through: it lands.
    if (WriteAsTheDevice(host, src, length)) return kIOReturnSuccess;
    std::lock_guard guard(violationsLock_);
    violations_.push_back(
        IommuViolation{busAddress, length, DmaAccess::kDeviceWrite, "host page not writable"});
    return kIOReturnNotPermitted;
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

std::vector<IommuViolation> Iommu::Violations() const {
  std::lock_guard guard(violationsLock_);
  return violations_;
}

size_t Iommu::ViolationCount() const {
  std::lock_guard guard(violationsLock_);
  return violations_.size();
}

void Iommu::ClearViolations() {
  std::lock_guard guard(violationsLock_);
  violations_.clear();
}

}  // namespace fpgadext::emu
