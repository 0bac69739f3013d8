// IOMemoryMap (xnu iokit/DriverKit/IOMemoryMap.iig): a mapping of memory into the dext, made by
// IOMemoryDescriptor::CreateMapping. Releasing the last reference unmaps it; a map keeps its
// memory descriptor alive.
#pragma once

#include <DriverKit/OSObject.h>

// The state IOMemoryMap's private class extension reports (declared by Apple's header).
struct _IOMemoryMapPrivateState {
  uint64_t length;
  uint64_t offset;
  uint64_t options;
  uint64_t address;
};

class IOMemoryMap : public OSObject {
  OSDeclareEmulatedClass(IOMemoryMap)

 public:
  bool init() override;
  void free() override;

  uint64_t GetAddress() { return address_; }
  uint64_t GetLength() { return length_; }
  uint64_t GetOffset() { return offset_; }

  // Emulation only: `unmap` is called from free() (munmap of a snapshot or alias), may be null.
  void EmulationSet(uint64_t address, uint64_t length, uint64_t offset,
                    void (*unmap)(void*, uint64_t), OSObject* owner);
  // What free() undoes when it is not [address, address + length) itself.
  void EmulationSetUnmap(void (*unmap)(void*, uint64_t), void* address, uint64_t length);

 private:
  uint64_t address_ = 0;
  uint64_t length_ = 0;
  uint64_t offset_ = 0;
  void (*unmap_)(void*, uint64_t) = nullptr;
  void* unmapAddress_ = nullptr;
  uint64_t unmapLength_ = 0;
  OSObject* owner_ = nullptr;  // retained: the descriptor, which a map keeps alive
};
