#include <fpgadext/emu/iommu.h>

#include <cstring>

namespace fpgadext::emu {
namespace {

// First bus address past the pages a mapping of `length` bytes at `iova` occupies.
uint64_t PagesEnd(uint64_t iova, uint64_t length, uint64_t page) {
  return (iova & ~(page - 1)) + (((iova & (page - 1)) + length + page - 1) & ~(page - 1));
}

}  // namespace

Iommu::Iommu() : Iommu(Config{}) {}

Iommu::Iommu(const Config& config) : config_(config), cursor_(config.iovaBase) {}

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

uint8_t* Iommu::Translate(uint64_t busAddress, uint64_t length, DmaAccess access) {
  const char* reason = nullptr;
  {
    std::shared_lock guard(lock_);
    auto it = mappings_.upper_bound(busAddress);
    if (it == mappings_.begin()) {
      reason = "unmapped";
    } else {
      --it;
      const Mapping& m = it->second;
      const uint64_t offset = busAddress - it->first;
      if (offset >= m.length) {
        reason = "unmapped";
      } else if (length > m.length - offset) {
        reason = "range crosses mapping end";
      } else if (!Allows(m.access, access)) {
        reason = "direction";
      } else {
        return m.host + offset;
      }
    }
  }
  std::lock_guard guard(violationsLock_);
  violations_.push_back(IommuViolation{busAddress, length, access, reason});
  return nullptr;
}

// Naturally aligned 4- and 8-byte device accesses are single bus transactions that a driver may
// poll concurrently (completion writebacks, ring indices): they are done as atomic accesses, so
// a CPU polling with atomic loads sees them whole (and ThreadSanitizer sees no race).
IOReturn Iommu::DeviceRead(uint64_t busAddress, void* dst, uint64_t length) {
  if (length == 0) return kIOReturnSuccess;
  uint8_t* host = Translate(busAddress, length, DmaAccess::kDeviceRead);
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

IOReturn Iommu::DeviceWrite(uint64_t busAddress, const void* src, uint64_t length) {
  if (length == 0) return kIOReturnSuccess;
  uint8_t* host = Translate(busAddress, length, DmaAccess::kDeviceWrite);
  if (host == nullptr) return kIOReturnNotPermitted;
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
