// Transfer paths chosen per size (issue 14 item 2; docs/library.md "Transfer paths"): kAuto's
// choice from the Mac's path costs, the bounce buffer's bytes at its boundaries and at odd
// alignments, and the dext's answers to bad bounce calls.
#include <fpgadext/emu/host_cost.h>
#include <fpgadext/path_costs.h>
#include <fpgadext/protocol.h>

#include <cstring>
#include <vector>

#include "board_fixture.h"

namespace fpgadext::integration {
namespace {

using emu::HostCost;

class TransferPaths : public BoardFixture {
 protected:
  void TearDown() override {
    emu::SetHostCostProfile(emu::HostCostProfileNone());
    BoardFixture::TearDown();
  }
  // The device still moves bytes both ways on the automatic path.
  static void ExpectUsable() {
    std::vector<std::byte> out(4097), in(4097);
    FillPattern(out.data(), out.size(), 77);
    ASSERT_TRUE(device().Write(0x7000'0001, out));
    ASSERT_TRUE(device().Read(0x7000'0001, in));
    EXPECT_EQ(in, out);
  }
  static const std::byte* Card(uint64_t address) {
    return reinterpret_cast<const std::byte*>(xdma().cardMemory().data()) + address;
  }
};

constexpr uint64_t kMiB = 1ull << 20;

// The library plans with the figures the emulation's mac-m2 profile charges: one table each
// side, kept equal here.
TEST_F(TransferPaths, ProductPathCostsAreTheMacM2Profiles) {
  const emu::HostCostProfile& m2 = emu::HostCostProfileMacM2();
  const protocol::PathCosts& c = protocol::kMacM2PathCosts;
  EXPECT_EQ(c.driverCallNs, m2.Of(HostCost::kDriverCall));
  EXPECT_EQ(c.wireNs, m2.Of(HostCost::kWire));
  EXPECT_EQ(c.wirePageNs, m2.Of(HostCost::kWirePage));
  EXPECT_EQ(c.unwireNs, m2.Of(HostCost::kUnwire));
  EXPECT_EQ(c.unwirePageNs, m2.Of(HostCost::kUnwirePage));
  EXPECT_EQ(c.pageSize, m2.pageSize);
}

// In-band up to 4096 bytes, the bounce buffer above, at every size up to the largest a call takes:
// under the Mac's figures wiring per call never costs less than the copy.
TEST_F(TransferPaths, AutoPathPerSize) {
  for (uint64_t n : {0ull, 1ull, 8ull, 4095ull, 4096ull}) {
    EXPECT_EQ(device().AutoPath(n), TransferPath::kInband) << n;
  }
  for (uint64_t n = 4097; n <= protocol::kMaxTransferLength; n = n * 2 + 1) {
    EXPECT_EQ(device().AutoPath(n), TransferPath::kBounce) << n;
    EXPECT_FALSE(
        protocol::ClientMemoryIsCheaper(protocol::kMacM2PathCosts, n, protocol::kBounceSize))
        << n;
  }
}

// The crossover moves with the figures: with a slow copy and cheap wiring, client memory wins
// above the size where the copy costs more than wiring, and not below it.
TEST_F(TransferPaths, ClientMemoryWinsWhereWiringCostsLessThanTheCopy) {
  protocol::PathCosts slowCopy = protocol::kMacM2PathCosts;
  slowCopy.copyBytesPerUs = 100;  // 0.1 GB/s
  slowCopy.wireNs = 200'000;
  EXPECT_FALSE(protocol::ClientMemoryIsCheaper(slowCopy, 8192, protocol::kBounceSize));
  EXPECT_TRUE(protocol::ClientMemoryIsCheaper(slowCopy, 4 * kMiB, protocol::kBounceSize));
}

// The automatic path above 4096 bytes wires none of the app's pages (the bounce buffer was
// prepared once); forced client memory does, per call.
TEST_F(TransferPaths, AutoPathWiresNoAppMemory) {
  emu::HostCostProfile p;
  p.name = "count wiring";
  p.ns[static_cast<int>(HostCost::kWire)] = 1;
  emu::SetHostCostProfile(p);
  std::vector<std::byte> data(64 * 1024 + 3);
  FillPattern(data.data(), data.size(), 11);
  const uint64_t before = emu::HostCostAccounted().charges[static_cast<int>(HostCost::kWire)];
  ASSERT_TRUE(device().Write(0x3000, data));
  ASSERT_TRUE(device().Read(0x3000, data));
  EXPECT_EQ(emu::HostCostAccounted().charges[static_cast<int>(HostCost::kWire)], before);
  ASSERT_TRUE(device().Read(0x3000, data, TransferPath::kClientMemory));
  EXPECT_GT(emu::HostCostAccounted().charges[static_cast<int>(HostCost::kWire)], before);
  EXPECT_EQ(CheckPattern(data.data(), data.size(), 11), data.size());
}

// Every byte through the bounce buffer, at sizes around the buffer's and the pages' boundaries
// and at odd app and card alignments, both directions, with the bytes around the range intact.
TEST_F(TransferPaths, BounceMovesEveryByteAtBoundariesAndAlignments) {
  const uint64_t sizes[] = {1, 4097, 16383, 16385, kMiB - 1, kMiB, kMiB + 1, 3 * kMiB + 7};
  const uint64_t appOffsets[] = {0, 1, 7};
  const uint64_t cards[] = {0x1003, 0x40000};
  std::vector<std::byte> source(3 * kMiB + 64), back(3 * kMiB + 64);
  uint64_t seed = 100;
  for (uint64_t size : sizes) {
    for (uint64_t offset : appOffsets) {
      for (uint64_t card : cards) {
        ++seed;
        SCOPED_TRACE(testing::Message()
                     << "size " << size << " app+" << offset << " card 0x" << std::hex << card);
        FillPattern(source.data() + offset, size, seed);
        const std::byte before = Card(card + size)[0];
        ASSERT_TRUE(device().Write(card, std::span<const std::byte>(source.data() + offset, size),
                                   TransferPath::kBounce));
        EXPECT_EQ(CheckPattern(Card(card), size, seed), size);
        EXPECT_EQ(Card(card + size)[0], before) << "a byte past the range was written";
        std::memset(back.data(), 0xee, back.size());
        ASSERT_TRUE(device().Read(card, std::span<std::byte>(back.data() + offset, size),
                                  TransferPath::kBounce));
        EXPECT_EQ(CheckPattern(back.data() + offset, size, seed), size);
        if (offset > 0) EXPECT_EQ(back[offset - 1], std::byte{0xee});
        EXPECT_EQ(back[offset + size], std::byte{0xee}) << "a byte past the destination changed";
      }
    }
  }
  ExpectUsable();
}

// What the dext answers to bounce calls it cannot do: a direction that is not one of the two, a
// range outside the buffer, a card range outside the card, a wrong scalar count.
TEST_F(TransferPaths, BadBounceCallsGetAClearIOReturn) {
  io_connect_t c = OpenRawConnection();
  ASSERT_NE(c, IO_OBJECT_NULL);
  auto call = [&](uint64_t direction, uint64_t card, uint64_t offset, uint64_t length) {
    const uint64_t in[] = {direction, card, offset, length};
    return IOConnectCallScalarMethod(c, protocol::kSelectorBounceTransfer, in, 4, nullptr, nullptr);
  };
  mach_vm_address_t address = 0;
  mach_vm_size_t size = 0;
  ASSERT_EQ(IOConnectMapMemory64(c, protocol::kMemoryTypeBounce, mach_task_self(), &address, &size,
                                 kIOMapAnywhere),
            kIOReturnSuccess);
  EXPECT_GE(size, protocol::kBounceSize);
  EXPECT_EQ(call(protocol::kBufferToCard, 0, 0, 64), kIOReturnSuccess);
  EXPECT_EQ(call(0, 0, 0, 64), kIOReturnBadArgument);
  EXPECT_EQ(call(protocol::kBufferBoth, 0, 0, 64), kIOReturnBadArgument);
  EXPECT_EQ(call(protocol::kBufferFromCard, 0, protocol::kBounceSize - 8, 16),
            kIOReturnBadArgument);
  EXPECT_EQ(call(protocol::kBufferFromCard, 0, UINT64_MAX, 2), kIOReturnBadArgument);
  EXPECT_EQ(call(protocol::kBufferFromCard, 0, 8, UINT64_MAX), kIOReturnBadArgument);
  EXPECT_NE(call(protocol::kBufferFromCard, xdma().cardMemory().size() - 8, 0, 16),
            kIOReturnSuccess);
  const uint64_t three[] = {protocol::kBufferToCard, 0, 0};
  EXPECT_EQ(
      IOConnectCallScalarMethod(c, protocol::kSelectorBounceTransfer, three, 3, nullptr, nullptr),
      kIOReturnBadArgument);
  EXPECT_EQ(IOConnectUnmapMemory64(c, protocol::kMemoryTypeBounce, mach_task_self(), address),
            kIOReturnSuccess);
  IOServiceClose(c);
  ExpectUsable();
}

}  // namespace
}  // namespace fpgadext::integration
