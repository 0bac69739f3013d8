// Descriptors made with IOMemoryDescriptor::CreateWithMemoryDescriptors, which a Mac builds as
// an IOMultiMemoryDescriptor (xnu IOUserServer.cpp, CreateWithMemoryDescriptors_Impl): mapped
// for the dext (CreateMapping) and for the app (CopyClientMemoryForType + IOConnectMapMemory64)
// part by part, each part at the byte where the previous one ends (xnu
// IOMultiMemoryDescriptor.cpp, doMap). The VM maps pages, so the parts must start and (but for
// the last) end on a page — 16 KiB on the emulated Apple-silicon Mac.
#include <string>
#include <vector>

#include "dext/multimem_protocol.h"
#include "harness.h"
#include "process_memory.h"

namespace fpgadext::conformance {
namespace {

using namespace ::conformance;

constexpr uint64_t kPage = 16384;       // IOVMPageSize of the emulated Mac
constexpr uint64_t kMapReadOnly = 0x2;  // kIOMemoryMapReadOnly

uint64_t Fnv1a(const std::vector<uint8_t>& bytes) {
  uint64_t hash = 0xcbf29ce484222325ull;
  for (uint8_t b : bytes) hash = (hash ^ b) * 0x100000001b3ull;
  return hash;
}

// What the dext's buffers A (seed 1) and B (seed 2) hold, concatenated, from `offset`.
std::vector<uint8_t> Expected(uint64_t lengthA, uint64_t lengthB, uint64_t offset,
                              uint64_t length) {
  std::vector<uint8_t> all;
  for (uint64_t i = 0; i < lengthA; ++i) all.push_back(Pattern(1, i));
  for (uint64_t i = 0; i < lengthB; ++i) all.push_back(Pattern(2, i));
  return {all.begin() + static_cast<long>(offset),
          all.begin() + static_cast<long>(offset + length)};
}

class MultiMemory : public ConformanceTest {
 protected:
  std::vector<uint64_t> MultiMap(uint64_t capacityA, uint64_t setLengthA, uint64_t capacityB,
                                 uint64_t mapOptions, uint64_t offset, uint64_t length) {
    std::vector<uint64_t> out(kMultiCount);
    EXPECT_EQ(
        Call(kSelMultiMap, {capacityA, setLengthA, capacityB, mapOptions, offset, length}, &out),
        kIOReturnSuccess);
    return out;
  }
};

TEST_F(MultiMemory, CreateMappingMapsEachPartContiguously) {
  const auto out = MultiMap(2 * kPage, kNoSetLength, kPage + 100, 0, 0, 0);
  ASSERT_EQ(static_cast<IOReturn>(out[kMultiStatus]), kIOReturnSuccess);
  EXPECT_EQ(out[kMultiLength], 3 * kPage + 100);
  EXPECT_EQ(out[kMultiHash], Fnv1a(Expected(2 * kPage, kPage + 100, 0, 3 * kPage + 100)));
  // The part is the buffer's own pages, not a copy: a store through the map reaches it.
  EXPECT_EQ(out[kMultiFirstOfA], 0xA5u);
}

TEST_F(MultiMemory, CreateMappingOfARangeMapsThePartsInIt) {
  // From the second page of A into B: both parts, starting on a page.
  const auto out = MultiMap(2 * kPage, kNoSetLength, kPage, 0, kPage, 2 * kPage);
  ASSERT_EQ(static_cast<IOReturn>(out[kMultiStatus]), kIOReturnSuccess);
  EXPECT_EQ(out[kMultiLength], 2 * kPage);
  EXPECT_EQ(out[kMultiHash], Fnv1a(Expected(2 * kPage, kPage, kPage, 2 * kPage)));
}

TEST_F(MultiMemory, CreateMappingWithAPartNotEndingOnAPageIsNotAligned) {
  // A's length is set to 5000 bytes: B would start inside a page of the view.
  const auto out = MultiMap(2 * kPage, 5000, kPage, 0, 0, 0);
  EXPECT_EQ(static_cast<IOReturn>(out[kMultiStatus]), kIOReturnNotAligned);
}

TEST_F(MultiMemory, CreateMappingStartingInsideAPageOfAPartIsNotAligned) {
  const auto out = MultiMap(2 * kPage, kNoSetLength, kPage, kMapReadOnly, 100, kPage);
  EXPECT_EQ(static_cast<IOReturn>(out[kMultiStatus]), kIOReturnNotAligned);
}

TEST_F(MultiMemory, CreateMappingOfAppMemoryPartsNotOnPagesIsNotAligned) {
  // App memory parts at arbitrary addresses; kSelConcatenate returns its mapping's result.
  std::vector<uint8_t> a(5000 + 3), b(3000);
  std::vector<uint64_t> out(3);
  EXPECT_EQ(Call(kSelConcatenate,
                 {reinterpret_cast<uint64_t>(a.data() + 3), 5000,
                  reinterpret_cast<uint64_t>(b.data()), b.size(), kClientInOut, 0},
                 &out),
            kIOReturnNotAligned);
}

TEST_F(MultiMemory, AppMapsMultiMemoryDescriptorFromCopyClientMemory) {
  // The shared 64 KiB buffer twice: one view, whose two halves are the same pages.
  mach_vm_address_t address = 0;
  mach_vm_size_t size = 0;
  ASSERT_EQ(IOConnectMapMemory64(connection_, kMemMultiSharedTwice, mach_task_self(), &address,
                                 &size, kIOMapAnywhere),
            kIOReturnSuccess);
  ASSERT_EQ(size, 2 * kSharedBufferSize);
  EXPECT_TRUE(Writable(address)) << MappingAt(address).perms;
  auto* bytes = reinterpret_cast<volatile uint8_t*>(address);
  bytes[77] = 0x3c;
  EXPECT_EQ(bytes[kSharedBufferSize + 77], 0x3cu);
  std::vector<uint64_t> seen(1);
  ASSERT_EQ(Call(kSelSharedByte, {77}, &seen), kIOReturnSuccess);
  EXPECT_EQ(seen[0], 0x3cu);  // the dext's own view of the buffer
  const std::string path = MappingAt(address).path;
  EXPECT_EQ(IOConnectUnmapMemory64(connection_, kMemMultiSharedTwice, mach_task_self(), address),
            kIOReturnSuccess);
  const ProcessMapping after = MappingAt(address);
  EXPECT_FALSE(after.mapped && after.path == path) << after.perms << " " << after.path;
}

TEST_F(MultiMemory, AppMapsMultiMemoryReadOnlyWhenAsked) {
  mach_vm_address_t address = 0;
  mach_vm_size_t size = 0;
  ASSERT_EQ(IOConnectMapMemory64(connection_, kMemMultiSharedTwice, mach_task_self(), &address,
                                 &size, kIOMapAnywhere | kIOMapReadOnly),
            kIOReturnSuccess);
  EXPECT_TRUE(Readable(address));
  EXPECT_FALSE(Writable(address)) << MappingAt(address).perms;
  EXPECT_FALSE(Writable(address + kSharedBufferSize)) << MappingAt(address).perms;
  EXPECT_EQ(IOConnectUnmapMemory64(connection_, kMemMultiSharedTwice, mach_task_self(), address),
            kIOReturnSuccess);
}

TEST_F(MultiMemory, AppMappingWithAPartNotEndingOnAPageIsBadArgument) {
  // xnu: the kernel's mapping fails, and is_io_connect_map_memory_into_task answers
  // kIOReturnBadArgument whatever the reason.
  mach_vm_address_t address = 0;
  mach_vm_size_t size = 0;
  EXPECT_EQ(IOConnectMapMemory64(connection_, kMemMultiShortFirst, mach_task_self(), &address,
                                 &size, kIOMapAnywhere),
            kIOReturnBadArgument);
}

}  // namespace
}  // namespace fpgadext::conformance
