// Scatter-gather descriptor chains for the XDMA engine (PG195 Descriptors; the block rules and
// their sources are in docs/engine.md "Descriptors").
#include "xdma/xdma_descriptors.h"

namespace fpgadext::engine {

IOReturn BuildXdmaDescriptors(const XdmaDescriptorRing& ring, Direction direction,
                              uint64_t cardAddress, const BusSegment* segments,
                              uint32_t segmentCount, uint64_t covered, uint64_t maxDescriptorBytes,
                              uint64_t addressAlignment, XdmaDescriptorChain* chain) {
  using namespace xdma;
  if (chain == nullptr || ring.cpu == nullptr || ring.segments == nullptr ||
      ring.segmentCount == 0 || ring.capacity == 0 || covered == 0 || maxDescriptorBytes == 0 ||
      segments == nullptr || segmentCount == 0) {
    return kIOReturnBadArgument;
  }
  *chain = XdmaDescriptorChain{};
  Descriptor* desc = ring.cpu;
  const bool h2c = direction == Direction::kHostToCard;

  // Pass 1: one descriptor per piece, linked in ring order. Block starts are marked in the
  // control word until pass 2 writes it.
  constexpr uint32_t kBlockStart = 1;
  uint32_t ringSeg = 0;
  uint64_t ringSegOffset = 0;
  uint64_t prevBus = 0;
  uint32_t blockLength = 0;
  uint32_t n = 0;
  uint64_t card = cardAddress;
  uint64_t left = covered;
  uint64_t bytes = 0;
  for (uint32_t i = 0; i < segmentCount && left > 0 && n < ring.capacity; ++i) {
    uint64_t address = segments[i].address;
    uint64_t segLeft = segments[i].length < left ? segments[i].length : left;
    while (segLeft > 0 && n < ring.capacity) {
      const uint64_t piece = segLeft < maxDescriptorBytes ? segLeft : maxDescriptorBytes;
      if (addressAlignment > 1 && address % addressAlignment != card % addressAlignment) {
        return kIOReturnNotAligned;  // no bounce path (docs/engine.md "Not done")
      }
      while (ringSegOffset >= ring.segments[ringSeg].length) {
        ringSegOffset -= ring.segments[ringSeg].length;
        if (++ringSeg == ring.segmentCount) return kIOReturnBadArgument;  // shorter than capacity
      }
      const uint64_t bus = ring.segments[ringSeg].address + ringSegOffset;
      ringSegOffset += sizeof(Descriptor);
      // A block of adjacent descriptors is contiguous on the bus, stays inside one 4 KiB page
      // and has at most 64 entries (6-bit Nxt_adj).
      const bool start = n == 0 || blockLength == kDescriptorMaxAdjacent + 1 ||
                         bus != prevBus + sizeof(Descriptor) || (bus >> 12) != (prevBus >> 12);
      blockLength = start ? 1 : blockLength + 1;
      if (n > 0) {
        desc[n - 1].next_lo = static_cast<uint32_t>(bus);
        desc[n - 1].next_hi = static_cast<uint32_t>(bus >> 32);
      }
      desc[n] = Descriptor::Make(h2c ? address : card, h2c ? card : address,
                                 static_cast<uint32_t>(piece), 0, 0, 0);
      desc[n].control = start ? kBlockStart : 0;
      prevBus = bus;
      ++n;
      bytes += piece;
      address += piece;
      card += piece;
      segLeft -= piece;
      left -= piece;
    }
  }

  // Pass 2, backwards: Nxt_adj of descriptor i = descriptors after i+1 in i+1's block (counts
  // down inside a block; the block's last descriptor announces the next block). The last
  // descriptor stops the engine and writes back the count.
  int64_t endOfCurrent = static_cast<int64_t>(n) - 1;  // last index of the block holding i
  int64_t endOfNext = endOfCurrent;                    // ... holding i + 1
  for (int64_t i = static_cast<int64_t>(n) - 1; i >= 0; --i) {
    Descriptor& di = desc[i];
    const bool start = (di.control & kBlockStart) != 0;
    const bool last = i == static_cast<int64_t>(n) - 1;
    const uint32_t nxtAdj = last ? 0 : static_cast<uint32_t>(endOfNext - (i + 1));
    di.control = DescriptorControl::magic_field::Make(kDescriptorMagic) |
                 DescriptorControl::nxt_adj_field::Make(nxtAdj) |
                 (last ? (Descriptor::kStop | Descriptor::kCompleted) : 0);
    endOfNext = endOfCurrent;
    if (start) endOfCurrent = i - 1;
  }
  chain->count = n;
  chain->bytes = bytes;
  chain->dscAdj = static_cast<uint32_t>(endOfNext);  // block of descriptor 0 ends at endOfNext
  return kIOReturnSuccess;
}

}  // namespace fpgadext::engine
