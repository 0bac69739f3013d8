// IOPCIDevice: the dext's view of its PCI function (driverkit-semantics.md §5.1).
#include <PCIDriverKit/IOPCIDevice.h>
#include <os/log.h>

#include "../kernel/kernel.h"

using fpgadext::emu::PciSlot;

OSDefineMetaClass(IOPCIDevice, IOService);

kern_return_t IOPCIDevice::Open(IOService* forClient, IOOptionBits options) {
  if (forClient == nullptr || slot_ == nullptr) return kIOReturnBadArgument;
  if (!slot_->present()) return kIOReturnNotOpen;
  if (opener_ != nullptr && opener_ != forClient) return kIOReturnExclusiveAccess;
  opener_ = forClient;
  return kIOReturnSuccess;  // memory space and bus mastering are left as they are
}

void IOPCIDevice::Close(IOService* forClient, IOOptionBits options) {
  if (forClient == nullptr || forClient != opener_) return;
  // The kernel's close clears bus mastering and memory space, and interrupts stop.
  const uint32_t command = slot_->ConfigRead(kIOPCIConfigurationOffsetCommand, 2);
  slot_->ConfigWrite(kIOPCIConfigurationOffsetCommand, 2,
                     command & ~(kIOPCICommandBusLead | kIOPCICommandMemorySpace));
  slot_->UnbindAll();
  opener_ = nullptr;
}

void IOPCIDevice::EmulationCloseFor(IOService* client) {
  if (opener_ != nullptr && opener_ == client) {
    os_log_error(OS_LOG_DEFAULT, "IOPCIDevice: closed on behalf of a stopped client");
    Close(client, 0);
  }
}

#define FPGADEXT_CONFIG_READ(bits)                                                      \
  void IOPCIDevice::ConfigurationRead##bits(uint64_t offset, uint##bits##_t* readData) { \
    if (readData == nullptr) return;                                                    \
    if (opener_ == nullptr || offset + bits / 8 > 4096 || offset % (bits / 8)) {        \
      *readData = static_cast<uint##bits##_t>(~0ull);                                   \
      return;                                                                           \
    }                                                                                   \
    *readData = static_cast<uint##bits##_t>(                                            \
        slot_->ConfigRead(static_cast<uint32_t>(offset), bits / 8));                    \
  }
FPGADEXT_CONFIG_READ(8)
FPGADEXT_CONFIG_READ(16)
FPGADEXT_CONFIG_READ(32)

#define FPGADEXT_CONFIG_WRITE(bits)                                                          \
  void IOPCIDevice::ConfigurationWrite##bits(uint64_t offset, uint##bits##_t data) {          \
    if (opener_ == nullptr || offset + bits / 8 > 4096 || offset % (bits / 8)) return;       \
    slot_->ConfigWrite(static_cast<uint32_t>(offset), bits / 8, data);                       \
  }
FPGADEXT_CONFIG_WRITE(8)
FPGADEXT_CONFIG_WRITE(16)
FPGADEXT_CONFIG_WRITE(32)

// Memory access needs the device open (its ranges are mapped at Open on a Mac); otherwise reads
// give all ones and writes are dropped.
#define FPGADEXT_MEMORY_ACCESS(bits)                                                          \
  void IOPCIDevice::MemoryRead##bits(uint8_t memoryIndex, uint64_t offset,                    \
                                     uint##bits##_t* readData) {                              \
    if (readData == nullptr) return;                                                          \
    *readData = opener_ ? static_cast<uint##bits##_t>(                                        \
                              slot_->MemoryRead(memoryIndex, offset, bits / 8))               \
                        : static_cast<uint##bits##_t>(~0ull);                                 \
  }                                                                                           \
  void IOPCIDevice::MemoryWrite##bits(uint8_t memoryIndex, uint64_t offset,                   \
                                      uint##bits##_t data) {                                  \
    if (opener_) slot_->MemoryWrite(memoryIndex, offset, bits / 8, data);                     \
  }
FPGADEXT_MEMORY_ACCESS(8)
FPGADEXT_MEMORY_ACCESS(16)
FPGADEXT_MEMORY_ACCESS(32)
FPGADEXT_MEMORY_ACCESS(64)

void IOPCIDevice::MemoryRead64(uint8_t memoryIndex, uint64_t offset, uint64_t* readData,
                               IOOptionBits options) {
  MemoryRead64(memoryIndex, offset, readData);
}
void IOPCIDevice::MemoryRead32(uint8_t memoryIndex, uint64_t offset, uint32_t* readData,
                               IOOptionBits options) {
  MemoryRead32(memoryIndex, offset, readData);
}
void IOPCIDevice::MemoryWrite64(uint8_t memoryIndex, uint64_t offset, uint64_t data,
                                IOOptionBits options) {
  MemoryWrite64(memoryIndex, offset, data);
}
void IOPCIDevice::MemoryWrite32(uint8_t memoryIndex, uint64_t offset, uint32_t data,
                                IOOptionBits options) {
  MemoryWrite32(memoryIndex, offset, data);
}

kern_return_t IOPCIDevice::GetBARInfo(uint8_t barIndex, uint8_t* memoryIndex, uint64_t* barSize,
                                      uint8_t* barType) {
  if (slot_ == nullptr || barIndex > kPCIMemoryRangeBAR5 || memoryIndex == nullptr) {
    return kIOReturnBadArgument;
  }
  const PciSlot::Bar& bar = slot_->bar(barIndex);
  if (bar.memoryIndex < 0) return kIOReturnNotFound;
  *memoryIndex = static_cast<uint8_t>(bar.memoryIndex);
  if (barSize) *barSize = bar.size;
  if (barType) *barType = bar.type;
  return kIOReturnSuccess;
}

kern_return_t IOPCIDevice::FindPCICapability(uint32_t capabilityID, uint64_t searchOffset,
                                             uint64_t* foundCapabilityOffset) {
  if (foundCapabilityOffset == nullptr || slot_ == nullptr) return kIOReturnBadArgument;
  if (opener_ == nullptr) return kIOReturnNotOpen;
  if (capabilityID > 0xff) return kIOReturnUnsupported;  // extended capabilities: not emulated
  // Walk the list; with a search offset, start after the capability found there.
  uint32_t offset = slot_->ConfigRead(kIOPCIConfigurationOffsetCapabilitiesPointer, 1) & 0xfc;
  bool searching = searchOffset != 0;
  for (int guard = 0; offset != 0 && guard < 48; ++guard) {
    if (!searching && (slot_->ConfigRead(offset, 1) & 0xff) == capabilityID) {
      *foundCapabilityOffset = offset;
      return kIOReturnSuccess;
    }
    if (offset == searchOffset) searching = false;
    offset = slot_->ConfigRead(offset + 1, 1) & 0xfc;
  }
  *foundCapabilityOffset = 0;
  return kIOReturnNotFound;
}

kern_return_t IOPCIDevice::GetBusDeviceFunction(uint8_t* bus, uint8_t* device,
                                                uint8_t* function) {
  if (bus == nullptr || device == nullptr || function == nullptr || slot_ == nullptr) {
    return kIOReturnBadArgument;
  }
  *bus = 1;
  *device = slot_->device();
  *function = 0;
  return kIOReturnSuccess;
}

kern_return_t IOPCIDevice::ConfigureInterrupts(uint32_t interruptType, uint32_t numRequired,
                                               uint32_t numRequested, IOOptionBits options) {
  if (slot_ == nullptr || options != 0) return kIOReturnBadArgument;
  return slot_->ConfigureInterrupts(interruptType, numRequired, numRequested);
}

kern_return_t IOPCIDevice::_CopyDeviceMemoryWithIndex(uint64_t memoryIndex,
                                                      IOMemoryDescriptor** memory,
                                                      IOService* forClient) {
  if (memory == nullptr || slot_ == nullptr) return kIOReturnBadArgument;
  IOMemoryDescriptor* md =
      fpgadext::emu::NewDeviceMemoryDescriptor(slot_, static_cast<unsigned>(memoryIndex));
  if (md == nullptr) return kIOReturnBadArgument;
  *memory = md;
  return kIOReturnSuccess;
}
