// The dext's channel completion interrupts (docs/dext.md "Channel interrupts"): every DMA
// channel gets a vector of its own in the XDMA IRQ block (channel bit i on vector i, PG195 "IRQ
// Block Channel Vector Number"), its completion interrupts unmasked in the engine, and the IRQ
// block's channel enable off unless a transfer sleeps on it — so transfers under the default
// policy (poll) cause no interrupt at all.
#include <xdma/xdma_registers.h>
#include <fpgadext/fpgadext.hpp>

#include <vector>

#include "board_fixture.h"

namespace fpgadext::integration {
namespace {

using namespace xdma;

class ChannelInterruptsTest : public BoardFixture {
 protected:
  static uint32_t DmaRegister(uint32_t offset) {
    return static_cast<uint32_t>(xdma().Bar(xdma().dmaBarIndex())->Read(offset, 4));
  }
  static uint64_t ChannelMessages(unsigned channels) {
    const auto counters = xdma().counters();
    uint64_t sum = 0;
    for (unsigned v = 0; v < channels; ++v) sum += counters.vectorMessages[v];
    return sum;
  }
};

TEST_F(ChannelInterruptsTest, EveryChannelHasItsVectorAndPollingTransfersRaiseNone) {
  const unsigned h2c = xdma().config().h2cChannels, c2h = xdma().config().c2hChannels;
  uint32_t vectors[2] = {};
  for (unsigned bit = 0; bit < h2c + c2h; ++bit) vectors[bit / 4] |= bit << IrqVectorShift(bit);
  EXPECT_EQ(DmaRegister(kIrqBlockBase + irq_reg::kChannelVectorBase), vectors[0]);
  EXPECT_EQ(DmaRegister(kIrqBlockBase + irq_reg::kChannelVectorBase + 4), vectors[1]);
  // The engine unmasked completion and stop on every channel (not idle_stopped).
  for (unsigned c = 0; c < c2h; ++c) {
    const uint32_t mask =
        DmaRegister(ChannelBase(Direction::kC2h, c) + channel_reg::kIntEnableMask);
    EXPECT_NE(mask & ChannelIntEnable::im_descriptor_completed_field::kMask, 0u) << c;
    EXPECT_EQ(mask & ChannelIntEnable::im_idle_stopped_field::kMask, 0u) << c;
  }

  const uint64_t before = ChannelMessages(h2c + c2h);
  std::vector<std::byte> out(1 << 20), in(1 << 20);
  FillPattern(out.data(), out.size(), 77);
  ASSERT_TRUE(device().Write(0, out).ok());
  ASSERT_TRUE(device().Read(0, in).ok());
  EXPECT_EQ(CheckPattern(in.data(), in.size(), 77), in.size());
  EXPECT_EQ(DmaRegister(kIrqBlockBase + irq_reg::kChannelIntEnable), 0u);
  EXPECT_EQ(ChannelMessages(h2c + c2h), before);
}

}  // namespace
}  // namespace fpgadext::integration
