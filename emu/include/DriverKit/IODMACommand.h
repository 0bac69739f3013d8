// IODMACommand (xnu iokit/DriverKit/IODMACommand.iig): prepares memory for device access and
// hands out bus addresses (IOVAs) from the emulated IOMMU.
#pragma once

#include <DriverKit/IOMemoryDescriptor.h>
#include <DriverKit/IOService.h>

// Create options.
enum {
  kIODMACommandCreateNoOptions = 0,
};

// PrepareForDMA options.
enum {
  kIODMACommandPrepareForDMANoOptions = 0,
};

// CompleteDMA options.
enum {
  kIODMACommandCompleteDMANoOptions = 0,
};

// PerformOperation options: exactly one of them.
enum {
  kIODMACommandPerformOperationOptionRead = 0x00000001,
  kIODMACommandPerformOperationOptionWrite = 0x00000002,
  kIODMACommandPerformOperationOptionZero = 0x00000004,
};

// IODMACommandSpecification options.
enum {
  kIODMACommandSpecificationNoOptions = 0,
};

// What the device can address: maxAddressBits bounds every bus address PrepareForDMA returns.
struct IODMACommandSpecification {
  uint64_t options;
  uint64_t maxAddressBits;
  uint64_t _resv[16];
};

namespace fpgadext::emu {
struct DmaPreparation;
}

// The trailing `supermethod` of the instance methods is iig's; a KERNEL class has no dext-side
// superclass implementation, so it is ignored.
class IODMACommand : public OSObject {
  OSDeclareEmulatedClass(IODMACommand)

 public:
  bool init() override;
  void free() override;

  // `options` must be kIODMACommandCreateNoOptions, maxAddressBits at most 255 (0 = no limit).
  static kern_return_t Create(IOService* device, uint64_t options,
                              const IODMACommandSpecification* specification,
                              IODMACommand** command);

  // Wires the memory, maps [offset, offset+length) of it (length 0 = to the end) into the
  // IOMMU and returns at most *segmentsCount (≤ 32) bus segments. When the memory needs more
  // segments than that, it succeeds with the first *segmentsCount: callers must sum lengths.
  kern_return_t PrepareForDMA(uint64_t options, IOMemoryDescriptor* memory, uint64_t offset,
                              uint64_t length, uint64_t* flags, uint32_t* segmentsCount,
                              IOAddressSegment segments[32],
                              OSDispatchMethod supermethod = nullptr);
  kern_return_t CompleteDMA(uint64_t options, OSDispatchMethod supermethod = nullptr);
  // `offset` and `length` may be NULL; the descriptor comes back +1 (the caller releases it).
  kern_return_t GetPreparation(uint64_t* offset, uint64_t* length,
                               __attribute__((os_returns_retained)) IOMemoryDescriptor** memory,
                               OSDispatchMethod supermethod = nullptr);
  // CPU access to the prepared memory: Read copies into `data`, Write copies from it, Zero
  // clears (data may be NULL). Any other option value is kIOReturnBadArgument.
  kern_return_t PerformOperation(uint64_t options, uint64_t dmaOffset, uint64_t length,
                                 uint64_t dataOffset, IOMemoryDescriptor* data,
                                 OSDispatchMethod supermethod = nullptr);

 private:
  IOService* device_ = nullptr;
  uint64_t maxAddressBits_ = 64;
  fpgadext::emu::DmaPreparation* preparation_ = nullptr;
};
