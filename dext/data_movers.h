// Building the data mover a board needs: the XDMA engine (descriptor rings and writeback words
// allocated and prepared for DMA here, once) or the PIO engine over a BAR window.
#pragma once

#include <PCIDriverKit/IOPCIDevice.h>
#include <fpgadext/engine/dma_engine.h>
#include <fpgadext/engine/platform.h>

#include "bar_layout.h"

namespace fpgadext::dext {

struct MoverResources;

// On success *mover is ready (probed) and *resources owns it and everything it uses.
IOReturn CreateXdmaMover(IOService* owner, IOPCIDevice* device, const BarLayout& layout,
                         uint64_t cardMemorySize, const engine::Platform& platform,
                         MoverResources** resources, engine::DataMover** mover);
IOReturn CreatePioMover(IOService* owner, IOPCIDevice* device, const BarLayout& layout,
                        const engine::Platform& platform, MoverResources** resources,
                        engine::DataMover** mover);
// Stops and frees; the device must still be open.
void DestroyMover(MoverResources* resources);

}  // namespace fpgadext::dext
