// The emulated IOMMU (DART on Apple Silicon, VT-d on Intel Macs).
//
// Devices see host memory only through bus addresses (IOVAs) that IODMACommand::PrepareForDMA
// mapped. Each mapping covers exactly the bytes that were prepared, with the access the
// preparation allowed; anything else a device tries is refused, copies nothing, and is recorded
// as a violation that tests can assert on. IOVAs are scattered and never equal to the host
// virtual address, so a driver that hands a CPU pointer to a device fails here as on a Mac.
#pragma once

#include <DriverKit/IOReturn.h>

#include <cstdint>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

namespace fpgadext::emu {

enum class DmaAccess : uint8_t {
  kDeviceRead = 1,   // kIOMemoryDirectionOut: the device may read host memory
  kDeviceWrite = 2,  // kIOMemoryDirectionIn: the device may write host memory
  kDeviceReadWrite = 3,
};

inline bool Allows(DmaAccess granted, DmaAccess wanted) {
  return (static_cast<uint8_t>(granted) & static_cast<uint8_t>(wanted)) ==
         static_cast<uint8_t>(wanted);
}

struct IommuViolation {
  uint64_t busAddress;
  uint64_t length;
  DmaAccess attempted;
  std::string reason;  // "unmapped", "direction", "range crosses mapping end"
};

class Iommu {
 public:
  struct Config {
    // Page size of the IOVA space: DART uses 16 KiB pages on Apple Silicon.
    uint64_t pageSize = 16384;
    // Largest IOVA segment one mapping of a contiguous host range is given. 0 = one segment per
    // host range (what DART usually gives). A small value (e.g. one page) makes every prepared
    // range many segments, which exercises the 32-segment PrepareForDMA windows.
    uint64_t maxSegmentLength = 0;
    // Lowest IOVA handed out. Mappings are placed first-fit from a cursor that moves on after
    // each one, with an unmapped guard page between neighbours, so IOVAs are scattered.
    uint64_t iovaBase = 0x4000'0000ull;
  };

  Iommu();
  explicit Iommu(const Config& config);

  // Maps host bytes [host, host+length) for `access`; the device must see it below
  // 2^maxAddressBits. Returns the IOVA of the first byte (same offset inside its page as
  // `host`). Fails with kIOReturnNoResources when the IOVA space below the limit is exhausted.
  IOReturn Map(void* host, uint64_t length, DmaAccess access, unsigned maxAddressBits,
               uint64_t* busAddress);
  // Removes the mapping that starts at `busAddress` (as returned by Map).
  IOReturn Unmap(uint64_t busAddress);

  // Device accesses: kIOReturnNotPermitted (and a recorded violation) unless one live mapping
  // covers the whole range with the access.
  IOReturn DeviceRead(uint64_t busAddress, void* dst, uint64_t length);
  IOReturn DeviceWrite(uint64_t busAddress, const void* src, uint64_t length);

  const Config& config() const { return config_; }
  size_t LiveMappings() const;
  std::vector<IommuViolation> Violations() const;
  size_t ViolationCount() const;
  void ClearViolations();

 private:
  struct Mapping {
    uint8_t* host;
    uint64_t length;
    DmaAccess access;
  };
  // Finds the host bytes for a device access, or records the violation and returns nullptr.
  uint8_t* Translate(uint64_t busAddress, uint64_t length, DmaAccess access);

  Config config_;
  mutable std::shared_mutex lock_;
  std::map<uint64_t, Mapping> mappings_;  // keyed by bus address of the first byte
  uint64_t cursor_;
  mutable std::mutex violationsLock_;
  std::vector<IommuViolation> violations_;
};

}  // namespace fpgadext::emu
