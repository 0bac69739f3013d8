// One transfer above 4 GiB each way (DESIGN.md decision 7: any size means any size). It moves
// 2 × (4 GiB + 4099 bytes) and touches about 9 GiB of memory, so it only runs when asked:
// FPGADEXT_BIG_TESTS=1.
#include <cstdlib>
#include <cstring>

#include "board_fixture.h"

namespace fpgadext::integration {
namespace {

class BigTransfers : public BoardFixture {
 protected:
  void SetUp() override {
    const char* big = std::getenv("FPGADEXT_BIG_TESTS");
    if (big == nullptr || std::strcmp(big, "1") != 0) {
      GTEST_SKIP() << "moves 2 x (4 GiB + 4099 bytes) and needs about 9 GiB of memory; set "
                      "FPGADEXT_BIG_TESTS=1 to run it";
    }
    BoardFixture::SetUp();
  }
};

TEST_F(BigTransfers, Above4GiBBothDirections) {
  const uint64_t size = (4ull << 30) + 4099;
  const uint64_t appOffset = 1, card = 0x1003;
  PageBuffer app(appOffset + size + 64);
  auto* cardBytes = reinterpret_cast<std::byte*>(xdma().cardMemory().data());
  for (bool registered : {false, true}) {
    SCOPED_TRACE(registered ? "registered buffer" : "client memory");
    RegisteredBuffer buffer;
    if (registered) {
      Status s = device().Register(app.span(0, app.size()), BufferDirection::kBoth, &buffer);
      ASSERT_TRUE(s) << s.message();
    }
    const uint64_t seed = registered ? 20 : 10;
    FillPattern(app.data() + appOffset, size, seed);
    uint64_t h2c = H2cBytes();
    Status s = registered ? device().Write(card, buffer, appOffset, size)
                          : device().Write(card, app.span(appOffset, size));
    ASSERT_TRUE(s) << s.message();
    EXPECT_EQ(H2cBytes() - h2c, size);
    ASSERT_EQ(CheckPattern(cardBytes + card, size, seed), size);

    FillPattern(cardBytes + card, size, seed + 1);
    uint64_t c2h = C2hBytes();
    s = registered ? device().Read(card, buffer, appOffset, size)
                   : device().Read(card, app.span(appOffset, size));
    ASSERT_TRUE(s) << s.message();
    EXPECT_EQ(C2hBytes() - c2h, size);
    ASSERT_EQ(CheckPattern(app.data() + appOffset, size, seed + 1), size);
  }
}

}  // namespace
}  // namespace fpgadext::integration
