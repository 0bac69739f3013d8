// IODMACommand (xnu iokit/DriverKit/IODMACommand.iig; IODMACommand::*_Impl in
// iokit/Kernel/IOUserServer.cpp): the argument checks of the dext's side; wiring, IOMMU mapping,
// segments and copies are the kernel's (emu/kernel/dma_preparations.cpp, through user_server.h).
#include <DriverKit/IODMACommand.h>
#include <DriverKit/IOLib.h>
#include <DriverKit/IOService.h>

#include "../kernel/user_server.h"

namespace userserver = fpgadext::emu::userserver;

// A live preparation as the dext's side knows it: the descriptor it keeps, and the range the
// kernel prepared (wired and mapped in the IOMMU), named by the kernel's preparation ID.
struct fpgadext::emu::DmaPreparation {
  IOMemoryDescriptor* memory = nullptr;  // retained
  userserver::PreparedRange range;
};

OSDefineMetaClass(IODMACommand, OSObject);

bool IODMACommand::init() {
  return OSObject::init();
}

kern_return_t IODMACommand::Create(IOService* device, uint64_t options,
                                   const IODMACommandSpecification* specification,
                                   IODMACommand** command) {
  if (device == nullptr || specification == nullptr || command == nullptr ||
      options != kIODMACommandCreateNoOptions) {
    return kIOReturnBadArgument;
  }
  if (specification->maxAddressBits > 0xff) return kIOReturnBadArgument;
  auto* c = OSTypeAllocInitEmulated<IODMACommand>();
  if (c == nullptr) return kIOReturnNoMemory;
  device->retain();
  c->device_ = device;
  // 0 would leave no address space; the kernel treats it as "no limit".
  c->maxAddressBits_ = specification->maxAddressBits ? specification->maxAddressBits : 64;
  *command = c;
  return kIOReturnSuccess;
}

kern_return_t IODMACommand::PrepareForDMA(uint64_t options, IOMemoryDescriptor* memory,
                                          uint64_t offset, uint64_t length, uint64_t* flags,
                                          uint32_t* segmentsCount, IOAddressSegment segments[32],
                                          OSDispatchMethod supermethod) {
  (void)supermethod;
  if (options != kIODMACommandPrepareForDMANoOptions || memory == nullptr || flags == nullptr ||
      segmentsCount == nullptr || segments == nullptr || memory->EmulationMemory() == 0) {
    return kIOReturnBadArgument;
  }
  if (*segmentsCount > 32) return kIOReturnOverrun;
  if (*segmentsCount == 0) return kIOReturnBadArgument;
  if (preparation_ != nullptr) {
    if (preparation_->memory != memory) return kIOReturnBusy;
    CompleteDMA(
        kIODMACommandCompleteDMANoOptions);  // same descriptor: the old preparation goes silently
  }
  userserver::PreparedRange range;
  const IOReturn ret =
      userserver::PrepareDma(memory->EmulationMemory(), offset, length, maxAddressBits_, segments,
                             segmentsCount, flags, &range);
  if (ret != kIOReturnSuccess) return ret;
  memory->retain();
  preparation_ = new fpgadext::emu::DmaPreparation{memory, range};
  return kIOReturnSuccess;
}

kern_return_t IODMACommand::CompleteDMA(uint64_t options, OSDispatchMethod supermethod) {
  (void)supermethod;
  if (options != kIODMACommandCompleteDMANoOptions) return kIOReturnBadArgument;
  if (preparation_ == nullptr) return kIOReturnNotReady;
  userserver::CompleteDma(preparation_->range.id);
  OSSafeReleaseNULL(preparation_->memory);
  delete preparation_;
  preparation_ = nullptr;
  return kIOReturnSuccess;
}

kern_return_t IODMACommand::GetPreparation(uint64_t* offset, uint64_t* length,
                                           IOMemoryDescriptor** memory,
                                           OSDispatchMethod supermethod) {
  (void)supermethod;
  if (preparation_ == nullptr) return kIOReturnNotReady;
  if (offset) *offset = preparation_->range.offset;
  if (length) *length = preparation_->range.length;
  if (memory) {
    // +1, as xnu's GetPreparation_Impl retains it (os_returns_retained in the header).
    preparation_->memory->retain();
    *memory = preparation_->memory;
  }
  return kIOReturnSuccess;
}

kern_return_t IODMACommand::PerformOperation(uint64_t options, uint64_t dmaOffset, uint64_t length,
                                             uint64_t dataOffset, IOMemoryDescriptor* data,
                                             OSDispatchMethod supermethod) {
  (void)supermethod;
  // xnu (IOUserServer.cpp, PerformOperation_Impl) refuses undefined option bits before
  // anything else, and any value but exactly one of Read, Write, Zero.
  constexpr uint64_t kDefined = kIODMACommandPerformOperationOptionRead |
                                kIODMACommandPerformOperationOptionWrite |
                                kIODMACommandPerformOperationOptionZero;
  if (options & ~kDefined) return kIOReturnBadArgument;
  if (preparation_ == nullptr) return kIOReturnNotReady;
  if (dmaOffset > preparation_->range.length || length > preparation_->range.length - dmaOffset) {
    return kIOReturnBadArgument;
  }
  if (options != kIODMACommandPerformOperationOptionRead &&
      options != kIODMACommandPerformOperationOptionWrite &&
      options != kIODMACommandPerformOperationOptionZero) {
    return kIOReturnBadArgument;
  }
  if (options != kIODMACommandPerformOperationOptionZero &&
      (data == nullptr || data->EmulationMemory() == 0)) {
    return kIOReturnBadArgument;
  }
  return userserver::CopyMemory(options, preparation_->memory->EmulationMemory(),
                                preparation_->range.offset + dmaOffset,
                                data != nullptr ? data->EmulationMemory() : 0, dataOffset, length);
}

void IODMACommand::free() {
  if (preparation_ != nullptr) CompleteDMA(kIODMACommandCompleteDMANoOptions);
  OSSafeReleaseNULL(device_);
  OSObject::free();
}
