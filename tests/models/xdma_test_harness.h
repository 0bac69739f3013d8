// Test bench for the XDMA model: a host with an IOMMU, a DmaPort that records MSI messages,
// mapped host buffers and register helpers. Drives the model the way xdma-facts.md describes,
// without a driver.
#pragma once

#include <fpgadext/emu/iommu.h>
#include <fpgadext/emu/pci_function.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "models/xdma/xdma_model.h"
#include "xdma/xdma_registers.h"

namespace fpgadext::models::test {

inline constexpr auto kTimeout = std::chrono::seconds(20);

// Polls `pred` until true or a generous deadline; never asserts on elapsed time.
bool WaitUntil(const std::function<bool()>& pred,
               std::chrono::steady_clock::duration timeout = kTimeout);

class TestPort final : public emu::DmaPort {
 public:
  struct Message {
    uint64_t address;
    uint32_t data;
  };
  explicit TestPort(emu::Iommu& iommu) : iommu_(iommu) {}
  IOReturn DmaRead(uint64_t bus, void* dst, uint64_t length) override {
    if (duringDma) duringDma(length);
    return iommu_.DeviceRead(bus, dst, length);
  }
  IOReturn DmaWrite(uint64_t bus, const void* src, uint64_t length) override {
    if (duringDma) duringDma(length);
    return iommu_.DeviceWrite(bus, src, length);
  }
  // Called inside every DMA access with its length (set before the model runs): a test can
  // hold an access in flight.
  std::function<void(uint64_t)> duringDma;
  void SignalMessage(uint64_t address, uint32_t data) override;

  std::vector<Message> Messages() const;
  size_t MessageCount() const;
  // Waits until at least `n` messages arrived.
  bool WaitForMessages(size_t n);

 private:
  emu::Iommu& iommu_;
  mutable std::mutex lock_;
  std::condition_variable cv_;
  std::vector<Message> messages_;
};

// Host memory mapped for the device. `offset` shifts the start inside a page-aligned allocation.
class HostBuffer {
 public:
  HostBuffer(emu::Iommu& iommu, size_t size, emu::DmaAccess access, size_t offset = 0);
  ~HostBuffer();
  HostBuffer(const HostBuffer&) = delete;
  HostBuffer& operator=(const HostBuffer&) = delete;
  uint8_t* data() { return data_; }
  size_t size() const { return size_; }
  uint64_t bus() const { return bus_; }
  uint64_t bus(size_t at) const { return bus_ + at; }

 private:
  emu::Iommu& iommu_;
  uint8_t* base_;
  uint8_t* data_;
  size_t size_;
  uint64_t bus_ = 0;
};

// Deterministic pattern: byte i of stream `seed`.
void FillPattern(uint8_t* p, size_t n, uint32_t seed);
// Index of the first mismatch, or -1.
long FirstMismatch(const uint8_t* a, const uint8_t* b, size_t n);

class Bench {
 public:
  explicit Bench(const XdmaModel::Config& config = {});
  ~Bench();

  // Register I/O on the DMA BAR (usable with the xdma:: register classes).
  uint32_t Read32(uint32_t offset) { return dma_->Read(offset, 4) & 0xFFFF'FFFFu; }
  void Write32(uint32_t offset, uint32_t value) { dma_->Write(offset, 4, value); }
  uint32_t UserRead(uint32_t offset) { return user_->Read(offset, 4) & 0xFFFF'FFFFu; }
  void UserWrite(uint32_t offset, uint32_t value) { user_->Write(offset, 4, value); }

  // Descriptors in host memory: a 32-byte-aligned ring of `count` entries, device-read-only.
  std::unique_ptr<HostBuffer> NewRing(size_t count, size_t offset = 0);
  std::unique_ptr<HostBuffer> NewBuffer(size_t size, emu::DmaAccess access, size_t offset = 0) {
    return std::make_unique<HostBuffer>(iommu, size, access, offset);
  }
  static xdma::Descriptor* Descs(HostBuffer& ring) {
    return reinterpret_cast<xdma::Descriptor*>(ring.data());
  }

  // Programs the SGDMA registers and sets Run with `control` (Run is added).
  void Start(xdma::Direction dir, unsigned ch, uint64_t firstDesc, unsigned dscAdj,
             uint32_t control = kControlAll);
  // Waits until Busy = 0. False on timeout.
  bool WaitIdle(xdma::Direction dir, unsigned ch);
  uint32_t Status(xdma::Direction dir, unsigned ch) {
    return Read32(xdma::ChannelBase(dir, ch) + xdma::channel_reg::kStatus);
  }
  uint32_t Completed(xdma::Direction dir, unsigned ch) {
    return Read32(xdma::ChannelBase(dir, ch) + xdma::channel_reg::kCompletedDescCount);
  }
  // Run cleared, status read-cleared: the documented recovery (xdma-facts §6.4).
  void StopAndClear(xdma::Direction dir, unsigned ch);
  // Enables MSI-X with entry v = {address base + v * 0x10, data 0x100 + v}, vector numbers
  // channels first then user, and every IRQ-block enable.
  void EnableMsix();
  void EnableMsi(unsigned log2Vectors, uint64_t address, uint16_t data);
  uint32_t FindCapability(uint8_t id);

  // Every ie_* logging bit (xdma-facts §3.3).
  static constexpr uint32_t kControlAll = 0x00FF'FE7E;

  emu::Iommu iommu;
  TestPort port{iommu};
  XdmaModel model;

 private:
  emu::MmioRegion* dma_ = nullptr;
  emu::MmioRegion* user_ = nullptr;
};

// Builds an Xilinx-driver-style descriptor list (xdma-facts §4 "How drivers compute it": linear
// list, every next pointer set, Nxt_adj counting down within 2 KiB slots, last has Stop|Completed)
// for the (host, card, length) pieces given. Returns the Dsc_adj for the first block.
struct Piece {
  uint64_t host;
  uint64_t card;
  uint32_t length;
};
unsigned BuildChain(HostBuffer& ring, xdma::Direction dir, const std::vector<Piece>& pieces);

}  // namespace fpgadext::models::test
