// The XDMA IRQ block (DMA BAR 0x2000, xdma-facts §3.8, §7): user and channel interrupt sources,
// enable masks, request/pending registers and vector numbers. It turns a rising edge of
// (source & enable) into a vector number for the VectorSink, which sends the MSI-X or MSI message.
#pragma once

#include <cstdint>

namespace fpgadext::models {

class VectorSink {
 public:
  virtual void RaiseVector(unsigned vector) = 0;

 protected:
  ~VectorSink() = default;
};

// Register state; the board's lock is held around every call.
class IrqBlock {
 public:
  IrqBlock(unsigned numH2c, unsigned numC2h, unsigned numUser, uint32_t version);
  uint32_t Read(uint32_t offset) const;
  void Write(uint32_t offset, uint32_t value, VectorSink& sink);

  // Level of the engine interrupt of channel bit `bit` (H2C first, then C2H).
  void SetChannelSource(unsigned bit, bool level, VectorSink& sink);
  // Levels of the usr_irq_req lines.
  void SetUserSources(uint32_t lines, VectorSink& sink);

 private:
  void Update(VectorSink& sink);
  unsigned Vector(const uint32_t* regs, unsigned index) const;

  uint32_t version_;
  uint32_t channelMask_;
  uint32_t userMask_;
  uint32_t userEnable_ = 0;
  uint32_t channelEnable_ = 0;
  uint32_t userSource_ = 0;
  uint32_t channelSource_ = 0;
  uint32_t userRequest_ = 0;  // last (source & enable), for edge detection
  uint32_t channelRequest_ = 0;
  uint32_t userPending_ = 0;
  uint32_t channelPending_ = 0;
  uint32_t userVector_[4] = {};
  uint32_t channelVector_[2] = {};
};

}  // namespace fpgadext::models
