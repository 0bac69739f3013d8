// The kernel's memory objects: what each IOMemoryDescriptor of a dext stands for (app ranges, a
// shared-memory buffer, a BAR, or a descriptor cut from or made of others), named by an ID the
// runtime holds, and the CPU mappings the kernel makes of them (user_server.h, "Memory").
//
// On a Mac a dext's descriptor is a kernel object the dext reaches through a port (xnu
// IOUserServer.cpp: IOBufferMemoryDescriptor::Create_Impl, IOMemoryDescriptor::CreateMapping_Impl,
// CreateSubMemoryDescriptor_Impl, CreateWithMemoryDescriptors_Impl); here the port is the ID.
// The table is process-wide, not the Kernel object's: a dext may make buffers before a machine
// exists and release descriptors after it went (the runtime's unit tests do both), as the objects
// of an IOUserServer outlive none of that on a Mac only because the kernel never goes.
#include <DriverKit/IOLib.h>
#include <DriverKit/IOMemoryDescriptor.h>
#include <os/log.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "kernel.h"
#include "mmio_trap.h"
#include "user_server.h"

namespace fpgadext::emu {
namespace {

constexpr uint64_t kDirectionBits = kIOMemoryDirectionOutIn;

struct MemoryObject {
  MemoryBacking backing;
  uint64_t references = 1;
};

struct MemoryTable {
  std::mutex lock;
  uint64_t nextID = 1;
  std::unordered_map<uint64_t, std::unique_ptr<MemoryObject>> objects;
};

MemoryTable& Table() {
  static MemoryTable* table = new MemoryTable;  // never destroyed: released late by static objects
  return *table;
}

// Enters `backing` in the table with one reference; its parts are already retained.
uint64_t Enter(MemoryBacking&& backing) {
  auto object = std::make_unique<MemoryObject>();
  object->backing = std::move(backing);
  MemoryTable& t = Table();
  std::lock_guard guard(t.lock);
  const uint64_t id = t.nextID++;
  t.objects.emplace(id, std::move(object));
  return id;
}

void Retain(uint64_t id) {
  MemoryTable& t = Table();
  std::lock_guard guard(t.lock);
  auto it = t.objects.find(id);
  if (it != t.objects.end()) ++it->second->references;
}

uint64_t HostPageSize() {
  return static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

void Undo(uint32_t how, void* address, uint64_t length) {
  switch (how) {
    case userserver::kUndoPages:
      UnmapPages(address, length);
      break;
    case userserver::kUndoTrap:
      MmioTrapUnmap(address);
      break;
    default:
      break;
  }
}

}  // namespace

MemoryBacking* LookupMemory(uint64_t id) {
  MemoryTable& t = Table();
  std::lock_guard guard(t.lock);
  auto it = t.objects.find(id);
  return it == t.objects.end() ? nullptr : &it->second->backing;
}

size_t MemoryObjectCount() {
  MemoryTable& t = Table();
  std::lock_guard guard(t.lock);
  return t.objects.size();
}

MemoryBacking* BackingOf(const IOMemoryDescriptor* memory) {
  return memory == nullptr ? nullptr : LookupMemory(memory->EmulationMemory());
}

namespace {

uint64_t NewClientMemory(const IOAddressSegment* segments, uint32_t count, uint64_t direction,
                         bool copyOnWrite) {
  MemoryBacking b;
  b.kind = MemoryBacking::Kind::kClient;
  b.direction = direction & kDirectionBits;
  b.copyOnWrite = copyOnWrite;
  b.clientOwned = true;
  for (uint32_t i = 0; i < count; ++i) {
    b.ranges.push_back({reinterpret_cast<uint8_t*>(segments[i].address), segments[i].length});
    b.length += segments[i].length;
  }
  return Enter(std::move(b));
}

}  // namespace

IOMemoryDescriptor* NewClientMemoryDescriptor(const IOAddressSegment* segments, uint32_t count,
                                              uint64_t direction, bool copyOnWrite) {
  // IOMemoryDescriptor is abstract on a Mac; the emulation uses one concrete class for every
  // descriptor it makes (here the kernel's, of an app's out-of-line structure).
  auto* md = ::new IOMemoryDescriptor();
  md->EmulationSetMemory(NewClientMemory(segments, count, direction, copyOnWrite));
  return md;
}

void* MapDeviceMemory(MemoryBacking* b, bool readOnly, uint64_t* size,
                      void (**unmap)(void*, uint64_t)) {
  if (!b->ranges.empty() && !readOnly) {
    // The model's plain memory: the same bytes, nothing to undo.
    *size = b->length;
    *unmap = nullptr;
    return b->ranges[0].address;
  }
  // Registers with side effects (or a read-only view): every access traps to the bus.
  // Whole pages of the emulated Mac: past the BAR's end in its last page no register answers.
  void* address = MmioTrapMap(b->slot->BusWindow(b->memoryIndex), b->length, readOnly);
  if (address == nullptr) return nullptr;
  *size = b->length;
  *unmap = [](void* a, uint64_t) { MmioTrapUnmap(a); };
  return address;
}

namespace userserver {

MemoryId CreateDeviceMemory(PciFunctionHandle slot, unsigned memoryIndex) {
  const int bar = slot->BarForMemoryIndex(memoryIndex);
  if (bar < 0 || slot->bar(bar).region == nullptr) return 0;
  MemoryBacking b;
  b.kind = MemoryBacking::Kind::kDevice;
  b.direction = kIOMemoryDirectionOutIn;
  b.region = slot->bar(bar).region;
  b.slot = slot;
  b.memoryIndex = memoryIndex;
  b.length = slot->bar(bar).size;
  if (uint8_t* direct = b.region->DirectMemory()) b.ranges.push_back({direct, b.length});
  return Enter(std::move(b));
}

MemoryId CreateClientMemory(ServiceHandle client, const IOAddressSegment* segments, uint32_t count,
                            uint64_t direction, bool copyOnWrite) {
  (void)client;  // the app whose ranges these are: this process, until apps are processes
  return NewClientMemory(segments, count, direction, copyOnWrite);
}

IOReturn CreateBufferMemory(uint64_t direction, uint64_t capacity, MemoryId* memory) {
  if (capacity == 0) return kIOReturnNoMemory;
  const int fd = memfd_create("IOBufferMemoryDescriptor", MFD_CLOEXEC);
  if (fd < 0) return kIOReturnNoMemory;
  // Whole pages of the emulated Mac, page-aligned, as xnu's inTaskWithOptions allocates a
  // buffer shared with user space (IOBufferMemoryDescriptor.cpp: alignment raised to the page
  // size, capacity rounded to pages): which satisfies any alignment a dext asks for, and the
  // bytes past the capacity in the last page are the buffer's own.
  const uint64_t pages = (capacity + IOVMPageSize - 1) & ~(IOVMPageSize - 1);
  if (pages < capacity || ftruncate(fd, static_cast<off_t>(pages)) != 0) {
    close(fd);
    return kIOReturnNoMemory;
  }
  void* address = MapMacPages(capacity, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (address == nullptr) {
    close(fd);
    return kIOReturnNoMemory;
  }
  MemoryBacking b;
  b.kind = MemoryBacking::Kind::kBuffer;
  b.direction = direction & kDirectionBits;
  b.memfd = fd;
  b.capacity = capacity;
  b.address = static_cast<uint8_t*>(address);
  // xnu (IOUserServer.cpp, IOBufferMemoryDescriptor::Create_Impl → inTaskWithOptions →
  // IOBufferMemoryDescriptor.cpp, initWithPhysicalMask) starts the length at the capacity.
  b.ranges.push_back({b.address, capacity});
  b.length = capacity;
  *memory = Enter(std::move(b));
  return kIOReturnSuccess;
}

IOReturn CreateMultiMemory(uint64_t direction, const MemoryId* parts, uint32_t count,
                           MemoryId* memory) {
  MemoryBacking b;
  b.kind = MemoryBacking::Kind::kClient;
  b.direction = direction & kDirectionBits;
  for (uint32_t i = 0; i < count; ++i) {
    const MemoryBacking* part = LookupMemory(parts[i]);
    if (part == nullptr || (part->kind == MemoryBacking::Kind::kDevice && part->ranges.empty())) {
      for (MemoryId s : b.sources) ReleaseMemory(s);
      return kIOReturnBadArgument;
    }
    Retain(parts[i]);
    b.sources.push_back(parts[i]);
    b.ranges.insert(b.ranges.end(), part->ranges.begin(), part->ranges.end());
    b.length += part->length;
  }
  // Built by the dext: not client-owned for the read-only rule; mapped part by part.
  b.clientOwned = false;
  b.copyOnWrite = false;
  b.multi = true;
  *memory = Enter(std::move(b));
  return kIOReturnSuccess;
}

IOReturn CreateSubMemory(uint64_t direction, MemoryId of, uint64_t offset, uint64_t length,
                         MemoryId* memory) {
  const MemoryBacking* src = LookupMemory(of);
  if (src == nullptr) return kIOReturnBadArgument;
  if (offset > src->length || length > src->length - offset) return kIOReturnBadArgument;
  MemoryId whole = 0;
  const IOReturn ret = CreateMultiMemory(direction, &of, 1, &whole);
  if (ret != kIOReturnSuccess) return ret;
  // Cut the ranges down to [offset, offset+length): a range of one descriptor, mapped as one.
  MemoryBacking* b = LookupMemory(whole);
  std::vector<MemoryRange> cut;
  ForEachPiece(b, offset, length, [&](MemoryRange piece) { cut.push_back(piece); });
  b->ranges = std::move(cut);
  b->length = length;
  b->multi = false;
  *memory = whole;
  return kIOReturnSuccess;
}

void ReleaseMemory(MemoryId memory) {
  std::unique_ptr<MemoryObject> gone;
  {
    MemoryTable& t = Table();
    std::lock_guard guard(t.lock);
    auto it = t.objects.find(memory);
    if (it == t.objects.end() || --it->second->references != 0) return;
    gone = std::move(it->second);
    t.objects.erase(it);
  }
  MemoryBacking& b = gone->backing;
  for (MemoryId s : b.sources) ReleaseMemory(s);
  if (b.address != nullptr) UnmapMacPages(b.address, b.capacity);
  if (b.memfd >= 0) close(b.memfd);
}

uint64_t MemoryLength(MemoryId memory) {
  const MemoryBacking* b = LookupMemory(memory);
  return b == nullptr ? 0 : b->length;
}

bool BufferRange(MemoryId memory, uint64_t* address, uint64_t* length) {
  const MemoryBacking* b = LookupMemory(memory);
  if (b == nullptr || b->kind != MemoryBacking::Kind::kBuffer) return false;
  *address = reinterpret_cast<uint64_t>(b->address);
  *length = b->length;
  return true;
}

void SetBufferLength(MemoryId memory, uint64_t length) {
  MemoryBacking* b = LookupMemory(memory);
  if (b == nullptr || length > b->capacity) return;  // ignored, as on macOS
  b->length = length;
  b->ranges[0].length = length;
  b->lengthSet = true;
}

IOReturn MapMemory(MemoryId memory, bool readOnlyAsked, uint64_t offset, uint64_t length,
                   MemoryView* view) {
  MemoryBacking* b = LookupMemory(memory);
  if (b == nullptr) return kIOReturnBadArgument;
  if (offset > b->length) return kIOReturnBadArgument;
  const uint64_t len = length ? length : b->length - offset;
  if (len == 0 || len > b->length - offset) return kIOReturnBadArgument;
  // xnu (IOUserServer.cpp, CreateMapping_Impl) forces read-only for direction exactly Out unless
  // the caller created the memory; only IOBufferMemoryDescriptors record a creator, so client
  // memory, sub-descriptors and concatenations made Out are read-only to the dext.
  const bool readOnly = readOnlyAsked || (b->kind != MemoryBacking::Kind::kBuffer &&
                                          (b->direction & kDirectionBits) == kIOMemoryDirectionOut);
  *view = MemoryView{};
  view->length = len;
  if (b->multi) {
    // Each part mapped in turn into one range (multi_memory.cpp).
    const IOReturn ret = MapMultiMemory(b, offset, len, readOnly, &view->address);
    if (ret != kIOReturnSuccess) return ret;
    view->undo = kUndoPages;
    view->undoAddress = view->address;
    view->undoLength = len;
    return kIOReturnSuccess;
  }
  if (b->kind == MemoryBacking::Kind::kBuffer) {
    // A second view of the shared-memory object, with its own protection.
    const uint64_t page = HostPageSize();
    const uint64_t start = offset & ~(page - 1);
    const uint64_t span = offset - start + len;
    void* mapped = mmap(nullptr, span, readOnly ? PROT_READ : PROT_READ | PROT_WRITE, MAP_SHARED,
                        b->memfd, static_cast<off_t>(start));
    if (mapped == MAP_FAILED) return kIOReturnError;
    view->address = reinterpret_cast<uint64_t>(mapped) + (offset - start);
    view->undo = kUndoPages;
    view->undoAddress = view->address;
    view->undoLength = len;
    return kIOReturnSuccess;
  }
  if (b->kind == MemoryBacking::Kind::kDevice) {
    uint64_t size = 0;
    void (*unmap)(void*, uint64_t) = nullptr;
    auto* base = static_cast<uint8_t*>(MapDeviceMemory(b, readOnly, &size, &unmap));
    if (base == nullptr) return kIOReturnUnsupported;  // no trap mappings on this host
    // The map undoes the whole device mapping, whatever part of it was asked for.
    view->address = reinterpret_cast<uint64_t>(base + offset);
    view->undo = unmap != nullptr ? kUndoTrap : kUndoNothing;
    view->undoAddress = reinterpret_cast<uint64_t>(base);
    view->undoLength = size;
    return kIOReturnSuccess;
  }
  // Client memory is checked now, as a Mac wires it now.
  IOReturn check = kIOReturnSuccess;
  const bool snapshot = b->copyOnWrite || readOnly;
  ForEachPiece(b, offset, len, [&](MemoryRange piece) {
    if (check == kIOReturnSuccess)
      check = CheckProcessMemory(piece.address, piece.length, !snapshot);
  });
  if (check != kIOReturnSuccess) return kIOReturnError;
  if (snapshot) {
    // Copy-on-write (or read-only) client memory: the dext sees a private snapshot.
    void* copy = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (copy == MAP_FAILED) return kIOReturnNoMemory;
    uint8_t* dst = static_cast<uint8_t*>(copy);
    ForEachPiece(b, offset, len, [&](MemoryRange piece) {
      std::memcpy(dst, piece.address, piece.length);
      dst += piece.length;
    });
    if (readOnly) mprotect(copy, len, PROT_READ);
    view->address = reinterpret_cast<uint64_t>(copy);
    view->undo = kUndoPages;
    view->undoAddress = view->address;
    view->undoLength = len;
    return kIOReturnSuccess;
  }
  // A live view: possible only for bytes in one range (the process cannot alias the pages of
  // ordinary app memory elsewhere).
  uint8_t* live = nullptr;
  int pieces = 0;
  ForEachPiece(b, offset, len, [&](MemoryRange piece) {
    if (pieces++ == 0) live = piece.address;
  });
  if (pieces != 1) {
    os_log_error(OS_LOG_DEFAULT,
                 "CreateMapping: a writable view of several client ranges is not emulated");
    return kIOReturnUnsupported;
  }
  view->address = reinterpret_cast<uint64_t>(live);
  return kIOReturnSuccess;
}

void UnmapMemory(uint32_t undo, uint64_t address, uint64_t length) {
  Undo(undo, reinterpret_cast<void*>(address), length);
}

}  // namespace userserver
}  // namespace fpgadext::emu
