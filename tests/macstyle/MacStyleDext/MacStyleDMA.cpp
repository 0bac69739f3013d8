//
//  MacStyleDMA.cpp
//  MacStyleDext
//
//  A single-descriptor XDMA transfer. The descriptor and the data share one
//  IOBufferMemoryDescriptor: the CPU reaches it through an IOMemoryMap, the board through the
//  bus addresses an IODMACommand prepared.
//

#include <DriverKit/IOBufferMemoryDescriptor.h>
#include <DriverKit/IODMACommand.h>
#include <DriverKit/IOLib.h>
#include <DriverKit/IOMemoryMap.h>
#include <DriverKit/OSSharedPtr.h>
#include <PCIDriverKit/IOPCIDevice.h>
#include <string.h>

#include "MacStyleDMA.h"
#include "MacStyleProtocol.h"
#include "XdmaBoardRegisters.h"

namespace {

constexpr uint64_t kDescriptorOffset = 0;
constexpr uint64_t kDataOffset = 64;
constexpr uint64_t kBufferCapacity = kDataOffset + kMacStyleMaxTransfer;
constexpr uint64_t kTimeoutNs = 2000000000ULL;

// The bus address of [offset, offset + length) of the prepared buffer, when one segment holds
// all of it.
bool BusAddressOf(const IOAddressSegment* segments, uint32_t count, uint64_t offset,
                  uint64_t length, uint64_t* address) {
  uint64_t start = 0;
  for (uint32_t i = 0; i < count; i++) {
    if (offset >= start && offset + length <= start + segments[i].length) {
      *address = segments[i].address + (offset - start);
      return true;
    }
    start += segments[i].length;
  }
  return false;
}

uint64_t NanosecondsToTicks(uint64_t nanoseconds) {
  mach_timebase_info_data_t timebase = {};
  mach_timebase_info(&timebase);
  return nanoseconds * timebase.denom / timebase.numer;
}

}  // namespace

kern_return_t MacStyleRunTransfer(IOPCIDevice* device, uint8_t dmaMemoryIndex, bool cardToHost,
                                  uint64_t cardAddress, void* bytes, uint32_t length) {
  if (device == NULL || bytes == NULL || length == 0 || length > kMacStyleMaxTransfer) {
    return kIOReturnBadArgument;
  }

  IOBufferMemoryDescriptor* rawBuffer = NULL;
  kern_return_t result = IOBufferMemoryDescriptor::Create(kIOMemoryDirectionInOut, kBufferCapacity,
                                                          kDataOffset, &rawBuffer);
  if (result != kIOReturnSuccess) {
    return result;
  }
  OSSharedPtr<IOBufferMemoryDescriptor> buffer(rawBuffer, OSNoRetain);
  result = buffer->SetLength(kBufferCapacity);
  if (result != kIOReturnSuccess) {
    return result;
  }

  IOAddressSegment range = {};
  buffer->GetAddressRange(&range);
  if (range.length < kBufferCapacity) {
    return kIOReturnNoSpace;
  }

  IOMemoryMap* rawMap = NULL;
  result = buffer->CreateMapping(0, 0, 0, 0, 0, &rawMap);
  if (result != kIOReturnSuccess) {
    return result;
  }
  OSSharedPtr<IOMemoryMap> map(rawMap, OSNoRetain);
  uint8_t* cpu = reinterpret_cast<uint8_t*>(map->GetAddress());
  if (cpu == NULL || map->GetLength() < kBufferCapacity) {
    return kIOReturnVMError;
  }

  IODMACommandSpecification specification;
  bzero(&specification, sizeof(specification));
  specification.options = kIODMACommandSpecificationNoOptions;
  specification.maxAddressBits = 64;

  IODMACommand* rawCommand = NULL;
  result = IODMACommand::Create(device, kIODMACommandCreateNoOptions, &specification, &rawCommand);
  if (result != kIOReturnSuccess) {
    return result;
  }
  OSSharedPtr<IODMACommand> command(rawCommand, OSNoRetain);

  uint64_t flags = 0;
  uint32_t segmentCount = 32;
  IOAddressSegment segments[32] = {};
  result = command->PrepareForDMA(kIODMACommandPrepareForDMANoOptions, buffer.get(), 0,
                                  kBufferCapacity, &flags, &segmentCount, segments);
  if (result != kIOReturnSuccess) {
    return result;
  }

  uint64_t descriptorBus = 0;
  uint64_t dataBus = 0;
  if (!BusAddressOf(segments, segmentCount, kDescriptorOffset, sizeof(XdmaDescriptor),
                    &descriptorBus) ||
      !BusAddressOf(segments, segmentCount, kDataOffset, length, &dataBus)) {
    command->CompleteDMA(kIODMACommandCompleteDMANoOptions);
    return kIOReturnUnsupported;
  }

  if (cardToHost) {
    memset(cpu + kDataOffset, 0, length);
  } else {
    memcpy(cpu + kDataOffset, bytes, length);
  }

  const uint64_t source = cardToHost ? cardAddress : dataBus;
  const uint64_t destination = cardToHost ? dataBus : cardAddress;
  XdmaDescriptor* descriptor = reinterpret_cast<XdmaDescriptor*>(cpu + kDescriptorOffset);
  descriptor->control = kXdmaDescriptorMagic | kXdmaDescriptorStop | kXdmaDescriptorInterrupt;
  descriptor->length = length;
  descriptor->sourceLo = static_cast<uint32_t>(source);
  descriptor->sourceHi = static_cast<uint32_t>(source >> 32);
  descriptor->destinationLo = static_cast<uint32_t>(destination);
  descriptor->destinationHi = static_cast<uint32_t>(destination >> 32);
  descriptor->nextLo = 0;
  descriptor->nextHi = 0;

  const uint32_t channel = cardToHost ? kXdmaC2HChannel0 : kXdmaH2CChannel0;
  const uint32_t sgdma = cardToHost ? kXdmaC2HSgdma0 : kXdmaH2CSgdma0;
  const uint32_t errors = kXdmaAlignMismatch | kXdmaMagicStopped | kXdmaInvalidLength |
                          kXdmaReadErrors | kXdmaWriteErrors | kXdmaDescriptorErrors;

  uint32_t status = 0;
  device->MemoryWrite32(dmaMemoryIndex, sgdma + kXdmaSgdmaDescLo,
                        static_cast<uint32_t>(descriptorBus));
  device->MemoryWrite32(dmaMemoryIndex, sgdma + kXdmaSgdmaDescHi,
                        static_cast<uint32_t>(descriptorBus >> 32));
  device->MemoryWrite32(dmaMemoryIndex, sgdma + kXdmaSgdmaDescAdjacent, 0);
  device->MemoryRead32(dmaMemoryIndex, channel + kXdmaChannelStatusRC, &status);
  device->MemoryWrite32(dmaMemoryIndex, channel + kXdmaChannelControl,
                        kXdmaRun | kXdmaDescriptorStopped | kXdmaDescriptorCompleted | errors);

  const uint64_t deadline = mach_absolute_time() + NanosecondsToTicks(kTimeoutNs);
  bool stopped = false;
  while (!stopped) {
    device->MemoryRead32(dmaMemoryIndex, channel + kXdmaChannelStatus, &status);
    stopped = (status & kXdmaBusy) == 0 && (status & (kXdmaDescriptorStopped | errors)) != 0;
    if (!stopped) {
      if (mach_absolute_time() > deadline) {
        break;
      }
      IODelay(20);
    }
  }

  uint32_t completed = 0;
  uint32_t cleared = 0;
  device->MemoryRead32(dmaMemoryIndex, channel + kXdmaChannelCompleted, &completed);
  device->MemoryWrite32(dmaMemoryIndex, channel + kXdmaChannelControlW1C, kXdmaRun);
  device->MemoryRead32(dmaMemoryIndex, channel + kXdmaChannelStatusRC, &cleared);
  command->CompleteDMA(kIODMACommandCompleteDMANoOptions);

  if (!stopped) {
    return kIOReturnTimeout;
  }
  if ((status & errors) != 0 || completed != 1) {
    return kIOReturnIOError;
  }
  if (cardToHost) {
    memcpy(bytes, cpu + kDataOffset, length);
  }
  return kIOReturnSuccess;
}
