// The FPGA reprogrammed while a stream receives (issue 13 §3, docs/streams.md "When the board
// goes"): the stream ends with an error instead of waiting forever, every packet it delivered
// before is exact, and the app that closes, waits for the board and opens it again receives and
// sends every byte and boundary right on the new board. Each test starts on a fresh machine and
// ends with the fixture's leak and IOMMU checks.
#include <fpgadext/protocol.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <iterator>
#include <vector>

#include "board_fixture.h"

namespace fpgadext::integration {
namespace {

using std::chrono::seconds;

constexpr unsigned kStreamChannel = 1;
constexpr uint32_t kSizes[] = {10000, 70000, 64};

// A design whose channel 1 streams both ways and whose generator sends without end, packets of
// kSizes in turn, from the moment the board is there (back-pressured until slots are posted).
models::XdmaModel::Config StreamDesign() {
  models::XdmaModel::Config config;
  config.cardMemorySize = 64ull << 20;
  config.h2cStreamChannels = 1u << kStreamChannel;
  config.c2hStreamChannels = 1u << kStreamChannel;
  config.stream.generator.enabled = true;
  config.stream.generator.sizeCount = std::size(kSizes);
  std::copy(std::begin(kSizes), std::end(kSizes), config.stream.generator.sizes);
  return config;
}

// Whether `packet` is generated packet `number`: its size and every byte.
::testing::AssertionResult IsGenerated(const std::vector<std::byte>& packet, uint64_t number) {
  if (packet.size() != kSizes[number % std::size(kSizes)]) {
    return ::testing::AssertionFailure()
           << "packet " << number << ": " << packet.size() << " bytes";
  }
  for (size_t i = 0; i < packet.size(); ++i) {
    if (static_cast<uint8_t>(packet[i]) != models::StreamPatternByte(number, i)) {
      return ::testing::AssertionFailure() << "packet " << number << ", byte " << i;
    }
  }
  return ::testing::AssertionSuccess();
}

StreamOptions Slots() {
  StreamOptions o;
  o.slots = 16;
  o.slotSize = 16 * 1024;  // packets of 70000 bytes span five slots
  return o;
}

class StreamReprogram : public BoardFixture {
 protected:
  static void SetUpTestSuite() {}
  static void TearDownTestSuite() {}
  void SetUp() override {
    SetUpBoard(std::make_unique<models::XdmaModel>(StreamDesign()));
    BoardFixture::SetUp();
  }
  void TearDown() override {
    BoardFixture::TearDown();
    TearDownBoard();
  }
};

TEST_F(StreamReprogram, TheStreamEndsWithAnErrorAndTheReopenedBoardStreamsEveryByte) {
  Stream rx;
  ASSERT_TRUE(device().OpenStream(StreamDirection::kFromCard, Slots(), &rx));
  uint64_t number = 0;
  std::vector<std::byte> packet;
  for (; number < 8; ++number) {
    ASSERT_TRUE(rx.ReceivePacket(seconds(30), &packet));
    ASSERT_TRUE(IsGenerated(packet, number));
  }

  // The same design loaded again while the generator keeps the ring full.
  auto next = std::make_unique<models::XdmaModel>(StreamDesign());
  ASSERT_EQ(machine().ReprogramPciFunction(board_.get(), next.get(), "fpga0"), kIOReturnSuccess);
  board_ = std::move(next);

  // What was already in the ring may still be read, and is exact; then the stream fails with
  // the board's departure (never a timeout: the wait is woken).
  Status ended;
  const auto deadline = std::chrono::steady_clock::now() + seconds(30);
  for (;;) {
    ended = rx.ReceivePacket(seconds(30), &packet);
    if (!ended) break;
    ASSERT_TRUE(IsGenerated(packet, number++));
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the stream never ended";
  }
  EXPECT_TRUE(ended.code() == kIOReturnNoDevice || ended.code() == kIOReturnAborted ||
              ended.code() == kIOReturnOffline)
      << ended.message();
  EXPECT_TRUE(device().gone());

  // The app's way back: close, wait for the board, open, stream again.
  (void)rx.Close();
  device().Close();
  const Status waited = Device::WaitForBoard(0, seconds(30));
  ASSERT_TRUE(waited) << waited.message();
  const Status opened = Device::Open(0, &device());
  ASSERT_TRUE(opened) << opened.message();
  Stream again;
  ASSERT_TRUE(device().OpenStream(StreamDirection::kFromCard, Slots(), &again));
  for (uint64_t n = 0; n < 12; ++n) {  // the new board's generator counts from 0
    ASSERT_TRUE(again.ReceivePacket(seconds(30), &packet));
    ASSERT_TRUE(IsGenerated(packet, n));
  }
  // Sends reach the new board's sink with their boundaries.
  Stream tx;
  ASSERT_TRUE(device().OpenStream(StreamDirection::kToCard, {}, &tx));
  std::vector<std::byte> sent(5000);
  FillPattern(sent.data(), sent.size(), 77);
  ASSERT_TRUE(tx.Send(std::span(sent).subspan(0, 1234), false));
  ASSERT_TRUE(tx.Send(std::span(sent).subspan(1234), true));
  const std::vector<std::vector<uint8_t>> got = xdma().StreamPackets(kStreamChannel);
  ASSERT_EQ(got.size(), 1u);
  ASSERT_EQ(got[0].size(), sent.size());
  EXPECT_EQ(std::memcmp(got[0].data(), sent.data(), sent.size()), 0);
  (void)again.Close();
  (void)tx.Close();
}

}  // namespace
}  // namespace fpgadext::integration
