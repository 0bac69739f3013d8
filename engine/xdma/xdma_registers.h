// Register map of the XDMA DMA BAR (AMD/Xilinx DMA/Bridge Subsystem for PCIe, PG195), AXI
// memory-mapped mode, as typed hwreg-style definitions.
//
// One definition is compiled by both sides: the engine driver (engine/xdma, dext-safe) and the
// board model (models/xdma). So driver and model cannot drift apart. Section references
// ("facts §3.3") are to shared/reference/xdma-facts.md, which cites the data book.
//
// Dext-safe: header-only, constexpr, no exceptions, RTTI, iostreams or containers; includes only
// <stdint.h> and <stddef.h>. Registers are 32-bit little-endian (facts §2).
//
// Usage:
//
//   // Start H2C channel 1 with completion interrupts and poll-mode writeback.
//   auto ctrl = xdma::ChannelControl::Get(xdma::Direction::kH2c, 1).FromValue(0);
//   ctrl.set_run(1).set_ie_descriptor_stopped(1).set_ie_descriptor_completed(1)
//       .set_ie_magic_stopped(1).set_ie_read_error(0x1F).set_ie_desc_error(0x1F)
//       .set_pollmode_wb_enable(1).WriteTo(io);
//   // Read (and clear) the status through the clear-on-read alias.
//   auto status = xdma::ChannelStatus::GetReadClear(xdma::Direction::kH2c, 1).ReadFrom(io);
//   if (status.magic_stopped()) { ... }
//
// `io` is any object with `uint32_t Read32(uint32_t offset)` and
// `void Write32(uint32_t offset, uint32_t value)` (offsets relative to the DMA BAR).
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace fpgadext::xdma {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "XDMA registers and descriptors are little-endian; so must the host be");

// ------------------------------------------------------------------------------------------------
// Bit-field helpers.

// Reached only by a value wider than its field: stops the process (a trap needs no exceptions,
// so the dext may use it). Not constexpr, so that the same mistake in a constant expression
// does not compile.
[[noreturn]] inline void FieldValueTooWide() {
  __builtin_trap();
}

// Bits [Hi:Lo] of a 32-bit register, high bit first as in the data book.
template <unsigned Hi, unsigned Lo>
struct Field {
  static_assert(Hi >= Lo && Hi < 32, "bad bit range");
  static constexpr unsigned kShift = Lo;
  static constexpr unsigned kWidth = Hi - Lo + 1;
  static constexpr uint32_t kMax = kWidth == 32 ? 0xFFFF'FFFFu : ((1u << kWidth) - 1u);
  static constexpr uint32_t kMask = kMax << Lo;

  static constexpr uint32_t Get(uint32_t reg) { return (reg & kMask) >> Lo; }
  static constexpr bool Fits(uint32_t value) { return value <= kMax; }
  // The field's bits holding `value`. A value that does not fit is a programmer error (a
  // descriptor length past 28 bits, a channel number past 15), never cut silently: see
  // FieldValueTooWide. Truncate is for the places that mean "the low bits".
  static constexpr uint32_t Make(uint32_t value) {
    if (!Fits(value)) FieldValueTooWide();
    return value << Lo;
  }
  static constexpr uint32_t Truncate(uint32_t value) { return (value & kMax) << Lo; }
  static constexpr uint32_t Set(uint32_t reg, uint32_t value) {
    return (reg & ~kMask) | Make(value);
  }
};

template <unsigned N>
using Bit = Field<N, N>;

// Base of a typed register value: raw value plus the DMA-BAR offset it was read from or will be
// written to. Read-modify-write keeps bits the class does not declare.
template <class Self>
class RegisterBase {
 public:
  constexpr uint32_t reg_value() const { return value_; }
  constexpr uint32_t reg_addr() const { return addr_; }
  constexpr Self& set_reg_value(uint32_t v) {
    value_ = v;
    return static_cast<Self&>(*this);
  }
  template <class F>
  constexpr uint32_t get() const {
    return F::Get(value_);
  }
  template <class F>
  constexpr Self& set(uint32_t v) {
    value_ = F::Set(value_, v);
    return static_cast<Self&>(*this);
  }
  template <class Io>
  Self& ReadFrom(Io& io) {
    value_ = io.Read32(addr_);
    return static_cast<Self&>(*this);
  }
  template <class Io>
  Self& WriteTo(Io& io) {
    io.Write32(addr_, value_);
    return static_cast<Self&>(*this);
  }

 protected:
  constexpr RegisterBase() = default;

 private:
  template <class>
  friend class RegisterAddr;
  uint32_t value_ = 0;
  uint32_t addr_ = 0;
};

// An address of a register of type T; ReadFrom/FromValue produce a T bound to that address.
template <class T>
class RegisterAddr {
 public:
  constexpr explicit RegisterAddr(uint32_t addr) : addr_(addr) {}
  constexpr uint32_t addr() const { return addr_; }
  template <class Io>
  T ReadFrom(Io& io) const {
    T reg = FromValue(0);
    reg.ReadFrom(io);
    return reg;
  }
  constexpr T FromValue(uint32_t value) const {
    T reg;
    reg.value_ = value;
    reg.addr_ = addr_;
    return reg;
  }

 private:
  uint32_t addr_;
};

// Declares `name()` and a chainable `set_name(v)` for bits [hi:lo], plus `name_field` type.
#define FPGADEXT_XDMA_FIELD(hi, lo, name)               \
  using name##_field = ::fpgadext::xdma::Field<hi, lo>; \
  constexpr uint32_t name() const {                     \
    return this->template get<name##_field>();          \
  }                                                     \
  constexpr auto& set_##name(uint32_t v) {              \
    return this->template set<name##_field>(v);         \
  }                                                     \
  static_assert(true)
#define FPGADEXT_XDMA_BIT(bit, name) FPGADEXT_XDMA_FIELD(bit, bit, name)

// ------------------------------------------------------------------------------------------------
// DMA BAR address decoding (facts §2): [15:12] target, [11:8] channel, [7:0] byte offset.

inline constexpr uint32_t kDmaBarSize = 0x10000;  // 64 KiB (facts §1)
inline constexpr unsigned kMaxChannels = 4;       // per direction (facts §2)

enum class Target : uint32_t {
  kH2cChannel = 0,
  kC2hChannel = 1,
  kIrq = 2,
  kConfig = 3,
  kH2cSgdma = 4,
  kC2hSgdma = 5,
  kSgdmaCommon = 6,
  kMsix = 8,
};

enum class Direction : uint32_t {
  kH2c = 0,  // host to card: descriptor src = host bus address, dst = card AXI address
  kC2h = 1,  // card to host: src = card, dst = host
};

using AddrTarget = Field<15, 12>;
using AddrChannel = Field<11, 8>;
using AddrOffset = Field<7, 0>;

constexpr uint32_t BlockBase(Target target, unsigned channel = 0) {
  return AddrTarget::Make(static_cast<uint32_t>(target)) | AddrChannel::Make(channel);
}
constexpr uint32_t ChannelBase(Direction dir, unsigned channel) {
  return BlockBase(dir == Direction::kH2c ? Target::kH2cChannel : Target::kC2hChannel, channel);
}
constexpr uint32_t SgdmaBase(Direction dir, unsigned channel) {
  return BlockBase(dir == Direction::kH2c ? Target::kH2cSgdma : Target::kC2hSgdma, channel);
}
inline constexpr uint32_t kIrqBlockBase = 0x2000;
inline constexpr uint32_t kConfigBlockBase = 0x3000;
inline constexpr uint32_t kSgdmaCommonBase = 0x6000;
inline constexpr uint32_t kMsixTableBase = 0x8000;  // facts §3.9
inline constexpr uint32_t kMsixPbaBase = 0x8FE0;
static_assert(BlockBase(Target::kIrq) == kIrqBlockBase);
static_assert(BlockBase(Target::kConfig) == kConfigBlockBase);
static_assert(BlockBase(Target::kSgdmaCommon) == kSgdmaCommonBase);
static_assert(BlockBase(Target::kMsix) == kMsixTableBase);
static_assert(ChannelBase(Direction::kC2h, 3) == 0x1300);
static_assert(SgdmaBase(Direction::kH2c, 2) == 0x4200);

// ------------------------------------------------------------------------------------------------
// Identifier, offset 0x00 of every block except MSI-X (facts §3.1).

inline constexpr uint32_t kSubsystemId = 0x1FC;
inline constexpr uint32_t kVersion2017_1 = 0x06;  // 2017.1 and later

class Identifier : public RegisterBase<Identifier> {
 public:
  FPGADEXT_XDMA_FIELD(31, 20, subsystem_id);
  FPGADEXT_XDMA_FIELD(19, 16, target);
  FPGADEXT_XDMA_BIT(15, stream);  // 1 = AXI4-Stream, 0 = AXI-MM (channel and SGDMA blocks)
  FPGADEXT_XDMA_FIELD(11, 8, channel_id);
  FPGADEXT_XDMA_FIELD(7, 0, version);

  static constexpr RegisterAddr<Identifier> Get(Target target, unsigned channel = 0) {
    return RegisterAddr<Identifier>(BlockBase(target, channel));
  }
  // The value a block of this kind reports.
  static constexpr uint32_t Expected(Target target, unsigned channel, bool stream,
                                     uint32_t version = kVersion2017_1) {
    return subsystem_id_field::Make(kSubsystemId) |
           target_field::Make(static_cast<uint32_t>(target)) | stream_field::Make(stream) |
           channel_id_field::Make(channel) | version_field::Make(version);
  }
  // How drivers recognise the DMA BAR: IRQ block at +0x2000 and config block at +0x3000 read
  // these values in their upper 16 bits (facts §1).
  static constexpr uint32_t kIrqBlockIdMasked = 0x1FC2'0000;
  static constexpr uint32_t kConfigBlockIdMasked = 0x1FC3'0000;
  static constexpr uint32_t kIdMask = 0xFFFF'0000;
};
static_assert(Identifier::Expected(Target::kH2cChannel, 0, false) == 0x1FC00006);
static_assert(Identifier::Expected(Target::kC2hChannel, 0, true) == 0x1FC18006);

// ------------------------------------------------------------------------------------------------
// H2C/C2H channel block (facts §3.2): offsets from the channel base.

namespace channel_reg {
inline constexpr uint32_t kIdentifier = 0x00;
inline constexpr uint32_t kControl = 0x04;
inline constexpr uint32_t kControlW1S = 0x08;
inline constexpr uint32_t kControlW1C = 0x0C;
inline constexpr uint32_t kStatus = 0x40;    // bits 23:1 RW1C, bit 0 Busy RO
inline constexpr uint32_t kStatusRC = 0x44;  // clear-on-read of bits 23:1
inline constexpr uint32_t kCompletedDescCount = 0x48;
inline constexpr uint32_t kAlignments = 0x4C;
inline constexpr uint32_t kPollModeWbAddrLo = 0x88;
inline constexpr uint32_t kPollModeWbAddrHi = 0x8C;
inline constexpr uint32_t kIntEnableMask = 0x90;
inline constexpr uint32_t kIntEnableMaskW1S = 0x94;
inline constexpr uint32_t kIntEnableMaskW1C = 0x98;  // not 0x9C (facts §3.2, §9.8)
inline constexpr uint32_t kPerfCtrl = 0xC0;
inline constexpr uint32_t kPerfCycCountLo = 0xC4;
inline constexpr uint32_t kPerfCycCountHi = 0xC8;
inline constexpr uint32_t kPerfDataCountLo = 0xCC;
inline constexpr uint32_t kPerfDataCountHi = 0xD0;
inline constexpr uint32_t kPerfPendingLo = 0xD4;  // read by some drivers, not in PG195
inline constexpr uint32_t kPerfPendingHi = 0xD8;
}  // namespace channel_reg

// Control, channel offset 0x04 with W1S 0x08 / W1C 0x0C aliases (facts §3.3).
class ChannelControl : public RegisterBase<ChannelControl> {
 public:
  FPGADEXT_XDMA_BIT(27, stm_mode_wb_disable);  // C2H stream only
  FPGADEXT_XDMA_BIT(26, pollmode_wb_enable);
  FPGADEXT_XDMA_BIT(25, non_inc_mode);
  FPGADEXT_XDMA_FIELD(23, 19, ie_desc_error);   // 0x1F: log and stop on descriptor errors
  FPGADEXT_XDMA_FIELD(18, 14, ie_write_error);  // H2C only
  FPGADEXT_XDMA_FIELD(13, 9, ie_read_error);
  FPGADEXT_XDMA_BIT(6, ie_idle_stopped);
  FPGADEXT_XDMA_BIT(5, ie_invalid_length);
  FPGADEXT_XDMA_BIT(4, ie_magic_stopped);
  FPGADEXT_XDMA_BIT(3, ie_align_mismatch);
  FPGADEXT_XDMA_BIT(2, ie_descriptor_completed);
  FPGADEXT_XDMA_BIT(1, ie_descriptor_stopped);
  FPGADEXT_XDMA_BIT(0, run);

  static constexpr uint32_t kDefinedMask = 0x0EFF'FE7F;  // reserved: 8:7, 24, 31:28

  static constexpr RegisterAddr<ChannelControl> Get(Direction dir, unsigned ch) {
    return RegisterAddr<ChannelControl>(ChannelBase(dir, ch) + channel_reg::kControl);
  }
  static constexpr RegisterAddr<ChannelControl> GetW1S(Direction dir, unsigned ch) {
    return RegisterAddr<ChannelControl>(ChannelBase(dir, ch) + channel_reg::kControlW1S);
  }
  static constexpr RegisterAddr<ChannelControl> GetW1C(Direction dir, unsigned ch) {
    return RegisterAddr<ChannelControl>(ChannelBase(dir, ch) + channel_reg::kControlW1C);
  }
};

// Status, channel offset 0x40 (RW1C) and 0x44 (clear on read) (facts §3.4). The same layout is
// used by the interrupt enable mask (0x90, facts §3.5).
class ChannelStatus : public RegisterBase<ChannelStatus> {
 public:
  FPGADEXT_XDMA_FIELD(23, 19, desc_error);
  FPGADEXT_XDMA_FIELD(18, 14, write_error);  // H2C only
  FPGADEXT_XDMA_FIELD(13, 9, read_error);
  FPGADEXT_XDMA_BIT(6, idle_stopped);
  FPGADEXT_XDMA_BIT(5, invalid_length);
  FPGADEXT_XDMA_BIT(4, magic_stopped);
  FPGADEXT_XDMA_BIT(3, align_mismatch);
  FPGADEXT_XDMA_BIT(2, descriptor_completed);
  FPGADEXT_XDMA_BIT(1, descriptor_stopped);
  FPGADEXT_XDMA_BIT(0, busy);

  // Individual error bits (facts §3.4).
  static constexpr uint32_t kBusy = 1u << 0;
  static constexpr uint32_t kDescriptorStopped = 1u << 1;
  static constexpr uint32_t kDescriptorCompleted = 1u << 2;
  static constexpr uint32_t kAlignMismatch = 1u << 3;
  static constexpr uint32_t kMagicStopped = 1u << 4;
  static constexpr uint32_t kInvalidLength = 1u << 5;
  static constexpr uint32_t kIdleStopped = 1u << 6;
  // read_error, H2C (PCIe read completions)
  static constexpr uint32_t kReadErrorUnsupportedRequest = 1u << 9;
  static constexpr uint32_t kReadErrorCompleterAbort = 1u << 10;
  static constexpr uint32_t kReadErrorParity = 1u << 11;
  static constexpr uint32_t kReadErrorPoisoned = 1u << 12;
  static constexpr uint32_t kReadErrorUnexpectedCompletion = 1u << 13;
  // read_error, C2H (AXI read response)
  static constexpr uint32_t kReadErrorAxiDecode = 1u << 9;
  static constexpr uint32_t kReadErrorAxiSlave = 1u << 10;
  // write_error, H2C (AXI write response)
  static constexpr uint32_t kWriteErrorAxiDecode = 1u << 14;
  static constexpr uint32_t kWriteErrorAxiSlave = 1u << 15;
  // desc_error (descriptor-fetch completions)
  static constexpr uint32_t kDescErrorUnsupportedRequest = 1u << 19;
  static constexpr uint32_t kDescErrorCompleterAbort = 1u << 20;
  static constexpr uint32_t kDescErrorParity = 1u << 21;
  static constexpr uint32_t kDescErrorPoisoned = 1u << 22;
  static constexpr uint32_t kDescErrorUnexpectedCompletion = 1u << 23;

  static constexpr uint32_t kClearableMask = 0x00FF'FFFE;  // bits 23:1
  // Error masks as the Xilinx driver defines them (facts §3.4).
  static constexpr uint32_t kH2cErrorMask = 0x00F8'FE38;  // 3,4,5, 9-15, 19-23
  static constexpr uint32_t kC2hErrorMask = 0x00F8'0638;  // 3,4,5, 9,10, 19-23
  // Every bit the model treats as an error: everything but busy/stopped/completed/idle.
  static constexpr uint32_t kAnyErrorMask = 0x00FF'FE38;

  static constexpr RegisterAddr<ChannelStatus> Get(Direction dir, unsigned ch) {
    return RegisterAddr<ChannelStatus>(ChannelBase(dir, ch) + channel_reg::kStatus);
  }
  static constexpr RegisterAddr<ChannelStatus> GetReadClear(Direction dir, unsigned ch) {
    return RegisterAddr<ChannelStatus>(ChannelBase(dir, ch) + channel_reg::kStatusRC);
  }
};

// Interrupt enable mask, channel offset 0x90 / W1S 0x94 / W1C 0x98: same bit positions as the
// status register (facts §3.5).
class ChannelIntEnable : public RegisterBase<ChannelIntEnable> {
 public:
  FPGADEXT_XDMA_FIELD(23, 19, im_desc_error);
  FPGADEXT_XDMA_FIELD(18, 14, im_write_error);
  FPGADEXT_XDMA_FIELD(13, 9, im_read_error);
  FPGADEXT_XDMA_BIT(6, im_idle_stopped);
  FPGADEXT_XDMA_BIT(5, im_invalid_length);
  FPGADEXT_XDMA_BIT(4, im_magic_stopped);
  FPGADEXT_XDMA_BIT(3, im_align_mismatch);
  FPGADEXT_XDMA_BIT(2, im_descriptor_completed);
  FPGADEXT_XDMA_BIT(1, im_descriptor_stopped);

  static constexpr uint32_t kDefinedMask = ChannelStatus::kClearableMask & ~0x0000'0180u;

  static constexpr RegisterAddr<ChannelIntEnable> Get(Direction dir, unsigned ch) {
    return RegisterAddr<ChannelIntEnable>(ChannelBase(dir, ch) + channel_reg::kIntEnableMask);
  }
  static constexpr RegisterAddr<ChannelIntEnable> GetW1S(Direction dir, unsigned ch) {
    return RegisterAddr<ChannelIntEnable>(ChannelBase(dir, ch) + channel_reg::kIntEnableMaskW1S);
  }
  static constexpr RegisterAddr<ChannelIntEnable> GetW1C(Direction dir, unsigned ch) {
    return RegisterAddr<ChannelIntEnable>(ChannelBase(dir, ch) + channel_reg::kIntEnableMaskW1C);
  }
};

// Completed descriptor count, channel offset 0x48 (facts §3.2): reset on Run rising edge.
class ChannelCompletedCount : public RegisterBase<ChannelCompletedCount> {
 public:
  FPGADEXT_XDMA_FIELD(31, 0, count);
  static constexpr RegisterAddr<ChannelCompletedCount> Get(Direction dir, unsigned ch) {
    return RegisterAddr<ChannelCompletedCount>(ChannelBase(dir, ch) +
                                               channel_reg::kCompletedDescCount);
  }
};

// Poll-mode writeback address, channel offsets 0x88 (low half) and 0x8C (high half)
// (facts §3.2, §5.1): the bus address of the 4-byte word the channel writes its completed count
// to (PollModeWriteback, below) when pollmode_wb_enable is set.
class ChannelPollModeWbAddrLo : public RegisterBase<ChannelPollModeWbAddrLo> {
 public:
  FPGADEXT_XDMA_FIELD(31, 0, addr_lo);
  static constexpr RegisterAddr<ChannelPollModeWbAddrLo> Get(Direction dir, unsigned ch) {
    return RegisterAddr<ChannelPollModeWbAddrLo>(ChannelBase(dir, ch) +
                                                 channel_reg::kPollModeWbAddrLo);
  }
};
class ChannelPollModeWbAddrHi : public RegisterBase<ChannelPollModeWbAddrHi> {
 public:
  FPGADEXT_XDMA_FIELD(31, 0, addr_hi);
  static constexpr RegisterAddr<ChannelPollModeWbAddrHi> Get(Direction dir, unsigned ch) {
    return RegisterAddr<ChannelPollModeWbAddrHi>(ChannelBase(dir, ch) +
                                                 channel_reg::kPollModeWbAddrHi);
  }
};
static_assert(ChannelPollModeWbAddrLo::Get(Direction::kC2h, 1).addr() == 0x1188);

// Alignments, channel offset 0x4C (facts §3.2). Real MM engines report 0x00010140.
class ChannelAlignments : public RegisterBase<ChannelAlignments> {
 public:
  FPGADEXT_XDMA_FIELD(23, 16, addr_alignment);  // bytes
  FPGADEXT_XDMA_FIELD(15, 8, len_granularity);  // bytes
  FPGADEXT_XDMA_FIELD(7, 0, address_bits);

  static constexpr uint32_t kMemoryMappedValue = 0x0001'0140;
  static constexpr RegisterAddr<ChannelAlignments> Get(Direction dir, unsigned ch) {
    return RegisterAddr<ChannelAlignments>(ChannelBase(dir, ch) + channel_reg::kAlignments);
  }
};

// Performance monitor control, channel offset 0xC0, PG195 bit order (facts §3.2). Drivers write
// 0x5, which means the same under both bit orders in circulation.
class ChannelPerfCtrl : public RegisterBase<ChannelPerfCtrl> {
 public:
  FPGADEXT_XDMA_BIT(2, run);
  FPGADEXT_XDMA_BIT(1, clear);      // write only
  FPGADEXT_XDMA_BIT(0, auto_mode);  // "Auto" in PG195
  static constexpr RegisterAddr<ChannelPerfCtrl> Get(Direction dir, unsigned ch) {
    return RegisterAddr<ChannelPerfCtrl>(ChannelBase(dir, ch) + channel_reg::kPerfCtrl);
  }
};

// Upper halves of the 42-bit performance counters (0xC8, 0xD0): bits 9:0, bit 16 = maxed.
class ChannelPerfCountHi : public RegisterBase<ChannelPerfCountHi> {
 public:
  FPGADEXT_XDMA_BIT(16, maxed);
  FPGADEXT_XDMA_FIELD(9, 0, count_hi);
};

// ------------------------------------------------------------------------------------------------
// H2C/C2H SGDMA block (facts §3.6).

namespace sgdma_reg {
inline constexpr uint32_t kIdentifier = 0x00;
inline constexpr uint32_t kDescLo = 0x80;
inline constexpr uint32_t kDescHi = 0x84;
inline constexpr uint32_t kDescAdjacent = 0x88;
inline constexpr uint32_t kDescCredits = 0x8C;
}  // namespace sgdma_reg

class SgdmaDescAddrLo : public RegisterBase<SgdmaDescAddrLo> {
 public:
  FPGADEXT_XDMA_FIELD(31, 0, addr_lo);
  static constexpr RegisterAddr<SgdmaDescAddrLo> Get(Direction dir, unsigned ch) {
    return RegisterAddr<SgdmaDescAddrLo>(SgdmaBase(dir, ch) + sgdma_reg::kDescLo);
  }
};
class SgdmaDescAddrHi : public RegisterBase<SgdmaDescAddrHi> {
 public:
  FPGADEXT_XDMA_FIELD(31, 0, addr_hi);
  static constexpr RegisterAddr<SgdmaDescAddrHi> Get(Direction dir, unsigned ch) {
    return RegisterAddr<SgdmaDescAddrHi>(SgdmaBase(dir, ch) + sgdma_reg::kDescHi);
  }
};
// Number of *extra* adjacent descriptors after the first one (facts §3.6, §4).
class SgdmaDescAdjacent : public RegisterBase<SgdmaDescAdjacent> {
 public:
  FPGADEXT_XDMA_FIELD(5, 0, dsc_adj);
  static constexpr RegisterAddr<SgdmaDescAdjacent> Get(Direction dir, unsigned ch) {
    return RegisterAddr<SgdmaDescAdjacent>(SgdmaBase(dir, ch) + sgdma_reg::kDescAdjacent);
  }
};
// Descriptor credits: a write adds, a read returns what remains (facts §3.6).
class SgdmaDescCredits : public RegisterBase<SgdmaDescCredits> {
 public:
  FPGADEXT_XDMA_FIELD(9, 0, credits);
  static constexpr RegisterAddr<SgdmaDescCredits> Get(Direction dir, unsigned ch) {
    return RegisterAddr<SgdmaDescCredits>(SgdmaBase(dir, ch) + sgdma_reg::kDescCredits);
  }
};

// ------------------------------------------------------------------------------------------------
// SGDMA common block, 0x6000 (facts §3.7).

namespace sgdma_common_reg {
inline constexpr uint32_t kIdentifier = 0x00;
inline constexpr uint32_t kDescControl = 0x10;
inline constexpr uint32_t kDescControlW1S = 0x14;
inline constexpr uint32_t kDescControlW1C = 0x18;
inline constexpr uint32_t kCreditModeEnable = 0x20;
inline constexpr uint32_t kCreditModeEnableW1S = 0x24;
inline constexpr uint32_t kCreditModeEnableW1C = 0x28;
}  // namespace sgdma_common_reg

// Layout of both the descriptor-control (halt) and credit-mode-enable registers: one bit per
// channel, H2C in [3:0], C2H in [19:16].
class SgdmaChannelBits : public RegisterBase<SgdmaChannelBits> {
 public:
  FPGADEXT_XDMA_FIELD(19, 16, c2h);
  FPGADEXT_XDMA_FIELD(3, 0, h2c);
  static constexpr uint32_t kDefinedMask = 0x000F'000F;
  static constexpr uint32_t BitFor(Direction dir, unsigned ch) {
    return 1u << (ch + (dir == Direction::kH2c ? 0u : 16u));
  }
  static constexpr RegisterAddr<SgdmaChannelBits> Get(uint32_t offset) {
    return RegisterAddr<SgdmaChannelBits>(kSgdmaCommonBase + offset);
  }
};

// ------------------------------------------------------------------------------------------------
// IRQ block, 0x2000 (facts §3.8, §7).

namespace irq_reg {
inline constexpr uint32_t kIdentifier = 0x00;
inline constexpr uint32_t kUserIntEnable = 0x04;
inline constexpr uint32_t kUserIntEnableW1S = 0x08;
inline constexpr uint32_t kUserIntEnableW1C = 0x0C;
inline constexpr uint32_t kChannelIntEnable = 0x10;
inline constexpr uint32_t kChannelIntEnableW1S = 0x14;
inline constexpr uint32_t kChannelIntEnableW1C = 0x18;
inline constexpr uint32_t kUserIntRequest = 0x40;
inline constexpr uint32_t kChannelIntRequest = 0x44;
inline constexpr uint32_t kUserIntPending = 0x48;
inline constexpr uint32_t kChannelIntPending = 0x4C;
inline constexpr uint32_t kUserVectorBase = 0x80;     // 0x80..0x8C
inline constexpr uint32_t kChannelVectorBase = 0xA0;  // 0xA0..0xA4
}  // namespace irq_reg

inline constexpr unsigned kMaxUserInterrupts = 16;
inline constexpr unsigned kMaxVectors = 32;  // 5-bit vector fields, 32 MSI-X entries

// Channel bit in the IRQ block: H2C channels first, then C2H (facts §3.8).
constexpr unsigned IrqChannelBit(Direction dir, unsigned ch, unsigned numH2c) {
  return dir == Direction::kH2c ? ch : numH2c + ch;
}
// Vector register (offset from the IRQ block) and field shift for interrupt `index`: four
// 5-bit fields per register, byte-aligned (facts §3.8).
constexpr uint32_t IrqVectorRegOffset(uint32_t base, unsigned index) {
  return base + 4u * (index / 4u);
}
constexpr unsigned IrqVectorShift(unsigned index) {
  return 8u * (index % 4u);
}
inline constexpr uint32_t kIrqVectorFieldMask = 0x1F;
inline constexpr uint32_t kIrqVectorRegMask = 0x1F1F'1F1F;
static_assert(IrqVectorRegOffset(irq_reg::kChannelVectorBase, 5) == 0xA4);
static_assert(IrqVectorShift(1) == 8);

// ------------------------------------------------------------------------------------------------
// Config block, 0x3000 (facts §3.9).

namespace config_reg {
inline constexpr uint32_t kIdentifier = 0x00;
inline constexpr uint32_t kBusDev = 0x04;
inline constexpr uint32_t kPcieMaxPayload = 0x08;  // [2:0] 0..5 = 128..4096 B
inline constexpr uint32_t kPcieMaxReadRequest = 0x0C;
inline constexpr uint32_t kSystemId = 0x10;       // 0xFF01
inline constexpr uint32_t kMsiEnable = 0x14;      // bit0 MSI, bit1 MSI-X
inline constexpr uint32_t kPcieDataWidth = 0x18;  // 0..3 = 64/128/256/512 bit
inline constexpr uint32_t kPcieControl = 0x1C;    // bit0 relaxed ordering
inline constexpr uint32_t kAxiUserMaxPayload = 0x40;
inline constexpr uint32_t kAxiUserMaxReadRequest = 0x44;
inline constexpr uint32_t kWriteFlushTimeout = 0x60;
}  // namespace config_reg

inline constexpr uint32_t kSystemIdValue = 0xFF01;

class ConfigMsiEnable : public RegisterBase<ConfigMsiEnable> {
 public:
  FPGADEXT_XDMA_BIT(1, msix_enable);
  FPGADEXT_XDMA_BIT(0, msi_enable);
  static constexpr RegisterAddr<ConfigMsiEnable> Get() {
    return RegisterAddr<ConfigMsiEnable>(kConfigBlockBase + config_reg::kMsiEnable);
  }
};

// 0..5 encodings of MPS/MRRS to bytes (facts §3.9).
constexpr uint32_t PcieSizeCodeToBytes(uint32_t code) {
  return 128u << (code & 7u);
}
// Datapath width encoding to bytes (facts §3.9).
constexpr uint32_t DataWidthCodeToBytes(uint32_t code) {
  return 8u << (code & 3u);
}

// ------------------------------------------------------------------------------------------------
// MSI-X table and PBA, 0x8000 / 0x8FE0 (facts §3.9).

inline constexpr unsigned kMsixTableEntries = 32;
inline constexpr uint32_t kMsixEntrySize = 16;
namespace msix_entry {
inline constexpr uint32_t kAddrLo = 0x0;
inline constexpr uint32_t kAddrHi = 0x4;
inline constexpr uint32_t kData = 0x8;
inline constexpr uint32_t kVectorControl = 0xC;  // bit0 mask; resets to 0xFFFFFFFF
}  // namespace msix_entry
using MsixVectorMasked = Bit<0>;
constexpr uint32_t MsixEntryOffset(unsigned vector) {
  return kMsixTableBase + kMsixEntrySize * vector;
}

// ------------------------------------------------------------------------------------------------
// Descriptor, 32 bytes in host memory, 32-byte aligned (facts §4).

inline constexpr uint32_t kDescriptorMagic = 0xAD4B;
inline constexpr uint32_t kDescriptorMaxLength = 0x0FFF'FFFF;  // 28-bit length field
inline constexpr unsigned kDescriptorMaxAdjacent = 63;         // 6-bit Nxt_adj / Dsc_adj
inline constexpr uint32_t kDescriptorAlignment = 32;

// First word of a descriptor.
class DescriptorControl : public RegisterBase<DescriptorControl> {
 public:
  FPGADEXT_XDMA_FIELD(31, 16, magic);
  FPGADEXT_XDMA_FIELD(13, 8, nxt_adj);
  FPGADEXT_XDMA_BIT(4, eop);        // stream only
  FPGADEXT_XDMA_BIT(1, completed);  // interrupt / writeback after this descriptor
  FPGADEXT_XDMA_BIT(0, stop);       // stop fetching after this descriptor

  static constexpr DescriptorControl Of(uint32_t value) {
    return RegisterAddr<DescriptorControl>(0).FromValue(value);
  }
};

using DescriptorLength = Field<27, 0>;

struct Descriptor {
  uint32_t control;  // DescriptorControl
  uint32_t length;   // DescriptorLength, bytes
  uint32_t src_lo;
  uint32_t src_hi;
  uint32_t dst_lo;
  uint32_t dst_hi;
  uint32_t next_lo;
  uint32_t next_hi;

  constexpr DescriptorControl Control() const { return DescriptorControl::Of(control); }
  constexpr uint32_t Length() const { return DescriptorLength::Get(length); }
  constexpr uint64_t Src() const { return (uint64_t{src_hi} << 32) | src_lo; }
  constexpr uint64_t Dst() const { return (uint64_t{dst_hi} << 32) | dst_lo; }
  constexpr uint64_t Next() const { return (uint64_t{next_hi} << 32) | next_lo; }
  constexpr bool MagicOk() const { return Control().magic() == kDescriptorMagic; }

  // A well-formed descriptor. `flags` is a combination of kStop / kCompleted / kEop.
  static constexpr uint32_t kStop = 1u << 0;
  static constexpr uint32_t kCompleted = 1u << 1;
  static constexpr uint32_t kEop = 1u << 4;
  static constexpr Descriptor Make(uint64_t src, uint64_t dst, uint32_t length, uint64_t next,
                                   unsigned nxtAdj, uint32_t flags) {
    Descriptor d{};
    d.control = DescriptorControl::magic_field::Make(kDescriptorMagic) |
                DescriptorControl::nxt_adj_field::Make(nxtAdj) | (flags & 0x13u);
    d.length = DescriptorLength::Make(length);
    d.src_lo = static_cast<uint32_t>(src);
    d.src_hi = static_cast<uint32_t>(src >> 32);
    d.dst_lo = static_cast<uint32_t>(dst);
    d.dst_hi = static_cast<uint32_t>(dst >> 32);
    d.next_lo = static_cast<uint32_t>(next);
    d.next_hi = static_cast<uint32_t>(next >> 32);
    return d;
  }
};
static_assert(sizeof(Descriptor) == 32);
static_assert(offsetof(Descriptor, length) == 0x04);
static_assert(offsetof(Descriptor, src_lo) == 0x08);
static_assert(offsetof(Descriptor, dst_lo) == 0x10);
static_assert(offsetof(Descriptor, next_lo) == 0x18);
static_assert(Descriptor::Make(0, 0, 1, 0, 5, Descriptor::kStop).control == 0xAD4B0501);

// ------------------------------------------------------------------------------------------------
// C2H stream writeback, written per C2H stream descriptor to the descriptor's source address
// when it fills or its packet ends (PG195 "DMA C2H Stream"; dma_ip_drivers libxdma.h struct
// xdma_result): word 0 = magic in [31:16], EOP in bit 0; word 1 = bytes written. Drivers give
// every descriptor a 32-byte record (the size of the Xilinx driver's).

inline constexpr uint32_t kStreamWritebackMagic = 0x52B4;
// Each C2H stream descriptor's length is a multiple of this (PG195 "Length Granularity").
inline constexpr uint32_t kStreamC2hGranularity = 64;

class StreamWritebackStatus : public RegisterBase<StreamWritebackStatus> {
 public:
  FPGADEXT_XDMA_FIELD(31, 16, magic);
  FPGADEXT_XDMA_BIT(0, eop);
  static constexpr StreamWritebackStatus Of(uint32_t value) {
    return RegisterAddr<StreamWritebackStatus>(0).FromValue(value);
  }
};

struct StreamResult {
  uint32_t status;  // StreamWritebackStatus; 0 until the IP writes it
  uint32_t length;  // bytes written into the descriptor's buffer
  uint32_t reserved[6];
};
static_assert(sizeof(StreamResult) == 32);

// ------------------------------------------------------------------------------------------------
// Poll-mode completed-descriptor writeback word (facts §5.1).

class PollModeWriteback : public RegisterBase<PollModeWriteback> {
 public:
  FPGADEXT_XDMA_BIT(31, sts_err);               // OR of the channel's error status bits
  FPGADEXT_XDMA_FIELD(23, 0, completed_count);  // low 24 bits of the completed count
  static constexpr PollModeWriteback Of(uint32_t value) {
    return RegisterAddr<PollModeWriteback>(0).FromValue(value);
  }
};

}  // namespace fpgadext::xdma
