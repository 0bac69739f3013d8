// Which BAR is which on an XDMA board: the DMA BAR is found by its identifier registers, the
// user and bypass BARs by their position around it (xdma-facts §1). A board with no DMA BAR is
// served by the PIO engine through its first BAR.
#pragma once

#include <PCIDriverKit/IOPCIDevice.h>
#include <stdint.h>

namespace fpgadext::dext {

inline constexpr int kNoBar = -1;

struct BarLayout {
  struct Bar {
    bool present = false;
    uint8_t memoryIndex = 0;
    uint64_t size = 0;
    uint8_t type = 0;
  };
  Bar bars[6];
  int dmaBar = kNoBar;
  int userBar = kNoBar;
  int bypassBar = kNoBar;
};

// Reads the BAR table of `device` (which must be open with memory space enabled) and finds
// the DMA, user and bypass BARs.
BarLayout DiscoverBars(IOPCIDevice* device);

}  // namespace fpgadext::dext
