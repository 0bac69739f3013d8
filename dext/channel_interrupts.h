// ChannelInterrupts: the XDMA channels' completion interrupts, for the transfer planner's
// completion policy (docs/engine.md "Completion policy", docs/dext.md "Channel interrupts").
//
// Vectors follow Xilinx's reference driver (dma_ip_drivers XDMA libxdma.c): channel bit i of the
// IRQ block (H2C channels first, then C2H; PG195 "IRQ Block Channel Interrupt Enable Mask") on
// MSI-X vector i, the user lines after them (user_interrupts.h). Each channel vector is an
// IOInterruptDispatchSource (source index = vector + 1, xnu IOInterruptDispatchSource.iig) on a
// reentrant dispatch queue, which is also where a waiting transfer sleeps
// (IODispatchQueue::SleepWithDeadline, xnu IODispatchQueue.iig): a wait enables its channels in
// the IRQ block and sleeps; a delivery disables the channel again (the acknowledgement of
// Xilinx's shared handler, PG195 "Channel Interrupt Enable Mask" W1C), counts it and wakes the
// sleepers. The engine source is a level (the channel's Status & interrupt mask), so enabling a
// channel whose completion is already logged interrupts at once: a wait cannot miss one.
#pragma once

#include <DriverKit/IODispatchQueue.h>
#include <DriverKit/IOInterruptDispatchSource.h>
#include <DriverKit/IOReturn.h>
#include <DriverKit/OSAction.h>
#include <DriverKit/OSSharedPtr.h>
#include <PCIDriverKit/IOPCIDevice.h>
#include <fpgadext/engine/completion_wait.h>
#include <stdint.h>

#include <atomic>

#include "bar_layout.h"
#include "interrupt_target.h"
#include "io_owned.h"

namespace fpgadext::dext {

class ChannelInterrupts final : public InterruptService {
 public:
  static constexpr uint32_t kMaxChannelBits = 8;  // 4 H2C + 4 C2H (xdma-facts §2)

  // Sets up one source per memory-mapped channel of the data mover (`h2c` + `c2h` channels).
  // `vectorsConfigured`: the user interrupts configured the device's vectors already (channels
  // first); else they are configured here (MSI-X, else MSI), enough for the channels. Fails when
  // the channels cannot have a vector each (one MSI vector shared by everything): the planner
  // then polls. Every channel stays disabled in the IRQ block until a transfer waits on it.
  [[nodiscard]] static IOReturn Create(IOPCIDevice* device, const BarLayout& layout, uint32_t h2c,
                                       uint32_t c2h, bool vectorsConfigured,
                                       IOOwned<ChannelInterrupts>* out);
  // Disables the channels, cancels the sources; a transfer asleep returns and polls.
  ~ChannelInterrupts();
  ChannelInterrupts(const ChannelInterrupts&) = delete;
  ChannelInterrupts& operator=(const ChannelInterrupts&) = delete;

  // For engine::TransferPlanner::SetCompletionWait; valid while this object lives.
  engine::CompletionWaitSeam Seam();
  // Completion interrupts of each channel bit so far (tests, diagnostics).
  uint64_t Deliveries(uint32_t bit) const {
    return bit < kMaxChannelBits ? events_[bit].load(std::memory_order_acquire) : 0;
  }

  // Channel bit `bit`'s vector fired (FpgaInterruptTarget::InterruptOccurred, on queue_).
  void InterruptOccurred(uint32_t bit) override;

 private:
  friend class IOOwned<ChannelInterrupts>;
  ChannelInterrupts(IOPCIDevice* device, const BarLayout& layout, uint32_t h2c, uint32_t c2h);
  [[nodiscard]] IOReturn Build(bool vectorsConfigured);
  [[nodiscard]] IOReturn ConfigureVectors();
  uint32_t Bits(engine::Direction direction, uint32_t channels) const;
  uint64_t Events(uint32_t bits) const;
  void Wait(uint32_t bits, uint64_t seen, uint64_t deadlineNs);
  void WakeAll();

  OSSharedPtr<IOPCIDevice> device_;
  uint8_t dmaIndex_;
  uint32_t h2c_;
  uint32_t count_;  // channel bits in use: h2c + c2h
  OSSharedPtr<IODispatchQueue> queue_;
  FpgaInterruptTarget* target_ = nullptr;  // retained
  OSSharedPtr<OSAction> actions_[kMaxChannelBits];
  OSSharedPtr<IOInterruptDispatchSource> sources_[kMaxChannelBits];
  std::atomic<uint64_t> events_[kMaxChannelBits] = {};
  std::atomic<uint64_t> wakes_{0};  // bumped by WakeAll: sleepers return
  std::atomic<bool> stopping_{false};
};

}  // namespace fpgadext::dext
