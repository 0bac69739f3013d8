// The kernel's half of IODMACommand (xnu iokit/DriverKit/IODMACommand.iig; IODMACommand::*_Impl
// in iokit/Kernel/IOUserServer.cpp): wiring a memory object, mapping it in the IOMMU for the
// device, and the CPU copies of PerformOperation (user_server.h, "Memory").
//
// A preparation is named by an ID, as the runtime names memory objects: the IOMMU mappings and
// wired pages it holds stay here until CompleteDma. The table is process-wide for the reason
// memory_objects.cpp gives.
#include <DriverKit/IODMACommand.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <unordered_map>

#include <fpgadext/emu/host_cost.h>

#include "kernel.h"
#include "user_server.h"

namespace fpgadext::emu {
namespace {

// What a preparation holds in the kernel.
struct DmaMappings {
  std::vector<uint64_t> busAddresses;  // IOMMU mappings to remove at CompleteDma
  uint64_t appPages = 0;               // app pages wired (host-cost model), 0 for dext memory
};

struct PreparationTable {
  std::mutex lock;
  uint64_t nextID = 1;
  std::unordered_map<uint64_t, DmaMappings> preparations;
};

PreparationTable& Preparations() {
  static PreparationTable* table = new PreparationTable;  // never destroyed, as memory objects
  return *table;
}

// The pieces of `b` covering [offset, offset+length), in order.
std::vector<MemoryRange> Pieces(const MemoryBacking* b, uint64_t offset, uint64_t length) {
  std::vector<MemoryRange> pieces;
  ForEachPiece(b, offset, length, [&](MemoryRange p) { pieces.push_back(p); });
  return pieces;
}

// Whether `b` covers pages of the app (client memory, or a descriptor cut from or made of it):
// those are wired for the device and reached as wired pages are (fpgadext/emu/iommu.h).
bool HoldsAppPages(const MemoryBacking* b) {
  if (b == nullptr || b->kind == MemoryBacking::Kind::kBuffer) return false;
  if (b->clientOwned) return true;
  for (uint64_t source : b->sources) {
    if (HoldsAppPages(LookupMemory(source))) return true;
  }
  return false;
}

}  // namespace

namespace userserver {

IOReturn PrepareDma(MemoryId memory, uint64_t offset, uint64_t length, uint64_t maxAddressBits,
                    IOAddressSegment* segments, uint32_t* segmentsCount, uint64_t* flags,
                    PreparedRange* preparation) {
  const MemoryBacking* b = LookupMemory(memory);
  if (b == nullptr) return kIOReturnBadArgument;
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
        CheckProcessMemory(p.address, p.length, direction & kIOMemoryDirectionIn);
    if (wired != kIOReturnSuccess) return wired;
  }
  Kernel* kernel = Kernel::Current();
  if (kernel == nullptr) return kIOReturnNotReady;
  auto& iommu = kernel->iommu();
  const uint64_t maxSegment = iommu.config().maxSegmentLength;
  const HostPages hostPages = HoldsAppPages(b) ? HostPages::kApp : HostPages::kEmulation;
  DmaMappings mappings;
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
      const IOReturn ret = iommu.Map(p.address + done, n, access,
                                     static_cast<unsigned>(maxAddressBits), &bus, hostPages);
      if (ret != kIOReturnSuccess) {
        for (uint64_t a : mappings.busAddresses) iommu.Unmap(a);
        return ret;
      }
      mappings.busAddresses.push_back(bus);
      all.push_back({bus, n});
      done += n;
    }
  }
  const uint32_t n = std::min<uint32_t>(*segmentsCount, static_cast<uint32_t>(all.size()));
  std::memcpy(segments, all.data(), n * sizeof(IOAddressSegment));
  *segmentsCount = n;
  *flags = direction;
  // A Mac wires the app's pages here (docs/performance.md, "Host-cost model").
  if (hostPages == HostPages::kApp) {
    for (const MemoryRange& p : pieces) {
      mappings.appPages += HostCostPages(reinterpret_cast<uintptr_t>(p.address), p.length);
    }
    ChargeHostCost(HostCost::kWire);
    ChargeHostCost(HostCost::kWirePage, mappings.appPages);
  }
  PreparationTable& t = Preparations();
  std::lock_guard guard(t.lock);
  preparation->id = t.nextID++;
  preparation->offset = offset;
  preparation->length = len;
  t.preparations.emplace(preparation->id, std::move(mappings));
  return kIOReturnSuccess;
}

void CompleteDma(uint64_t preparation) {
  DmaMappings mappings;
  {
    PreparationTable& t = Preparations();
    std::lock_guard guard(t.lock);
    auto it = t.preparations.find(preparation);
    if (it == t.preparations.end()) return;
    mappings = std::move(it->second);
    t.preparations.erase(it);
  }
  if (Kernel* kernel = Kernel::Current()) {
    for (uint64_t a : mappings.busAddresses) kernel->iommu().Unmap(a);
  }
  if (mappings.appPages != 0) {
    ChargeHostCost(HostCost::kUnwire);
    ChargeHostCost(HostCost::kUnwirePage, mappings.appPages);
  }
}

IOReturn CopyMemory(uint64_t operation, MemoryId prepared, uint64_t offset, MemoryId data,
                    uint64_t dataOffset, uint64_t length) {
  const MemoryBacking* b = LookupMemory(prepared);
  if (b == nullptr) return kIOReturnNotReady;
  std::vector<MemoryRange> dma = Pieces(b, offset, length);
  if (operation == kIODMACommandPerformOperationOptionZero) {
    for (const MemoryRange& p : dma) std::memset(p.address, 0, p.length);
    return kIOReturnSuccess;
  }
  const MemoryBacking* other = LookupMemory(data);
  if (other == nullptr) return kIOReturnBadArgument;
  if (dataOffset > other->length || length > other->length - dataOffset) {
    return kIOReturnBadArgument;
  }
  std::vector<MemoryRange> mem = Pieces(other, dataOffset, length);
  // Walk both piece lists together.
  size_t i = 0, j = 0;
  uint64_t oi = 0, oj = 0;
  while (i < dma.size() && j < mem.size()) {
    const uint64_t n = std::min(dma[i].length - oi, mem[j].length - oj);
    if (operation == kIODMACommandPerformOperationOptionRead) {
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

}  // namespace userserver
}  // namespace fpgadext::emu
