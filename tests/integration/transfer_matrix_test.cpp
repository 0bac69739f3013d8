// DESIGN.md's matrix: sizes {0, 1, 3, 4095, 4096, 4097, 65536, 1 MiB+7, 64 MiB} × misaligned
// app and card addresses × both directions × every path the size allows (auto, in-band ≤ 4096,
// out-of-line > 4096, client memory, registered buffer). Every byte is checked in the app buffer
// and in the model's card memory, the bytes around both ranges must be untouched, and the
// model's DMA counters must show exactly the bytes asked for in the right direction (no extra
// passes, no bounce buffer read back).
#include <cstring>
#include <string>

#include "board_fixture.h"

namespace fpgadext::integration {
namespace {

enum class Path { kAuto, kInband, kOutOfLine, kClientMemory, kRegistered };

const char* Name(Path p) {
  switch (p) {
    case Path::kAuto:
      return "Auto";
    case Path::kInband:
      return "Inband";
    case Path::kOutOfLine:
      return "OutOfLine";
    case Path::kClientMemory:
      return "ClientMemory";
    case Path::kRegistered:
      return "Registered";
  }
  return "?";
}

struct Case {
  uint64_t size;
  Path path;
};

void PrintTo(const Case& c, std::ostream* os) {
  *os << c.size << " bytes, " << Name(c.path);
}

std::string CaseName(const ::testing::TestParamInfo<Case>& info) {
  return std::to_string(info.param.size) + "_" + Name(info.param.path);
}

constexpr uint64_t kMiB = 1ull << 20;
constexpr uint64_t kSizes[] = {0, 1, 3, 4095, 4096, 4097, 65536, kMiB + 7, 64 * kMiB};

std::vector<Case> AllCases() {
  std::vector<Case> cases;
  for (uint64_t size : kSizes) {
    cases.push_back({size, Path::kAuto});
    if (size <= 4096) cases.push_back({size, Path::kInband});
    if (size > 4096) cases.push_back({size, Path::kOutOfLine});
    cases.push_back({size, Path::kClientMemory});
    cases.push_back({size, Path::kRegistered});
  }
  return cases;
}

// Where the bytes sit: offset into a page-aligned app buffer, card address.
struct Placement {
  uint64_t appOffset;
  uint64_t cardAddress;
};

std::vector<Placement> Placements(uint64_t size) {
  const uint64_t card = BoardFixture::kCardMemory;
  std::vector<Placement> p = {
      {0, 0},                           // both aligned
      {1, 0x3000 + 3},                  // +1 / +3
      {3, (4ull << 30) - 4096 + 4095},  // +3 / +4095, across the 4 GiB line for big sizes
      {4095, card - size},              // +4095 / ending at the card's last byte
      {4095 - 3, (5ull << 30) + 1},     // odd / +1 above 4 GiB
  };
  if (size >= 64 * kMiB) p.resize(2);  // the 64 MiB cases: aligned and +1/+3 only
  return p;
}

constexpr size_t kGuard = 64;
constexpr std::byte kAppGuard{0x5A};
constexpr uint8_t kCardGuard = 0xC3;

class TransferMatrix : public BoardFixture, public ::testing::WithParamInterface<Case> {
 protected:
  Status DoWrite(Path path, uint64_t card, PageBuffer& app, uint64_t offset, uint64_t size) {
    switch (path) {
      case Path::kAuto:
        return device().Write(card, app.span(offset, size));
      case Path::kInband:
        return device().Write(card, app.span(offset, size), TransferPath::kInband);
      case Path::kOutOfLine:
        return device().Write(card, app.span(offset, size), TransferPath::kOutOfLine);
      case Path::kClientMemory:
        return device().Write(card, app.span(offset, size), TransferPath::kClientMemory);
      case Path::kRegistered: {
        RegisteredBuffer buffer;
        if (Status s =
                device().Register(app.span(0, app.size()), BufferDirection::kToCard, &buffer);
            !s) {
          return s;
        }
        return device().Write(card, buffer, offset, size);
      }
    }
    return Status(-1, "no path");
  }

  Status DoRead(Path path, uint64_t card, PageBuffer& app, uint64_t offset, uint64_t size) {
    switch (path) {
      case Path::kAuto:
        return device().Read(card, app.span(offset, size));
      case Path::kInband:
        return device().Read(card, app.span(offset, size), TransferPath::kInband);
      case Path::kOutOfLine:
        return device().Read(card, app.span(offset, size), TransferPath::kOutOfLine);
      case Path::kClientMemory:
        return device().Read(card, app.span(offset, size), TransferPath::kClientMemory);
      case Path::kRegistered: {
        RegisteredBuffer buffer;
        if (Status s =
                device().Register(app.span(0, app.size()), BufferDirection::kFromCard, &buffer);
            !s) {
          return s;
        }
        return device().Read(card, buffer, offset, size);
      }
    }
    return Status(-1, "no path");
  }

  // The card bytes just outside [card, card+size), where they exist.
  void SetCardGuards(uint64_t card, uint64_t size) {
    uint8_t* m = xdma().cardMemory().data();
    if (card > 0) m[card - 1] = kCardGuard;
    if (card + size < kCardMemory) m[card + size] = kCardGuard;
  }
  void ExpectCardGuards(uint64_t card, uint64_t size) {
    const uint8_t* m = xdma().cardMemory().data();
    if (card > 0) EXPECT_EQ(m[card - 1], kCardGuard) << "card byte before the range changed";
    if (card + size < kCardMemory) {
      EXPECT_EQ(m[card + size], kCardGuard) << "card byte after the range changed";
    }
  }
};

TEST_P(TransferMatrix, WriteThenRead) {
  const Case c = GetParam();
  uint64_t seed = c.size * 16 + static_cast<uint64_t>(c.path);
  for (const Placement& p : Placements(c.size)) {
    SCOPED_TRACE(::testing::Message()
                 << "app offset " << p.appOffset << ", card 0x" << std::hex << p.cardAddress);
    PageBuffer app(p.appOffset + c.size + kGuard);
    std::byte* cardBytes = reinterpret_cast<std::byte*>(xdma().cardMemory().data());

    // host → card
    ++seed;
    std::memset(app.data(), static_cast<int>(kAppGuard), app.size());
    FillPattern(app.data() + p.appOffset, c.size, seed);
    SetCardGuards(p.cardAddress, c.size);
    uint64_t h2c = H2cBytes(), c2h = C2hBytes();
    Status s = DoWrite(c.path, p.cardAddress, app, p.appOffset, c.size);
    ASSERT_TRUE(s) << s.message();
    EXPECT_EQ(H2cBytes() - h2c, c.size) << "bytes moved to the card";
    EXPECT_EQ(C2hBytes() - c2h, 0u);
    ASSERT_EQ(CheckPattern(cardBytes + p.cardAddress, c.size, seed), c.size)
        << "card memory differs at that offset after the write";
    ExpectCardGuards(p.cardAddress, c.size);

    // card → host, from bytes put in the card behind the engine's back
    ++seed;
    FillPattern(cardBytes + p.cardAddress, c.size, seed);
    std::memset(app.data(), static_cast<int>(kAppGuard), app.size());
    h2c = H2cBytes();
    c2h = C2hBytes();
    s = DoRead(c.path, p.cardAddress, app, p.appOffset, c.size);
    ASSERT_TRUE(s) << s.message();
    EXPECT_EQ(C2hBytes() - c2h, c.size) << "bytes moved from the card";
    EXPECT_EQ(H2cBytes() - h2c, 0u);
    ASSERT_EQ(CheckPattern(app.data() + p.appOffset, c.size, seed), c.size)
        << "app buffer differs at that offset after the read";
    for (size_t i = 0; i < p.appOffset; ++i) ASSERT_EQ(app.data()[i], kAppGuard) << i;
    for (size_t i = 0; i < kGuard; ++i) {
      ASSERT_EQ(app.data()[p.appOffset + c.size + i], kAppGuard) << "after the buffer, +" << i;
    }
    ExpectCardGuards(p.cardAddress, c.size);
  }
}

INSTANTIATE_TEST_SUITE_P(Sizes, TransferMatrix, ::testing::ValuesIn(AllCases()), CaseName);

}  // namespace
}  // namespace fpgadext::integration
