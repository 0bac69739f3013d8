// The runtime's descriptor for a memory object of the kernel (emu/kernel/user_server.h,
// MemoryId): what IOBufferMemoryDescriptor, CreateSubMemoryDescriptor,
// CreateWithMemoryDescriptors, CreateMemoryDescriptorFromClient and _CopyDeviceMemoryWithIndex
// hand a dext.
#pragma once

#include <DriverKit/IOMemoryDescriptor.h>

#include <cstdint>

namespace fpgadext::emu {

// A descriptor (+1) naming `memory`, whose reference it takes over (released with it); nullptr
// for 0.
IOMemoryDescriptor* NewMemoryDescriptor(uint64_t memory);

}  // namespace fpgadext::emu
