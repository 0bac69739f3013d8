// The interface between the emulated machine and a software model of a PCI function.
//
// A model is hardware: the machine (and through it the dext) reaches it only by configuration
// cycles and BAR accesses, and the model reaches host memory only through a DmaPort, which
// forwards every access to the emulated IOMMU. Interrupts are MSI/MSI-X message writes, as on a
// real bus: the model reads the message address and data the host programmed (MSI capability
// or MSI-X table) and calls DmaPort::SignalMessage.
#pragma once

#include <DriverKit/IOReturn.h>

#include <cstdint>

namespace fpgadext::emu {

// One memory BAR of a PCI function, seen from the bus. Offsets are relative to the BAR start.
// Read/Write are called for accesses of width 1, 2, 4 or 8 bytes at any offset inside Size();
// they must take effect synchronously (a write is visible to the next read), may be called from
// any thread, and may be called concurrently.
class MmioRegion {
 public:
  virtual ~MmioRegion() = default;
  virtual uint64_t Size() const = 0;
  virtual uint64_t Read(uint64_t offset, unsigned width) = 0;
  virtual void Write(uint64_t offset, unsigned width, uint64_t value) = 0;
  // Memory that plain CPU loads and stores may reach without the handlers above: a RAM window
  // (a BRAM board) or registers without side effects. nullptr when every access must go through
  // Read/Write. A region that returns memory here must keep Read/Write coherent with it.
  virtual uint8_t* DirectMemory() { return nullptr; }
};

// What the host offers a device: bus-master access to host memory through the IOMMU, and
// message-signalled interrupts. Implemented by the emulated machine.
class DmaPort {
 public:
  virtual ~DmaPort() = default;
  // Device reads `length` bytes of host memory at bus address `busAddress` into `dst`.
  // Returns kIOReturnSuccess, or kIOReturnNotPermitted when the IOMMU refused the access (no live
  // mapping covers the range, or the mapping does not allow device reads). A refused access
  // copies nothing and is recorded by the IOMMU as a violation.
  virtual IOReturn DmaRead(uint64_t busAddress, void* dst, uint64_t length) = 0;
  // Device writes `length` bytes from `src` to host memory at `busAddress`; same rules.
  virtual IOReturn DmaWrite(uint64_t busAddress, const void* src, uint64_t length) = 0;
  // The memory write of an MSI or MSI-X message: `address` and `data` as programmed by the host.
  virtual void SignalMessage(uint64_t address, uint32_t data) = 0;
};

// A PCI function (type 0 header). Configuration space is 4 KiB; the model owns its content and
// rules: read-only fields, BAR sizing (writing all ones to a BAR register reads back the size
// mask), the capability list (MSI, MSI-X, PCI Express), the Command register. The machine
// enumerates functions the way firmware does: it sizes each BAR through configuration space,
// assigns it an address, and uses Bar(i) to reach the region behind BAR register i.
//
// Several functions make one multi-function device (Machine::AttachPciDevice): function 0 must
// set Header Type bit 7, or firmware never looks at functions 1..7. Each function has its own
// configuration space, BARs, MSI/MSI-X and DmaPort.
//
// Function Level Reset is a configuration write, as on hardware: a function that advertises it
// (PCI Express Device Capabilities bit 28) resets itself when ConfigWrite sets Device Control
// bit 15 (Initiate FLR). Before that ConfigWrite returns, the model must have put its
// configuration space and registers in their after-reset state, stopped its DMA and dropped
// pending interrupts. The kernel's IOPCIDevice::Reset drives it (emu/runtime/IOPCIDevice.cpp).
class PciFunction {
 public:
  virtual ~PciFunction() = default;
  // `width` is 1, 2 or 4 and `offset` is aligned to it. Offsets past 4 KiB read all ones.
  virtual uint32_t ConfigRead(uint32_t offset, unsigned width) = 0;
  virtual void ConfigWrite(uint32_t offset, unsigned width, uint32_t value) = 0;
  // The region decoded by BAR register `index` (0..5); for a 64-bit BAR, the lower index.
  // nullptr for unused registers and for the upper half of a 64-bit BAR.
  virtual MmioRegion* Bar(unsigned index) = 0;
  // Called with the machine's port when the function is plugged in, and with nullptr before it
  // is removed; after Connect(nullptr) returns the model must not touch the old port again.
  virtual void Connect(DmaPort* port) = 0;
};

}  // namespace fpgadext::emu
