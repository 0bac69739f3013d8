// The emulated IOMMU (DART on Apple Silicon, VT-d on Intel Macs).
//
// Devices see host memory only through bus addresses (IOVAs) that IODMACommand::PrepareForDMA
// mapped. IOVAs are scattered and never equal to the host virtual address, so a driver that
// hands a CPU pointer to a device fails here as on a Mac. What a stray access does depends on
// the kind of IOMMU (docs/emulation-memory-pci.md, "Hardware profiles" in docs/emulation.md):
// - an access to an IOVA in no mapped page: VT-d refuses it (the request completes unsuccessfully,
//   nothing is copied) and the emulation records a violation tests can assert on; on DART it
//   stops the machine: the emulation prints the device, IOVA, access and a stack, and aborts;
// - a device write to a range prepared for device reads only: VT-d refuses it (recorded); DART
//   lets it land;
// - bytes past the prepared ones inside the last mapped page: a Mac lets them through (the
//   IOMMU maps whole pages); here they are refused and recorded (stricter: the host bytes next
//   to a prepared range are not the emulation's to hand out).
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
  enum class Kind : uint8_t {
    kDart,  // Apple silicon: 16 KiB IOVA pages, read-only not enforced, unmapped access fatal
    kVtd,   // Intel: 4 KiB IOVA pages, read-only enforced, faults refused and logged
  };
  struct Config {
    // A Machine sets the kind from its hardware profile. An Iommu made alone (model and engine
    // tests) is VT-d's: every stray access refused and recorded, none fatal.
    Kind kind = Kind::kVtd;
    // Page size of the IOVA space; 0 means the kind's (DART 16 KiB, VT-d 4 KiB).
    uint64_t pageSize = 0;
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

  // Device accesses by `device` (a name for the fatal report): kIOReturnNotPermitted (and a
  // recorded violation) unless one live mapping covers the whole range with the access; on DART
  // a write to a read-only mapping lands, and an access to an unmapped IOVA aborts.
  IOReturn DeviceRead(uint64_t busAddress, void* dst, uint64_t length,
                      const char* device = nullptr);
  IOReturn DeviceWrite(uint64_t busAddress, const void* src, uint64_t length,
                       const char* device = nullptr);

  const Config& config() const { return config_; }
  uint64_t pageSize() const { return config_.pageSize; }
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
  // Finds the host bytes for a device access, or records the violation and returns nullptr
  // (or stops the machine, on DART, for an unmapped IOVA).
  // A write DART lets through a read-only mapping sets *readOnlyIgnored.
  uint8_t* Translate(uint64_t busAddress, uint64_t length, DmaAccess access, const char* device,
                     bool* readOnlyIgnored);

  Config config_;
  mutable std::shared_mutex lock_;
  std::map<uint64_t, Mapping> mappings_;  // keyed by bus address of the first byte
  uint64_t cursor_;
  mutable std::mutex violationsLock_;
  std::vector<IommuViolation> violations_;
};

}  // namespace fpgadext::emu
