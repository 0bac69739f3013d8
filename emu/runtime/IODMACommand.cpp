// IODMACommand: wiring, IOMMU mapping and segment generation (xnu
// iokit/DriverKit/IODMACommand.iig; IODMACommand::*_Impl in iokit/Kernel/IOUserServer.cpp).
#include <DriverKit/IODMACommand.h>
#include <DriverKit/IOService.h>
#include <os/log.h>

#include <cstring>

#include <fpgadext/emu/host_cost.h>

#include "../kernel/kernel.h"

using fpgadext::emu::DmaAccess;
using fpgadext::emu::DmaPreparation;
using fpgadext::emu::Kernel;
using fpgadext::emu::MemoryBacking;
using fpgadext::emu::MemoryRange;

OSDefineMetaClass(IODMACommand, OSObject);

bool IODMACommand::init() {
  return OSObject::init();
}

namespace {

// The pieces of `b` covering [offset, offset+length), in order.
std::vector<MemoryRange> Pieces(const MemoryBacking* b, uint64_t offset, uint64_t length) {
  std::vector<MemoryRange> pieces;
  fpgadext::emu::ForEachPiece(b, offset, length, [&](MemoryRange p) { pieces.push_back(p); });
  return pieces;
}

// Whether `b` covers pages of the app (client memory, or a descriptor cut from or made of it):
// those are wired for the device and reached as wired pages are (fpgadext/emu/iommu.h).
bool HoldsAppPages(const MemoryBacking* b) {
  if (b == nullptr || b->kind == MemoryBacking::Kind::kBuffer) return false;
  if (b->clientOwned) return true;
  for (IOMemoryDescriptor* source : b->sources) {
    if (HoldsAppPages(source->EmulationBacking())) return true;
  }
  return false;
}

}  // namespace

kern_return_t IODMACommand::Create(IOService* device, uint64_t options,
                                   const IODMACommandSpecification* specification,
                                   IODMACommand** command) {
  if (device == nullptr || specification == nullptr || command == nullptr ||
      options != kIODMACommandCreateNoOptions) {
    return kIOReturnBadArgument;
  }
  if (specification->maxAddressBits > 0xff) return kIOReturnBadArgument;
  auto* c = OSTypeAllocInitEmulated<IODMACommand>();
  if (c == nullptr) return kIOReturnNoMemory;
  device->retain();
  c->device_ = device;
  // 0 would leave no address space; the kernel treats it as "no limit".
  c->maxAddressBits_ = specification->maxAddressBits ? specification->maxAddressBits : 64;
  *command = c;
  return kIOReturnSuccess;
}

kern_return_t IODMACommand::PrepareForDMA(uint64_t options, IOMemoryDescriptor* memory,
                                          uint64_t offset, uint64_t length, uint64_t* flags,
                                          uint32_t* segmentsCount, IOAddressSegment segments[32],
                                          OSDispatchMethod supermethod) {
  (void)supermethod;
  if (options != kIODMACommandPrepareForDMANoOptions || memory == nullptr || flags == nullptr ||
      segmentsCount == nullptr || segments == nullptr || memory->EmulationBacking() == nullptr) {
    return kIOReturnBadArgument;
  }
  if (*segmentsCount > 32) return kIOReturnOverrun;
  if (*segmentsCount == 0) return kIOReturnBadArgument;
  if (preparation_ != nullptr) {
    if (preparation_->memory != memory) return kIOReturnBusy;
    CompleteDMA(
        kIODMACommandCompleteDMANoOptions);  // same descriptor: the old preparation goes silently
  }
  MemoryBacking* b = memory->EmulationBacking();
  if (offset > b->length) return kIOReturnBadArgument;
  const uint64_t len = length ? length : b->length - offset;
  if (len > b->length - offset || len == 0) return kIOReturnBadArgument;
  if (b->kind == MemoryBacking::Kind::kDevice) return kIOReturnUnsupported;  // peer-to-peer

  uint64_t direction = b->direction & kIOMemoryDirectionOutIn;
  if (direction == 0) direction = kIOMemoryDirectionOutIn;
  const auto access = static_cast<DmaAccess>(((direction & kIOMemoryDirectionOut) ? 1 : 0) |
                                             ((direction & kIOMemoryDirectionIn) ? 2 : 0));
  const std::vector<MemoryRange> pieces = Pieces(b, offset, len);
  // Wiring: every page must exist with the access the device will use.
  // xnu IOGeneralMemoryDescriptor::wireVirtual → vm_map_create_upl: a hole is
  // kIOReturnCannotWire, pages without the access KERN_PROTECTION_FAILURE (passed through).
  for (const MemoryRange& p : pieces) {
    const IOReturn wired =
        fpgadext::emu::CheckProcessMemory(p.address, p.length, direction & kIOMemoryDirectionIn);
    if (wired != kIOReturnSuccess) return wired;
  }
  Kernel* kernel = Kernel::Current();
  if (kernel == nullptr) return kIOReturnNotReady;
  auto& iommu = kernel->iommu();
  const uint64_t maxSegment = iommu.config().maxSegmentLength;
  const fpgadext::emu::HostPages hostPages =
      HoldsAppPages(b) ? fpgadext::emu::HostPages::kApp : fpgadext::emu::HostPages::kEmulation;
  auto* prep = new DmaPreparation;
  std::vector<IOAddressSegment> all;
  for (const MemoryRange& p : pieces) {
    for (uint64_t done = 0; done < p.length;) {
      uint64_t n = p.length - done;
      if (maxSegment != 0) {
        // Cut at the IOMMU's segment boundaries, as page-granular mappings would.
        const uint64_t address = reinterpret_cast<uintptr_t>(p.address) + done;
        n = std::min(n, maxSegment - (address % maxSegment));
      }
      uint64_t bus = 0;
      IOReturn ret = iommu.Map(p.address + done, n, access, static_cast<unsigned>(maxAddressBits_),
                               &bus, hostPages);
      if (ret != kIOReturnSuccess) {
        for (uint64_t a : prep->busAddresses) iommu.Unmap(a);
        delete prep;
        return ret;
      }
      prep->busAddresses.push_back(bus);
      all.push_back({bus, n});
      done += n;
    }
  }
  const uint32_t n = std::min<uint32_t>(*segmentsCount, static_cast<uint32_t>(all.size()));
  std::memcpy(segments, all.data(), n * sizeof(IOAddressSegment));
  *segmentsCount = n;
  *flags = direction;
  memory->retain();
  prep->memory = memory;
  prep->offset = offset;
  prep->length = len;
  preparation_ = prep;
  // A Mac wires the app's pages here (docs/performance.md, "Host-cost model").
  if (hostPages == fpgadext::emu::HostPages::kApp) {
    for (const MemoryRange& p : pieces) {
      prep->appPages +=
          fpgadext::emu::HostCostPages(reinterpret_cast<uintptr_t>(p.address), p.length);
    }
    fpgadext::emu::ChargeHostCost(fpgadext::emu::HostCost::kWire);
    fpgadext::emu::ChargeHostCost(fpgadext::emu::HostCost::kWirePage, prep->appPages);
  }
  return kIOReturnSuccess;
}

kern_return_t IODMACommand::CompleteDMA(uint64_t options, OSDispatchMethod supermethod) {
  (void)supermethod;
  if (options != kIODMACommandCompleteDMANoOptions) return kIOReturnBadArgument;
  if (preparation_ == nullptr) return kIOReturnNotReady;
  if (Kernel* kernel = Kernel::Current()) {
    for (uint64_t a : preparation_->busAddresses) kernel->iommu().Unmap(a);
  }
  OSSafeReleaseNULL(preparation_->memory);
  const uint64_t appPages = preparation_->appPages;
  delete preparation_;
  preparation_ = nullptr;
  if (appPages != 0) {
    fpgadext::emu::ChargeHostCost(fpgadext::emu::HostCost::kUnwire);
    fpgadext::emu::ChargeHostCost(fpgadext::emu::HostCost::kUnwirePage, appPages);
  }
  return kIOReturnSuccess;
}

kern_return_t IODMACommand::GetPreparation(uint64_t* offset, uint64_t* length,
                                           IOMemoryDescriptor** memory,
                                           OSDispatchMethod supermethod) {
  (void)supermethod;
  if (preparation_ == nullptr) return kIOReturnNotReady;
  if (offset) *offset = preparation_->offset;
  if (length) *length = preparation_->length;
  if (memory) {
    // +1, as xnu's GetPreparation_Impl retains it (os_returns_retained in the header).
    preparation_->memory->retain();
    *memory = preparation_->memory;
  }
  return kIOReturnSuccess;
}

kern_return_t IODMACommand::PerformOperation(uint64_t options, uint64_t dmaOffset, uint64_t length,
                                             uint64_t dataOffset, IOMemoryDescriptor* data,
                                             OSDispatchMethod supermethod) {
  (void)supermethod;
  // xnu (IOUserServer.cpp, PerformOperation_Impl) refuses undefined option bits before
  // anything else, and any value but exactly one of Read, Write, Zero.
  constexpr uint64_t kDefined = kIODMACommandPerformOperationOptionRead |
                                kIODMACommandPerformOperationOptionWrite |
                                kIODMACommandPerformOperationOptionZero;
  if (options & ~kDefined) return kIOReturnBadArgument;
  if (preparation_ == nullptr) return kIOReturnNotReady;
  if (dmaOffset > preparation_->length || length > preparation_->length - dmaOffset) {
    return kIOReturnBadArgument;
  }
  if (options != kIODMACommandPerformOperationOptionRead &&
      options != kIODMACommandPerformOperationOptionWrite &&
      options != kIODMACommandPerformOperationOptionZero) {
    return kIOReturnBadArgument;
  }
  std::vector<MemoryRange> dma =
      Pieces(preparation_->memory->EmulationBacking(), preparation_->offset + dmaOffset, length);
  if (options == kIODMACommandPerformOperationOptionZero) {
    for (const MemoryRange& p : dma) std::memset(p.address, 0, p.length);
    return kIOReturnSuccess;
  }
  if (data == nullptr || data->EmulationBacking() == nullptr) return kIOReturnBadArgument;
  MemoryBacking* other = data->EmulationBacking();
  if (dataOffset > other->length || length > other->length - dataOffset) {
    return kIOReturnBadArgument;
  }
  std::vector<MemoryRange> mem = Pieces(other, dataOffset, length);
  // Walk both piece lists together.
  size_t i = 0, j = 0;
  uint64_t oi = 0, oj = 0;
  while (i < dma.size() && j < mem.size()) {
    const uint64_t n = std::min(dma[i].length - oi, mem[j].length - oj);
    if (options == kIODMACommandPerformOperationOptionRead) {
      std::memcpy(mem[j].address + oj, dma[i].address + oi, n);
    } else {
      std::memcpy(dma[i].address + oi, mem[j].address + oj, n);
    }
    oi += n;
    oj += n;
    if (oi == dma[i].length) ++i, oi = 0;
    if (oj == mem[j].length) ++j, oj = 0;
  }
  return kIOReturnSuccess;
}

void IODMACommand::free() {
  if (preparation_ != nullptr) CompleteDMA(kIODMACommandCompleteDMANoOptions);
  OSSafeReleaseNULL(device_);
  OSObject::free();
}
