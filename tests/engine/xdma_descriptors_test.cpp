// Descriptor chains (xdma/xdma_descriptors.h), table-driven and without a board: for a ring
// layout on the bus and a window's segments, the descriptors written, their blocks of adjacent
// descriptors (Nxt_adj, Dsc_adj) and the errors (docs/engine.md "Descriptors").
#include <gtest/gtest.h>

#include <vector>

#include "xdma/xdma_descriptors.h"

namespace fpgadext::engine::test {
namespace {

using xdma::Descriptor;
constexpr Direction kH2c = Direction::kHostToCard;
constexpr Direction kC2h = Direction::kCardToHost;

struct Piece {
  uint64_t host, card, length;
};

struct Case {
  const char* name;
  std::vector<BusSegment> ring;  // the ring's bus segments
  uint32_t capacity;
  std::vector<BusSegment> window;  // the host window's segments
  uint64_t covered;
  uint64_t maxPiece;
  uint64_t alignment;
  uint64_t card;
  IOReturn expected;
  std::vector<Piece> pieces;         // descriptors in ring order (host side, card side, length)
  std::vector<uint32_t> blockSizes;  // blocks of adjacent descriptors, in order
};

constexpr uint64_t kPage = 4096;
constexpr uint64_t kMax = 0x0FFF'F000;  // XdmaEngine::kMaxDescriptorBytes

const Case kCases[] = {
    {"one segment",
     {{0x10000, kPage}},
     8,
     {{0x5'0000'0000, 4096}},
     4096,
     kMax,
     1,
     0x100,
     kIOReturnSuccess,
     {{0x5'0000'0000, 0x100, 4096}},
     {1}},
    {"three segments, one block",
     {{0x10000, kPage}},
     8,
     {{0xA000, 100}, {0xC000, 200}, {0xE000, 300}},
     600,
     kMax,
     1,
     0,
     kIOReturnSuccess,
     {{0xA000, 0, 100}, {0xC000, 100, 200}, {0xE000, 300, 300}},
     {3}},
    {"segment split at the largest descriptor",
     {{0x10000, kPage}},
     8,
     {{0x80000, 10000}},
     10000,
     4096,
     1,
     0x7,
     kIOReturnSuccess,
     {{0x80000, 0x7, 4096}, {0x81000, 0x1007, 4096}, {0x82000, 0x2007, 1808}},
     {3}},
    {"covered shorter than the segments",
     {{0x10000, kPage}},
     8,
     {{0x1000, 4096}, {0x3000, 4096}},
     5000,
     kMax,
     1,
     0,
     kIOReturnSuccess,
     {{0x1000, 0, 4096}, {0x3000, 4096, 904}},
     {1 + 1}},
    {"ring full: the window is cut short",
     {{0x10000, kPage}},
     2,
     {{0x1000, 64}, {0x3000, 64}, {0x5000, 64}},
     192,
     kMax,
     1,
     0,
     kIOReturnSuccess,
     {{0x1000, 0, 64}, {0x3000, 64, 64}},
     {2}},
    {"ring crossing a page end",
     {{0x10FC0, 64}, {0x11000, kPage}},
     8,
     {{0x1000, 8}, {0x2000, 8}, {0x3000, 8}, {0x4000, 8}},
     32,
     kMax,
     1,
     0,
     kIOReturnSuccess,
     {{0x1000, 0, 8}, {0x2000, 8, 8}, {0x3000, 16, 8}, {0x4000, 24, 8}},
     {2, 2}},
    {"ring pages scattered on the bus",
     {{0x30000, 64}, {0x90000, 64}, {0x20000, 64}},
     6,
     {{0x1000, 8}, {0x2000, 8}, {0x3000, 8}, {0x4000, 8}, {0x5000, 8}},
     40,
     kMax,
     1,
     0,
     kIOReturnSuccess,
     {{0x1000, 0, 8}, {0x2000, 8, 8}, {0x3000, 16, 8}, {0x4000, 24, 8}, {0x5000, 32, 8}},
     {2, 2, 1}},
    {"aligned addresses",
     {{0x10000, kPage}},
     8,
     {{0x1040, 64}},
     64,
     kMax,
     64,
     0x80,
     kIOReturnSuccess,
     {{0x1040, 0x80, 64}},
     {1}},
    {"misaligned addresses",
     {{0x10000, kPage}},
     8,
     {{0x1040, 64}},
     64,
     kMax,
     64,
     0x81,
     kIOReturnNotAligned,
     {},
     {}},
    {"no bytes",
     {{0x10000, kPage}},
     8,
     {{0x1000, 64}},
     0,
     kMax,
     1,
     0,
     kIOReturnBadArgument,
     {},
     {}},
    {"no ring capacity",
     {{0x10000, kPage}},
     0,
     {{0x1000, 64}},
     64,
     kMax,
     1,
     0,
     kIOReturnBadArgument,
     {},
     {}},
    {"ring shorter than its capacity",
     {{0x10000, 32}},
     4,
     {{0x1000, 8}, {0x2000, 8}},
     16,
     kMax,
     1,
     0,
     kIOReturnBadArgument,
     {},
     {}},
};

// Nxt_adj of each descriptor for blocks of the given sizes: it counts down inside a block (the
// second-to-last has 0), and a block's last descriptor announces the next block's size - 1.
std::vector<uint32_t> NxtAdj(const std::vector<uint32_t>& blocks) {
  std::vector<uint32_t> out;
  for (size_t b = 0; b < blocks.size(); ++b) {
    for (uint32_t p = 0; p < blocks[b]; ++p) {
      if (p + 1 < blocks[b]) {
        out.push_back(blocks[b] - 2 - p);
      } else {
        out.push_back(b + 1 < blocks.size() ? blocks[b + 1] - 1 : 0);
      }
    }
  }
  return out;
}

// Bus address of ring entry i.
uint64_t RingBus(const std::vector<BusSegment>& ring, uint32_t i) {
  uint64_t offset = uint64_t{i} * sizeof(Descriptor);
  for (const BusSegment& s : ring) {
    if (offset < s.length) return s.address + offset;
    offset -= s.length;
  }
  return 0;
}

TEST(XdmaDescriptors, ChainsFromTheTable) {
  for (const Case& c : kCases) {
    for (Direction d : {kH2c, kC2h}) {
      SCOPED_TRACE(testing::Message() << c.name << (d == kH2c ? " H2C" : " C2H"));
      alignas(32) Descriptor ring[16] = {};
      const XdmaDescriptorRing r{ring, c.ring.data(), static_cast<uint32_t>(c.ring.size()),
                                 c.capacity};
      XdmaDescriptorChain chain;
      const IOReturn result = BuildXdmaDescriptors(r, d, c.card, c.window.data(),
                                                   static_cast<uint32_t>(c.window.size()),
                                                   c.covered, c.maxPiece, c.alignment, &chain);
      ASSERT_EQ(result, c.expected);
      if (result != kIOReturnSuccess) continue;
      ASSERT_EQ(chain.count, c.pieces.size());
      const std::vector<uint32_t> nxtAdj = NxtAdj(c.blockSizes);
      ASSERT_EQ(nxtAdj.size(), c.pieces.size());
      uint64_t bytes = 0;
      for (uint32_t i = 0; i < chain.count; ++i) {
        SCOPED_TRACE(i);
        const Piece& p = c.pieces[i];
        const Descriptor& desc = ring[i];
        EXPECT_TRUE(desc.MagicOk());
        EXPECT_EQ(desc.Src(), d == kH2c ? p.host : p.card);
        EXPECT_EQ(desc.Dst(), d == kH2c ? p.card : p.host);
        EXPECT_EQ(desc.Length(), p.length);
        EXPECT_EQ(desc.Control().nxt_adj(), nxtAdj[i]);
        const bool last = i + 1 == chain.count;
        EXPECT_EQ(desc.Control().stop(), last ? 1u : 0u);
        EXPECT_EQ(desc.Control().completed(), last ? 1u : 0u);
        EXPECT_EQ(desc.Next(), last ? 0 : RingBus(c.ring, i + 1));
        bytes += p.length;
      }
      EXPECT_EQ(chain.bytes, bytes);
      EXPECT_EQ(chain.dscAdj, c.blockSizes[0] - 1);
      EXPECT_EQ(XdmaChainPrefixBytes(ring, chain.count), bytes);
      EXPECT_EQ(XdmaChainPrefixBytes(ring, 1), c.pieces[0].length);
    }
  }
}

// A block holds at most 64 descriptors (6-bit Nxt_adj), even inside one page.
TEST(XdmaDescriptors, BlocksStopAtSixtyFourDescriptors) {
  const std::vector<BusSegment> ringBus = {{0x40000, kPage}};
  alignas(32) Descriptor ring[128] = {};
  std::vector<BusSegment> window;
  for (uint64_t i = 0; i < 65; ++i) window.push_back({0x100000 + i * 0x2000, 16});
  XdmaDescriptorChain chain;
  ASSERT_EQ(BuildXdmaDescriptors({ring, ringBus.data(), 1, 128}, kH2c, 0, window.data(), 65,
                                 65 * 16, kMax, 1, &chain),
            kIOReturnSuccess);
  ASSERT_EQ(chain.count, 65u);
  EXPECT_EQ(chain.dscAdj, 63u);
  const std::vector<uint32_t> nxtAdj = NxtAdj({64, 1});
  for (uint32_t i = 0; i < 65; ++i) EXPECT_EQ(ring[i].Control().nxt_adj(), nxtAdj[i]) << i;
}

}  // namespace
}  // namespace fpgadext::engine::test
