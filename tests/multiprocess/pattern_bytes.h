// The bytes the multi-process tests write and check: the same in every process for one seed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace fpgadext::test {

inline std::vector<std::byte> PatternBytes(uint64_t size, uint64_t seed) {
  std::vector<std::byte> bytes(size);
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (uint64_t i = 0; i < size; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    bytes[i] = static_cast<std::byte>(x);
  }
  return bytes;
}

}  // namespace fpgadext::test
