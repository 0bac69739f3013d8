// Building the data mover a board needs: the XDMA engine (descriptor rings and writeback words
// allocated and prepared for DMA here, once) or the PIO engine over a BAR window. Everything is
// held by owners (OSSharedPtr, IOOwned, PreparedBuffer), so a mover half built is undone by
// letting MoverResources go.
#pragma once

#include <DriverKit/IOBufferMemoryDescriptor.h>
#include <DriverKit/IODMACommand.h>
#include <DriverKit/IOMemoryMap.h>
#include <DriverKit/OSSharedPtr.h>
#include <PCIDriverKit/IOPCIDevice.h>
#include <fpgadext/engine/dma_engine.h>
#include <fpgadext/engine/platform.h>
#include <pio/pio_engine.h>
#include <xdma/xdma_engine.h>

#include "bar_layout.h"
#include "io_owned.h"
#include "pci_register_io.h"
#include "prepared_buffer.h"

namespace fpgadext::dext {

inline constexpr uint32_t kMoverDirections = 2;

// What a data mover is made of. Members go in reverse order of declaration: the engine first,
// then the memory it used; the destructor stops every channel before that.
struct MoverResources {
  using Xdma = engine::XdmaEngine<PciRegisterIo>;

  MoverResources() = default;
  ~MoverResources();
  MoverResources(const MoverResources&) = delete;
  MoverResources& operator=(const MoverResources&) = delete;

  PciRegisterIo io;
  PreparedBuffer rings[kMoverDirections][xdma::kMaxChannels];
  PreparedBuffer writeback;
  OSSharedPtr<IOMemoryDescriptor> window;  // PIO: the BAR and its mapping in the dext
  OSSharedPtr<IOMemoryMap> windowMap;
  IOOwned<Xdma> xdma;
  IOOwned<engine::PioEngine> pio;
  engine::DataMover* mover = nullptr;  // xdma or pio
};

// On success *resources holds a ready (probed) mover; on failure it is empty and nothing is
// left prepared or allocated. The device must stay open while the resources exist.
[[nodiscard]] IOReturn CreateXdmaMover(IOService* owner, IOPCIDevice* device,
                                       const BarLayout& layout, uint64_t cardMemorySize,
                                       const engine::Platform& platform,
                                       IOOwned<MoverResources>* resources);
[[nodiscard]] IOReturn CreatePioMover(IOService* owner, IOPCIDevice* device,
                                      const BarLayout& layout, const engine::Platform& platform,
                                      IOOwned<MoverResources>* resources);

}  // namespace fpgadext::dext
