// Register map of the user block of fpgadext's reference FPGA design: what the design puts behind
// the user (AXI4-Lite) BAR, next to the XDMA IP. Not part of the XDMA IP; documented in
// docs/models.md "User BAR".
//
// One definition is compiled by everyone who reads or implements the block: the dext (it learns
// the card memory size from it, dext/reference_design.h), the board model (models/xdma/
// user_block.cpp) and the tests. So they cannot drift apart.
//
// Dext-safe and header-only, in the style of xdma/xdma_registers.h, whose typed-register helpers
// it uses. All registers are 32-bit (AXI4-Lite).
//
// Usage:
//
//   if (reference_design::UserBlockId::Get().ReadFrom(io).present()) { ... }
//   auto channels = reference_design::UserChannels::Get().ReadFrom(io);
//   unsigned h2c = channels.h2c_count();
//
// `io` is any object with `uint32_t Read32(uint32_t offset)` and
// `void Write32(uint32_t offset, uint32_t value)` (offsets relative to the user BAR).
#pragma once

#include <stdint.h>

#include "xdma/xdma_registers.h"

namespace fpgadext::reference_design {

inline constexpr uint32_t kUserBlockId = 0xFD0E'0001;
inline constexpr uint32_t kUserBlockVersion = 0x0001'0000;
inline constexpr uint64_t kUserCounterHz = 250'000'000;  // the free-running counter's clock

// Offsets from the start of the user BAR.
namespace user_reg {
inline constexpr uint32_t kId = 0x00;        // RO kUserBlockId
inline constexpr uint32_t kVersion = 0x04;   // RO kUserBlockVersion
inline constexpr uint32_t kScratch0 = 0x10;  // RW scratch 0..3 at 0x10, 0x14, 0x18, 0x1C
inline constexpr unsigned kScratchCount = 4;
inline constexpr uint32_t kCounterLo = 0x20;      // RO free-running counter; reading Lo latches Hi
inline constexpr uint32_t kCounterHi = 0x24;      // RO the latched high word
inline constexpr uint32_t kIrqRaise = 0x30;       // W1S: raise usr_irq_req[i] for each bit set
inline constexpr uint32_t kIrqClear = 0x34;       // W1C: drop usr_irq_req[i] (the host's ack)
inline constexpr uint32_t kIrqStatus = 0x38;      // RO: usr_irq_req lines now
inline constexpr uint32_t kCardMemSizeLo = 0x40;  // RO card memory size in bytes
inline constexpr uint32_t kCardMemSizeHi = 0x44;
inline constexpr uint32_t kChannels = 0x48;  // RO channel and interrupt line counts

constexpr uint32_t Scratch(unsigned index) {
  return kScratch0 + 4 * index;
}
}  // namespace user_reg

// ID, offset 0x00: kUserBlockId on a board that carries the block.
class UserBlockId : public xdma::RegisterBase<UserBlockId> {
 public:
  constexpr bool present() const { return reg_value() == kUserBlockId; }
  static constexpr xdma::RegisterAddr<UserBlockId> Get() {
    return xdma::RegisterAddr<UserBlockId>(user_reg::kId);
  }
};

// Version, offset 0x04.
class UserBlockVersion : public xdma::RegisterBase<UserBlockVersion> {
 public:
  static constexpr xdma::RegisterAddr<UserBlockVersion> Get() {
    return xdma::RegisterAddr<UserBlockVersion>(user_reg::kVersion);
  }
};

// Scratch 0..3: read/write, no side effect.
class UserScratch : public xdma::RegisterBase<UserScratch> {
 public:
  static constexpr xdma::RegisterAddr<UserScratch> Get(unsigned index) {
    return xdma::RegisterAddr<UserScratch>(user_reg::Scratch(index));
  }
};

// Free-running counter at kUserCounterHz: reading the low word latches the high word, so Lo then
// Hi gives one consistent 64-bit value.
class UserCounter : public xdma::RegisterBase<UserCounter> {
 public:
  static constexpr xdma::RegisterAddr<UserCounter> GetLo() {
    return xdma::RegisterAddr<UserCounter>(user_reg::kCounterLo);
  }
  static constexpr xdma::RegisterAddr<UserCounter> GetHi() {
    return xdma::RegisterAddr<UserCounter>(user_reg::kCounterHi);
  }
};

// The usr_irq_req lines, one bit each: raise (W1S), clear (W1C, the host's acknowledge), and
// the lines now (RO).
class UserIrqLines : public xdma::RegisterBase<UserIrqLines> {
 public:
  static constexpr xdma::RegisterAddr<UserIrqLines> GetRaise() {
    return xdma::RegisterAddr<UserIrqLines>(user_reg::kIrqRaise);
  }
  static constexpr xdma::RegisterAddr<UserIrqLines> GetClear() {
    return xdma::RegisterAddr<UserIrqLines>(user_reg::kIrqClear);
  }
  static constexpr xdma::RegisterAddr<UserIrqLines> GetStatus() {
    return xdma::RegisterAddr<UserIrqLines>(user_reg::kIrqStatus);
  }
};

// Card memory size in bytes, as two words.
class UserCardMemorySize : public xdma::RegisterBase<UserCardMemorySize> {
 public:
  static constexpr xdma::RegisterAddr<UserCardMemorySize> GetLo() {
    return xdma::RegisterAddr<UserCardMemorySize>(user_reg::kCardMemSizeLo);
  }
  static constexpr xdma::RegisterAddr<UserCardMemorySize> GetHi() {
    return xdma::RegisterAddr<UserCardMemorySize>(user_reg::kCardMemSizeHi);
  }
};

// Channel and interrupt line counts of the design, offset 0x48.
class UserChannels : public xdma::RegisterBase<UserChannels> {
 public:
  FPGADEXT_XDMA_FIELD(12, 8, user_interrupts);
  FPGADEXT_XDMA_FIELD(7, 4, c2h_count);
  FPGADEXT_XDMA_FIELD(3, 0, h2c_count);

  static constexpr xdma::RegisterAddr<UserChannels> Get() {
    return xdma::RegisterAddr<UserChannels>(user_reg::kChannels);
  }
};

static_assert(user_reg::Scratch(user_reg::kScratchCount - 1) == 0x1C);
static_assert(UserChannels::Get()
                  .FromValue(0)
                  .set_h2c_count(2)
                  .set_c2h_count(2)
                  .set_user_interrupts(16)
                  .reg_value() == 0x1022);

}  // namespace fpgadext::reference_design
