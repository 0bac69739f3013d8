// Descriptor building of the XDMA engine driver: one window's bus segments become a chain of
// scatter-gather descriptors in the channel's ring (docs/engine.md "Descriptors"). Plain
// functions over plain data, so that tests can check chains without a board
// (tests/engine/xdma_descriptors_test.cpp); XdmaEngine calls them for every window.
//
// Dext-safe: no allocation, no exceptions; the ring memory belongs to the caller.
#pragma once

#include <fpgadext/engine/types.h>

#include "xdma/xdma_registers.h"

namespace fpgadext::engine {

// A channel's descriptor ring: host memory the dext allocated (IOBufferMemoryDescriptor,
// kIOMemoryDirectionOut is enough: the device only reads it) and prepared for DMA once.
struct XdmaDescriptorRing {
  // CPU address of the ring, contiguous for the CPU, 32-byte aligned.
  xdma::Descriptor* cpu = nullptr;
  // The ring's bus segments in order (pages may be scattered). Every segment must start on a
  // 32-byte boundary and be a multiple of 32 bytes long; together they cover at least
  // `capacity` descriptors. The array is not copied: it must outlive the engine.
  const BusSegment* segments = nullptr;
  uint32_t segmentCount = 0;
  // Descriptors the ring holds; a window never uses more (a window with more pieces is cut
  // short and the rest goes in the next window). At least 1; 32·k + extra pieces for segments
  // longer than maxDescriptorBytes is enough for full 32-segment windows.
  uint32_t capacity = 0;
};

// What BuildXdmaDescriptors wrote: ring entries [0, count).
struct XdmaDescriptorChain {
  uint32_t count = 0;
  uint64_t bytes = 0;  // bytes the chain moves: the window's `covered`, or less if the ring is full
  uint32_t dscAdj = 0;  // SGDMA Dsc_adj: descriptors after the first one in the first block
};

// Writes the descriptors of one window into `ring`: one per piece (each segment split at
// `maxDescriptorBytes`), source and destination by `direction`, the card address advancing by
// each length from `cardAddress`; linked in ring order (the last next pointer 0), Nxt_adj counted
// per block of adjacent descriptors (contiguous on the bus, inside one 4 KiB page, at most 64),
// Stop | Completed on the last. Uses at most `ring.capacity` descriptors and the first
// `covered` bytes of the segments. Errors: kIOReturnNotAligned when `addressAlignment` > 1 and
// a piece's host and card addresses differ modulo it (nothing to run), kIOReturnBadArgument for
// no bytes, no ring capacity or a zero `maxDescriptorBytes`.
[[nodiscard]] IOReturn BuildXdmaDescriptors(const XdmaDescriptorRing& ring, Direction direction,
                                            uint64_t cardAddress, const BusSegment* segments,
                                            uint32_t segmentCount, uint64_t covered,
                                            uint64_t maxDescriptorBytes, uint64_t addressAlignment,
                                            XdmaDescriptorChain* chain);

// Bytes moved by the first `count` descriptors of a chain (the completed count says how many).
// Inline: Poll asks it on every round.
inline uint64_t XdmaChainPrefixBytes(const xdma::Descriptor* chain, uint32_t count) {
  uint64_t bytes = 0;
  for (uint32_t i = 0; i < count; ++i) bytes += chain[i].Length();
  return bytes;
}

}  // namespace fpgadext::engine
