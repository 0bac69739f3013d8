// The host-cost model (issue 14 item 1; docs/performance.md "Host-cost model") is applied where
// the cost occurs and accounted exactly: accounting tests, not timing tests (nothing here looks
// at a clock).
#include <fpgadext/emu/host_cost.h>
#include <fpgadext/protocol.h>

#include "board_fixture.h"

namespace fpgadext::integration {
namespace {

using emu::HostCost;

class HostCostTest : public BoardFixture {
 protected:
  void TearDown() override {
    emu::SetHostCostProfile(emu::HostCostProfileNone());
    BoardFixture::TearDown();
  }
  static uint64_t Charges(const emu::HostCostTotals& t, HostCost c) {
    return t.charges[static_cast<int>(c)];
  }
  static uint64_t Ns(const emu::HostCostTotals& t, HostCost c) { return t.ns[static_cast<int>(c)]; }
};

TEST_F(HostCostTest, ProfilesAreFoundByName) {
  ASSERT_NE(emu::FindHostCostProfile("none"), nullptr);
  ASSERT_NE(emu::FindHostCostProfile("mac-m2"), nullptr);
  EXPECT_EQ(emu::FindHostCostProfile("mac-m3"), nullptr);
  const emu::HostCostProfile& none = *emu::FindHostCostProfile("none");
  for (int i = 0; i < static_cast<int>(HostCost::kCount); ++i) EXPECT_EQ(none.ns[i], 0u) << i;
  const emu::HostCostProfile& m2 = *emu::FindHostCostProfile("mac-m2");
  EXPECT_EQ(m2.pageSize, 16384u);
  EXPECT_GT(m2.Of(HostCost::kDriverCall), 0u);
  EXPECT_GT(m2.Of(HostCost::kWirePage), 0u);
}

// One driver call under mac-m2 is accounted with exactly the table's figure, once; under
// "none" with nothing.
TEST_F(HostCostTest, DriverCallIsChargedTheTablesFigure) {
  io_connect_t c = OpenRawConnection();
  ASSERT_NE(c, IO_OBJECT_NULL);
  emu::SetHostCostProfile(emu::HostCostProfileMacM2());
  const emu::HostCostTotals before = emu::HostCostAccounted();
  ASSERT_EQ(IOConnectCallScalarMethod(c, protocol::kSelectorNop, nullptr, 0, nullptr, nullptr),
            kIOReturnSuccess);
  const emu::HostCostTotals after = emu::HostCostAccounted();
  EXPECT_EQ(Charges(after, HostCost::kDriverCall) - Charges(before, HostCost::kDriverCall), 1u);
  EXPECT_EQ(Ns(after, HostCost::kDriverCall) - Ns(before, HostCost::kDriverCall),
            emu::HostCostProfileMacM2().Of(HostCost::kDriverCall));

  emu::SetHostCostProfile(emu::HostCostProfileNone());
  const emu::HostCostTotals quiet = emu::HostCostAccounted();
  ASSERT_EQ(IOConnectCallScalarMethod(c, protocol::kSelectorNop, nullptr, 0, nullptr, nullptr),
            kIOReturnSuccess);
  EXPECT_EQ(emu::HostCostAccounted().TotalNs(), quiet.TotalNs());
  IOServiceClose(c);
}

// Client memory is wired per PrepareForDMA (a fixed part and one per 16 KiB page) and unwired
// per CompleteDMA; registered buffers pay it once, at registration, not per transfer.
TEST_F(HostCostTest, AppMemoryIsChargedPerWiringAndPerPage) {
  Device dev;
  ASSERT_TRUE(Device::Open(0, &dev));
  emu::HostCostProfile p;
  p.name = "test";
  p.ns[static_cast<int>(HostCost::kWire)] = 1000;
  p.ns[static_cast<int>(HostCost::kWirePage)] = 10;
  p.ns[static_cast<int>(HostCost::kUnwire)] = 300;
  p.ns[static_cast<int>(HostCost::kUnwirePage)] = 3;
  emu::SetHostCostProfile(p);
  // 4 KiB inside one 16 KiB page: every wiring covers exactly one page.
  PageBuffer memory(32768);
  auto* inside = reinterpret_cast<std::byte*>((reinterpret_cast<uintptr_t>(memory.data()) + 16383) &
                                              ~uintptr_t{16383});
  ASSERT_LE(inside + 4096, memory.data() + 32768);
  const emu::HostCostTotals before = emu::HostCostAccounted();
  ASSERT_TRUE(dev.Read(0x4000, std::span<std::byte>(inside, 4096), TransferPath::kClientMemory));
  const emu::HostCostTotals after = emu::HostCostAccounted();
  const uint64_t wirings = Charges(after, HostCost::kWire) - Charges(before, HostCost::kWire);
  EXPECT_GE(wirings, 1u);
  EXPECT_EQ(Ns(after, HostCost::kWire) - Ns(before, HostCost::kWire), 1000 * wirings);
  EXPECT_EQ(Ns(after, HostCost::kWirePage) - Ns(before, HostCost::kWirePage), 10 * wirings);
  EXPECT_EQ(Charges(after, HostCost::kUnwire) - Charges(before, HostCost::kUnwire), wirings);
  EXPECT_EQ(Ns(after, HostCost::kUnwirePage) - Ns(before, HostCost::kUnwirePage), 3 * wirings);

  // Registered: wired at Register, nothing per transfer.
  RegisteredBuffer buffer;
  ASSERT_TRUE(dev.Register(std::span<std::byte>(inside, 4096), BufferDirection::kBoth, &buffer));
  const emu::HostCostTotals registered = emu::HostCostAccounted();
  ASSERT_TRUE(dev.Read(0x4000, buffer, 0, 4096));
  ASSERT_TRUE(dev.Write(0x4000, buffer, 0, 4096));
  EXPECT_EQ(emu::HostCostAccounted().TotalNs(), registered.TotalNs());
}

}  // namespace
}  // namespace fpgadext::integration
