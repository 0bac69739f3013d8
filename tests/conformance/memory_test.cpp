// Rules of DriverKit memory objects (driverkit-semantics.md §3.2–§3.4): CreateMapping,
// sub-descriptors and concatenations, IOBufferMemoryDescriptor, and memory a dext shares with its
// app through CopyClientMemoryForType + IOConnectMapMemory64.
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "harness.h"
#include "process_memory.h"

namespace fpgadext::conformance {
namespace {

using namespace ::conformance;

// DriverKit values the dext is asked to use (IOMemoryDescriptor.iig, IOTypes.h).
constexpr uint64_t kMapReadOnly = 0x2;       // kIOMemoryMapReadOnly
constexpr uint64_t kCacheInhibit = 0x100;    // kIOMemoryMapCacheModeInhibit
constexpr uint64_t kCacheCopyback = 0x200;   // kIOMemoryMapCacheModeCopyback
constexpr uint64_t kCacheWriteThru = 0x400;  // kIOMemoryMapCacheModeWriteThrough
constexpr uint64_t kCacheRealTime = 0x800;   // kIOMemoryMapCacheModeRealTime

uint64_t Fnv1a(const uint8_t* bytes, size_t length, uint64_t hash = 0xcbf29ce484222325ull) {
  for (size_t i = 0; i < length; ++i) hash = (hash ^ bytes[i]) * 0x100000001b3ull;
  return hash;
}

class MemoryRules : public ConformanceTest {
 protected:
  struct Mapped {
    IOReturn status;
    uint64_t address;
    uint64_t length;
  };
  // The dext maps app memory it got with CreateMemoryDescriptorFromClient, and keeps the map.
  Mapped MapClient(const void* address, uint64_t length, uint64_t clientOptions,
                   uint64_t mapOptions, uint64_t offset = 0, uint64_t mapLength = 0,
                   uint64_t alignment = 0) {
    std::vector<uint64_t> out(3);
    EXPECT_EQ(Call(kSelMapClient,
                   {reinterpret_cast<uint64_t>(address), length, clientOptions, mapOptions, offset,
                    mapLength, alignment},
                   &out),
              kIOReturnSuccess);
    return {static_cast<IOReturn>(out[0]), out[1], out[2]};
  }
  // The dext maps an IOBufferMemoryDescriptor of its own, and keeps the map.
  Mapped MapBuffer(uint64_t bufferOptions, uint64_t capacity, uint64_t mapOptions,
                   uint64_t offset = 0, uint64_t mapLength = 0, uint64_t alignment = 0) {
    std::vector<uint64_t> out(3);
    EXPECT_EQ(Call(kSelMapBuffer,
                   {bufferOptions, capacity, mapOptions, offset, mapLength, alignment}, &out),
              kIOReturnSuccess);
    return {static_cast<IOReturn>(out[0]), out[1], out[2]};
  }
  std::vector<uint64_t> CreateBuffer(uint64_t options, uint64_t capacity, uint64_t setLength) {
    std::vector<uint64_t> out(kBufferCount);
    EXPECT_EQ(Call(kSelBufferCreate, {options, capacity, setLength}, &out), kIOReturnSuccess);
    return out;
  }
  // A sub-descriptor of the dext's shared buffer; out: status, length, first and last byte
  // through a mapping, the mapping's address (kept by the dext when `keepMap`).
  std::vector<uint64_t> Sub(uint64_t options, uint64_t offset, uint64_t length,
                            bool keepMap = false) {
    std::vector<uint64_t> out(5);
    EXPECT_EQ(Call(kSelSubDescriptor, {options, offset, length, keepMap ? 1u : 0u}, &out),
              kIOReturnSuccess);
    return out;
  }
  uint64_t SharedByte(uint64_t offset) {
    std::vector<uint64_t> out(1);
    EXPECT_EQ(Call(kSelSharedByte, {offset}, &out), kIOReturnSuccess);
    return out[0];
  }
  uint64_t BufferRetainCount() {
    std::vector<uint64_t> out(1);
    EXPECT_EQ(Call(kSelBufferRetainCount, {}, &out), kIOReturnSuccess);
    return out[0];
  }
};

// ---- §3.2 CreateMapping ---------------------------------------------------------------------

TEST_F(MemoryRules, CreateMappingIgnoresItsAlignmentArgument) {
  for (uint64_t alignment : {uint64_t{0}, uint64_t{16}, uint64_t{4096}, uint64_t{3}}) {
    SCOPED_TRACE(alignment);
    EXPECT_EQ(MapBuffer(kClientInOut, 16384, 0, 0, 0, alignment).status, kIOReturnSuccess);
    std::vector<uint8_t> app(8192);
    EXPECT_EQ(
        MapClient(app.data(), app.size(), kClientInOut | kClientNoCopyOnWrite, 0, 0, 0, alignment)
            .status,
        kIOReturnSuccess);
  }
}

TEST_F(MemoryRules, CreateMappingWithAnUnknownCacheModeIsBadArgument) {
  for (uint64_t mode : {kCacheInhibit | kCacheCopyback, uint64_t{0x1000}, uint64_t{0xff00}}) {
    SCOPED_TRACE(mode);
    EXPECT_EQ(MapBuffer(kClientInOut, 16384, mode).status, kIOReturnBadArgument);
  }
  for (uint64_t mode :
       {uint64_t{0}, kCacheInhibit, kCacheCopyback, kCacheWriteThru, kCacheRealTime}) {
    SCOPED_TRACE(mode);
    EXPECT_EQ(MapBuffer(kClientInOut, 16384, mode).status, kIOReturnSuccess);
  }
}

TEST_F(MemoryRules, CreateMappingWithReadOnlyOptionIsReadOnly) {
  Mapped rw = MapBuffer(kClientInOut, 16384, 0);
  ASSERT_EQ(rw.status, kIOReturnSuccess);
  EXPECT_TRUE(Writable(rw.address)) << MappingAt(rw.address).perms;
  Mapped ro = MapBuffer(kClientInOut, 16384, kMapReadOnly);
  ASSERT_EQ(ro.status, kIOReturnSuccess);
  EXPECT_TRUE(Readable(ro.address));
  EXPECT_FALSE(Writable(ro.address)) << MappingAt(ro.address).perms;

  std::vector<uint8_t> app(8192, 0x11);
  Mapped client =
      MapClient(app.data(), app.size(), kClientInOut | kClientNoCopyOnWrite, kMapReadOnly);
  ASSERT_EQ(client.status, kIOReturnSuccess);
  EXPECT_FALSE(Writable(client.address)) << MappingAt(client.address).perms;
  EXPECT_EQ(*reinterpret_cast<const uint8_t*>(client.address), 0x11);
}

TEST_F(MemoryRules, CreateMappingOfClientMemoryWithDirectionOutIsReadOnly) {
  std::vector<uint8_t> app(3 * 4096, 0x22);
  Mapped out = MapClient(app.data(), app.size(), kClientOut | kClientNoCopyOnWrite, 0);
  ASSERT_EQ(out.status, kIOReturnSuccess);
  EXPECT_EQ(out.length, app.size());
  EXPECT_TRUE(Readable(out.address));
  EXPECT_FALSE(Writable(out.address)) << MappingAt(out.address).perms;
  EXPECT_EQ(*reinterpret_cast<const uint8_t*>(out.address + 5000), 0x22);

  // Any In bit makes it writable for the dext.
  for (uint64_t direction : {uint64_t{kClientIn}, uint64_t{kClientInOut}}) {
    SCOPED_TRACE(direction);
    Mapped in = MapClient(app.data(), app.size(), direction | kClientNoCopyOnWrite, 0);
    ASSERT_EQ(in.status, kIOReturnSuccess);
    EXPECT_TRUE(Writable(in.address)) << MappingAt(in.address).perms;
  }
}

TEST_F(MemoryRules, CreateMappingOfTheDextsOwnBufferWithDirectionOutIsWritable) {
  // The read-only rule is for memory of another task: the creator maps its buffer writable.
  Mapped own = MapBuffer(kClientOut, 16384, 0);
  ASSERT_EQ(own.status, kIOReturnSuccess);
  EXPECT_TRUE(Writable(own.address)) << MappingAt(own.address).perms;
}

TEST_F(MemoryRules, CreateMappingOfUnmappedClientMemoryIsError) {
  AppPages pages(65536);
  const uint64_t address = pages.address();
  pages.Unmap();
  // Nothing is checked when the descriptor is made; mapping it wires it, and that fails.
  EXPECT_EQ(
      MapClient(reinterpret_cast<void*>(address), 65536, kClientInOut | kClientNoCopyOnWrite, 0)
          .status,
      kIOReturnError);
}

TEST_F(MemoryRules, CreateMappingOfARangeMapsJustThatRange) {
  std::vector<uint8_t> app(3 * 4096);
  for (size_t i = 0; i < app.size(); ++i) app[i] = Pattern(5, i);
  Mapped part =
      MapClient(app.data(), app.size(), kClientInOut | kClientNoCopyOnWrite, 0, 4097, 100);
  ASSERT_EQ(part.status, kIOReturnSuccess);
  EXPECT_EQ(part.length, 100u);
  EXPECT_EQ(*reinterpret_cast<const uint8_t*>(part.address), Pattern(5, 4097));
  EXPECT_EQ(*reinterpret_cast<const uint8_t*>(part.address + 99), Pattern(5, 4196));
}

TEST_F(MemoryRules, MapKeepsItsMemoryAlive) {
  std::vector<uint64_t> out(3);
  ASSERT_EQ(Call(kSelMapKeepsMemory, {}, &out), kIOReturnSuccess);
  EXPECT_EQ(out[0], 2u);  // the dext's reference and the map's
  // The dext has dropped its reference; the map still shows the buffer's bytes.
  ASSERT_EQ(out[2], 16384u);
  const auto* bytes = reinterpret_cast<const uint8_t*>(out[1]);
  ASSERT_TRUE(Readable(out[1]));
  for (uint64_t i = 0; i < out[2]; ++i) ASSERT_EQ(bytes[i], Pattern(62, i)) << i;
  ASSERT_EQ(Call(kSelReleaseHeld, {}), kIOReturnSuccess);  // the map and the buffer go
}

// ---- §3.2 CreateSubMemoryDescriptor, CreateWithMemoryDescriptors ------------------------------

TEST_F(MemoryRules, CreateSubMemoryDescriptorWithOptionsBeyondDirectionIsBadArgument) {
  EXPECT_EQ(static_cast<IOReturn>(Sub(kClientNoCopyOnWrite, 0, 16)[0]), kIOReturnBadArgument);
  EXPECT_EQ(static_cast<IOReturn>(Sub(0x100, 0, 16)[0]), kIOReturnBadArgument);
  EXPECT_EQ(static_cast<IOReturn>(Sub(kClientInOut, 0, 16)[0]), kIOReturnSuccess);
}

TEST_F(MemoryRules, CreateSubMemoryDescriptorRangeMustFit) {
  EXPECT_EQ(static_cast<IOReturn>(Sub(kClientIn, kSharedBufferSize - 10, 11)[0]),
            kIOReturnBadArgument);
  EXPECT_EQ(static_cast<IOReturn>(Sub(kClientIn, kSharedBufferSize + 1, 0)[0]),
            kIOReturnBadArgument);
  EXPECT_EQ(static_cast<IOReturn>(Sub(kClientIn, 1, ~0ull)[0]), kIOReturnBadArgument);
  std::vector<uint64_t> tail = Sub(kClientIn, kSharedBufferSize - 10, 10);
  EXPECT_EQ(static_cast<IOReturn>(tail[0]), kIOReturnSuccess);
  EXPECT_EQ(tail[1], 10u);
}

TEST_F(MemoryRules, CreateSubMemoryDescriptorShowsTheBytesOfItsRange) {
  std::vector<uint64_t> sub = Sub(kClientInOut, 100, 5000);
  ASSERT_EQ(static_cast<IOReturn>(sub[0]), kIOReturnSuccess);
  EXPECT_EQ(sub[1], 5000u);
  EXPECT_EQ(sub[2], Pattern(64, 100));
  EXPECT_EQ(sub[3], Pattern(64, 5099));
}

TEST_F(MemoryRules, CreateMappingOfASubDescriptorWithDirectionOutIsReadOnly) {
  // Only buffers record their creator: a sub-descriptor made Out is read-only even to the dext
  // that made it, while the buffer it was cut from stays writable.
  std::vector<uint64_t> out = Sub(kClientOut, 4096, 8192, true);
  ASSERT_EQ(static_cast<IOReturn>(out[0]), kIOReturnSuccess);
  ASSERT_NE(out[4], 0u);
  EXPECT_TRUE(Readable(out[4]));
  EXPECT_FALSE(Writable(out[4])) << MappingAt(out[4]).perms;
  EXPECT_EQ(out[2], Pattern(64, 4096));
  out = Sub(kClientInOut, 4096, 8192, true);
  ASSERT_EQ(static_cast<IOReturn>(out[0]), kIOReturnSuccess);
  EXPECT_TRUE(Writable(out[4])) << MappingAt(out[4]).perms;
}

TEST_F(MemoryRules, CreateWithMemoryDescriptorsWithANullEntryIsBadArgument) {
  std::vector<uint8_t> a(5000), b(3000);
  std::vector<uint64_t> out(3);
  ASSERT_EQ(Call(kSelConcatenate,
                 {reinterpret_cast<uint64_t>(a.data()), a.size(),
                  reinterpret_cast<uint64_t>(b.data()), b.size(), kClientInOut, 1},
                 &out),
            kIOReturnSuccess);
  EXPECT_EQ(static_cast<IOReturn>(out[0]), kIOReturnBadArgument);
}

TEST_F(MemoryRules, CreateWithMemoryDescriptorsWithBadOptionsIsBadArgument) {
  std::vector<uint8_t> a(5000), b(3000);
  for (uint64_t options : {uint64_t{kClientNoCopyOnWrite}, uint64_t{0x100}}) {
    SCOPED_TRACE(options);
    std::vector<uint64_t> out(3);
    ASSERT_EQ(Call(kSelConcatenate,
                   {reinterpret_cast<uint64_t>(a.data()), a.size(),
                    reinterpret_cast<uint64_t>(b.data()), b.size(), options, 0},
                   &out),
              kIOReturnSuccess);
    EXPECT_EQ(static_cast<IOReturn>(out[0]), kIOReturnBadArgument);
  }
}

TEST_F(MemoryRules, CreateWithMemoryDescriptorsConcatenatesInOrder) {
  // Parts that start on a 16 KiB page, the first a whole page: what a Mac maps byte-exact
  // (multi_memory_test.cpp has the other layouts).
  constexpr size_t kPage = 16384;
  std::unique_ptr<uint8_t, decltype(&std::free)> a(
      static_cast<uint8_t*>(std::aligned_alloc(kPage, kPage)), &std::free);
  std::unique_ptr<uint8_t, decltype(&std::free)> b(
      static_cast<uint8_t*>(std::aligned_alloc(kPage, kPage)), &std::free);
  ASSERT_TRUE(a && b);
  for (size_t i = 0; i < kPage; ++i) a.get()[i] = Pattern(7, i);
  for (size_t i = 0; i < 3000; ++i) b.get()[i] = Pattern(8, i);
  std::vector<uint64_t> out(3);
  ASSERT_EQ(Call(kSelConcatenate,
                 {reinterpret_cast<uint64_t>(a.get()), kPage, reinterpret_cast<uint64_t>(b.get()),
                  3000, kClientInOut, 0},
                 &out),
            kIOReturnSuccess);
  ASSERT_EQ(static_cast<IOReturn>(out[0]), kIOReturnSuccess);
  EXPECT_EQ(out[1], kPage + 3000);
  EXPECT_EQ(out[2], Fnv1a(b.get(), 3000, Fnv1a(a.get(), kPage)));
}

// ---- §3.3 IOBufferMemoryDescriptor -----------------------------------------------------------

TEST_F(MemoryRules, BufferCreateWithOptionsBeyondDirectionIsBadArgument) {
  for (uint64_t options :
       {uint64_t{kClientNoCopyOnWrite}, uint64_t{0x4}, uint64_t{kClientInOut | 0x100}}) {
    SCOPED_TRACE(options);
    EXPECT_EQ(static_cast<IOReturn>(CreateBuffer(options, 4096, 4096)[kBufferCreateStatus]),
              kIOReturnBadArgument);
  }
  for (uint64_t options :
       {uint64_t{0}, uint64_t{kClientIn}, uint64_t{kClientOut}, uint64_t{kClientInOut}}) {
    SCOPED_TRACE(options);
    EXPECT_EQ(static_cast<IOReturn>(CreateBuffer(options, 4096, 4096)[kBufferCreateStatus]),
              kIOReturnSuccess);
  }
}

TEST_F(MemoryRules, BufferCreateWithCapacityZeroIsNoMemory) {
  EXPECT_EQ(static_cast<IOReturn>(CreateBuffer(kClientInOut, 0, kNoSetLength)[kBufferCreateStatus]),
            kIOReturnNoMemory);
}

TEST_F(MemoryRules, BufferLengthIsItsCapacityUntilSetLength) {
  std::vector<uint64_t> out = CreateBuffer(kClientInOut, 8192, kNoSetLength);
  ASSERT_EQ(static_cast<IOReturn>(out[kBufferCreateStatus]), kIOReturnSuccess);
  EXPECT_EQ(out[kBufferLengthAtCreate], 8192u);
  EXPECT_EQ(out[kBufferLengthAfterSet], 8192u);
  EXPECT_EQ(out[kBufferRangeLength], 8192u);
  EXPECT_NE(out[kBufferRangeAddress], 0u);
  out = CreateBuffer(kClientInOut, 8192, 100);
  EXPECT_EQ(static_cast<IOReturn>(out[kBufferSetLengthStatus]), kIOReturnSuccess);
  EXPECT_EQ(out[kBufferLengthAfterSet], 100u);
  EXPECT_EQ(out[kBufferRangeLength], 100u);
}

TEST_F(MemoryRules, BufferSetLengthBeyondCapacityIsIgnoredYetSucceeds) {
  std::vector<uint64_t> out = CreateBuffer(kClientInOut, 8192, 8193);
  ASSERT_EQ(static_cast<IOReturn>(out[kBufferCreateStatus]), kIOReturnSuccess);
  EXPECT_EQ(static_cast<IOReturn>(out[kBufferSetLengthStatus]), kIOReturnSuccess);
  EXPECT_EQ(out[kBufferLengthAfterSet], 8192u);
}

TEST_F(MemoryRules, BufferGetAddressRangeGivesTheDextsAddressAndLength) {
  std::vector<uint64_t> out = CreateBuffer(kClientInOut, 8192, 5000);
  ASSERT_EQ(static_cast<IOReturn>(out[kBufferCreateStatus]), kIOReturnSuccess);
  EXPECT_NE(out[kBufferRangeAddress], 0u);  // the dext wrote its first and last byte there
  EXPECT_EQ(out[kBufferRangeLength], 5000u);
}

// ---- §3.4 CopyClientMemoryForType + IOConnectMapMemory64 ------------------------------------

TEST_F(MemoryRules, ClientMemoryForTypeIsSharedLiveWithTheApp) {
  mach_vm_address_t address = 0;
  mach_vm_size_t size = 0;
  ASSERT_EQ(IOConnectMapMemory64(connection_, kMemShared, mach_task_self(), &address, &size,
                                 kIOMapAnywhere),
            kIOReturnSuccess);
  ASSERT_EQ(size, kSharedBufferSize);
  EXPECT_TRUE(Writable(address)) << MappingAt(address).perms;
  auto* bytes = reinterpret_cast<volatile uint8_t*>(address);
  // App → dext.
  bytes[1234] = 0x5a;
  EXPECT_EQ(SharedByte(1234), 0x5au);
  // Dext → app, while the mapping lives.
  ASSERT_EQ(Call(kSelSharedByte, {4321, 0xa7}, nullptr), kIOReturnSuccess);
  EXPECT_EQ(bytes[4321], 0xa7);
  EXPECT_EQ(IOConnectUnmapMemory64(connection_, kMemShared, mach_task_self(), address),
            kIOReturnSuccess);
}

TEST_F(MemoryRules, ClientMemoryMarkedReadOnlyIsMappedReadOnlyInTheApp) {
  mach_vm_address_t address = 0;
  mach_vm_size_t size = 0;
  ASSERT_EQ(IOConnectMapMemory64(connection_, kMemReadOnly, mach_task_self(), &address, &size,
                                 kIOMapAnywhere),
            kIOReturnSuccess);
  EXPECT_TRUE(Readable(address));
  EXPECT_FALSE(Writable(address)) << MappingAt(address).perms;
  // The app may ask for read-only itself (kIOMapReadOnly) on writable memory.
  mach_vm_address_t own = 0;
  ASSERT_EQ(IOConnectMapMemory64(connection_, kMemShared, mach_task_self(), &own, &size,
                                 kIOMapAnywhere | kIOMapReadOnly),
            kIOReturnSuccess);
  EXPECT_FALSE(Writable(own)) << MappingAt(own).perms;
}

TEST_F(MemoryRules, ClientMemoryForTypeReferenceIsConsumed) {
  const uint64_t before = BufferRetainCount();
  for (int cycle = 0; cycle < 3; ++cycle) {
    mach_vm_address_t address = 0;
    mach_vm_size_t size = 0;
    ASSERT_EQ(IOConnectMapMemory64(connection_, kMemShared, mach_task_self(), &address, &size,
                                   kIOMapAnywhere),
              kIOReturnSuccess);
    EXPECT_LE(BufferRetainCount(), before + 1);  // at most the mapping's own reference
    ASSERT_EQ(IOConnectUnmapMemory64(connection_, kMemShared, mach_task_self(), address),
              kIOReturnSuccess);
    EXPECT_EQ(BufferRetainCount(), before) << "cycle " << cycle;
  }
}

TEST_F(MemoryRules, ClientMemoryForUnknownTypeIsBadArgument) {
  mach_vm_address_t address = 0;
  mach_vm_size_t size = 0;
  EXPECT_EQ(
      IOConnectMapMemory64(connection_, 99, mach_task_self(), &address, &size, kIOMapAnywhere),
      kIOReturnBadArgument);
}

TEST_F(MemoryRules, ClientMemoryBufferWithoutSetLengthMapsItsCapacity) {
  mach_vm_address_t address = 0;
  mach_vm_size_t size = 0;
  ASSERT_EQ(IOConnectMapMemory64(connection_, kMemNoSetLength, mach_task_self(), &address, &size,
                                 kIOMapAnywhere),
            kIOReturnSuccess);
  EXPECT_EQ(size, 4096u);
  EXPECT_EQ(IOConnectUnmapMemory64(connection_, kMemNoSetLength, mach_task_self(), address),
            kIOReturnSuccess);
}

TEST_F(MemoryRules, ClientMemoryOfARegisterBarReachesTheRegistersThroughTheBus) {
  // BAR0 has registers with side effects: the app's mapping traps every load and store and
  // performs it on the device (emu/kernel/mmio_trap.h), in order, synchronously.
  mach_vm_address_t address = 0;
  mach_vm_size_t size = 0;
  ASSERT_EQ(IOConnectMapMemory64(connection_, kMemBar0, mach_task_self(), &address, &size,
                                 kIOMapAnywhere),
            kIOReturnSuccess);
  auto* bar = reinterpret_cast<volatile uint8_t*>(address);
  EXPECT_EQ(*reinterpret_cast<volatile uint32_t*>(bar + probe::kId), probe::kIdValue);
  *reinterpret_cast<volatile uint64_t*>(bar + probe::kScratch) = 0x0123456789abcdefull;
  EXPECT_EQ(*reinterpret_cast<volatile uint64_t*>(bar + probe::kScratch), 0x0123456789abcdefull);
  EXPECT_EQ(*reinterpret_cast<volatile uint16_t*>(bar + probe::kScratch + 2), 0x89abu);
  EXPECT_EQ(*reinterpret_cast<volatile uint8_t*>(bar + probe::kScratch + 7), 0x01u);
  EXPECT_EQ(IOConnectUnmapMemory64(connection_, kMemBar0, mach_task_self(), address),
            kIOReturnSuccess);
}

TEST_F(MemoryRules, ClientMemoryOfAMemoryBarReachesTheDevice) {
  mach_vm_address_t address = 0;
  mach_vm_size_t size = 0;
  ASSERT_EQ(IOConnectMapMemory64(connection_, kMemDirectBar, mach_task_self(), &address, &size,
                                 kIOMapAnywhere),
            kIOReturnSuccess);
  ASSERT_EQ(size, probe::kRamSize);
  *reinterpret_cast<volatile uint32_t*>(address + 0x100) = 0x12345678;
  std::vector<uint64_t> bar(4), value(1);
  ASSERT_EQ(Call(kSelBarInfo, {probe::kRamBar}, &bar), kIOReturnSuccess);
  ASSERT_EQ(static_cast<IOReturn>(bar[0]), kIOReturnSuccess);
  ASSERT_EQ(Call(kSelMemoryRead32, {bar[1], 0x100}, &value), kIOReturnSuccess);
  EXPECT_EQ(value[0], 0x12345678u);
  EXPECT_EQ(IOConnectUnmapMemory64(connection_, kMemDirectBar, mach_task_self(), address),
            kIOReturnSuccess);
}

TEST_F(MemoryRules, ClientMemoryOfAMemoryBarMarkedReadOnlyIsReadOnly) {
  // A read-only view of a model's memory is a trap mapping that refuses stores: loads reach
  // the device; stores would fault, as on any read-only mapping.
  for (auto [type, options] :
       {std::pair<uint32_t, uint32_t>{kMemDirectBarReadOnly, kIOMapAnywhere},
        std::pair<uint32_t, uint32_t>{kMemDirectBar, kIOMapAnywhere | kIOMapReadOnly}}) {
    mach_vm_address_t address = 0;
    mach_vm_size_t size = 0;
    ASSERT_EQ(IOConnectMapMemory64(connection_, type, mach_task_self(), &address, &size, options),
              kIOReturnSuccess);
    EXPECT_EQ(size, probe::kRamSize);
    (void)*reinterpret_cast<volatile uint32_t*>(address + 0x100);  // loads work
    EXPECT_EQ(IOConnectUnmapMemory64(connection_, type, mach_task_self(), address),
              kIOReturnSuccess);
  }
}

TEST_F(MemoryRules, UnmapMemoryOfAnUnknownAddressIsBadArgument) {
  mach_vm_address_t address = 0;
  mach_vm_size_t size = 0;
  ASSERT_EQ(IOConnectMapMemory64(connection_, kMemShared, mach_task_self(), &address, &size,
                                 kIOMapAnywhere),
            kIOReturnSuccess);
  EXPECT_EQ(IOConnectUnmapMemory64(connection_, kMemShared, mach_task_self(), address + 4096),
            kIOReturnBadArgument);
  EXPECT_EQ(IOConnectUnmapMemory64(connection_, kMemReadOnly, mach_task_self(), address),
            kIOReturnBadArgument);  // the type must match too
  EXPECT_EQ(IOConnectUnmapMemory64(connection_, kMemShared, mach_task_self(), address),
            kIOReturnSuccess);
  EXPECT_EQ(IOConnectUnmapMemory64(connection_, kMemShared, mach_task_self(), address),
            kIOReturnBadArgument);  // already gone
}

TEST_F(MemoryRules, ClientMemoryMappingsAreTornDownAtClose) {
  mach_vm_address_t address = 0;
  mach_vm_size_t size = 0;
  ASSERT_EQ(IOConnectMapMemory64(connection_, kMemShared, mach_task_self(), &address, &size,
                                 kIOMapAnywhere),
            kIOReturnSuccess);
  const std::string path = MappingAt(address).path;
  ASSERT_FALSE(path.empty());  // the buffer's shared-memory object
  ASSERT_EQ(IOServiceClose(connection_), kIOReturnSuccess);
  connection_ = IO_OBJECT_NULL;
  const ProcessMapping after = MappingAt(address);
  EXPECT_FALSE(after.mapped && after.path == path) << after.perms << " " << after.path;
}

}  // namespace
}  // namespace fpgadext::conformance
