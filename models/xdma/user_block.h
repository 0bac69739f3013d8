// The user register block behind the user (AXI4-Lite) BAR: what fpgadext's reference design
// puts there for a driver and its tests. Not part of the XDMA IP; the map is shared with the
// dext and the tests (reference_design/user_block_registers.h, docs/models.md "User BAR"). All
// registers are 32-bit (AXI4-Lite, xdma-facts §1).
#pragma once

#include <reference_design/user_block_registers.h>

#include <chrono>
#include <cstdint>

namespace fpgadext::models {

class IrqBlock;
class VectorSink;

// Register state; the board's lock is held around every call.
class UserBlock {
 public:
  UserBlock(uint64_t cardMemorySize, unsigned h2c, unsigned c2h, unsigned userInterrupts);
  uint32_t Read(uint32_t offset);
  void Write(uint32_t offset, uint32_t value, IrqBlock& irq, VectorSink& sink);
  // User logic asserts usr_irq_req lines and holds them until the host clears them (the IRQ
  // clear register): what the IRQ raise register does, and the hook for other user logic of the
  // model (e.g. a stream source at the end of a burst). Lines the design lacks are ignored.
  void RaiseLines(uint32_t lines, IrqBlock& irq, VectorSink& sink);

 private:
  uint64_t Ticks() const;

  uint64_t cardMemorySize_;
  uint32_t channels_;
  uint32_t lineMask_;
  uint32_t scratch_[reference_design::user_reg::kScratchCount] = {};
  uint32_t counterHiLatch_ = 0;
  uint32_t irqLines_ = 0;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace fpgadext::models
