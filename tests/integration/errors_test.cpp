// Bad input: each case returns its documented IOReturn with a message in the caller's terms,
// and the device stays usable (a good transfer right after). Also the library's own rules:
// forced paths, registered-buffer lifetime, register bounds, the DMA BAR.
#include <fpgadext/protocol.h>
#include <mach/kern_return.h>
#include <reference_design/user_block_registers.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "board_fixture.h"

namespace fpgadext::integration {
namespace {

using ::testing::HasSubstr;

class Errors : public BoardFixture {
 protected:
  // A write and a read-back of 4097 + 1 bytes (both paths), checked.
  void ExpectUsable() {
    for (uint64_t size : {uint64_t{1}, uint64_t{4097}}) {
      std::vector<std::byte> out(size), in(size);
      FillPattern(out.data(), size, size + 99);
      Status s = device().Write(0x7000'0001, out);
      ASSERT_TRUE(s) << s.message();
      s = device().Read(0x7000'0001, in);
      ASSERT_TRUE(s) << s.message();
      ASSERT_EQ(in, out) << "the device is not usable after the error";
    }
  }
  static std::string Message(const Status& s) { return s.message(); }
};

TEST_F(Errors, CardRangePastTheEnd) {
  const uint64_t end = device().info().cardMemorySize;
  ASSERT_EQ(end, kCardMemory);
  std::vector<std::byte> small(2), large(8192);
  for (TransferPath path :
       {TransferPath::kAuto, TransferPath::kInband, TransferPath::kClientMemory}) {
    Status s = device().Read(end - 1, small, path);
    EXPECT_EQ(s.code(), kIOReturnBadArgument);
    EXPECT_THAT(Message(s), HasSubstr("card range 0x1ffffffff+0x2 is outside the card's "
                                      "0x200000000 bytes"));
    s = device().Write(end - 1, small, path);
    EXPECT_EQ(s.code(), kIOReturnBadArgument);
  }
  for (TransferPath path :
       {TransferPath::kAuto, TransferPath::kOutOfLine, TransferPath::kClientMemory}) {
    EXPECT_EQ(device().Write(end - 4096, large, path).code(), kIOReturnBadArgument);
    EXPECT_EQ(device().Read(end - 4096, large, path).code(), kIOReturnBadArgument);
  }
  // One byte past the end, 0 bytes: still outside.
  EXPECT_EQ(device().Read(end + 1, std::span<std::byte>()).code(), kIOReturnBadArgument);
  EXPECT_TRUE(device().Read(end, std::span<std::byte>()));  // the empty range at the end
  ExpectUsable();
}

TEST_F(Errors, CardRangeWrapsAround) {
  std::vector<std::byte> buffer(0x2000);
  Status s = device().Write(~uint64_t{0} - 0xfff, buffer);
  EXPECT_EQ(s.code(), kIOReturnBadArgument);
  EXPECT_THAT(Message(s), HasSubstr("is outside the card's"));
  EXPECT_EQ(device().Read(~uint64_t{0}, std::span(buffer).first(2)).code(), kIOReturnBadArgument);
  ExpectUsable();
}

// The dext checks too (the library's checks are a courtesy): raw calls past the end and
// wrapping around.
TEST_F(Errors, DextChecksCardRange) {
  io_connect_t c = OpenRawConnection();
  ASSERT_NE(c, IO_OBJECT_NULL);
  std::vector<uint8_t> buffer(8192);
  const uint64_t past[3] = {kCardMemory - 1, reinterpret_cast<uintptr_t>(buffer.data()), 2};
  EXPECT_EQ(
      IOConnectCallScalarMethod(c, protocol::kSelectorReadClientMemory, past, 3, nullptr, nullptr),
      kIOReturnOverrun);
  const uint64_t wrap[3] = {~uint64_t{0} - 10, reinterpret_cast<uintptr_t>(buffer.data()), 8192};
  EXPECT_EQ(
      IOConnectCallScalarMethod(c, protocol::kSelectorWriteClientMemory, wrap, 3, nullptr, nullptr),
      kIOReturnBadArgument);
  const uint64_t inband[2] = {kCardMemory - 10, 11};
  size_t size = 11;
  EXPECT_EQ(IOConnectCallMethod(c, protocol::kSelectorReadInband, inband, 2, nullptr, 0, nullptr,
                                nullptr, buffer.data(), &size),
            kIOReturnOverrun);
  IOServiceClose(c);
  ExpectUsable();
}

TEST_F(Errors, NullBuffer) {
  Status s =
      device().Write(0, std::span<const std::byte>(static_cast<const std::byte*>(nullptr), 16));
  EXPECT_EQ(s.code(), kIOReturnBadArgument);
  EXPECT_THAT(Message(s), HasSubstr("null buffer"));
  s = device().Read(0, std::span<std::byte>(static_cast<std::byte*>(nullptr), 8192));
  EXPECT_EQ(s.code(), kIOReturnBadArgument);
  EXPECT_TRUE(device().Read(0, std::span<std::byte>()));  // null with 0 bytes is fine
  ExpectUsable();
}

TEST_F(Errors, ForcedPathsOutsideTheirSizes) {
  std::vector<std::byte> page(4096), more(4097);
  Status s = device().Write(0, more, TransferPath::kInband);
  EXPECT_EQ(s.code(), kIOReturnBadArgument);
  EXPECT_THAT(Message(s), HasSubstr("at most 4096"));
  EXPECT_EQ(device().Read(0, more, TransferPath::kInband).code(), kIOReturnBadArgument);
  s = device().Read(0, page, TransferPath::kOutOfLine);
  EXPECT_EQ(s.code(), kIOReturnBadArgument);
  EXPECT_THAT(Message(s), HasSubstr("in-band"));
  EXPECT_EQ(device().Write(0, page, TransferPath::kOutOfLine).code(), kIOReturnBadArgument);
  ExpectUsable();
}

// App memory that is not mapped: the dext cannot make a descriptor or prepare it.
TEST_F(Errors, UnmappedAppMemory) {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  void* p = mmap(nullptr, 4 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(p, MAP_FAILED);
  ASSERT_TRUE(ReserveInaccessible(p, 4 * page));
  auto* gone = static_cast<std::byte*>(p);
  // Client memory: the paths that pass the address (kAuto copies in the app, which would fault).
  Status s = device().Write(0x1000, std::span<const std::byte>(gone + 1, 2 * page + 5),
                            TransferPath::kClientMemory);
  EXPECT_EQ(s.code(), KERN_PROTECTION_FAILURE) << s.message();
  EXPECT_THAT(Message(s), HasSubstr("read-only or inaccessible"));
  s = device().Read(0x1000, std::span<std::byte>(gone + 3, 2 * page), TransferPath::kClientMemory);
  EXPECT_EQ(s.code(), KERN_PROTECTION_FAILURE) << s.message();
  // Small transfers too.
  s = device().Write(0x1000, std::span<const std::byte>(gone, 1), TransferPath::kClientMemory);
  EXPECT_EQ(s.code(), KERN_PROTECTION_FAILURE) << s.message();
  s = device().Read(0x1000, std::span<std::byte>(gone, 1), TransferPath::kClientMemory);
  EXPECT_EQ(s.code(), KERN_PROTECTION_FAILURE) << s.message();
  RegisteredBuffer buffer;
  s = device().Register(std::span<std::byte>(gone, 2 * page), BufferDirection::kBoth, &buffer);
  EXPECT_EQ(s.code(), KERN_PROTECTION_FAILURE) << s.message();
  EXPECT_FALSE(buffer.valid());
  ExpectUsable();
}

// A buffer whose tail is unmapped: the part before it must not be half-transferred silently.
TEST_F(Errors, PartlyUnmappedAppMemory) {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  PageBuffer memory(8 * page);
  ASSERT_TRUE(ReserveInaccessible(memory.data() + 6 * page, 2 * page));
  Status s = device().Write(0x1000, memory.span(page, 6 * page), TransferPath::kClientMemory);
  EXPECT_EQ(s.code(), KERN_PROTECTION_FAILURE) << s.message();
  RegisteredBuffer buffer;
  s = device().Register(memory.span(page, 6 * page), BufferDirection::kToCard, &buffer);
  EXPECT_EQ(s.code(), KERN_PROTECTION_FAILURE) << s.message();
  // Remap so that PageBuffer's destructor unmaps what it mapped.
  ASSERT_NE(mmap(memory.data() + 6 * page, 2 * page, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0),
            MAP_FAILED);
  ExpectUsable();
}

// A read whose destination starts mapped and ends unmapped is "not mapped", not "read-only":
// the dext's probe must look at the whole range, not its first byte.
TEST_F(Errors, PartlyUnmappedReadTargetIsNotCalledReadOnly) {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  PageBuffer memory(8 * page);
  ASSERT_TRUE(ReserveInaccessible(memory.data() + 6 * page, 2 * page));
  Status s = device().Read(0x1000, memory.span(page + 1, 6 * page), TransferPath::kClientMemory);
  EXPECT_EQ(s.code(), KERN_PROTECTION_FAILURE) << s.message();
  ASSERT_NE(mmap(memory.data() + 6 * page, 2 * page, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0),
            MAP_FAILED);
  ExpectUsable();
}

// Read-only app memory is a fine source but not a destination.
TEST_F(Errors, ReadOnlyAppMemoryAsReadTarget) {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  const size_t size = 3 * page;
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(p, MAP_FAILED);
  auto* bytes = static_cast<std::byte*>(p);
  FillPattern(bytes, size, 5);
  ASSERT_EQ(mprotect(p, size, PROT_READ), 0);

  Status s =
      device().Read(0x2000, std::span<std::byte>(bytes + 1, 2 * page), TransferPath::kClientMemory);
  EXPECT_EQ(s.code(), kIOReturnNotWritable) << s.message();
  EXPECT_THAT(Message(s), HasSubstr("the destination buffer is read-only"));
  s = device().Read(0x2000, std::span<std::byte>(bytes + 5, 1), TransferPath::kClientMemory);
  EXPECT_EQ(s.code(), kIOReturnNotWritable) << s.message();
  EXPECT_EQ(CheckPattern(bytes, size, 5), size) << "read-only memory changed";

  // As a source: fine.
  s = device().Write(0x2000, std::span<const std::byte>(bytes, size));
  ASSERT_TRUE(s) << s.message();
  EXPECT_EQ(
      CheckPattern(reinterpret_cast<std::byte*>(xdma().cardMemory().data()) + 0x2000, size, 5),
      size);
  RegisteredBuffer toCard;
  s = device().Register(std::span<std::byte>(bytes, size), BufferDirection::kToCard, &toCard);
  EXPECT_TRUE(s) << s.message();
  RegisteredBuffer fromCard;
  s = device().Register(std::span<std::byte>(bytes, size), BufferDirection::kFromCard, &fromCard);
  EXPECT_NE(s.code(), kIOReturnSuccess);
  EXPECT_FALSE(fromCard.valid());
  munmap(p, size);
  ExpectUsable();
}

TEST_F(Errors, UnknownSelectorAndWrongCounts) {
  io_connect_t c = OpenRawConnection();
  ASSERT_NE(c, IO_OBJECT_NULL);
  uint64_t in[16] = {};
  uint64_t out[16] = {};
  uint32_t outCount = 16;
  EXPECT_EQ(IOConnectCallScalarMethod(c, protocol::kSelectorCount, in, 0, out, &outCount),
            kIOReturnBadArgument);
  outCount = 16;
  EXPECT_EQ(IOConnectCallScalarMethod(c, 0xffff, in, 3, out, &outCount), kIOReturnBadArgument);
  // Too few and too many scalars.
  std::vector<uint8_t> buffer(8192);
  in[0] = 0;
  in[1] = reinterpret_cast<uintptr_t>(buffer.data());
  in[2] = buffer.size();
  EXPECT_EQ(
      IOConnectCallScalarMethod(c, protocol::kSelectorReadClientMemory, in, 2, nullptr, nullptr),
      kIOReturnBadArgument);
  EXPECT_EQ(
      IOConnectCallScalarMethod(c, protocol::kSelectorWriteClientMemory, in, 4, nullptr, nullptr),
      kIOReturnBadArgument);
  outCount = protocol::kDeviceInfoCount;
  EXPECT_EQ(IOConnectCallScalarMethod(c, protocol::kSelectorGetDeviceInfo, in, 1, out, &outCount),
            kIOReturnBadArgument);
  outCount = 0;  // the register read has one output
  const uint64_t reg[3] = {static_cast<uint64_t>(device().info().userBar), 0, 4};
  EXPECT_EQ(IOConnectCallScalarMethod(c, protocol::kSelectorRegisterRead, reg, 3, out, &outCount),
            kIOReturnBadArgument);
  // A structure where the selector takes none.
  EXPECT_EQ(IOConnectCallMethod(c, protocol::kSelectorWriteClientMemory, in, 3, buffer.data(), 16,
                                nullptr, nullptr, nullptr, nullptr),
            kIOReturnBadArgument);
  // An unknown registered-buffer id.
  const uint64_t unknown[4] = {0x12345, 0, 0, 16};
  EXPECT_EQ(
      IOConnectCallScalarMethod(c, protocol::kSelectorReadRegistered, unknown, 4, nullptr, nullptr),
      kIOReturnNotFound);
  IOServiceClose(c);
  ExpectUsable();
}

TEST_F(Errors, ProtocolVersionMismatchRefusedAtOpen) {
  io_service_t service =
      IOServiceGetMatchingService(kIOMainPortDefault, IOServiceNameMatching("FpgaDriver"));
  ASSERT_NE(service, IO_OBJECT_NULL);
  io_connect_t c = IO_OBJECT_NULL;
  EXPECT_EQ(IOServiceOpen(service, mach_task_self(), (protocol::kVersionMajor + 1) << 16, &c),
            kIOReturnUnsupported);
  IOObjectRelease(service);
  ExpectUsable();
}

TEST_F(Errors, OpenNoSuchBoard) {
  Device other;
  Status s = Device::Open(7, &other);
  EXPECT_EQ(s.code(), kIOReturnNotFound);
  EXPECT_THAT(Message(s), HasSubstr("no board 7"));
  EXPECT_FALSE(other.isOpen());
  EXPECT_EQ(other.Read(0, std::span<std::byte>()).code(), kIOReturnNotOpen);
}

TEST_F(Errors, RegisterOutsideTheBar) {
  const DeviceInfo& info = device().info();
  const int bar = info.userBar;
  ASSERT_GE(bar, 0);
  const uint64_t size = info.barSizes[bar];
  uint32_t v32 = 0;
  uint64_t v64 = 0;
  Status s = device().Read32(bar, size, &v32);
  EXPECT_EQ(s.code(), kIOReturnBadArgument);
  EXPECT_THAT(Message(s), HasSubstr("outside BAR"));
  EXPECT_EQ(device().Read32(bar, size - 2, &v32).code(), kIOReturnBadArgument);
  EXPECT_EQ(device().Write32(bar, ~uint64_t{0} - 1, 0).code(), kIOReturnBadArgument);
  EXPECT_EQ(device().Read64(bar, size - 4, &v64).code(), kIOReturnBadArgument);
  EXPECT_EQ(device().Read32(bar, 2, &v32).code(), kIOReturnBadArgument);  // misaligned
  std::vector<uint32_t> block(4);
  EXPECT_EQ(device().ReadBlock(bar, size - 8, block).code(), kIOReturnBadArgument);
  EXPECT_EQ(device().Read32(6, 0, &v32).code(), kIOReturnBadArgument);
  EXPECT_EQ(device().Read32(-1, 0, &v32).code(), kIOReturnBadArgument);
  // The dext checks as well.
  io_connect_t c = OpenRawConnection();
  ASSERT_NE(c, IO_OBJECT_NULL);
  const uint64_t args[3] = {static_cast<uint64_t>(bar), size, 4};
  uint64_t out = 0;
  uint32_t count = 1;
  EXPECT_EQ(IOConnectCallScalarMethod(c, protocol::kSelectorRegisterRead, args, 3, &out, &count),
            kIOReturnBadArgument);
  const uint64_t wide[3] = {static_cast<uint64_t>(bar), 0, 3};
  EXPECT_EQ(IOConnectCallScalarMethod(c, protocol::kSelectorRegisterRead, wide, 3, &out, &count),
            kIOReturnBadArgument);
  IOServiceClose(c);
  // Still usable: the ID register of the reference design.
  ASSERT_TRUE(device().Read32(bar, reference_design::user_reg::kId, &v32));
  EXPECT_EQ(v32, reference_design::kUserBlockId);
  ExpectUsable();
}

TEST_F(Errors, DmaBarRefused) {
  const int dma = device().info().dmaBar;
  ASSERT_GE(dma, 0);
  EXPECT_FALSE(device().IsBarMapped(dma));
  uint32_t v = 0;
  Status s = device().Read32(dma, 0, &v);
  EXPECT_EQ(s.code(), kIOReturnNotPermitted);
  EXPECT_THAT(Message(s), HasSubstr("DMA engine"));
  EXPECT_EQ(device().Write32(dma, 0x4, 1).code(), kIOReturnNotPermitted);
  io_connect_t c = OpenRawConnection();
  ASSERT_NE(c, IO_OBJECT_NULL);
  const uint64_t args[3] = {static_cast<uint64_t>(dma), 0, 4};
  uint64_t out = 0;
  uint32_t count = 1;
  EXPECT_EQ(IOConnectCallScalarMethod(c, protocol::kSelectorRegisterRead, args, 3, &out, &count),
            kIOReturnNotPermitted);
  const uint64_t write[4] = {static_cast<uint64_t>(dma), 0x4, 4, 1};
  EXPECT_EQ(
      IOConnectCallScalarMethod(c, protocol::kSelectorRegisterWrite, write, 4, nullptr, nullptr),
      kIOReturnNotPermitted);
  mach_vm_address_t address = 0;
  mach_vm_size_t size = 0;
  EXPECT_NE(IOConnectMapMemory64(c, protocol::kMemoryTypeBar0 + dma, mach_task_self(), &address,
                                 &size, kIOMapAnywhere),
            kIOReturnSuccess);
  IOServiceClose(c);
  ExpectUsable();
}

// ---- registered buffers: rules and lifetime ---------------------------------------------------

TEST_F(Errors, RegisteredBufferRules) {
  PageBuffer memory(64 * 1024);
  RegisteredBuffer toCard;
  ASSERT_TRUE(device().Register(memory.span(0, memory.size()), BufferDirection::kToCard, &toCard));
  EXPECT_TRUE(toCard.valid());
  EXPECT_EQ(toCard.memory().data(), memory.data());
  Status s = device().Read(0, toCard, 0, 16);
  EXPECT_EQ(s.code(), kIOReturnNotPermitted);
  EXPECT_THAT(Message(s), HasSubstr("writes to the card only"));
  s = device().Write(0, toCard, memory.size() - 8, 16);
  EXPECT_EQ(s.code(), kIOReturnBadArgument);
  EXPECT_THAT(Message(s), HasSubstr("outside the registered buffer"));
  EXPECT_EQ(device().Write(kCardMemory - 8, toCard, 0, 16).code(), kIOReturnBadArgument);
  RegisteredBuffer none;
  EXPECT_EQ(device().Write(0, none, 0, 0).code(), kIOReturnBadArgument);
  EXPECT_EQ(device().Register({}, BufferDirection::kBoth, &none).code(), kIOReturnBadArgument);
  ExpectUsable();
}

TEST_F(Errors, RegisteredBuffersAreReleased) {
  PageBuffer memory(4096 * 80);
  {
    std::vector<RegisteredBuffer> buffers(protocol::kMaxRegisteredBuffers);
    for (uint32_t i = 0; i < protocol::kMaxRegisteredBuffers; ++i) {
      Status s =
          device().Register(memory.span(i * 4096, 4096), BufferDirection::kBoth, &buffers[i]);
      ASSERT_TRUE(s) << i << ": " << s.message();
    }
    RegisteredBuffer extra;
    Status s = device().Register(memory.span(0, 4096), BufferDirection::kBoth, &extra);
    EXPECT_EQ(s.code(), kIOReturnNoResources) << s.message();
    // Explicit release frees one slot.
    EXPECT_TRUE(buffers[3].Release());
    EXPECT_FALSE(buffers[3].valid());
    EXPECT_TRUE(device().Register(memory.span(0, 4096), BufferDirection::kBoth, &extra));
  }  // every registration is dropped here (RAII)
  std::vector<RegisteredBuffer> again(protocol::kMaxRegisteredBuffers);
  for (uint32_t i = 0; i < protocol::kMaxRegisteredBuffers; ++i) {
    ASSERT_TRUE(device().Register(memory.span(i * 4096, 4096), BufferDirection::kBoth, &again[i]));
  }
  // Moving a registration keeps it (one registration, one slot).
  RegisteredBuffer moved = std::move(again[0]);
  EXPECT_FALSE(again[0].valid());
  ASSERT_TRUE(moved.valid());
  FillPattern(memory.data(), 4096, 77);
  ASSERT_TRUE(device().Write(0x9000, moved, 0, 4096));
  EXPECT_EQ(
      CheckPattern(reinterpret_cast<std::byte*>(xdma().cardMemory().data()) + 0x9000, 4096, 77),
      4096u);
  again.clear();
  ExpectUsable();
}

TEST_F(Errors, CloseInvalidatesRegistrationsAndMovedDeviceKeepsThem) {
  Device a;
  ASSERT_TRUE(Device::Open(0, &a));
  PageBuffer memory(3 * 4096);
  RegisteredBuffer kept;
  ASSERT_TRUE(a.Register(memory.span(1, 2 * 4096), BufferDirection::kBoth, &kept));
  Device b = std::move(a);  // the registration follows the connection
  EXPECT_FALSE(a.isOpen());
  FillPattern(memory.data() + 1, 2 * 4096, 31);
  Status s = b.Write(0x5003, kept, 0, 2 * 4096);
  ASSERT_TRUE(s) << s.message();
  EXPECT_EQ(
      CheckPattern(reinterpret_cast<std::byte*>(xdma().cardMemory().data()) + 0x5003, 2 * 4096, 31),
      2 * 4096u);
  EXPECT_EQ(a.Write(0x5003, kept, 0, 16).code(), kIOReturnNotOpen);
  b.Close();
  EXPECT_FALSE(kept.valid());
  EXPECT_TRUE(kept.Release());  // nothing left to release
  EXPECT_EQ(b.Write(0, std::span<const std::byte>()).code(), kIOReturnNotOpen);
  // A buffer registered with one device is not usable with another.
  Device c;
  ASSERT_TRUE(Device::Open(0, &c));
  RegisteredBuffer mine;
  ASSERT_TRUE(c.Register(memory.span(0, 4096), BufferDirection::kBoth, &mine));
  EXPECT_EQ(device().Write(0, mine, 0, 16).code(), kIOReturnBadArgument);
  ExpectUsable();
}

TEST_F(Errors, ListAndInfo) {
  std::vector<BoardSummary> boards = Device::List();
  ASSERT_EQ(boards.size(), 1u);
  EXPECT_EQ(boards[0].index, 0u);
  EXPECT_EQ(boards[0].vendorId, 0x10EE);
  EXPECT_EQ(boards[0].deviceId, 0x9034);
  EXPECT_FALSE(boards[0].name.empty());
  const DeviceInfo& info = device().info();
  EXPECT_EQ(info.protocolVersion, protocol::kProtocolVersion);
  EXPECT_TRUE(info.hasDmaEngine);
  EXPECT_EQ(info.cardMemorySize, kCardMemory);
  EXPECT_EQ(info.h2cChannels, 2u);
  EXPECT_EQ(info.c2hChannels, 2u);
  EXPECT_EQ(info.userBar, xdma().userBarIndex());
  EXPECT_EQ(info.dmaBar, xdma().dmaBarIndex());
  EXPECT_EQ(info.barSizes[info.userBar], 64u * 1024);
  EXPECT_STREQ(IOReturnName(kIOReturnNotWritable), "kIOReturnNotWritable");
  // What a Mac's wiring of app memory returns (xnu IOGeneralMemoryDescriptor::wireVirtual).
  EXPECT_STREQ(IOReturnName(kIOReturnCannotWire), "kIOReturnCannotWire");
  EXPECT_STREQ(IOReturnName(KERN_PROTECTION_FAILURE), "KERN_PROTECTION_FAILURE");
}

}  // namespace
}  // namespace fpgadext::integration
