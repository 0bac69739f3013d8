// BAR registers and mappings for the app (register_access.h).
// C++ library headers first: DriverKit declares the global placement operator new, and
// libc++'s <new> read after any DriverKit header does not compile (docs/macos.md).
#include <new>

#include "client/register_access.h"

#include <DriverKit/IOMemoryDescriptor.h>
#include <DriverKit/IOUserClient.h>
#include <PCIDriverKit/IOPCIDevice.h>
#include <fpgadext/protocol.h>

#include "bar_layout.h"

namespace fpgadext::dext::client {

namespace protocol = fpgadext::protocol;

namespace {

void WriteRegister(IOPCIDevice* device, uint8_t index, uint64_t offset, uint64_t width,
                   uint64_t value) {
  switch (width) {
    case 1:
      device->MemoryWrite8(index, offset, static_cast<uint8_t>(value));
      break;
    case 2:
      device->MemoryWrite16(index, offset, static_cast<uint16_t>(value));
      break;
    case 4:
      device->MemoryWrite32(index, offset, static_cast<uint32_t>(value));
      break;
    default:
      device->MemoryWrite64(index, offset, value);
      break;
  }
}

uint64_t ReadRegister(IOPCIDevice* device, uint8_t index, uint64_t offset, uint64_t width) {
  switch (width) {
    case 1: {
      uint8_t v = 0;
      device->MemoryRead8(index, offset, &v);
      return v;
    }
    case 2: {
      uint16_t v = 0;
      device->MemoryRead16(index, offset, &v);
      return v;
    }
    case 4: {
      uint32_t v = 0;
      device->MemoryRead32(index, offset, &v);
      return v;
    }
    default: {
      uint64_t v = 0;
      device->MemoryRead64(index, offset, &v);
      return v;
    }
  }
}

}  // namespace

IOReturn RegisterAccess(DriverResources& board, IOUserClientMethodArguments* arguments,
                        bool write) {
  const uint64_t bar = arguments->scalarInput[protocol::kRegisterBar];
  const uint64_t offset = arguments->scalarInput[protocol::kRegisterOffset];
  const uint64_t width = arguments->scalarInput[protocol::kRegisterWidth];
  const BarLayout& layout = board.Layout();
  if (bar > 5 || !layout.bars[bar].present) return kIOReturnBadArgument;
  if (static_cast<int>(bar) == layout.dmaBar) return kIOReturnNotPermitted;
  if ((width != 1 && width != 2 && width != 4 && width != 8) || offset % width != 0 ||
      offset >= layout.bars[bar].size || width > layout.bars[bar].size - offset) {
    return kIOReturnBadArgument;
  }
  const uint8_t index = layout.bars[bar].memoryIndex;
  if (write) {
    WriteRegister(board.Device(), index, offset, width,
                  arguments->scalarInput[protocol::kRegisterValue]);
    return kIOReturnSuccess;
  }
  arguments->scalarOutput[0] = ReadRegister(board.Device(), index, offset, width);
  arguments->scalarOutputCount = 1;
  return kIOReturnSuccess;
}

IOReturn CopyBarMemory(DriverResources& board, uint64_t type, IOMemoryDescriptor** memory) {
  if (type > protocol::kMemoryTypeBarLast) return kIOReturnBadArgument;
  const BarLayout& layout = board.Layout();
  const int bar = static_cast<int>(type - protocol::kMemoryTypeBar0);
  if (!layout.bars[bar].present) return kIOReturnBadArgument;
  if (bar == layout.dmaBar) return kIOReturnNotPermitted;
  // The device hands out its memory only to the service that opened it: the driver, not the
  // user client (IOPCIFamily IOPCIDevice.cpp, _CopyDeviceMemoryWithIndex; kIOReturnNotOpen
  // otherwise).
  return board.Device()->_CopyDeviceMemoryWithIndex(layout.bars[bar].memoryIndex, memory,
                                                    board.Owner());
}

}  // namespace fpgadext::dext::client
