// Internal to models/xdma: the MMIO regions behind the board's BARs (xdma-facts §1).
#pragma once

#include <fpgadext/emu/pci_function.h>

#include "board.h"

namespace fpgadext::models {

// The 64 KiB DMA BAR: engine, IRQ, config, SGDMA and MSI-X registers (32-bit accesses, §2).
class DmaBarRegion final : public emu::MmioRegion {
 public:
  explicit DmaBarRegion(XdmaBoard& board) : board_(board) {}
  uint64_t Size() const override { return xdma::kDmaBarSize; }
  uint64_t Read(uint64_t offset, unsigned width) override;
  void Write(uint64_t offset, unsigned width, uint64_t value) override;

 private:
  XdmaBoard& board_;
};

// The user BAR: PCIe to AXI4-Lite master reaching the user register block (32-bit accesses).
class UserBarRegion final : public emu::MmioRegion {
 public:
  UserBarRegion(XdmaBoard& board, uint64_t size) : board_(board), size_(size) {}
  uint64_t Size() const override { return size_; }
  uint64_t Read(uint64_t offset, unsigned width) override;
  void Write(uint64_t offset, unsigned width, uint64_t value) override;

 private:
  XdmaBoard& board_;
  uint64_t size_;
};

// The bypass BAR: PCIe to AXI4-MM master, a window on card memory from AXI address 0.
class BypassBarRegion final : public emu::MmioRegion {
 public:
  BypassBarRegion(XdmaBoard& board, uint64_t size) : board_(board), size_(size) {}
  uint64_t Size() const override { return size_; }
  uint64_t Read(uint64_t offset, unsigned width) override;
  void Write(uint64_t offset, unsigned width, uint64_t value) override;
  uint8_t* DirectMemory() override { return board_.card.data(); }

 private:
  XdmaBoard& board_;
  uint64_t size_;
};

}  // namespace fpgadext::models
