// Completion policy end to end (docs/engine.md "Completion policy", docs/dext.md "Channel
// interrupts"): a dext whose personality says FPGACompletionPolicy = interrupt (or adaptive)
// moves every byte right while its synchronous transfers sleep until the channel's MSI-X vector
// fires; the board model counts the messages per vector.
#include <fpgadext/fpgadext.hpp>

#include <vector>

#include "board_fixture.h"

namespace fpgadext::integration {
namespace {

class CompletionPolicyTest : public FreshBoardFixture,
                             public ::testing::WithParamInterface<const char*> {
 protected:
  std::string Bundle() override {
    const std::string policy = GetParam();
    return BundleCopy("completion-" + policy, [&](std::string& plist) {
      return AddPersonalityProperty(plist, "FPGACompletionPolicy",
                                    "<string>" + policy + "</string>");
    });
  }
  static uint64_t ChannelMessages() {
    const unsigned channels = xdma().config().h2cChannels + xdma().config().c2hChannels;
    const auto counters = xdma().counters();
    uint64_t sum = 0;
    for (unsigned v = 0; v < channels; ++v) sum += counters.vectorMessages[v];
    return sum;
  }
};

TEST_P(CompletionPolicyTest, TransfersSleepOnTheChannelInterruptAndMoveEveryByte) {
  // A transfer whose first poll already finds it done does not sleep (how often that happens
  // is the scheduler's): round trips until one slept, at most 20, every byte checked.
  std::vector<std::byte> out(16 << 20), in(16 << 20);
  for (int i = 0; i < 20 && ChannelMessages() == 0; ++i) {
    FillPattern(out.data(), out.size(), 100 + i);
    ASSERT_TRUE(device().Write(0, out).ok());
    ASSERT_TRUE(device().Read(0, in).ok());
    ASSERT_EQ(CheckPattern(in.data(), in.size(), 100 + i), in.size());
  }
  EXPECT_GT(ChannelMessages(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Policies, CompletionPolicyTest,
                         ::testing::Values("interrupt", "adaptive"));

}  // namespace
}  // namespace fpgadext::integration
