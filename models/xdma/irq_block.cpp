#include "irq_block.h"

#include "xdma/xdma_registers.h"

namespace fpgadext::models {

using namespace xdma;

IrqBlock::IrqBlock(unsigned numH2c, unsigned numC2h, unsigned numUser, uint32_t version)
    : version_(version),
      channelMask_((1u << (numH2c + numC2h)) - 1u),
      userMask_(numUser >= 32 ? 0xFFFF'FFFFu : (1u << numUser) - 1u) {}

unsigned IrqBlock::Vector(const uint32_t* regs, unsigned index) const {
  return (regs[index / 4] >> IrqVectorShift(index)) & kIrqVectorFieldMask;
}

uint32_t IrqBlock::Read(uint32_t offset) const {
  switch (offset) {
    case irq_reg::kIdentifier:
      return Identifier::Expected(Target::kIrq, 0, false, version_);
    case irq_reg::kUserIntEnable:
      return userEnable_;
    case irq_reg::kChannelIntEnable:
      return channelEnable_;
    case irq_reg::kUserIntRequest:
      return userSource_ & userEnable_;
    case irq_reg::kChannelIntRequest:
      return channelSource_ & channelEnable_;
    case irq_reg::kUserIntPending:
      return userPending_;
    case irq_reg::kChannelIntPending:
      return channelPending_;
    default:
      break;
  }
  if (offset >= irq_reg::kUserVectorBase && offset < irq_reg::kUserVectorBase + 16) {
    return userVector_[(offset - irq_reg::kUserVectorBase) / 4];
  }
  if (offset >= irq_reg::kChannelVectorBase && offset < irq_reg::kChannelVectorBase + 8) {
    return channelVector_[(offset - irq_reg::kChannelVectorBase) / 4];
  }
  return 0;  // W1S/W1C aliases and unmapped offsets read 0 (xdma-facts §2, inferred)
}

void IrqBlock::Write(uint32_t offset, uint32_t value, VectorSink& sink) {
  switch (offset) {
    case irq_reg::kUserIntEnable:
      userEnable_ = value & userMask_;
      break;
    case irq_reg::kUserIntEnableW1S:
      userEnable_ |= value & userMask_;
      break;
    case irq_reg::kUserIntEnableW1C:
      userEnable_ &= ~value;
      break;
    case irq_reg::kChannelIntEnable:
      channelEnable_ = value & channelMask_;
      break;
    case irq_reg::kChannelIntEnableW1S:
      channelEnable_ |= value & channelMask_;
      break;
    case irq_reg::kChannelIntEnableW1C:
      channelEnable_ &= ~value;
      break;
    default:
      if (offset >= irq_reg::kUserVectorBase && offset < irq_reg::kUserVectorBase + 16) {
        userVector_[(offset - irq_reg::kUserVectorBase) / 4] = value & kIrqVectorRegMask;
      } else if (offset >= irq_reg::kChannelVectorBase &&
                 offset < irq_reg::kChannelVectorBase + 8) {
        channelVector_[(offset - irq_reg::kChannelVectorBase) / 4] = value & kIrqVectorRegMask;
      }
      return;  // vector and unmapped writes raise nothing
  }
  Update(sink);
}

void IrqBlock::SetChannelSource(unsigned bit, bool level, VectorSink& sink) {
  const uint32_t b = 1u << bit;
  channelSource_ = level ? (channelSource_ | b) : (channelSource_ & ~b);
  Update(sink);
}

void IrqBlock::SetUserSources(uint32_t lines, VectorSink& sink) {
  userSource_ = lines & userMask_;
  Update(sink);
}

// An interrupt is generated on a rising edge of (source & enable), which includes enabling an
// already-high source (xdma-facts §3.8). Pending stays set until the source drops (§3.8, §7).
void IrqBlock::Update(VectorSink& sink) {
  const uint32_t user = userSource_ & userEnable_;
  const uint32_t channel = channelSource_ & channelEnable_;
  const uint32_t userRising = user & ~userRequest_;
  const uint32_t channelRising = channel & ~channelRequest_;
  userRequest_ = user;
  channelRequest_ = channel;
  userPending_ = (userPending_ | userRising) & userSource_;
  channelPending_ = (channelPending_ | channelRising) & channelSource_;
  for (unsigned i = 0; i < 32; ++i) {
    if (channelRising & (1u << i)) sink.RaiseVector(Vector(channelVector_, i));
  }
  for (unsigned i = 0; i < 32; ++i) {
    if (userRising & (1u << i)) sink.RaiseVector(Vector(userVector_, i));
  }
}

}  // namespace fpgadext::models
