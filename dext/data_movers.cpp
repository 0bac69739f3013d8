// Data movers for FpgaDriver. Everything an engine touches on the I/O path is allocated and
// prepared for DMA here, at Start: descriptor rings, writeback words, the engine itself.
// C++ library headers first: DriverKit declares the global placement operator new, and
// libc++'s <new> read after any DriverKit header does not compile (docs/macos.md).
#include <new>

#include "data_movers.h"

#include <DriverKit/IOLib.h>
#include <os/log.h>

namespace fpgadext::dext {
namespace {

constexpr uint32_t kRingBytes = 64 * 1024;  // 2048 descriptors per channel
constexpr uint32_t kWritebackStride = 64;   // one word per channel, a cache line apart

}  // namespace

MoverResources::~MoverResources() {
  if (mover != nullptr) {
    // Stop every channel before the memory it reads goes away.
    const engine::EngineLimits& limits = mover->Limits();
    for (uint32_t d = 0; d < kMoverDirections; ++d) {
      for (uint32_t c = 0; c < limits.channels[d]; ++c) {
        const IOReturn stopped = mover->Recover(static_cast<engine::Direction>(d), c);
        // A channel that stays busy still has its ring unprepared below: the IOMMU then keeps
        // the engine from the memory. Worth a line in the log, nothing more to do.
        if (stopped != kIOReturnSuccess) {
          os_log_error(OS_LOG_DEFAULT, "fpgadext: channel %u/%u did not stop: 0x%x", d, c, stopped);
        }
      }
    }
  }
  mover = nullptr;
  // The members go now, in reverse order: the engine, then the memory it used.
}

IOReturn CreateXdmaMover(IOService* owner, IOPCIDevice* device, const BarLayout& layout,
                         uint64_t cardMemorySize, const engine::Platform& platform,
                         IOOwned<MoverResources>* resources) {
  (void)owner;
  resources->reset();
  IOOwned<MoverResources> r = IOOwned<MoverResources>::Make();
  if (!r) return kIOReturnNoMemory;
  r->io = PciRegisterIo(device, layout.bars[layout.dmaBar].memoryIndex);
  engine::XdmaEngineConfig config;
  config.cardMemorySize = cardMemorySize;
  // Channel interrupts unmasked in the engine; the IRQ block enables a channel only while a
  // transfer sleeps on it (channel_interrupts.h), so polling transfers never see one.
  config.completionInterrupts = true;
  IOReturn ret = r->writeback.Prepare(device, kIOMemoryDirectionIn, 4096);
  if (ret != kIOReturnSuccess) return ret;
  for (uint32_t d = 0; d < kMoverDirections; ++d) {
    for (uint32_t c = 0; c < xdma::kMaxChannels; ++c) {
      PreparedBuffer& ring = r->rings[d][c];
      // The device only reads descriptors.
      ret = ring.Prepare(device, kIOMemoryDirectionOut, kRingBytes);
      if (ret != kIOReturnSuccess) return ret;
      engine::XdmaChannelMemory& m = config.channels[d][c];
      m.ring.cpu = reinterpret_cast<xdma::Descriptor*>(ring.cpu());
      m.ring.segments = ring.segments();
      m.ring.segmentCount = ring.segmentCount();
      m.ring.capacity = kRingBytes / sizeof(xdma::Descriptor);
      const uint32_t offset = (d * xdma::kMaxChannels + c) * kWritebackStride;
      m.writeback.cpu = reinterpret_cast<uint32_t*>(r->writeback.cpu() + offset);
      m.writeback.bus = r->writeback.segments()[0].address + offset;
    }
  }
  r->xdma = IOOwned<MoverResources::Xdma>::Make(r->io, platform, config);
  if (!r->xdma) return kIOReturnNoMemory;
  r->mover = r->xdma.get();
  ret = r->xdma->Probe();
  if (ret != kIOReturnSuccess) return ret;
  *resources = static_cast<IOOwned<MoverResources>&&>(r);
  return kIOReturnSuccess;
}

IOReturn CreatePioMover(IOService* owner, IOPCIDevice* device, const BarLayout& layout,
                        const engine::Platform& platform, IOOwned<MoverResources>* resources) {
  (void)platform;
  resources->reset();
  // The card's memory is the first BAR, mapped into the dext once.
  int bar = 0;
  while (bar < 6 && !layout.bars[bar].present) ++bar;
  if (bar == 6) return kIOReturnNoResources;
  IOOwned<MoverResources> r = IOOwned<MoverResources>::Make();
  if (!r) return kIOReturnNoMemory;
  IOReturn ret =
      device->_CopyDeviceMemoryWithIndex(layout.bars[bar].memoryIndex, r->window.attach(), owner);
  if (ret != kIOReturnSuccess) return ret;
  ret = r->window->CreateMapping(0, 0, 0, 0, 0, r->windowMap.attach());
  if (ret != kIOReturnSuccess) return ret;
  if (r->windowMap->GetAddress() == 0 || r->windowMap->GetLength() < layout.bars[bar].size) {
    return kIOReturnNoResources;
  }
  r->pio = IOOwned<engine::PioEngine>::Make(
      reinterpret_cast<volatile uint8_t*>(r->windowMap->GetAddress()), layout.bars[bar].size);
  if (!r->pio) return kIOReturnNoMemory;
  r->mover = r->pio.get();
  *resources = static_cast<IOOwned<MoverResources>&&>(r);
  return kIOReturnSuccess;
}

}  // namespace fpgadext::dext
