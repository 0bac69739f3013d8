// Faults of the board itself, each on a fresh machine: a hung engine (kIOReturnTimeout, then the
// device recovers), the board vanishing under an open device (kIOReturnNoDevice, "the board is
// gone"), and the board unplugged with the driver stopped.
#include "board_fixture.h"

namespace fpgadext::integration {
namespace {

using ::testing::HasSubstr;

class BoardFaults : public BoardFixture {
 protected:
  static void SetUpTestSuite() {}
  static void TearDownTestSuite() {}
  void SetUp() override {
    models::XdmaModel::Config config;
    config.cardMemorySize = 64ull << 20;
    SetUpBoard(std::make_unique<models::XdmaModel>(config));
    BoardFixture::SetUp();
  }
  void TearDown() override {
    BoardFixture::TearDown();
    TearDownBoard();
  }
};

// Every H2C channel hangs: the dext's planner gives up after its timeout (2 s + length at
// 50 MB/s) and stops the channels; once the card works again, so does the device.
TEST_F(BoardFaults, HungEngineTimesOutAndRecovers) {
  if (machine().profile() == emu::HardwareProfile::kAppleSilicon) {
    // The hung channel's chunk may resume after the dext has completed its DMA preparation and
    // touch the unmapped window: on an Apple-silicon Mac that stops the machine. Until the dext
    // keeps a timed-out preparation until the engine is known to be idle, this runs on intel.
    GTEST_SKIP() << "a stray DMA after a timeout is fatal on DART (intel profile runs this)";
  }
  const DeviceInfo& info = device().info();
  for (unsigned ch = 0; ch < info.h2cChannels; ++ch) xdma().InjectHang(xdma::Direction::kH2c, ch);
  std::vector<std::byte> data(65536);
  FillPattern(data.data(), data.size(), 3);
  Status s = device().Write(0x1000, data);
  EXPECT_EQ(s.code(), kIOReturnTimeout) << s.message();
  EXPECT_THAT(std::string(s.message()), HasSubstr("did not finish the transfer in time"));
  xdma().ClearFaults();
  // Recovery may take the dext a transfer or two (the stuck channel is stopped lazily).
  Status ok;
  int attempt = 0;
  for (; attempt < 20; ++attempt) {
    ok = device().Write(0x1000, data);
    if (ok) break;
  }
  ASSERT_TRUE(ok) << ok.message();
  RecordProperty("failedAttemptsAfterClear", attempt);
  std::vector<std::byte> back(data.size());
  ASSERT_TRUE(device().Read(0x1000, back));
  EXPECT_EQ(back, data);
  machine().iommu().ClearViolations();  // the stuck chunk may touch its unmapped window
}

// The board stops answering (link down): transfers fail with kIOReturnNoDevice.
TEST_F(BoardFaults, BoardGoneUnderAnOpenDevice) {
  std::vector<std::byte> data(8192);
  ASSERT_TRUE(device().Write(0, data));
  xdma().SurpriseRemove();
  Status s = device().Read(0, data);
  EXPECT_EQ(s.code(), kIOReturnNoDevice) << s.message();
  EXPECT_THAT(std::string(s.message()), HasSubstr("the board is gone"));
  s = device().Write(0, std::span(data).first(100));
  EXPECT_EQ(s.code(), kIOReturnNoDevice) << s.message();
}

// The board is unplugged: the driver stops, the connection dies; calls fail, nothing crashes,
// and Close still cleans up.
TEST_F(BoardFaults, BoardUnplugged) {
  PageBuffer memory(16384);
  RegisteredBuffer buffer;
  ASSERT_TRUE(device().Register(memory.span(0, memory.size()), BufferDirection::kBoth, &buffer));
  machine().SurpriseRemovePciFunction(board_.get());
  Status s = device().Read(0, memory.span(0, 8192));
  EXPECT_FALSE(s);
  EXPECT_THAT(std::string(s.message()), HasSubstr("the board is gone")) << s.message();
  EXPECT_FALSE(device().Write(0, buffer, 0, 16));
  EXPECT_TRUE(Device::List().empty());
  device().Close();
  EXPECT_FALSE(buffer.valid());
}

}  // namespace
}  // namespace fpgadext::integration
