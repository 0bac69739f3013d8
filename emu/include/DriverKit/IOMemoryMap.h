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

  // Emulation only: the view the kernel made, and what free() asks the kernel to undo (`undo`
  // is emu/kernel/user_server.h's kUndo*: nothing, pages, a trap mapping).
  void EmulationSet(uint64_t address, uint64_t length, uint64_t offset, OSObject* owner);
  void EmulationSetUnmap(uint32_t undo, uint64_t address, uint64_t length);

 private:
  uint64_t address_ = 0;
  uint64_t length_ = 0;
  uint64_t offset_ = 0;
  uint32_t undo_ = 0;
  uint64_t undoAddress_ = 0;
  uint64_t undoLength_ = 0;
  OSObject* owner_ = nullptr;  // retained: the descriptor, which a map keeps alive
};
