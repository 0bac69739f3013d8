// The app's access to the board's BARs: single register reads and writes
// (kSelectorRegisterRead/Write) and mappings of whole BARs (IOConnectMapMemory64 through
// CopyClientMemoryForType). Never the BAR of the DMA engine, whose registers are the driver's:
// an app poking them could break every client.
#pragma once

#include <DriverKit/IOMemoryDescriptor.h>
#include <DriverKit/IOReturn.h>
#include <DriverKit/IOUserClient.h>
#include <stdint.h>

#include "driver_resources.h"

namespace fpgadext::dext::client {

// in: BAR, offset, width (1, 2, 4, 8)[, value]; out (read): the value.
IOReturn RegisterAccess(DriverResources& board, IOUserClientMethodArguments* arguments, bool write);
// The memory of BAR `type - kMemoryTypeBar0` for CopyClientMemoryForType (+1 in *memory).
IOReturn CopyBarMemory(DriverResources& board, uint64_t type, IOMemoryDescriptor** memory);

}  // namespace fpgadext::dext::client
