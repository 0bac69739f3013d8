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

// Whose pages a mapping covers. Pages of the emulation (dext buffers, rings) stay mapped while
// prepared. App pages (memory of the app, made into a descriptor with
// CreateMemoryDescriptorFromClient) are wired on a Mac from PrepareForDMA to CompleteDMA: the app
// may unmap or re-protect its range meanwhile and the device still reaches the pages. Here the
// device reaches app pages through /proc/self/mem, which ignores the CPU's protection (as a wired
// page does) and reports an unmapped page instead of faulting; what a Mac does with a page the app
// unmapped is emulated as docs/emulation-memory-pci.md ("Wiring") says.
enum class HostPages : uint8_t { kEmulation, kApp };

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
    // The aperture: IOVAs are handed out from [iovaBase, iovaBase + apertureSize). Each mapping
    // takes the lowest free range that fits, with an unmapped guard page between neighbours, so
    // a range freed by Unmap is handed out again to the next mapping that fits in it, as a
    // mapper's allocator does (IOPCIFamily AppleVTD.cpp: space_alloc/space_free). When no range
    // fits, Map fails with kIOReturnNoResources (AppleVTD::iovmMapMemory).
    uint64_t iovaBase = 0x4000'0000ull;
    // Size of the aperture; 0 means the kind's: VT-d 8 GiB (AppleVTDDeviceMapper::forDevice
    // gives a device 2^21 pages of 4 KiB), DART 4 GiB (a 32-bit IOVA space; Apple's DART driver
    // is not open source, see docs/emulation-memory-pci.md).
    uint64_t apertureSize = 0;
  };

  static constexpr uint64_t kDartApertureSize = 4ull << 30;
  static constexpr uint64_t kVtdApertureSize = 8ull << 30;

  Iommu();
  explicit Iommu(const Config& config);

  // Maps host bytes [host, host+length) for `access`; the device must see it below
  // 2^maxAddressBits. Returns the IOVA of the first byte (same offset inside its page as
  // `host`). Fails with kIOReturnNoResources when no free range of the aperture below the limit
  // fits.
  IOReturn Map(void* host, uint64_t length, DmaAccess access, unsigned maxAddressBits,
               uint64_t* busAddress, HostPages pages = HostPages::kEmulation);
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
  // Live mappings of app pages (HostPages::kApp): app memory prepared for DMA right now.
  size_t LiveAppMappings() const;
  // IOVA pages (in bytes) the live mappings occupy, guard pages not counted.
  uint64_t MappedBytes() const;
  std::vector<IommuViolation> Violations() const;
  size_t ViolationCount() const;
  void ClearViolations();
  // Bytes of device accesses to app pages the app had unmapped (writes dropped, reads zero).
  uint64_t BytesOfUnmappedAppPages() const;

 private:
  struct Mapping {
    uint8_t* host;
    uint64_t length;
    DmaAccess access;
    HostPages pages;
  };
  // Finds the host bytes for a device access, or records the violation and returns nullptr
  // (or stops the machine, on DART, for an unmapped IOVA).
  // A write DART lets through a read-only mapping sets *readOnlyIgnored.
  uint8_t* Translate(uint64_t busAddress, uint64_t length, DmaAccess access, const char* device,
                     bool* readOnlyIgnored, HostPages* pages);
  void CountUnmappedAppBytes(uint64_t bytes);

  Config config_;
  mutable std::shared_mutex lock_;
  std::map<uint64_t, Mapping> mappings_;  // keyed by bus address of the first byte
  mutable std::mutex violationsLock_;
  std::vector<IommuViolation> violations_;
  uint64_t unmappedAppBytes_ = 0;  // guarded by violationsLock_
};

}  // namespace fpgadext::emu
