// The test pattern of `write --pattern SEED` and `verify --pattern SEED`: a pseudo-random byte
// stream determined by the seed and the offset from the start of the transfer (not the card
// address), so any piece of it can be made on its own and a pattern written at one address
// verifies at another.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace fpgadext::cli {

inline uint64_t PatternWord(uint64_t seed, uint64_t index) {
  // splitmix64 of (seed, index)
  uint64_t z = seed * 0x9E3779B97F4A7C15ull + index * 0xD1B54A32D192ED03ull + 0x632BE59BD9B4E019ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

inline std::byte PatternByte(uint64_t seed, uint64_t offset) {
  return static_cast<std::byte>(PatternWord(seed, offset / 8) >> (8 * (offset % 8)));
}

// Bytes [offset, offset + out.size()) of the stream.
inline void FillPattern(uint64_t seed, uint64_t offset, std::span<std::byte> out) {
  size_t i = 0;
  while (i < out.size() && (offset + i) % 8 != 0) {
    out[i] = PatternByte(seed, offset + i);
    ++i;
  }
  for (; i + 8 <= out.size(); i += 8) {
    const uint64_t w = PatternWord(seed, (offset + i) / 8);
    for (unsigned b = 0; b < 8; ++b) out[i + b] = static_cast<std::byte>(w >> (8 * b));
  }
  for (; i < out.size(); ++i) out[i] = PatternByte(seed, offset + i);
}

}  // namespace fpgadext::cli
