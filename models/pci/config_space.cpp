#include "config_space.h"

#include <cassert>
#include <cstring>

namespace fpgadext::models::pci {
namespace {

// MSI capability layout with 64-bit addresses (PCI Local Bus spec 3.0 §6.8.1).
constexpr uint32_t kMsiControl = 0x2;
constexpr uint32_t kMsiAddrLo = 0x4;
constexpr uint32_t kMsiAddrHi = 0x8;
constexpr uint32_t kMsiData = 0xC;
constexpr uint16_t kMsiEnable = 1u << 0;
constexpr uint16_t kMsi64Bit = 1u << 7;

// MSI-X capability (PCI Local Bus spec 3.0 §6.8.2).
constexpr uint32_t kMsixControl = 0x2;
constexpr uint32_t kMsixTable = 0x4;
constexpr uint32_t kMsixPba = 0x8;
constexpr uint16_t kMsixEnable = 1u << 15;
constexpr uint16_t kMsixFunctionMask = 1u << 14;

// PCI Express capability (PCIe base spec 3.0 §7.8); Device Capabilities and Device Control are
// in config_space.h, which the FLR hooks share.
constexpr uint32_t kPcieCaps = 0x2;
constexpr uint32_t kPcieDevStatus = 0xA;
constexpr uint32_t kPcieLinkCap = 0xC;
constexpr uint32_t kPcieLinkCtl = 0x10;
constexpr uint32_t kPcieLinkStatus = 0x12;
constexpr uint32_t kPcieDevCap2 = 0x24;
constexpr uint32_t kPcieDevCtl2 = 0x28;
constexpr uint32_t kPcieLinkCap2 = 0x2C;
constexpr uint32_t kPcieLinkCtl2 = 0x30;

}  // namespace

ConfigSpace::ConfigSpace(const Identity& id) {
  Put(kVendorId, 2, id.vendorId);
  Put(kDeviceId, 2, id.deviceId);
  Put(kRevisionId, 1, id.revisionId);
  Put(kClassCode, 1, id.classCode & 0xFF);
  Put(kClassCode + 1, 2, (id.classCode >> 8) & 0xFFFF);
  Put(kHeaderType, 1, 0x00);  // type 0, single function
  Put(kSubsystemVendorId, 2, id.subsystemVendorId);
  Put(kSubsystemId, 2, id.subsystemId);
  Put(kInterruptPin, 1, id.interruptPin);
  // Command: I/O space (no I/O BARs, still writable on most devices), memory space, bus master,
  // parity error response, SERR#, INTx disable.
  Mask(kCommand, 2, 0x0547);
  // Status: error bits are RW1C (detected parity, signalled system error, master/target abort).
  Mask(kStatus, 2, 0, 0xF900);
  Mask(kInterruptLine, 1, 0xFF);
  Mask(0x0C, 1, 0xFF);  // cache line size
}

void ConfigSpace::SetBar(unsigned index, const BarSpec& spec) {
  assert(index < 6 && (!spec.is64 || index < 5));
  assert(spec.size == 0 || (spec.size >= 16 && (spec.size & (spec.size - 1)) == 0));
  if (spec.size == 0) return;
  const uint32_t reg = kBar0 + 4 * index;
  const uint32_t flags = (spec.is64 ? 0x4u : 0x0u) | (spec.prefetchable ? 0x8u : 0x0u);
  const uint64_t sizeMask = ~(spec.size - 1);
  Put(reg, 4, flags);
  Mask(reg, 4, static_cast<uint32_t>(sizeMask) & ~0xFu);
  if (spec.is64) {
    Put(reg + 4, 4, 0);
    Mask(reg + 4, 4, static_cast<uint32_t>(sizeMask >> 32));
  }
}

uint32_t ConfigSpace::AppendCapability(uint8_t id, uint32_t length) {
  const uint32_t at = nextCapOffset_;
  assert(at + length <= 0x100);
  Put(at, 1, id);
  Put(at + 1, 1, 0);
  if (lastCap_ == 0) {
    Put(kCapabilitiesPointer, 1, at);
    Put(kStatus, 2, Get(kStatus, 2) | kStatusCapabilitiesList);
  } else {
    Put(lastCap_ + 1, 1, at);
  }
  lastCap_ = at;
  nextCapOffset_ = (at + length + 3) & ~3u;
  return at;
}

uint32_t ConfigSpace::AddMsiCapability(unsigned log2Vectors) {
  assert(log2Vectors <= 5);
  const uint32_t at = AppendCapability(kCapIdMsi, 0x10);
  msiCap_ = at;
  Put(at + kMsiControl, 2, kMsi64Bit | (log2Vectors << 1));
  Mask(at + kMsiControl, 2, kMsiEnable | (0x7u << 4));  // enable, Multiple Message Enable
  Mask(at + kMsiAddrLo, 4, 0xFFFF'FFFC);
  Mask(at + kMsiAddrHi, 4, 0xFFFF'FFFF);
  Mask(at + kMsiData, 2, 0xFFFF);
  return at;
}

uint32_t ConfigSpace::AddMsixCapability(unsigned tableSize, unsigned bar, uint32_t tableOffset,
                                        uint32_t pbaOffset) {
  assert(tableSize >= 1 && tableSize <= 2048 && bar < 6);
  assert((tableOffset & 7) == 0 && (pbaOffset & 7) == 0);
  const uint32_t at = AppendCapability(kCapIdMsix, 0xC);
  msixCap_ = at;
  Put(at + kMsixControl, 2, tableSize - 1);
  Mask(at + kMsixControl, 2, kMsixEnable | kMsixFunctionMask);
  Put(at + kMsixTable, 4, tableOffset | bar);
  Put(at + kMsixPba, 4, pbaOffset | bar);
  return at;
}

uint32_t ConfigSpace::AddPcieCapability(const PcieLink& link) {
  const uint32_t at = AppendCapability(kCapIdPcie, 0x3C);
  pcieCap_ = at;
  Put(at + kPcieCaps, 2, 0x0002);  // version 2, device/port type 0 = PCI Express endpoint
  // DevCap: Max_Payload_Size supported, role-based error reporting (bit 15);
  // FLR only when EnableFunctionLevelReset is called.
  Put(at + kPcieDeviceCapabilities, 4, (link.maxPayloadSupported & 7) | (1u << 15));
  // DevCtl: relaxed ordering (4), MPS 128 B, ext tag (8), no snoop (11), MRRS 512 B (14:12 = 2).
  Put(at + kPcieDeviceControl, 2, (1u << 4) | (1u << 11) | (2u << 12));
  Mask(at + kPcieDeviceControl, 2, 0x7FFF);  // bit 15 (initiate FLR) is an action, not stored
  Mask(at + kPcieDevStatus, 2, 0, 0x000F);   // error detected bits are RW1C
  Put(at + kPcieLinkCap, 4, (link.maxSpeed & 0xF) | ((link.maxWidth & 0x3F) << 4));
  Mask(at + kPcieLinkCtl, 2, 0x0FC3);
  Put(at + kPcieLinkStatus, 2, (link.maxSpeed & 0xF) | ((link.maxWidth & 0x3F) << 4));
  Put(at + kPcieDevCap2, 4, 0);
  Mask(at + kPcieDevCtl2, 2, 0x040F);  // completion timeout value/disable, ID-based ordering
  // Supported Link Speeds Vector: every speed up to the maximum.
  Put(at + kPcieLinkCap2, 4, ((1u << (link.maxSpeed & 0xF)) - 1u) << 1);
  Put(at + kPcieLinkCtl2, 2, link.maxSpeed & 0xF);
  Mask(at + kPcieLinkCtl2, 2, 0x000F);
  return at;
}

void ConfigSpace::SetMultiFunction(bool multiFunction) {
  Put(kHeaderType, 1, multiFunction ? kHeaderTypeMultiFunction : 0x00);
}

void ConfigSpace::EnableFunctionLevelReset(void (*onReset)(void* context), void* context) {
  assert(pcieCap_ != 0);
  Put(pcieCap_ + kPcieDeviceCapabilities, 4,
      Get(pcieCap_ + kPcieDeviceCapabilities, 4) | kPcieDeviceCapabilitiesFlr);
  onReset_ = onReset;
  onResetContext_ = context;
}

uint32_t ConfigSpace::Get(uint32_t offset, unsigned width) const {
  uint32_t v = 0;
  for (unsigned i = 0; i < width; ++i) v |= uint32_t{bytes_[offset + i]} << (8 * i);
  return v;
}

void ConfigSpace::Put(uint32_t offset, unsigned width, uint32_t value) {
  for (unsigned i = 0; i < width; ++i) bytes_[offset + i] = static_cast<uint8_t>(value >> (8 * i));
}

void ConfigSpace::Mask(uint32_t offset, unsigned width, uint32_t writable, uint32_t w1c) {
  for (unsigned i = 0; i < width; ++i) {
    writable_[offset + i] = static_cast<uint8_t>(writable >> (8 * i));
    w1c_[offset + i] = static_cast<uint8_t>(w1c >> (8 * i));
  }
}

uint32_t ConfigSpace::Read(uint32_t offset, unsigned width) const {
  if ((width != 1 && width != 2 && width != 4) || offset % width != 0 ||
      offset + width > kConfigSpaceSize) {
    return width >= 4 ? 0xFFFF'FFFFu : ((1u << (8 * width)) - 1u);
  }
  std::lock_guard guard(lock_);
  return Get(offset, width);
}

void ConfigSpace::Write(uint32_t offset, unsigned width, uint32_t value) {
  if ((width != 1 && width != 2 && width != 4) || offset % width != 0 ||
      offset + width > kConfigSpaceSize) {
    return;
  }
  bool reset = false;
  {
    std::lock_guard guard(lock_);
    if (!resetImageTaken_) {
      std::memcpy(resetImage_, bytes_, sizeof bytes_);
      resetImageTaken_ = true;
    }
    // Initiate FLR is not a stored bit: writing 1 starts the reset, and it always reads 0.
    const uint32_t flrByte = pcieCap_ + kPcieDeviceControl + 1;
    reset = onReset_ != nullptr && pcieCap_ != 0 && offset <= flrByte && flrByte < offset + width &&
            ((value >> (8 * (flrByte - offset))) & (kPcieDeviceControlInitiateFlr >> 8)) != 0;
    for (unsigned i = 0; i < width; ++i) {
      const uint32_t at = offset + i;
      const uint8_t v = static_cast<uint8_t>(value >> (8 * i));
      uint8_t b = static_cast<uint8_t>((bytes_[at] & ~writable_[at]) | (v & writable_[at]));
      b = static_cast<uint8_t>(b & ~(v & w1c_[at]));
      bytes_[at] = b;
    }
    if (reset) {
      std::memcpy(bytes_, resetImage_, sizeof bytes_);
      resets_.fetch_add(1, std::memory_order_acq_rel);
    }
    command_.store(static_cast<uint16_t>(Get(kCommand, 2)), std::memory_order_release);
  }
  if (reset) onReset_(onResetContext_);
  if (observer_ != nullptr) observer_(observerContext_);
}

MsiState ConfigSpace::Msi() const {
  MsiState s;
  if (msiCap_ == 0) return s;
  std::lock_guard guard(lock_);
  const uint32_t control = Get(msiCap_ + kMsiControl, 2);
  s.enabled = (control & kMsiEnable) != 0;
  s.address = (uint64_t{Get(msiCap_ + kMsiAddrHi, 4)} << 32) | Get(msiCap_ + kMsiAddrLo, 4);
  s.data = static_cast<uint16_t>(Get(msiCap_ + kMsiData, 2));
  // Multiple Message Enable may not exceed Multiple Message Capable.
  const unsigned mmc = (control >> 1) & 7, mme = (control >> 4) & 7;
  s.vectorsAllocated = 1u << (mme < mmc ? mme : mmc);
  return s;
}

MsixState ConfigSpace::Msix() const {
  MsixState s;
  if (msixCap_ == 0) return s;
  std::lock_guard guard(lock_);
  const uint32_t control = Get(msixCap_ + kMsixControl, 2);
  s.enabled = (control & kMsixEnable) != 0;
  s.functionMask = (control & kMsixFunctionMask) != 0;
  return s;
}

unsigned ConfigSpace::MaxPayloadCode() const {
  if (pcieCap_ == 0) return 0;
  std::lock_guard guard(lock_);
  return (Get(pcieCap_ + kPcieDeviceControl, 2) >> 5) & 7;
}

unsigned ConfigSpace::MaxReadRequestCode() const {
  if (pcieCap_ == 0) return 2;
  std::lock_guard guard(lock_);
  return (Get(pcieCap_ + kPcieDeviceControl, 2) >> 12) & 7;
}

uint64_t ConfigSpace::BarAddress(unsigned index) const {
  std::lock_guard guard(lock_);
  const uint32_t reg = kBar0 + 4 * index;
  const uint32_t lo = Get(reg, 4);
  uint64_t addr = lo & ~0xFu;
  if ((lo & 0x6) == 0x4 && index < 5) addr |= uint64_t{Get(reg + 4, 4)} << 32;
  return addr;
}

}  // namespace fpgadext::models::pci
