// IOMemoryDescriptor, IOMemoryMap and IOBufferMemoryDescriptor over MemoryBacking.
#include <DriverKit/IOBufferMemoryDescriptor.h>
#include <DriverKit/IOLib.h>
#include <DriverKit/IOMemoryMap.h>
#include <os/log.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>

#include "../kernel/kernel.h"
#include "../kernel/mmio_trap.h"

using fpgadext::emu::CheckProcessMemory;
using fpgadext::emu::ForEachPiece;
using fpgadext::emu::MemoryBacking;
using fpgadext::emu::MemoryRange;
using fpgadext::emu::UnmapPages;

OSDefineAbstractMetaClass(IOMemoryDescriptor, OSObject);
OSDefineMetaClass(IOMemoryMap, OSObject);
OSDefineMetaClass(IOBufferMemoryDescriptor, IOMemoryDescriptor);

namespace {

constexpr uint64_t kDirectionBits = kIOMemoryDirectionOutIn;

uint64_t HostPageSize() {
  return static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

IOMemoryDescriptor* NewDescriptor(MemoryBacking* backing) {
  // IOMemoryDescriptor is abstract on a Mac; the emulation uses one concrete class for every
  // descriptor it makes for a dext (client memory, sub-ranges, device memory).
  auto* md = ::new IOMemoryDescriptor();
  md->EmulationSetBacking(backing);
  return md;
}

}  // namespace

namespace fpgadext::emu {

IOMemoryDescriptor* NewClientMemoryDescriptor(const IOAddressSegment* segments, uint32_t count,
                                              uint64_t direction, bool copyOnWrite) {
  auto* b = new MemoryBacking;
  b->kind = MemoryBacking::Kind::kClient;
  b->direction = direction & kDirectionBits;
  b->copyOnWrite = copyOnWrite;
  b->clientOwned = true;
  for (uint32_t i = 0; i < count; ++i) {
    b->ranges.push_back({reinterpret_cast<uint8_t*>(segments[i].address), segments[i].length});
    b->length += segments[i].length;
  }
  return NewDescriptor(b);
}

IOMemoryDescriptor* NewDeviceMemoryDescriptor(PciSlot* slot, unsigned memoryIndex) {
  const int bar = slot->BarForMemoryIndex(memoryIndex);
  if (bar < 0 || slot->bar(bar).region == nullptr) return nullptr;
  auto* b = new MemoryBacking;
  b->kind = MemoryBacking::Kind::kDevice;
  b->direction = kIOMemoryDirectionOutIn;
  b->region = slot->bar(bar).region;
  b->slot = slot;
  b->memoryIndex = memoryIndex;
  b->length = slot->bar(bar).size;
  if (uint8_t* direct = b->region->DirectMemory()) b->ranges.push_back({direct, b->length});
  return NewDescriptor(b);
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

}  // namespace fpgadext::emu

bool IOMemoryDescriptor::init() {
  return OSObject::init();
}

kern_return_t IOMemoryDescriptor::GetLength(uint64_t* returnLength) {
  if (returnLength == nullptr || backing_ == nullptr) return kIOReturnBadArgument;
  *returnLength = backing_->length;
  return kIOReturnSuccess;
}

kern_return_t IOMemoryDescriptor::CreateMapping(uint64_t options, uint64_t address, uint64_t offset,
                                                uint64_t length, uint64_t alignment,
                                                IOMemoryMap** map, OSDispatchMethod supermethod) {
  (void)supermethod;
  // xnu (IOUserServer.cpp, CreateMapping_Impl) never reads `alignment`: any value is accepted.
  (void)alignment;
  if (map == nullptr || backing_ == nullptr) return kIOReturnBadArgument;
  switch (options & 0xFF00) {
    case kIOMemoryMapCacheModeDefault:
    case kIOMemoryMapCacheModeInhibit:
    case kIOMemoryMapCacheModeCopyback:
    case kIOMemoryMapCacheModeWriteThrough:
    case kIOMemoryMapCacheModeRealTime:
      break;
    default:
      return kIOReturnBadArgument;
  }
  if (options & kIOMemoryMapFixedAddress) return kIOReturnUnsupported;  // not emulated
  MemoryBacking* b = backing_;
  if (offset > b->length) return kIOReturnBadArgument;
  const uint64_t len = length ? length : b->length - offset;
  if (len == 0 || len > b->length - offset) return kIOReturnBadArgument;
  // xnu (IOUserServer.cpp, CreateMapping_Impl) forces read-only for direction exactly Out unless
  // the caller created the memory; only IOBufferMemoryDescriptors record a creator, so client
  // memory, sub-descriptors and concatenations made Out are read-only to the dext.
  const bool readOnly = (options & kIOMemoryMapReadOnly) ||
                        (b->kind != MemoryBacking::Kind::kBuffer &&
                         (b->direction & kDirectionBits) == kIOMemoryDirectionOut);

  auto* m = OSTypeAllocInitEmulated<IOMemoryMap>();
  if (m == nullptr) return kIOReturnNoMemory;
  if (b->multi) {
    // Each part mapped in turn into one range (IOMultiMemoryDescriptor.cpp).
    uint64_t view = 0;
    const IOReturn ret = fpgadext::emu::MapMultiMemory(b, offset, len, readOnly, &view);
    if (ret != kIOReturnSuccess) {
      m->release();
      return ret;
    }
    m->EmulationSet(view, len, offset, UnmapPages, this);
  } else if (b->kind == MemoryBacking::Kind::kBuffer) {
    // A second view of the shared-memory object, with its own protection.
    const uint64_t page = HostPageSize();
    const uint64_t start = offset & ~(page - 1);
    const uint64_t span = offset - start + len;
    void* view = mmap(nullptr, span, readOnly ? PROT_READ : PROT_READ | PROT_WRITE, MAP_SHARED,
                      b->memfd, static_cast<off_t>(start));
    if (view == MAP_FAILED) {
      m->release();
      return kIOReturnError;
    }
    m->EmulationSet(reinterpret_cast<uint64_t>(view) + (offset - start), len, offset, UnmapPages,
                    this);
  } else if (b->kind == MemoryBacking::Kind::kDevice) {
    uint64_t size = 0;
    void (*unmap)(void*, uint64_t) = nullptr;
    auto* base = static_cast<uint8_t*>(fpgadext::emu::MapDeviceMemory(b, readOnly, &size, &unmap));
    if (base == nullptr) {
      m->release();
      return kIOReturnUnsupported;  // no trap mappings on this host
    }
    // The map undoes the whole device mapping, whatever part of it was asked for.
    m->EmulationSet(reinterpret_cast<uint64_t>(base + offset), len, offset, nullptr, this);
    m->EmulationSetUnmap(unmap, base, size);
  } else {
    // Client memory is checked now, as a Mac wires it now.
    IOReturn check = kIOReturnSuccess;
    const bool snapshot = b->copyOnWrite || readOnly;
    ForEachPiece(b, offset, len, [&](MemoryRange piece) {
      if (check == kIOReturnSuccess) {
        check = CheckProcessMemory(piece.address, piece.length, !snapshot);
      }
    });
    if (check != kIOReturnSuccess) {
      m->release();
      return kIOReturnError;
    }
    if (snapshot) {
      // Copy-on-write (or read-only) client memory: the dext sees a private snapshot.
      void* copy = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (copy == MAP_FAILED) {
        m->release();
        return kIOReturnNoMemory;
      }
      uint8_t* dst = static_cast<uint8_t*>(copy);
      ForEachPiece(b, offset, len, [&](MemoryRange piece) {
        std::memcpy(dst, piece.address, piece.length);
        dst += piece.length;
      });
      if (readOnly) mprotect(copy, len, PROT_READ);
      m->EmulationSet(reinterpret_cast<uint64_t>(copy), len, offset, UnmapPages, this);
    } else {
      // A live view: possible only for bytes in one range (the process cannot alias the
      // pages of ordinary app memory elsewhere).
      uint8_t* live = nullptr;
      int pieces = 0;
      ForEachPiece(b, offset, len, [&](MemoryRange piece) {
        if (pieces++ == 0) live = piece.address;
      });
      if (pieces != 1) {
        m->release();
        os_log_error(OS_LOG_DEFAULT,
                     "CreateMapping: a writable view of several client ranges is not emulated");
        return kIOReturnUnsupported;
      }
      m->EmulationSet(reinterpret_cast<uint64_t>(live), len, offset, nullptr, this);
    }
  }
  *map = m;
  return kIOReturnSuccess;
}

kern_return_t IOMemoryDescriptor::CreateSubMemoryDescriptor(uint64_t options, uint64_t offset,
                                                            uint64_t length, IOMemoryDescriptor* of,
                                                            IOMemoryDescriptor** memory) {
  if (of == nullptr || memory == nullptr || (options & ~kDirectionBits)) {
    return kIOReturnBadArgument;
  }
  MemoryBacking* src = of->backing_;
  if (offset > src->length || length > src->length - offset) return kIOReturnBadArgument;
  IOMemoryDescriptor* const one[1] = {of};
  IOMemoryDescriptor* whole = nullptr;
  kern_return_t ret = CreateWithMemoryDescriptors(options, 1, one, &whole);
  if (ret != kIOReturnSuccess) return ret;
  // Cut the ranges down to [offset, offset+length).
  MemoryBacking* b = whole->backing_;
  std::vector<MemoryRange> cut;
  ForEachPiece(b, offset, length, [&](MemoryRange piece) { cut.push_back(piece); });
  b->ranges = std::move(cut);
  b->length = length;
  b->multi = false;  // a range of one descriptor, mapped as one
  *memory = whole;
  return kIOReturnSuccess;
}

kern_return_t IOMemoryDescriptor::CreateWithMemoryDescriptors(
    uint64_t options, uint32_t count, IOMemoryDescriptor* const descriptors[32],
    IOMemoryDescriptor** memory) {
  if (memory == nullptr || (options & ~kDirectionBits) || count == 0 || count > 32 ||
      descriptors == nullptr) {
    return kIOReturnBadArgument;
  }
  auto* b = new MemoryBacking;
  b->kind = MemoryBacking::Kind::kClient;
  b->direction = options & kDirectionBits;
  for (uint32_t i = 0; i < count; ++i) {
    IOMemoryDescriptor* d = descriptors[i];
    if (d == nullptr || d->backing_ == nullptr ||
        (d->backing_->kind == MemoryBacking::Kind::kDevice && d->backing_->ranges.empty())) {
      for (IOMemoryDescriptor* s : b->sources) s->release();
      delete b;
      return kIOReturnBadArgument;
    }
    d->retain();
    b->sources.push_back(d);
    b->ranges.insert(b->ranges.end(), d->backing_->ranges.begin(), d->backing_->ranges.end());
    b->length += d->backing_->length;
  }
  // Built by the dext: not client-owned for the read-only rule; mapped part by part.
  b->clientOwned = false;
  b->copyOnWrite = false;
  b->multi = true;
  *memory = NewDescriptor(b);
  return kIOReturnSuccess;
}

void IOMemoryDescriptor::free() {
  if (backing_ != nullptr) {
    for (IOMemoryDescriptor* s : backing_->sources) s->release();
    if (backing_->address != nullptr) {
      fpgadext::emu::UnmapMacPages(backing_->address, backing_->capacity);
    }
    if (backing_->memfd >= 0) close(backing_->memfd);
    delete backing_;
    backing_ = nullptr;
  }
  OSObject::free();
}

bool IOMemoryMap::init() {
  return OSObject::init();
}

void IOMemoryMap::EmulationSet(uint64_t address, uint64_t length, uint64_t offset,
                               void (*unmap)(void*, uint64_t), OSObject* owner) {
  address_ = address;
  length_ = length;
  offset_ = offset;
  unmap_ = unmap;
  owner->retain();
  owner_ = owner;
}

void IOMemoryMap::EmulationSetUnmap(void (*unmap)(void*, uint64_t), void* address,
                                    uint64_t length) {
  unmap_ = unmap;
  unmapAddress_ = address;
  unmapLength_ = length;
}

void IOMemoryMap::free() {
  if (unmap_ != nullptr) {
    if (unmapAddress_ != nullptr) {
      unmap_(unmapAddress_, unmapLength_);
    } else {
      unmap_(reinterpret_cast<void*>(address_), length_);
    }
  }
  OSSafeReleaseNULL(owner_);
  OSObject::free();
}

kern_return_t IOBufferMemoryDescriptor::Create(uint64_t options, uint64_t capacity,
                                               uint64_t alignment,
                                               IOBufferMemoryDescriptor** memory) {
  if (memory == nullptr || (options & ~kDirectionBits)) return kIOReturnBadArgument;
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
  void* address = fpgadext::emu::MapMacPages(capacity, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (address == nullptr) {
    close(fd);
    return kIOReturnNoMemory;
  }
  auto* b = new MemoryBacking;
  b->kind = MemoryBacking::Kind::kBuffer;
  b->direction = options & kDirectionBits;
  b->memfd = fd;
  b->capacity = capacity;
  b->address = static_cast<uint8_t*>(address);
  // xnu (IOUserServer.cpp, IOBufferMemoryDescriptor::Create_Impl → inTaskWithOptions →
  // IOBufferMemoryDescriptor.cpp, initWithPhysicalMask) starts the length at the capacity.
  b->ranges.push_back({b->address, capacity});
  b->length = capacity;
  auto* bmd = OSTypeAllocInitEmulated<IOBufferMemoryDescriptor>();
  if (bmd == nullptr) {
    munmap(address, capacity);
    close(fd);
    delete b;
    return kIOReturnNoMemory;
  }
  bmd->EmulationSetBacking(b);
  *memory = bmd;
  return kIOReturnSuccess;
}

bool IOBufferMemoryDescriptor::init() {
  return IOMemoryDescriptor::init();
}

void IOBufferMemoryDescriptor::free() {
  IOMemoryDescriptor::free();
}

kern_return_t IOBufferMemoryDescriptor::SetLength(uint64_t length, OSDispatchMethod supermethod) {
  (void)supermethod;
  MemoryBacking* b = EmulationBacking();
  if (length > b->capacity) return kIOReturnSuccess;  // ignored, as on macOS
  b->length = length;
  b->ranges[0].length = length;
  b->lengthSet = true;
  return kIOReturnSuccess;
}

kern_return_t IOBufferMemoryDescriptor::GetAddressRange(IOAddressSegment* range) {
  if (range == nullptr) return kIOReturnBadArgument;
  MemoryBacking* b = EmulationBacking();
  range->address = reinterpret_cast<uint64_t>(b->address);
  range->length = b->length;
  return kIOReturnSuccess;
}
