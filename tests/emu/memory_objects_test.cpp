// The kernel's memory objects (emu/kernel/memory_objects.cpp): a descriptor in the runtime names
// one by ID; an object made of others keeps them; each goes with the last descriptor, range,
// concatenation or mapping that needs it. No machine is needed: a dext may make buffers before
// the kernel matches it, and the runtime's objects may outlive a machine.
#include <DriverKit/IOBufferMemoryDescriptor.h>
#include <DriverKit/IOLib.h>
#include <DriverKit/IOMemoryMap.h>
#include <gtest/gtest.h>

#include <cstring>

#include "../../emu/kernel/kernel.h"

namespace {

using fpgadext::emu::MemoryObjectCount;

IOBufferMemoryDescriptor* NewBuffer(uint64_t bytes) {
  IOBufferMemoryDescriptor* buffer = nullptr;
  EXPECT_EQ(IOBufferMemoryDescriptor::Create(kIOMemoryDirectionInOut, bytes, 0, &buffer),
            kIOReturnSuccess);
  return buffer;
}

TEST(MemoryObjects, ARangeAndAConcatenationKeepTheirSourcesUntilTheLastUserGoes) {
  const size_t before = MemoryObjectCount();
  IOBufferMemoryDescriptor* buffer = NewBuffer(2 * IOVMPageSize);
  ASSERT_NE(buffer, nullptr);
  IOAddressSegment range{};
  ASSERT_EQ(buffer->GetAddressRange(&range), kIOReturnSuccess);
  std::memset(reinterpret_cast<void*>(range.address), 0x5a, range.length);

  IOMemoryDescriptor* sub = nullptr;
  ASSERT_EQ(IOMemoryDescriptor::CreateSubMemoryDescriptor(kIOMemoryDirectionInOut, IOVMPageSize,
                                                          IOVMPageSize, buffer, &sub),
            kIOReturnSuccess);
  IOMemoryDescriptor* const parts[2] = {buffer, sub};
  IOMemoryDescriptor* multi = nullptr;
  ASSERT_EQ(
      IOMemoryDescriptor::CreateWithMemoryDescriptors(kIOMemoryDirectionInOut, 2, parts, &multi),
      kIOReturnSuccess);
  EXPECT_EQ(MemoryObjectCount(), before + 3);

  // The descriptors the concatenation was made of go; its mapping still shows their bytes.
  buffer->release();
  sub->release();
  EXPECT_EQ(MemoryObjectCount(), before + 3);
  IOMemoryMap* map = nullptr;
  ASSERT_EQ(multi->CreateMapping(0, 0, 0, 0, 0, &map), kIOReturnSuccess);
  uint64_t length = 0;
  ASSERT_EQ(multi->GetLength(&length), kIOReturnSuccess);
  EXPECT_EQ(length, 3 * IOVMPageSize);
  const auto* bytes = reinterpret_cast<const uint8_t*>(map->GetAddress());
  EXPECT_EQ(bytes[0], 0x5a);
  EXPECT_EQ(bytes[length - 1], 0x5a);

  // The mapping keeps the concatenation; the last of them takes all three objects.
  multi->release();
  EXPECT_EQ(MemoryObjectCount(), before + 3);
  map->release();
  EXPECT_EQ(MemoryObjectCount(), before);
}

TEST(MemoryObjects, AConcatenationTheKernelRefusesReleasesThePartsItHadTaken) {
  const size_t before = MemoryObjectCount();
  IOBufferMemoryDescriptor* buffer = NewBuffer(IOVMPageSize);
  ASSERT_NE(buffer, nullptr);
  // A descriptor naming no memory object: the kernel refuses it after taking the buffer.
  auto* nothing = ::new IOMemoryDescriptor();
  IOMemoryDescriptor* const parts[2] = {buffer, nothing};
  IOMemoryDescriptor* multi = nullptr;
  EXPECT_EQ(
      IOMemoryDescriptor::CreateWithMemoryDescriptors(kIOMemoryDirectionInOut, 2, parts, &multi),
      kIOReturnBadArgument);
  EXPECT_EQ(multi, nullptr);
  EXPECT_EQ(MemoryObjectCount(), before + 1);
  nothing->release();
  buffer->release();
  EXPECT_EQ(MemoryObjectCount(), before);
}

}  // namespace
