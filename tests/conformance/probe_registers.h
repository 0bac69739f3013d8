// Register map of the conformance tests' probe device (BAR0, 64 KiB), shared by the device
// model and the test dext.
#pragma once

#include <stdint.h>

namespace probe {

enum Register : uint64_t {
  kId = 0x00,           // RO: kIdValue
  kScratch = 0x08,      // RW 64-bit
  kDmaAddress = 0x10,   // RW 64-bit bus address
  kDmaLength = 0x18,    // RW 64-bit
  kDmaCommand = 0x20,   // WO: kDmaToDevice or kDmaToHost
  kDmaStatus = 0x28,    // RO: IOReturn of the last DMA
  kRaise = 0x30,        // WO: raise the vector written
  kMsixTable = 0x8000,  // MSI-X table, 8 entries
  kMsixPba = 0x9000,
};
enum DmaCommand : uint32_t { kDmaToDevice = 1, kDmaToHost = 2 };
inline constexpr uint32_t kIdValue = 0xC0FFEE01;
// BAR2 (64-bit, prefetchable; BAR3 is its upper half): 64 KiB of RAM without side effects.
inline constexpr unsigned kRamBar = 2;
inline constexpr uint64_t kRamSize = 0x10000;
inline constexpr uint16_t kVendor = 0x1234;
inline constexpr uint16_t kDevice = 0xF00D;

}  // namespace probe
