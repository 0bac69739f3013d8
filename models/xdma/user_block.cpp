#include "user_block.h"

#include "irq_block.h"

namespace fpgadext::models {

namespace user_reg = reference_design::user_reg;
using reference_design::kUserBlockId;
using reference_design::kUserBlockVersion;
using reference_design::kUserCounterHz;
using reference_design::UserChannels;

UserBlock::UserBlock(uint64_t cardMemorySize, unsigned h2c, unsigned c2h, unsigned userInterrupts)
    : cardMemorySize_(cardMemorySize),
      channels_(UserChannels::Get()
                    .FromValue(0)
                    .set_h2c_count(h2c & UserChannels::h2c_count_field::kMax)
                    .set_c2h_count(c2h & UserChannels::c2h_count_field::kMax)
                    .set_user_interrupts(userInterrupts & UserChannels::user_interrupts_field::kMax)
                    .reg_value()),
      lineMask_(userInterrupts >= 32 ? 0xFFFF'FFFFu : (1u << userInterrupts) - 1u),
      start_(std::chrono::steady_clock::now()) {}

uint64_t UserBlock::Ticks() const {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::steady_clock::now() - start_)
                      .count();
  return static_cast<uint64_t>(ns) / (1'000'000'000 / kUserCounterHz);
}

uint32_t UserBlock::Read(uint32_t offset) {
  switch (offset) {
    case user_reg::kId:
      return kUserBlockId;
    case user_reg::kVersion:
      return kUserBlockVersion;
    case user_reg::kCounterLo: {
      const uint64_t t = Ticks();
      counterHiLatch_ = static_cast<uint32_t>(t >> 32);
      return static_cast<uint32_t>(t);
    }
    case user_reg::kCounterHi:
      return counterHiLatch_;
    case user_reg::kIrqStatus:
      return irqLines_;
    case user_reg::kCardMemSizeLo:
      return static_cast<uint32_t>(cardMemorySize_);
    case user_reg::kCardMemSizeHi:
      return static_cast<uint32_t>(cardMemorySize_ >> 32);
    case user_reg::kChannels:
      return channels_;
    default:
      break;
  }
  if (offset >= user_reg::kScratch0 && offset < user_reg::kScratch0 + 4 * user_reg::kScratchCount) {
    return scratch_[(offset - user_reg::kScratch0) / 4];
  }
  return 0;
}

void UserBlock::Write(uint32_t offset, uint32_t value, IrqBlock& irq, VectorSink& sink) {
  if (offset >= user_reg::kScratch0 && offset < user_reg::kScratch0 + 4 * user_reg::kScratchCount) {
    scratch_[(offset - user_reg::kScratch0) / 4] = value;
  } else if (offset == user_reg::kIrqRaise) {
    RaiseLines(value, irq, sink);
  } else if (offset == user_reg::kIrqClear) {
    irqLines_ &= ~value;
    irq.SetUserSources(irqLines_, sink);
  }
}

void UserBlock::RaiseLines(uint32_t lines, IrqBlock& irq, VectorSink& sink) {
  irqLines_ |= lines & lineMask_;
  irq.SetUserSources(irqLines_, sink);
}

}  // namespace fpgadext::models
