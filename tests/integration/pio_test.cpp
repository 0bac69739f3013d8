// The PIO engine: a board with no DMA engine whose BAR0 is a block-RAM window (models/bram).
// The dext moves data with loads and stores through the BAR; the library API is the same. Every
// path and both directions, misaligned, checked against the model's memory; BAR0 is mapped
// into the process and its registers are the memory itself.
#include <cstring>

#include "board_fixture.h"

namespace fpgadext::integration {
namespace {

constexpr uint64_t kBramSize = 1ull << 20;

class Pio : public BoardFixture {
 protected:
  static void SetUpTestSuite() {
    models::BramModel::Config config;
    config.memorySize = kBramSize;
    SetUpBoard(std::make_unique<models::BramModel>(config));
  }
  static models::BramModel& bram() { return *static_cast<models::BramModel*>(board_.get()); }
  static std::byte* memory() { return reinterpret_cast<std::byte*>(bram().memory().data()); }
};

TEST_F(Pio, Info) {
  const DeviceInfo& info = device().info();
  EXPECT_FALSE(info.hasDmaEngine);
  EXPECT_EQ(info.dmaBar, -1);
  EXPECT_EQ(info.userBar, 0);
  EXPECT_EQ(info.cardMemorySize, kBramSize);
  EXPECT_EQ(info.barSizes[0], kBramSize);
  EXPECT_EQ(info.vendorId, 0x10EE);
  EXPECT_EQ(info.deviceId, 0x7011);
}

TEST_F(Pio, EverySizePathAndPlacement) {
  const uint64_t kSizes[] = {0, 1, 3, 4095, 4096, 4097, 65536, (512u << 10) + 7};
  uint64_t seed = 1000;
  for (uint64_t size : kSizes) {
    const std::vector<std::pair<uint64_t, uint64_t>> placements = {
        {0, 0}, {1, 3}, {3, 4095}, {4095, kBramSize - size}};
    for (int path = 0; path < 4; ++path) {
      if (path == 1 && size == 0) continue;
      for (auto [appOffset, card] : placements) {
        SCOPED_TRACE(::testing::Message() << size << " bytes, path " << path << ", app +"
                                          << appOffset << ", card 0x" << std::hex << card);
        PageBuffer app(appOffset + size + 64);
        RegisteredBuffer registered;
        if (path == 3) {
          ASSERT_TRUE(
              device().Register(app.span(0, app.size()), BufferDirection::kBoth, &registered));
        }
        const TransferPath forced =
            path == 1   ? (size <= 4096 ? TransferPath::kInband : TransferPath::kOutOfLine)
            : path == 2 ? TransferPath::kClientMemory
                        : TransferPath::kAuto;
        FillPattern(app.data() + appOffset, size, ++seed);
        Status s = path == 3 ? device().Write(card, registered, appOffset, size)
                             : device().Write(card, app.span(appOffset, size), forced);
        ASSERT_TRUE(s) << s.message();
        ASSERT_EQ(CheckPattern(memory() + card, size, seed), size);

        FillPattern(memory() + card, size, ++seed);
        std::memset(app.data(), 0x5A, app.size());
        s = path == 3 ? device().Read(card, registered, appOffset, size)
                      : device().Read(card, app.span(appOffset, size), forced);
        ASSERT_TRUE(s) << s.message();
        ASSERT_EQ(CheckPattern(app.data() + appOffset, size, seed), size);
        for (size_t i = 0; i < appOffset; ++i) ASSERT_EQ(app.data()[i], std::byte{0x5A});
        for (size_t i = 0; i < 64; ++i) {
          ASSERT_EQ(app.data()[appOffset + size + i], std::byte{0x5A});
        }
      }
    }
  }
}

TEST_F(Pio, BarRegistersAreTheMemory) {
  RecordProperty("bar0Mapped", device().IsBarMapped(0) ? "yes" : "no");
  ASSERT_TRUE(device().Write32(0, 0x100, 0xDEAD'BEEF));
  uint32_t v32 = 0;
  std::memcpy(&v32, memory() + 0x100, 4);
  EXPECT_EQ(v32, 0xDEAD'BEEFu);
  const uint64_t word = 0x0123'4567'89AB'CDEFull;
  std::memcpy(memory() + 0x208, &word, 8);
  uint64_t v64 = 0;
  ASSERT_TRUE(device().Read64(0, 0x208, &v64));
  EXPECT_EQ(v64, word);
  ASSERT_TRUE(device().Write64(0, kBramSize - 8, ~word));
  std::memcpy(&v64, memory() + kBramSize - 8, 8);
  EXPECT_EQ(v64, ~word);
  EXPECT_EQ(device().Read64(0, kBramSize - 4, &v64).code(), kIOReturnBadArgument);
  // A DMA-less board has no DMA BAR to refuse; a write past the window is still an error.
  std::vector<std::byte> two(2);
  EXPECT_EQ(device().Write(kBramSize - 1, two).code(), kIOReturnBadArgument);
  ASSERT_TRUE(device().Write(kBramSize - 2, two));
}

}  // namespace
}  // namespace fpgadext::integration
