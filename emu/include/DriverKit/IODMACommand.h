// IODMACommand (iokit/DriverKit/IODMACommand.iig): prepares memory for device access and hands
// out bus addresses (IOVAs) from the emulated IOMMU.
#pragma once

#include <DriverKit/IOMemoryDescriptor.h>

class IOService;

#define kIODMACommandSpecificationNoOptions 0

struct IODMACommandSpecification {
  uint64_t options;
  uint64_t maxAddressBits;
  uint64_t _resv[16];
};

enum {
  kIODMACommandPerformOperationOptionRead = 0x00000001,
  kIODMACommandPerformOperationOptionWrite = 0x00000002,
  kIODMACommandPerformOperationOptionZero = 0x00000003,
};

namespace fpgadext::emu {
struct DmaPreparation;
}

class IODMACommand : public OSObject {
  OSDeclareEmulatedClass(IODMACommand)

 public:
  static kern_return_t Create(IOService* device, uint64_t options,
                              const IODMACommandSpecification* specification,
                              IODMACommand** command);

  // Wires the memory, maps [offset, offset+length) of it (length 0 = to the end) into the
  // IOMMU and returns at most *segmentsCount (≤ 32) bus segments. When the memory needs more
  // segments than that, it succeeds with the first *segmentsCount: callers must sum lengths.
  kern_return_t PrepareForDMA(uint64_t options, IOMemoryDescriptor* memory, uint64_t offset,
                              uint64_t length, uint64_t* flags, uint32_t* segmentsCount,
                              IOAddressSegment segments[32]);
  kern_return_t CompleteDMA(uint64_t options);
  kern_return_t GetPreparation(uint64_t* offset, uint64_t* length, IOMemoryDescriptor** memory);
  kern_return_t PerformOperation(uint64_t options, uint64_t dmaOffset, uint64_t length,
                                 uint64_t dataOffset, IOMemoryDescriptor* data);

  void free() override;

 private:
  IOService* device_ = nullptr;
  uint64_t maxAddressBits_ = 64;
  fpgadext::emu::DmaPreparation* preparation_ = nullptr;
};
