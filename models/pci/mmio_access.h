// Width handling for model BARs whose internal bus does 32-bit accesses only (XDMA's DMA BAR and
// AXI4-Lite user BAR, xdma-facts §1, §2). A bus access of 1, 2, 4 or 8 bytes becomes reads of
// the 32-bit words it touches; writes reach only whole, aligned 32-bit words.
#pragma once

#include <cstdint>

namespace fpgadext::models::pci {

inline uint64_t AllOnes(unsigned width) {
  return width >= 8 ? ~uint64_t{0} : ((uint64_t{1} << (8 * width)) - 1);
}

// Assembles a read of `width` bytes at `offset` from the 32-bit words it touches.
template <class Read32>
uint64_t ReadVia32(uint64_t offset, unsigned width, Read32&& read32) {
  const uint64_t first = offset & ~uint64_t{3};
  uint8_t bytes[12] = {};
  for (uint64_t word = first; word < offset + width; word += 4) {
    const uint32_t v = read32(word);
    for (unsigned i = 0; i < 4; ++i) bytes[word - first + i] = static_cast<uint8_t>(v >> (8 * i));
  }
  uint64_t value = 0;
  for (unsigned i = 0; i < width; ++i) value |= uint64_t{bytes[offset - first + i]} << (8 * i);
  return value;
}

// Splits a write into aligned 32-bit word writes. Returns false (and writes nothing) when the
// access does not cover whole aligned words: such writes are not supported by a 32-bit bus.
template <class Write32>
bool WriteVia32(uint64_t offset, unsigned width, uint64_t value, Write32&& write32) {
  if ((offset & 3) != 0 || (width != 4 && width != 8)) return false;
  write32(offset, static_cast<uint32_t>(value));
  if (width == 8) write32(offset + 4, static_cast<uint32_t>(value >> 32));
  return true;
}

}  // namespace fpgadext::models::pci
