// The user register block behind the user (AXI4-Lite) BAR: what a board design would put there
// for a driver and its tests. Not part of the XDMA IP; the map is the model's own, documented in
// docs/models.md "User BAR". All registers are 32-bit (AXI4-Lite, xdma-facts §1).
#pragma once

#include <chrono>
#include <cstdint>

namespace fpgadext::models {

namespace user_reg {
inline constexpr uint32_t kId = 0x00;        // RO kUserBlockId
inline constexpr uint32_t kVersion = 0x04;   // RO kUserBlockVersion
inline constexpr uint32_t kScratch0 = 0x10;  // RW scratch 0..3 at 0x10, 0x14, 0x18, 0x1C
inline constexpr unsigned kScratchCount = 4;
inline constexpr uint32_t kCounterLo = 0x20;      // RO free-running 250 MHz counter; reading Lo
inline constexpr uint32_t kCounterHi = 0x24;      //    latches Hi
inline constexpr uint32_t kIrqRaise = 0x30;       // W1S: raise usr_irq_req[i] for each bit set
inline constexpr uint32_t kIrqClear = 0x34;       // W1C: drop usr_irq_req[i] (the host's ack)
inline constexpr uint32_t kIrqStatus = 0x38;      // RO: usr_irq_req lines now
inline constexpr uint32_t kCardMemSizeLo = 0x40;  // RO card memory size in bytes
inline constexpr uint32_t kCardMemSizeHi = 0x44;
inline constexpr uint32_t kChannels = 0x48;  // RO [3:0] H2C count, [7:4] C2H count,
                                             //    [12:8] user interrupt lines
}  // namespace user_reg

inline constexpr uint32_t kUserBlockId = 0xFD0E'0001;
inline constexpr uint32_t kUserBlockVersion = 0x0001'0000;
inline constexpr uint64_t kUserCounterHz = 250'000'000;

class IrqBlock;
class VectorSink;

// Register state; the board's lock is held around every call.
class UserBlock {
 public:
  UserBlock(uint64_t cardMemorySize, unsigned h2c, unsigned c2h, unsigned userInterrupts);
  uint32_t Read(uint32_t offset);
  void Write(uint32_t offset, uint32_t value, IrqBlock& irq, VectorSink& sink);

 private:
  uint64_t Ticks() const;

  uint64_t cardMemorySize_;
  uint32_t channels_;
  uint32_t lineMask_;
  uint32_t scratch_[user_reg::kScratchCount] = {};
  uint32_t counterHiLatch_ = 0;
  uint32_t irqLines_ = 0;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace fpgadext::models
