// PCI configuration space of a model's function: a type 0 header with BARs and a capability list
// (MSI, MSI-X, PCI Express), built once when the model is constructed and then accessed by the
// machine through PciFunction::ConfigRead/ConfigWrite.
//
// Each byte has a writable mask and a write-1-to-clear mask; everything else is read-only. BAR
// registers have writable bits only above their size, so writing all ones and reading back gives
// the size mask, as firmware expects (PCI Local Bus spec 3.0 §6.2.5.1).
//
// Thread-safe: the machine may access config space while the model's threads read the state
// (Command, MSI/MSI-X enable and message) through the accessors below.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>

namespace fpgadext::models::pci {

// Standard header offsets (PCI Local Bus spec 3.0 §6.1).
inline constexpr uint32_t kVendorId = 0x00;
inline constexpr uint32_t kDeviceId = 0x02;
inline constexpr uint32_t kCommand = 0x04;
inline constexpr uint32_t kStatus = 0x06;
inline constexpr uint32_t kRevisionId = 0x08;
inline constexpr uint32_t kClassCode = 0x09;  // 3 bytes: prog-if, subclass, base class
inline constexpr uint32_t kHeaderType = 0x0E;
inline constexpr uint32_t kBar0 = 0x10;
inline constexpr uint32_t kSubsystemVendorId = 0x2C;
inline constexpr uint32_t kSubsystemId = 0x2E;
inline constexpr uint32_t kCapabilitiesPointer = 0x34;
inline constexpr uint32_t kInterruptLine = 0x3C;
inline constexpr uint32_t kInterruptPin = 0x3D;
inline constexpr uint32_t kConfigSpaceSize = 4096;

inline constexpr uint16_t kCommandMemorySpace = 1u << 1;
inline constexpr uint16_t kCommandBusMaster = 1u << 2;
inline constexpr uint16_t kCommandIntxDisable = 1u << 10;
inline constexpr uint16_t kStatusCapabilitiesList = 1u << 4;

inline constexpr uint8_t kCapIdMsi = 0x05;
inline constexpr uint8_t kCapIdPcie = 0x10;
inline constexpr uint8_t kCapIdMsix = 0x11;

// Header Type bit 7 (in function 0): the device has functions besides function 0.
inline constexpr uint8_t kHeaderTypeMultiFunction = 0x80;
// PCI Express capability: Device Capabilities Function Level Reset Capability, Device Control
// Initiate Function Level Reset (PCIe base spec 3.0 §7.8.3, §7.8.4).
inline constexpr uint32_t kPcieDeviceCapabilities = 0x4;
inline constexpr uint32_t kPcieDeviceControl = 0x8;
inline constexpr uint32_t kPcieDeviceCapabilitiesFlr = 1u << 28;
inline constexpr uint16_t kPcieDeviceControlInitiateFlr = 1u << 15;

struct Identity {
  uint16_t vendorId = 0;
  uint16_t deviceId = 0;
  uint16_t subsystemVendorId = 0;
  uint16_t subsystemId = 0;
  uint8_t revisionId = 0;
  uint32_t classCode = 0;    // 24 bits: base class << 16 | subclass << 8 | prog-if
  uint8_t interruptPin = 1;  // INTA
};

struct BarSpec {
  uint64_t size = 0;  // power of two, ≥ 16; 0 = unused
  bool is64 = false;
  bool prefetchable = false;
};

// What the host programmed into the MSI capability.
struct MsiState {
  bool enabled = false;
  uint64_t address = 0;
  uint16_t data = 0;
  unsigned vectorsAllocated = 1;  // 1 << Multiple Message Enable
};

struct MsixState {
  bool enabled = false;
  bool functionMask = false;
};

struct PcieLink {
  unsigned maxSpeed = 3;             // 1 = 2.5 GT/s, 2 = 5, 3 = 8, 4 = 16 GT/s
  unsigned maxWidth = 4;             // lanes
  unsigned maxPayloadSupported = 2;  // encoding: 0 = 128 B … 5 = 4096 B
};

class ConfigSpace {
 public:
  explicit ConfigSpace(const Identity& identity);
  ConfigSpace(const ConfigSpace&) = delete;
  ConfigSpace& operator=(const ConfigSpace&) = delete;

  // Building, before the function is plugged in. A 64-bit BAR takes registers index and index+1.
  void SetBar(unsigned index, const BarSpec& spec);
  // Each Add…Capability appends to the capability list and returns its offset.
  // MSI with 64-bit addresses; `log2Vectors` = Multiple Message Capable (0..5).
  uint32_t AddMsiCapability(unsigned log2Vectors);
  // MSI-X with `tableSize` entries; table and PBA in BAR register `bar` at the offsets given.
  uint32_t AddMsixCapability(unsigned tableSize, unsigned bar, uint32_t tableOffset,
                             uint32_t pbaOffset);
  // PCI Express capability (version 2), endpoint.
  uint32_t AddPcieCapability(const PcieLink& link);
  // Header Type bit 7. Set in function 0 of a device with more functions: firmware scans
  // functions 1..7 only then.
  void SetMultiFunction(bool multiFunction);
  // Offers Function Level Reset (after AddPcieCapability): Device Capabilities bit 28 reads 1,
  // and a write of Device Control with Initiate FLR set resets the function. Its configuration
  // space returns to the content it had before the first configuration write (what the model
  // built), then `onReset(context)` runs, with the lock not held, for the model to reset its own
  // registers and stop its DMA before the write returns.
  void EnableFunctionLevelReset(void (*onReset)(void* context), void* context);
  // Function level resets performed (Initiate FLR writes acted on).
  uint64_t FunctionLevelResets() const { return resets_.load(std::memory_order_acquire); }

  // Machine access. `width` 1, 2 or 4, offset aligned; past 4 KiB reads all ones.
  uint32_t Read(uint32_t offset, unsigned width) const;
  void Write(uint32_t offset, unsigned width, uint32_t value);

  // Model-side state, cheap to call from any thread.
  uint16_t Command() const { return command_.load(std::memory_order_acquire); }
  bool BusMasterEnabled() const { return (Command() & kCommandBusMaster) != 0; }
  bool MemorySpaceEnabled() const { return (Command() & kCommandMemorySpace) != 0; }
  MsiState Msi() const;
  MsixState Msix() const;
  // PCIe Device Control Max_Payload_Size / Max_Read_Request_Size encodings (0..5).
  unsigned MaxPayloadCode() const;
  unsigned MaxReadRequestCode() const;
  // BAR base address as the host assigned it (for tests and diagnostics).
  uint64_t BarAddress(unsigned index) const;

  // Called after every config write, with the lock not held (e.g. to notice MSI-X unmasking or
  // Bus Master being set). Set before the function is plugged in.
  void SetWriteObserver(void (*observer)(void* context), void* context) {
    observer_ = observer;
    observerContext_ = context;
  }

 private:
  uint32_t AppendCapability(uint8_t id, uint32_t length);
  uint32_t Get(uint32_t offset, unsigned width) const;
  void Put(uint32_t offset, unsigned width, uint32_t value);
  void Mask(uint32_t offset, unsigned width, uint32_t writable, uint32_t w1c = 0);

  mutable std::mutex lock_;
  uint8_t bytes_[kConfigSpaceSize] = {};
  uint8_t writable_[kConfigSpaceSize] = {};
  uint8_t w1c_[kConfigSpaceSize] = {};
  uint32_t lastCap_ = 0;  // offset of the last capability, 0 = none yet
  uint32_t nextCapOffset_ = 0x40;
  uint32_t msiCap_ = 0;
  uint32_t msixCap_ = 0;
  uint32_t pcieCap_ = 0;
  // The content before the first configuration write: what a function level reset restores.
  uint8_t resetImage_[kConfigSpaceSize] = {};
  bool resetImageTaken_ = false;
  void (*onReset_)(void*) = nullptr;
  void* onResetContext_ = nullptr;
  std::atomic<uint64_t> resets_{0};
  std::atomic<uint16_t> command_{0};
  void (*observer_)(void*) = nullptr;
  void* observerContext_ = nullptr;
};

}  // namespace fpgadext::models::pci
