#include "bar_layout.h"

#include <xdma/xdma_registers.h>

namespace fpgadext::dext {
namespace {

// The XDMA register block: 64 KiB, with the IRQ block identifier at +0x2000 and the config
// block identifier at +0x3000 (version byte ignored), as drivers recognise it.
bool IsDmaBar(IOPCIDevice* device, const BarLayout::Bar& bar) {
  using xdma::Identifier;
  if (!bar.present || bar.size < xdma::kDmaBarSize / 2) return false;
  uint32_t irq = 0, config = 0;
  device->MemoryRead32(bar.memoryIndex, xdma::kIrqBlockBase, &irq);
  device->MemoryRead32(bar.memoryIndex, xdma::kConfigBlockBase, &config);
  return (irq & Identifier::kIdMask) == Identifier::kIrqBlockIdMasked &&
         (config & Identifier::kIdMask) == Identifier::kConfigBlockIdMasked;
}

}  // namespace

BarLayout DiscoverBars(IOPCIDevice* device) {
  BarLayout layout;
  int order[6];
  int count = 0;
  for (uint8_t i = 0; i < 6; ++i) {
    BarLayout::Bar& bar = layout.bars[i];
    if (device->GetBARInfo(i, &bar.memoryIndex, &bar.size, &bar.type) != kIOReturnSuccess ||
        bar.size == 0) {
      continue;
    }
    bar.present = true;
    order[count++] = i;
  }
  int dmaPosition = -1;
  for (int p = 0; p < count && dmaPosition < 0; ++p) {
    if (IsDmaBar(device, layout.bars[order[p]])) dmaPosition = p;
  }
  if (dmaPosition < 0) return layout;  // no XDMA: a PIO board
  layout.dmaBar = order[dmaPosition];
  // By position among the present BARs: DMA first means the other one is the bypass BAR; DMA
  // second means the first is the user BAR, and a BAR after the DMA BAR is the bypass BAR.
  if (dmaPosition >= 1) layout.userBar = order[0];
  if (dmaPosition + 1 < count) layout.bypassBar = order[count - 1];
  return layout;
}

}  // namespace fpgadext::dext
