// What a transfer costs a Mac's host on each path, as the library plans with it (issue 14 item
// 2; docs/performance.md "Paths"). The figures are the emulation's `mac-m2` host-cost profile
// (emu/hw/host_cost.cpp; HostCostTest.ProductPathCostsAreTheMacProfiles keeps them equal) plus
// the app's copy rate; each one's source is in docs/performance.md. The link's time is left
// out: every path moves the same bytes over it.
#pragma once

#include <stdint.h>

namespace fpgadext::protocol {

struct PathCosts {
  uint64_t driverCallNs;    // one IOConnectCallMethod round trip (estimate)
  uint64_t wireNs;          // PrepareForDMA of app memory (fit of published measurements)
  uint64_t wirePageNs;      //   per page
  uint64_t unwireNs;        // CompleteDMA of app memory (estimate)
  uint64_t unwirePageNs;    //   per page
  uint64_t pageSize;        // Apple silicon: 16 KiB
  uint64_t copyBytesPerUs;  // one core's memcpy in the app (estimate: 10 GB/s)
};

inline constexpr PathCosts kMacM2PathCosts = {15'000, 350'000, 3'900, 20'000, 1'000, 16384, 10'000};

constexpr uint64_t CopyNs(const PathCosts& c, uint64_t bytes) {
  return bytes * 1000 / c.copyBytesPerUs;
}

// Client memory: one call, the app's pages wired and unwired (the most pages `length` bytes at
// any alignment can touch).
constexpr uint64_t ClientMemoryNs(const PathCosts& c, uint64_t length) {
  const uint64_t pages = length / c.pageSize + 2;
  return c.driverCallNs + c.wireNs + c.unwireNs + pages * (c.wirePageNs + c.unwirePageNs);
}

// Bounce: one call per buffer's worth, and the app's copy of every byte.
constexpr uint64_t BounceNs(const PathCosts& c, uint64_t length, uint64_t bounceSize) {
  const uint64_t calls = length == 0 ? 1 : (length + bounceSize - 1) / bounceSize;
  return calls * c.driverCallNs + CopyNs(c, length);
}

// In-band (≤ kInbandMax): one call; the bytes are copied into the message and once more by the
// dext into its staging page.
constexpr uint64_t InbandNs(const PathCosts& c, uint64_t length) {
  return c.driverCallNs + 2 * CopyNs(c, length);
}

// Whether wiring the app's pages costs less than copying through a bounce buffer of
// `bounceSize` bytes: the crossover, per length. Never under kMacM2PathCosts: wiring runs at
// 16 KiB / 4.9 µs ≈ 3.3 GB/s after a 370 µs start, the copy at 10 GB/s.
constexpr bool ClientMemoryIsCheaper(const PathCosts& c, uint64_t length, uint64_t bounceSize) {
  return ClientMemoryNs(c, length) < BounceNs(c, length, bounceSize);
}

}  // namespace fpgadext::protocol
