// Data movers for FpgaDriver. Everything an engine touches on the I/O path is allocated and
// prepared for DMA here, at Start: descriptor rings, writeback words, the engine itself.
// C++ library headers first: DriverKit declares the global placement operator new, and
// libc++'s <new> read after any DriverKit header does not compile (docs/macos.md).
#include <new>

#include "data_movers.h"

#include <DriverKit/IOBufferMemoryDescriptor.h>
#include <DriverKit/IODMACommand.h>
#include <DriverKit/IOLib.h>
#include <DriverKit/IOMemoryMap.h>
#include <os/log.h>
#include <pio/pio_engine.h>
#include <xdma/xdma_engine.h>

#include "pci_register_io.h"

namespace fpgadext::dext {
namespace {

using Xdma = engine::XdmaEngine<PciRegisterIo>;

constexpr uint32_t kDirections = 2;
constexpr uint32_t kRingBytes = 64 * 1024;  // 2048 descriptors per channel
constexpr uint32_t kWritebackStride = 64;   // one word per channel, a cache line apart

// A buffer prepared once for the device, with its bus segments.
struct PreparedBuffer {
  IOBufferMemoryDescriptor* memory;
  IODMACommand* command;
  engine::BusSegment segments[engine::kMaxSegmentsPerWindow];
  uint32_t segmentCount;
  uint8_t* cpu;
};

IOReturn Prepare(IOService* device, uint64_t direction, uint64_t size, PreparedBuffer* buffer) {
  IOReturn ret = IOBufferMemoryDescriptor::Create(direction, size, 0, &buffer->memory);
  if (ret != kIOReturnSuccess) return ret;
  buffer->memory->SetLength(size);
  IOAddressSegment range{};
  buffer->memory->GetAddressRange(&range);
  buffer->cpu = reinterpret_cast<uint8_t*>(range.address);
  IODMACommandSpecification spec{};
  spec.maxAddressBits = 64;
  ret = IODMACommand::Create(device, 0, &spec, &buffer->command);
  if (ret != kIOReturnSuccess) return ret;
  IOAddressSegment segments[engine::kMaxSegmentsPerWindow];
  uint32_t count = engine::kMaxSegmentsPerWindow;
  uint64_t flags = 0;
  ret = buffer->command->PrepareForDMA(0, buffer->memory, 0, size, &flags, &count, segments);
  if (ret != kIOReturnSuccess) return ret;
  uint64_t covered = 0;
  for (uint32_t i = 0; i < count; ++i) {
    buffer->segments[i] = engine::BusSegment{segments[i].address, segments[i].length};
    covered += segments[i].length;
  }
  buffer->segmentCount = count;
  return covered == size ? kIOReturnSuccess : kIOReturnNoResources;
}

void Unprepare(PreparedBuffer* buffer) {
  if (buffer->command != nullptr) buffer->command->CompleteDMA(0);
  OSSafeReleaseNULL(buffer->command);
  OSSafeReleaseNULL(buffer->memory);
}

}  // namespace

struct MoverResources {
  PciRegisterIo io;
  PreparedBuffer rings[kDirections][xdma::kMaxChannels];
  PreparedBuffer writeback;
  IOMemoryDescriptor* window;  // PIO: the BAR and its mapping in the dext
  IOMemoryMap* windowMap;
  engine::DataMover* mover;
  void (*destroy)(engine::DataMover*);
  size_t moverSize;
};

IOReturn CreateXdmaMover(IOService* owner, IOPCIDevice* device, const BarLayout& layout,
                         uint64_t cardMemorySize, const engine::Platform& platform,
                         MoverResources** resources, engine::DataMover** mover) {
  auto* r = IONewZero(MoverResources, 1);
  if (r == nullptr) return kIOReturnNoMemory;
  r->io = PciRegisterIo(device, layout.bars[layout.dmaBar].memoryIndex);
  engine::XdmaEngineConfig config;
  config.cardMemorySize = cardMemorySize;
  IOReturn ret = Prepare(device, kIOMemoryDirectionIn, 4096, &r->writeback);
  for (uint32_t d = 0; d < kDirections && ret == kIOReturnSuccess; ++d) {
    for (uint32_t c = 0; c < xdma::kMaxChannels && ret == kIOReturnSuccess; ++c) {
      // The device only reads descriptors.
      ret = Prepare(device, kIOMemoryDirectionOut, kRingBytes, &r->rings[d][c]);
      if (ret != kIOReturnSuccess) break;
      engine::XdmaChannelMemory& m = config.channels[d][c];
      m.ring.cpu = reinterpret_cast<xdma::Descriptor*>(r->rings[d][c].cpu);
      m.ring.segments = r->rings[d][c].segments;
      m.ring.segmentCount = r->rings[d][c].segmentCount;
      m.ring.capacity = kRingBytes / sizeof(xdma::Descriptor);
      const uint32_t offset = (d * xdma::kMaxChannels + c) * kWritebackStride;
      m.writeback.cpu = reinterpret_cast<uint32_t*>(r->writeback.cpu + offset);
      m.writeback.bus = r->writeback.segments[0].address + offset;
    }
  }
  if (ret == kIOReturnSuccess) {
    void* storage = IOMallocZero(sizeof(Xdma));
    if (storage == nullptr) {
      ret = kIOReturnNoMemory;
    } else {
      auto* xdmaEngine = new (storage) Xdma(r->io, platform, config);
      r->mover = xdmaEngine;
      r->moverSize = sizeof(Xdma);
      r->destroy = [](engine::DataMover* m) { static_cast<Xdma*>(m)->~Xdma(); };
      ret = xdmaEngine->Probe();
    }
  }
  if (ret != kIOReturnSuccess) {
    DestroyMover(r);
    return ret;
  }
  *resources = r;
  *mover = r->mover;
  return kIOReturnSuccess;
}

IOReturn CreatePioMover(IOService* owner, IOPCIDevice* device, const BarLayout& layout,
                        const engine::Platform& platform, MoverResources** resources,
                        engine::DataMover** mover) {
  // The card's memory is the first BAR, mapped into the dext once.
  int bar = 0;
  while (bar < 6 && !layout.bars[bar].present) ++bar;
  if (bar == 6) return kIOReturnNoResources;
  auto* r = IONewZero(MoverResources, 1);
  if (r == nullptr) return kIOReturnNoMemory;
  IOReturn ret =
      device->_CopyDeviceMemoryWithIndex(layout.bars[bar].memoryIndex, &r->window, owner);
  if (ret == kIOReturnSuccess) ret = r->window->CreateMapping(0, 0, 0, 0, 0, &r->windowMap);
  if (ret == kIOReturnSuccess) {
    void* storage = IOMallocZero(sizeof(engine::PioEngine));
    if (storage == nullptr) {
      ret = kIOReturnNoMemory;
    } else {
      r->mover = new (storage) engine::PioEngine(
          reinterpret_cast<volatile uint8_t*>(r->windowMap->GetAddress()), layout.bars[bar].size);
      r->moverSize = sizeof(engine::PioEngine);
      r->destroy = [](engine::DataMover* m) { static_cast<engine::PioEngine*>(m)->~PioEngine(); };
    }
  }
  if (ret != kIOReturnSuccess) {
    DestroyMover(r);
    return ret;
  }
  *resources = r;
  *mover = r->mover;
  return kIOReturnSuccess;
}

void DestroyMover(MoverResources* r) {
  if (r == nullptr) return;
  if (r->mover != nullptr) {
    // Stop every channel before the memory it reads goes away.
    const engine::EngineLimits& limits = r->mover->Limits();
    for (uint32_t d = 0; d < kDirections; ++d) {
      for (uint32_t c = 0; c < limits.channels[d]; ++c) {
        const IOReturn stopped = r->mover->Recover(static_cast<engine::Direction>(d), c);
        // A channel that stays busy still has its ring unprepared below: the IOMMU then keeps
        // the engine from the memory. Worth a line in the log, nothing more to do.
        if (stopped != kIOReturnSuccess) {
          os_log_error(OS_LOG_DEFAULT, "fpgadext: channel %u/%u did not stop: 0x%x", d, c, stopped);
        }
      }
    }
    r->destroy(r->mover);
    IOFree(r->mover, r->moverSize);
  }
  for (uint32_t d = 0; d < kDirections; ++d) {
    for (uint32_t c = 0; c < xdma::kMaxChannels; ++c) Unprepare(&r->rings[d][c]);
  }
  Unprepare(&r->writeback);
  OSSafeReleaseNULL(r->windowMap);
  OSSafeReleaseNULL(r->window);
  IOSafeDeleteNULL(r, MoverResources, 1);
}

}  // namespace fpgadext::dext
