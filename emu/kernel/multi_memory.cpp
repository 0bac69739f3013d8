// Mapping a descriptor made by IOMemoryDescriptor::CreateWithMemoryDescriptors, for the dext
// (CreateMapping) and for the app (IOConnectMapMemory64).
//
// On a Mac such a descriptor is an IOMultiMemoryDescriptor (xnu IOUserServer.cpp,
// CreateWithMemoryDescriptors_Impl). Its doMap (xnu IOMultiMemoryDescriptor.cpp) reserves one
// range and maps each part into it in turn, at the byte where the previous part ended, with
// kIOMapOverwrite; each part is mapped as it would be alone (a buffer shares its pages, app
// memory made copy-on-write is a copy). The VM maps whole pages, so the view shows the parts'
// bytes in order only where every part starts on a page in its own memory and every part but
// the last ends on one. Elsewhere a Mac's view shows pages at the wrong offsets; the emulation
// refuses such a mapping with kIOReturnNotAligned instead (docs/emulation-memory-pci.md).
#include <DriverKit/IOLib.h>
#include <DriverKit/IOMemoryDescriptor.h>
#include <os/log.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>

#include "kernel.h"

namespace fpgadext::emu {
namespace {

uint64_t HostPage() {
  return static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

bool Contains(const MemoryBacking* b, const uint8_t* p, uint64_t length) {
  if (b->kind == MemoryBacking::Kind::kBuffer) {
    return p >= b->address && p + length <= b->address + b->capacity;
  }
  if (!b->clientOwned) return false;
  for (const MemoryRange& r : b->ranges) {
    if (p >= r.address && p + length <= r.address + r.length) return true;
  }
  return false;
}

// Sub-descriptors and nested concatenations hold their ranges as pointers into the memory
// they were cut from; the descriptors they keep alive say what that memory is.
const MemoryBacking* FindOwner(const MemoryBacking* b, const uint8_t* p, uint64_t length) {
  if (Contains(b, p, length)) return b;
  for (uint64_t source : b->sources) {
    const MemoryBacking* part = LookupMemory(source);
    if (part == nullptr) continue;
    if (const MemoryBacking* owner = FindOwner(part, p, length)) return owner;
  }
  return nullptr;
}

// Maps one piece of a part at `at` (page-aligned, inside the reserved range).
IOReturn MapPiece(const MemoryBacking* part, MemoryRange piece, uint8_t* at, bool readOnly) {
  const MemoryBacking* owner = FindOwner(part, piece.address, piece.length);
  if (owner == nullptr || owner->kind == MemoryBacking::Kind::kDevice) {
    os_log_error(OS_LOG_DEFAULT,
                 "mapping a part of a multi-memory descriptor that is device "
                 "memory is not emulated");
    return kIOReturnUnsupported;
  }
  const int prot = readOnly ? PROT_READ : PROT_READ | PROT_WRITE;
  if (owner->kind == MemoryBacking::Kind::kBuffer) {
    const uint64_t fileOffset = static_cast<uint64_t>(piece.address - owner->address);
    void* view = mmap(at, piece.length, prot, MAP_SHARED | MAP_FIXED, owner->memfd,
                      static_cast<off_t>(fileOffset));
    return view == MAP_FAILED ? kIOReturnNoMemory : kIOReturnSuccess;
  }
  // App memory: wired (checked) now, as a Mac wires it when it maps it.
  const bool copy = owner->copyOnWrite || readOnly;
  if (CheckProcessMemory(piece.address, piece.length, !copy) != kIOReturnSuccess) {
    return kIOReturnError;  // createMappingInTask fails: CreateMapping_Impl's kIOReturnError
  }
  if (!copy) {
    os_log_error(OS_LOG_DEFAULT,
                 "a writable live view of app memory inside a multi-memory "
                 "descriptor is not emulated");
    return kIOReturnUnsupported;
  }
  void* view = mmap(at, piece.length, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  if (view == MAP_FAILED) return kIOReturnNoMemory;
  std::memcpy(at, piece.address, piece.length);
  if (readOnly) mprotect(at, piece.length, PROT_READ);
  return kIOReturnSuccess;
}

}  // namespace

IOReturn MapMultiMemory(const MemoryBacking* multi, uint64_t offset, uint64_t length, bool readOnly,
                        uint64_t* address) {
  // The parts' layout is checked first, so a refused mapping leaves nothing behind.
  const uint64_t page = IOVMPageSize;
  struct Placed {
    const MemoryBacking* part;
    MemoryRange piece;
    uint64_t at;  // offset in the view
  };
  std::vector<Placed> placed;
  uint64_t skip = offset, remaining = length, at = 0;
  for (uint64_t source : multi->sources) {
    const MemoryBacking* part = LookupMemory(source);
    if (part == nullptr) continue;
    // xnu's doMap reads each part's length now, not when the descriptor was made.
    uint64_t chunk = part->length;
    if (remaining == 0) break;
    if (skip >= chunk) {
      skip -= chunk;
      continue;
    }
    chunk -= skip;
    if (chunk > remaining) chunk = remaining;
    ForEachPiece(part, skip, chunk, [&](MemoryRange piece) {
      placed.push_back({part, piece, at});
      at += piece.length;
    });
    remaining -= chunk;
    skip = 0;
  }
  if (remaining != 0) return kIOReturnUnderrun;  // doMap: parts shorter than the descriptor
  for (size_t i = 0; i < placed.size(); ++i) {
    const Placed& p = placed[i];
    const MemoryBacking* owner = FindOwner(p.part, p.piece.address, p.piece.length);
    const uint64_t source = owner != nullptr && owner->kind == MemoryBacking::Kind::kBuffer
                                ? static_cast<uint64_t>(p.piece.address - owner->address)
                                : reinterpret_cast<uint64_t>(p.piece.address);
    const bool last = i + 1 == placed.size();
    if (source % page != 0 || (!last && p.piece.length % page != 0)) {
      os_log_error(OS_LOG_DEFAULT,
                   "mapping a multi-memory descriptor: a part does not start or end on a page "
                   "(%llu bytes); a Mac would show its bytes at the wrong offsets",
                   static_cast<unsigned long long>(page));
      return kIOReturnNotAligned;
    }
  }

  const uint64_t host = HostPage();
  const uint64_t span = (length + host - 1) & ~(host - 1);
  void* reserved = mmap(nullptr, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (reserved == MAP_FAILED) return kIOReturnNoMemory;
  auto* base = static_cast<uint8_t*>(reserved);
  for (const Placed& p : placed) {
    const IOReturn ret = MapPiece(p.part, p.piece, base + p.at, readOnly);
    if (ret != kIOReturnSuccess) {
      munmap(reserved, span);
      return ret;
    }
  }
  *address = reinterpret_cast<uint64_t>(base);
  return kIOReturnSuccess;
}

}  // namespace fpgadext::emu
