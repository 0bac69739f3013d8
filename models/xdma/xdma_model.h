// An FPGA board carrying an XDMA-compatible DMA engine (AMD/Xilinx DMA/Bridge Subsystem for PCIe
// in AXI memory-mapped mode), as a PCI function of the emulated machine.
//
// It is hardware, not a stub (DESIGN.md decision 6): register reads and writes take effect
// synchronously on the caller's thread; each DMA channel runs on its own thread, fetches
// descriptors from host memory and moves data through the DmaPort (the IOMMU), writes back
// completions and signals MSI/MSI-X messages. Behaviour follows shared/reference/xdma-facts.md;
// docs/models.md maps every register and behaviour to the fact it follows.
//
// BARs (xdma-facts §1): user AXI4-Lite BAR (user registers, see user_block.h), the 64 KiB DMA
// BAR (engine registers, engine/xdma/xdma_registers.h), optional bypass BAR (a window on card
// memory from AXI address 0). Order user, DMA, bypass; 32-bit BARs take registers 0/1/2,
// 64-bit BARs 0/2/4.
#pragma once

#include <fpgadext/emu/pci_function.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "../memory/card_memory.h"
#include "../pci/config_space.h"
#include "stream_port.h"
#include "timing.h"
#include "xdma/xdma_registers.h"

namespace fpgadext::models {

class XdmaBoard;

class XdmaModel : public emu::PciFunction {
 public:
  struct Config {
    // Identity (xdma-facts §1). Subsystem 10ee:0007 and class 0x058000 (memory controller) are
    // the model's choice.
    uint16_t vendorId = 0x10EE;
    uint16_t deviceId = 0x9034;
    uint16_t subsystemVendorId = 0x10EE;
    uint16_t subsystemId = 0x0007;
    uint8_t revisionId = 0;
    uint32_t classCode = 0x058000;

    // BAR layout (xdma-facts §1). The DMA BAR always exists.
    bool userBar = true;
    uint64_t userBarSize = 64 * 1024;
    bool bypassBar = false;
    uint64_t bypassBarSize = 1024 * 1024;  // ≤ card memory; maps AXI addresses from 0
    bool bars64Bit = false;

    // Card AXI memory at AXI address 0 (allocated as touched; file-backed when a path is set).
    uint64_t cardMemorySize = 1ull << 30;
    std::string cardMemoryFile;

    // Engines: 1..4 channels per direction (xdma-facts §2).
    unsigned h2cChannels = 2;
    unsigned c2hChannels = 2;
    // AXI4-Stream channels, bit c = channel c: their identifiers report bit 15, and they move
    // data to and from a StreamPort (stream_port.h) instead of card memory. The IP is either
    // memory-mapped or stream as a whole (PG195 "DMA Interface" option); the masks let one model
    // carry both for tests.
    uint32_t h2cStreamChannels = 0;
    uint32_t c2hStreamChannels = 0;
    StreamPortConfig stream{};     // every port's configuration
    unsigned userInterrupts = 16;  // usr_irq_req lines, ≤ 16 (xdma-facts §3.8)
    uint32_t ipVersion = xdma::kVersion2017_1;
    unsigned datapathWidthCode = 1;  // 0..3 = 64/128/256/512-bit AXI (xdma-facts §3.9)

    // PCI Express link and interrupt capabilities.
    pci::PcieLink link{};
    unsigned msiLog2Vectors = 5;  // MSI Multiple Message Capable: 32 vectors

    // Function Level Reset offered in the PCI Express capability (Device Capabilities bit 28).
    // Off by default: the facts the model follows do not say whether the IP's PCIe core offers
    // it. When on, Initiate FLR resets the function (XdmaBoard::FunctionLevelReset).
    bool functionLevelReset = false;

    // When set, BAR accesses with Command.MemorySpace clear read all ones and drop writes.
    bool honourMemorySpace = true;
    // The IP cannot see a refused posted write (C2H data to host memory). When set, the model
    // reports it anyway as C2H write_error bit 14 and stops, so the loss is not silent.
    bool reportHostWriteFaults = true;
    // Largest piece of a descriptor moved by one memcpy: the granularity of fault injection,
    // surprise removal and link pacing.
    uint64_t maxChunkBytes = 1024 * 1024;

    LinkTiming timing{};
  };

  // Counters for tests and benchmarks. Snapshot; each field is monotonic.
  struct Counters {
    uint64_t h2cBytes[xdma::kMaxChannels] = {};
    uint64_t c2hBytes[xdma::kMaxChannels] = {};
    uint64_t h2cDescriptors[xdma::kMaxChannels] = {};
    uint64_t c2hDescriptors[xdma::kMaxChannels] = {};
    uint64_t interruptsRaised = 0;      // MSI/MSI-X messages signalled
    uint64_t interruptsSuppressed = 0;  // vectors with no message: MSI/MSI-X off, no bus master
    uint64_t vectorMessages[xdma::kMaxVectors] = {};  // messages signalled per vector
    uint64_t iommuRefusals = 0;                       // host accesses the DmaPort refused
    uint64_t descriptorWarnings = 0;  // Stop mid-block, block across 4 KiB, unaligned block
    uint64_t unloggedErrors = 0;      // engine stopped on an error whose ie_* bit was clear
    uint64_t droppedMmioWrites = 0;   // writes narrower than 32 bits to 32-bit-only BARs
    // Device time, for benchmarks (docs/performance.md): jobs = Run rising edges the engines
    // picked up; jobNs = engine time from pick-up to the job's end (descriptor fetches, data,
    // writeback, modelled link delays included); wakeNs = from the Run edge to the pick-up
    // (the emulation's thread wake-up, which a real engine does not have).
    uint64_t jobs = 0;
    uint64_t jobNs = 0;
    uint64_t wakeNs = 0;
  };

  // C2H status bit for a host write the IOMMU refused (reportHostWriteFaults): bit 14 of the
  // write_error field, which the IP defines for H2C only. Logged when ie_write_error bit 14 is set.
  static constexpr uint32_t kC2hHostWriteRefused = 1u << 14;

  XdmaModel();
  // Out-of-range values are clamped: channels to 1..4, user interrupts to ≤ 16, BAR sizes to
  // powers of two, the bypass BAR to the card memory size.
  explicit XdmaModel(const Config& config);
  ~XdmaModel() override;
  XdmaModel(const XdmaModel&) = delete;
  XdmaModel& operator=(const XdmaModel&) = delete;

  // emu::PciFunction
  uint32_t ConfigRead(uint32_t offset, unsigned width) override;
  void ConfigWrite(uint32_t offset, unsigned width, uint32_t value) override;
  emu::MmioRegion* Bar(unsigned index) override;
  void Connect(emu::DmaPort* port) override;

  const Config& config() const { return config_; }
  // BAR register index of each BAR; -1 when the BAR does not exist.
  int userBarIndex() const { return userBarIndex_; }
  int dmaBarIndex() const { return dmaBarIndex_; }
  int bypassBarIndex() const { return bypassBarIndex_; }

  // The card's memory seen from the FPGA side (a JTAG-like back door for tests). Racing with a
  // running DMA on the same bytes is as undefined as on hardware.
  CardMemory& cardMemory();
  pci::ConfigSpace& configSpace();
  Counters counters() const;

  // Stream ports (channel numbers with a stream channel in either direction); calls on other
  // numbers do nothing / return nothing.
  std::vector<std::vector<uint8_t>> StreamPackets(unsigned channel);  // recorded H2C packets
  void ClearStreamPackets(unsigned channel);
  void PushStreamPacket(unsigned channel, const uint8_t* bytes, uint64_t length);  // to C2H
  void StartStreamGenerator(unsigned channel, const StreamGeneratorConfig& generator);
  StreamPortCounters StreamCounters(unsigned channel);

  // Fault injection (takes effect at the next chunk or descriptor boundary).
  // The channel's next data transfer never completes: Status stays Busy, count stops.
  void InjectHang(xdma::Direction dir, unsigned channel);
  // After `bytes` more bytes on the channel, the engine stops with `statusBit` (a bit number,
  // 9..18; 0 = AXI slave error: H2C write_error bit 15, C2H read_error bit 10).
  void InjectErrorAfterBytes(xdma::Direction dir, unsigned channel, uint64_t bytes,
                             unsigned statusBit = 0);
  // Link limited to `bytesPerSecond` each way (0 restores the configured timing).
  void SetSlowLink(double bytesPerSecond);
  // Clears hangs, pending errors and the slow link (not a removal).
  void ClearFaults();
  // The function wedges: BAR reads return all ones (what a Mac gets for a read that ends in a
  // completion timeout), BAR writes are dropped and every channel's data transfer stops, while
  // configuration space still answers. A function level reset ends it (ClearFaults only lets
  // the channels move again).
  void WedgeFunction();
  // The board is gone: config and BAR reads return all ones, writes are dropped, DMA and
  // interrupts stop. Irreversible for this object.
  void SurpriseRemove();
  bool removed() const;

 private:
  Config config_;
  std::unique_ptr<XdmaBoard> board_;
  int userBarIndex_ = -1;
  int dmaBarIndex_ = -1;
  int bypassBarIndex_ = -1;
  emu::MmioRegion* bars_[6] = {};
  std::unique_ptr<emu::MmioRegion> regions_[3];  // user, DMA, bypass
};

}  // namespace fpgadext::models
