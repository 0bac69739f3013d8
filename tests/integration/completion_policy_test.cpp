// Completion policy end to end (docs/engine.md "Completion policy", docs/dext.md "Channel
// interrupts"): a dext whose personality says FPGACompletionPolicy = interrupt (or adaptive)
// moves every byte right while its synchronous transfers sleep until the channel's MSI-X vector
// fires; the board model counts the messages per vector. And the app's own choice, per Device
// and per call (kSelectorCompletionPolicy, docs/library.md "Completion policy").
#include <IOKit/IOKitLib.h>
#include <fpgadext/fpgadext.h>
#include <fpgadext/protocol.h>
#include <gmock/gmock.h>
#include <fpgadext/fpgadext.hpp>

#include <string>
#include <vector>

#include "board_fixture.h"

namespace fpgadext::integration {
namespace {

class CompletionPolicyTest : public FreshBoardFixture,
                             public ::testing::WithParamInterface<const char*> {
 public:
  static uint64_t ChannelMessagesNow() { return ChannelMessages(); }

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
  // is the scheduler's): round trips until one slept, at most 20, every byte checked. Whether an
  // adaptive transfer sleeps is the machine's: the model completes a descriptor every few µs,
  // each one progress, so it sleeps only when the model stalls for longer than the spin (it
  // slept in some runs, not in others, on the same machine). Adaptive's rule is tested in the
  // engine (CompletionPolicy.AdaptivePollsWithinItsSpinAndSleepsAfterIt); here its bytes.
  const bool mustSleep = std::string(GetParam()) == "interrupt";
  std::vector<std::byte> out(16 << 20), in(16 << 20);
  for (int i = 0; i < (mustSleep ? 20 : 2) && ChannelMessages() == 0; ++i) {
    FillPattern(out.data(), out.size(), 100 + i);
    ASSERT_TRUE(device().Write(0, out).ok());
    ASSERT_TRUE(device().Read(0, in).ok());
    ASSERT_EQ(CheckPattern(in.data(), in.size(), 100 + i), in.size());
  }
  if (mustSleep) EXPECT_GT(ChannelMessages(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Policies, CompletionPolicyTest,
                         ::testing::Values("interrupt", "adaptive"));

// The policy chosen by the app (kSelectorCompletionPolicy, docs/library.md "Completion policy"):
// per Device and per call, on a board whose personality says interrupt. The channel vectors'
// messages tell which policy a transfer ran with: only a sleeping transfer enables a channel's
// interrupt.
class CompletionChoiceTest : public CompletionPolicyTest {};

// 16 MiB round trips with `options`, every byte checked; true once a channel interrupted.
bool RoundTripsInterrupt(Device& device, TransferOptions options, int rounds) {
  std::vector<std::byte> out(16 << 20), in(16 << 20);
  // A small transfer first: it sets the connection's policy, and a message the previous
  // policy's last transfer raised as it finished has arrived by the time it returns.
  EXPECT_TRUE(device.Write(0, std::span(out).first(4096), options).ok());
  const uint64_t before = CompletionPolicyTest::ChannelMessagesNow();
  for (int i = 0; i < rounds && CompletionPolicyTest::ChannelMessagesNow() == before; ++i) {
    FillPattern(out.data(), out.size(), 300 + i);
    EXPECT_TRUE(device.Write(0, out, options).ok());
    EXPECT_TRUE(device.Read(0, in, options).ok());
    EXPECT_EQ(CheckPattern(in.data(), in.size(), 300 + i), in.size());
  }
  return CompletionPolicyTest::ChannelMessagesNow() != before;
}

TEST_P(CompletionChoiceTest, ADevicesChoiceWinsOverTheBoardsDefaultAndDefaultGoesBack) {
  CompletionPolicy inEffect = CompletionPolicy::kDefault;
  ASSERT_TRUE(device().SetCompletionPolicy(CompletionPolicy::kPoll, &inEffect).ok());
  EXPECT_EQ(inEffect, CompletionPolicy::kPoll);
  EXPECT_FALSE(RoundTripsInterrupt(device(), {}, 1));  // polling never enables a channel
  ASSERT_TRUE(device().SetCompletionPolicy(CompletionPolicy::kDefault, &inEffect).ok());
  EXPECT_EQ(std::string(CompletionPolicyName(inEffect)), GetParam());  // the personality's
  if (inEffect == CompletionPolicy::kInterrupt) EXPECT_TRUE(RoundTripsInterrupt(device(), {}, 20));
}

TEST_P(CompletionChoiceTest, ACallsChoiceHoldsForThatCallOnly) {
  ASSERT_TRUE(device().SetCompletionPolicy(CompletionPolicy::kPoll).ok());
  TransferOptions sleeping;
  sleeping.completion = CompletionPolicy::kInterrupt;
  EXPECT_TRUE(RoundTripsInterrupt(device(), sleeping, 20));
  EXPECT_FALSE(RoundTripsInterrupt(device(), {}, 1));  // the Device's poll again
  TransferOptions polling(TransferPath::kClientMemory);
  polling.completion = CompletionPolicy::kPoll;
  ASSERT_TRUE(device().SetCompletionPolicy(CompletionPolicy::kInterrupt).ok());
  EXPECT_FALSE(RoundTripsInterrupt(device(), polling, 1));
}

TEST_P(CompletionChoiceTest, AnUnknownPolicyIsRefusedWithItsName) {
  const Status s = device().SetCompletionPolicy(static_cast<CompletionPolicy>(4));
  EXPECT_EQ(s.code(), kIOReturnBadArgument);
  EXPECT_THAT(s.message(), ::testing::HasSubstr("completion policy 4"));
  std::vector<std::byte> data(64);
  TransferOptions bad;
  bad.completion = static_cast<CompletionPolicy>(-2);
  EXPECT_EQ(device().Read(0, data, bad).code(), kIOReturnBadArgument);
  EXPECT_EQ(CompletionPolicyName(static_cast<CompletionPolicy>(4)), nullptr);
}

TEST_P(CompletionChoiceTest, TheDextRefusesAPolicyOutsideTheProtocol) {
  // The raw call, past the library's check: the dext's own.
  io_connect_t c = OpenRawConnection();
  ASSERT_NE(c, IO_OBJECT_NULL);
  for (uint64_t value : {uint64_t{4}, uint64_t{0xff}, UINT64_MAX}) {
    uint64_t out = 0;
    uint32_t count = 1;
    EXPECT_EQ(
        IOConnectCallScalarMethod(c, protocol::kSelectorCompletionPolicy, &value, 1, &out, &count),
        kIOReturnBadArgument);
  }
  uint64_t value = protocol::kCompletionAdaptive, out = 0;
  uint32_t count = 1;
  EXPECT_EQ(
      IOConnectCallScalarMethod(c, protocol::kSelectorCompletionPolicy, &value, 1, &out, &count),
      kIOReturnSuccess);
  EXPECT_EQ(out, protocol::kCompletionAdaptive);
  IOServiceClose(c);
}

TEST_P(CompletionChoiceTest, TheCApiChoosesPerDeviceAndPerCall) {
  fpgadext_device* d = nullptr;
  ASSERT_EQ(fpgadext_open(0, &d), 0);
  int inEffect = -1;
  EXPECT_EQ(fpgadext_set_completion(d, FPGADEXT_COMPLETION_POLL, &inEffect), 0);
  EXPECT_EQ(inEffect, FPGADEXT_COMPLETION_POLL);
  EXPECT_EQ(fpgadext_set_completion(d, 7, nullptr), kIOReturnBadArgument);
  EXPECT_THAT(fpgadext_last_error(d), ::testing::HasSubstr("completion policy 7"));
  std::vector<std::byte> out(1 << 20), in(1 << 20);
  FillPattern(out.data(), out.size(), 7);
  EXPECT_EQ(
      fpgadext_write_with_completion(d, 0, out.size(), out.data(), FPGADEXT_COMPLETION_INTERRUPT),
      0);
  EXPECT_EQ(fpgadext_read_with_completion(d, 0, in.size(), in.data(), FPGADEXT_COMPLETION_DEVICE),
            0);
  EXPECT_EQ(CheckPattern(in.data(), in.size(), 7), in.size());
  EXPECT_EQ(fpgadext_read_with_completion(d, 0, in.size(), in.data(), 9), kIOReturnBadArgument);
  fpgadext_close(d);
}

INSTANTIATE_TEST_SUITE_P(Policies, CompletionChoiceTest,
                         ::testing::Values("interrupt", "adaptive"));

}  // namespace
}  // namespace fpgadext::integration
