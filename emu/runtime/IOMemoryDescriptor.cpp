// IOMemoryDescriptor, IOMemoryMap and IOBufferMemoryDescriptor: each descriptor names a memory
// object of the kernel, which makes, maps and releases it (emu/kernel/user_server.h, "Memory").
#include <DriverKit/IOBufferMemoryDescriptor.h>
#include <DriverKit/IOLib.h>
#include <DriverKit/IOMemoryMap.h>

#include "../kernel/user_server.h"
#include "memory_descriptor.h"

OSDefineAbstractMetaClass(IOMemoryDescriptor, OSObject);
OSDefineMetaClass(IOMemoryMap, OSObject);
OSDefineMetaClass(IOBufferMemoryDescriptor, IOMemoryDescriptor);

namespace userserver = fpgadext::emu::userserver;

namespace {

constexpr uint64_t kDirectionBits = kIOMemoryDirectionOutIn;

}  // namespace

IOMemoryDescriptor* fpgadext::emu::NewMemoryDescriptor(uint64_t memory) {
  if (memory == 0) return nullptr;
  // IOMemoryDescriptor is abstract on a Mac; the emulation uses one concrete class for every
  // descriptor it makes for a dext (client memory, BARs, sub-ranges, concatenations).
  auto* md = ::new IOMemoryDescriptor();
  md->EmulationSetMemory(memory);
  return md;
}

bool IOMemoryDescriptor::init() {
  return OSObject::init();
}

kern_return_t IOMemoryDescriptor::GetLength(uint64_t* returnLength) {
  if (returnLength == nullptr || memory_ == 0) return kIOReturnBadArgument;
  *returnLength = userserver::MemoryLength(memory_);
  return kIOReturnSuccess;
}

kern_return_t IOMemoryDescriptor::CreateMapping(uint64_t options, uint64_t address, uint64_t offset,
                                                uint64_t length, uint64_t alignment,
                                                IOMemoryMap** map, OSDispatchMethod supermethod) {
  (void)supermethod;
  // xnu (IOUserServer.cpp, CreateMapping_Impl) never reads `alignment`: any value is accepted.
  (void)alignment;
  if (map == nullptr || memory_ == 0) return kIOReturnBadArgument;
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
  userserver::MemoryView view;
  const IOReturn ret =
      userserver::MapMemory(memory_, (options & kIOMemoryMapReadOnly) != 0, offset, length, &view);
  if (ret != kIOReturnSuccess) return ret;
  auto* m = OSTypeAllocInitEmulated<IOMemoryMap>();
  if (m == nullptr) {
    userserver::UnmapMemory(view.undo, view.undoAddress, view.undoLength);
    return kIOReturnNoMemory;
  }
  m->EmulationSet(view.address, view.length, offset, this);
  m->EmulationSetUnmap(view.undo, view.undoAddress, view.undoLength);
  *map = m;
  return kIOReturnSuccess;
}

kern_return_t IOMemoryDescriptor::CreateSubMemoryDescriptor(uint64_t options, uint64_t offset,
                                                            uint64_t length, IOMemoryDescriptor* of,
                                                            IOMemoryDescriptor** memory) {
  if (of == nullptr || memory == nullptr || (options & ~kDirectionBits)) {
    return kIOReturnBadArgument;
  }
  userserver::MemoryId sub = 0;
  const IOReturn ret =
      userserver::CreateSubMemory(options & kDirectionBits, of->memory_, offset, length, &sub);
  if (ret != kIOReturnSuccess) return ret;
  *memory = fpgadext::emu::NewMemoryDescriptor(sub);
  return kIOReturnSuccess;
}

kern_return_t IOMemoryDescriptor::CreateWithMemoryDescriptors(
    uint64_t options, uint32_t count, IOMemoryDescriptor* const descriptors[32],
    IOMemoryDescriptor** memory) {
  if (memory == nullptr || (options & ~kDirectionBits) || count == 0 || count > 32 ||
      descriptors == nullptr) {
    return kIOReturnBadArgument;
  }
  userserver::MemoryId parts[32];
  for (uint32_t i = 0; i < count; ++i) {
    if (descriptors[i] == nullptr) return kIOReturnBadArgument;
    parts[i] = descriptors[i]->memory_;
  }
  userserver::MemoryId multi = 0;
  const IOReturn ret =
      userserver::CreateMultiMemory(options & kDirectionBits, parts, count, &multi);
  if (ret != kIOReturnSuccess) return ret;
  *memory = fpgadext::emu::NewMemoryDescriptor(multi);
  return kIOReturnSuccess;
}

void IOMemoryDescriptor::free() {
  if (memory_ != 0) userserver::ReleaseMemory(memory_);
  memory_ = 0;
  OSObject::free();
}

bool IOMemoryMap::init() {
  return OSObject::init();
}

void IOMemoryMap::EmulationSet(uint64_t address, uint64_t length, uint64_t offset,
                               OSObject* owner) {
  address_ = address;
  length_ = length;
  offset_ = offset;
  owner->retain();
  owner_ = owner;
}

void IOMemoryMap::EmulationSetUnmap(uint32_t undo, uint64_t address, uint64_t length) {
  undo_ = undo;
  undoAddress_ = address;
  undoLength_ = length;
}

void IOMemoryMap::free() {
  userserver::UnmapMemory(undo_, undoAddress_, undoLength_);
  OSSafeReleaseNULL(owner_);
  OSObject::free();
}

kern_return_t IOBufferMemoryDescriptor::Create(uint64_t options, uint64_t capacity,
                                               uint64_t alignment,
                                               IOBufferMemoryDescriptor** memory) {
  (void)alignment;  // whole pages of the emulated Mac satisfy any (memory_objects.cpp)
  if (memory == nullptr || (options & ~kDirectionBits)) return kIOReturnBadArgument;
  userserver::MemoryId buffer = 0;
  const IOReturn ret = userserver::CreateBufferMemory(options & kDirectionBits, capacity, &buffer);
  if (ret != kIOReturnSuccess) return ret;
  auto* bmd = OSTypeAllocInitEmulated<IOBufferMemoryDescriptor>();
  if (bmd == nullptr) {
    userserver::ReleaseMemory(buffer);
    return kIOReturnNoMemory;
  }
  bmd->EmulationSetMemory(buffer);
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
  userserver::SetBufferLength(EmulationMemory(), length);  // above the capacity: ignored
  return kIOReturnSuccess;
}

kern_return_t IOBufferMemoryDescriptor::GetAddressRange(IOAddressSegment* range) {
  if (range == nullptr) return kIOReturnBadArgument;
  uint64_t address = 0, length = 0;
  if (!userserver::BufferRange(EmulationMemory(), &address, &length)) return kIOReturnBadArgument;
  range->address = address;
  range->length = length;
  return kIOReturnSuccess;
}
