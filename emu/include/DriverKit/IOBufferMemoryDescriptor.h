// IOBufferMemoryDescriptor (xnu iokit/DriverKit/IOBufferMemoryDescriptor.iig): memory the dext
// allocates. The emulation backs each buffer with its own shared-memory object, so an app
// mapping (IOConnectMapMemory64) is a second, real view of the same pages with its own
// protection, as on a Mac.
#pragma once

#include <DriverKit/IOMemoryDescriptor.h>

class IOBufferMemoryDescriptor : public IOMemoryDescriptor {
  OSDeclareEmulatedClass(IOBufferMemoryDescriptor)

 public:
  // `options` may only hold direction bits (else kIOReturnBadArgument); capacity 0 →
  // kIOReturnNoMemory. The buffer is zeroed. Its length is 0 until SetLength() (the header's
  // contract; the macOS kernel happens to start at capacity — code must not rely on that).
  static kern_return_t Create(uint64_t options, uint64_t capacity, uint64_t alignment,
                              IOBufferMemoryDescriptor** memory);

  bool init() override;
  void free() override;

  // The dext's address of the buffer and its current length.
  kern_return_t GetAddressRange(IOAddressSegment* range);

  // Ignored (yet successful) when length > capacity, as on macOS. `supermethod` is iig's and
  // ignored (a KERNEL class).
  kern_return_t SetLength(uint64_t length, OSDispatchMethod supermethod = nullptr);
};
