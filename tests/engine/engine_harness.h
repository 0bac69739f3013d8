// Test bench for the engine: the real XdmaEngine and TransferPlanner driving models/xdma through
// its DMA BAR, with host memory, descriptor rings and writeback words mapped through the
// emulated IOMMU (no dext, no DriverKit runtime). The IOMMU and the page size are those of the
// hardware profile FPGADEXT_EMU_PROFILE names (docs/emulation.md, "Hardware profiles"), as on
// an emulated Machine: CTest runs the engine tests in both profiles.
#pragma once

#include <fpgadext/emu/hardware_profile.h>
#include <fpgadext/emu/iommu.h>
#include <fpgadext/emu/pci_function.h>
#include <fpgadext/engine/transfer_planner.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "models/xdma/xdma_model.h"
#include "xdma/xdma_engine.h"

namespace fpgadext::engine::test {

// Platform from std::chrono; relax yields.
Platform TestPlatform();

// RegisterIo over a model BAR.
struct BarIo {
  emu::MmioRegion* bar;
  uint32_t Read32(uint32_t offset) { return static_cast<uint32_t>(bar->Read(offset, 4)); }
  void Write32(uint32_t offset, uint32_t value) { bar->Write(offset, 4, value); }
};

// A DmaPort straight to the IOMMU (interrupts are dropped: poll mode; a test that wants them
// overrides SignalMessage).
class IommuPort : public emu::DmaPort {
 public:
  explicit IommuPort(emu::Iommu& iommu) : iommu_(iommu) {}
  IOReturn DmaRead(uint64_t bus, void* dst, uint64_t length) override {
    return iommu_.DeviceRead(bus, dst, length);
  }
  IOReturn DmaWrite(uint64_t bus, const void* src, uint64_t length) override {
    return iommu_.DeviceWrite(bus, src, length);
  }
  void SignalMessage(uint64_t, uint32_t) override {}

 private:
  emu::Iommu& iommu_;
};

// Host allocation aligned to the largest page of any profile (16 KiB), with the bytes of
// interest at `offset`.
class HostBytes {
 public:
  HostBytes(size_t size, size_t offset);
  ~HostBytes();
  HostBytes(const HostBytes&) = delete;
  HostBytes& operator=(const HostBytes&) = delete;
  uint8_t* data() { return data_; }
  size_t size() const { return size_; }

 private:
  uint8_t* base_;
  uint8_t* data_;
  size_t size_;
};

// HostMemory over CPU bytes, mapped window by window through the IOMMU as PrepareForDMA would.
// `fragment` > 0 cuts the memory into segments at every `fragment`-aligned CPU address (one
// IOMMU mapping each, so neighbours are never adjacent on the bus), like physically scattered
// pages; 0 gives one segment per window.
class IommuHostMemory final : public HostMemory {
 public:
  IommuHostMemory(emu::Iommu& iommu, uint8_t* data, uint64_t length, emu::DmaAccess access,
                  uint32_t slots = 4, uint64_t fragment = 0);
  ~IommuHostMemory();

  uint64_t Length() const override { return length_; }
  IOReturn PrepareWindow(uint32_t slot, uint64_t offset, uint64_t length, BusSegment* segments,
                         uint32_t* count, uint64_t* covered) override;
  void CompleteWindow(uint32_t slot) override;
  // The window's IOVAs go to the lease, which unmaps them on Release (this object may go first).
  bool HandOverWindow(uint32_t slot, WindowLease* lease) override;
  uint32_t Slots() const override { return slots_; }
  IOReturn MapForCpu(uint64_t offset, uint64_t length, uint8_t** address) override;

  uint64_t windowsPrepared() const { return windowsPrepared_; }
  uint32_t maxSegmentsSeen() const { return maxSegmentsSeen_; }
  // Windows prepared and not completed (handed-over windows are the lease's, not counted).
  size_t Outstanding() const;
  // Windows handed over to a lease.
  uint32_t handedOver() const { return handedOver_; }

 private:
  emu::Iommu& iommu_;
  uint8_t* data_;
  uint64_t length_;
  emu::DmaAccess access_;
  uint32_t slots_;
  uint64_t fragment_;
  std::vector<std::vector<uint64_t>> mapped_;  // per slot: IOVAs to unmap
  std::vector<bool> prepared_;
  uint64_t windowsPrepared_ = 0;
  uint32_t maxSegmentsSeen_ = 0;
  uint32_t handedOver_ = 0;
};

// Descriptor rings and writeback words of every channel, in host memory mapped through the
// IOMMU page by page (the IOMMU's pages: scattered bus pages). `ringOffset` (a multiple of 32)
// places each ring that far into its first page, so blocks meet page boundaries at odd places.
class ChannelMemory {
 public:
  ChannelMemory(emu::Iommu& iommu, uint32_t capacity, uint32_t ringOffset = 0);
  ~ChannelMemory();
  const XdmaEngineConfig& config() const { return config_; }
  XdmaEngineConfig& config() { return config_; }

 private:
  emu::Iommu& iommu_;
  XdmaEngineConfig config_;
  std::vector<std::unique_ptr<HostBytes>> rings_;
  std::vector<std::vector<BusSegment>> segments_;
  std::unique_ptr<HostBytes> words_;
  std::vector<uint64_t> mapped_;
};

void FillPattern(uint8_t* p, size_t n, uint32_t seed);
// Index of the first mismatch, or -1.
long FirstMismatch(const uint8_t* a, const uint8_t* b, size_t n);

struct BenchOptions {
  // The Mac the bench is: its IOMMU (DART or VT-d) and page size. A test that makes a device
  // touch memory it was not given on purpose says kIntel: VT-d refuses and records the access,
  // where DART would stop the machine (or let a write to read-only memory land).
  emu::HardwareProfile profile = emu::HardwareProfileFromEnvironment();
  models::XdmaModel::Config model = DefaultModel();
  uint32_t ringCapacity = 256;
  uint32_t ringOffset = 0;
  PlannerOptions planner{};
  // The clock and relax of the engine and the planner (a test may drive its own clock).
  Platform platform = TestPlatform();
  // XdmaEngineConfig::stopTimeoutNs: how long Recover waits for a busy channel.
  uint64_t stopTimeoutNs = XdmaEngineConfig{}.stopTimeoutNs;
  // XdmaEngineConfig::completionInterrupts: the channels' interrupts unmasked at Probe.
  bool interrupts = false;
  // The profile's page size (a ring offset that puts a ring near a page end uses it).
  uint64_t PageSize() const { return emu::HardwareProfilePageSize(profile); }
  static models::XdmaModel::Config DefaultModel() {
    models::XdmaModel::Config c;
    c.cardMemorySize = 256ull << 20;
    return c;
  }
};

// The whole stack: IOMMU, model, channel memory, engine, pool, planner. Probe() already done.
struct Bench {
  explicit Bench(const BenchOptions& options = {});
  ~Bench();

  using Engine = XdmaEngine<BarIo>;
  emu::Iommu iommu;
  IommuPort port{iommu};
  models::XdmaModel model;
  BarIo io;
  ChannelMemory channelMemory;
  Platform platform;
  std::unique_ptr<Engine> engine;
  std::unique_ptr<ChannelPool> pool;
  std::unique_ptr<TransferPlanner> planner;
  IOReturn probeResult = kIOReturnError;

  // Bytes the model moved, all channels of a direction.
  uint64_t ModelBytes(Direction d) const;
};

}  // namespace fpgadext::engine::test
