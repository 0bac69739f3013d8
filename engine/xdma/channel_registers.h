// One XDMA channel's registers as the engines use them (docs/engine.md "Channel registers"):
// status, stopping and waiting for idle, quiescing at probe time, and programming a descriptor
// chain and Run. The memory-mapped engine (XdmaEngine) and the stream engine (XdmaStream) drive
// channels the same way (PG195 "Descriptor Processing"; xdma-facts §6.2, §6.4), so both use this
// instead of each keeping a copy of the sequence.
//
// Dext-safe: header-only template on RegisterIo, no allocation, no exceptions, no threads.
#pragma once

#include <fpgadext/engine/platform.h>
#include <fpgadext/engine/register_io.h>
#include <fpgadext/engine/types.h>

#include "xdma/xdma_registers.h"
#include "xdma/xdma_status.h"

namespace fpgadext::engine {

// A channel's poll-mode writeback word (xdma-facts §5.1): 4 bytes the device writes, 4-byte
// aligned, prepared for device writes (kIOMemoryDirectionIn).
struct XdmaWritebackWord {
  uint32_t* cpu = nullptr;
  uint64_t bus = 0;
};

constexpr xdma::Direction XdmaDirection(Direction d) {
  return d == Direction::kHostToCard ? xdma::Direction::kH2c : xdma::Direction::kC2h;
}

template <RegisterIo Io>
class XdmaChannelRegisters {
 public:
  XdmaChannelRegisters(Io& io, const Platform& platform) : io_(io), platform_(platform) {}

  uint32_t ReadStatus(Direction d, uint32_t c) {
    return xdma::ChannelStatus::Get(XdmaDirection(d), c).ReadFrom(io_).reg_value();
  }
  // Reading the read-to-clear alias clears the error bits it returns (xdma-facts §3.4).
  uint32_t ReadClearStatus(Direction d, uint32_t c) {
    return xdma::ChannelStatus::GetReadClear(XdmaDirection(d), c).ReadFrom(io_).reg_value();
  }
  uint32_t CompletedCount(Direction d, uint32_t c) {
    return xdma::ChannelCompletedCount::Get(XdmaDirection(d), c).ReadFrom(io_).count();
  }
  void ClearRun(Direction d, uint32_t c) {
    xdma::ChannelControl::GetW1C(XdmaDirection(d), c).FromValue(0).set_run(1).WriteTo(io_);
  }

  // kIOReturnSuccess when the channel can be programmed, kIOReturnNoDevice (all ones) or
  // kIOReturnBusy (still running a chain).
  IOReturn CheckReady(Direction d, uint32_t c) {
    const uint32_t status = ReadStatus(d, c);
    if (status == kXdmaAllOnes) return kIOReturnNoDevice;
    return (status & xdma::ChannelStatus::kBusy) != 0 ? kIOReturnBusy : kIOReturnSuccess;
  }

  // Waits until Busy = 0: kIOReturnSuccess, kIOReturnNoDevice or kIOReturnNotResponding after
  // `timeoutNs`.
  [[nodiscard]] IOReturn WaitIdle(Direction d, uint32_t c, uint64_t timeoutNs) {
    const uint64_t deadline = platform_.nowNs() + timeoutNs;
    for (;;) {
      const uint32_t status = ReadStatus(d, c);
      if (status == kXdmaAllOnes) return kIOReturnNoDevice;
      if ((status & xdma::ChannelStatus::kBusy) == 0) return kIOReturnSuccess;
      if (platform_.nowNs() > deadline) return kIOReturnNotResponding;
      platform_.relax();
    }
  }

  // Stops the channel (no reset bit exists: Run 0, then Busy 0; xdma-facts §6.4). A channel
  // that was already given its timeout once (`lookOnce`) is looked at once, so that checking a
  // stranded channel costs one register read. Same results as WaitIdle.
  [[nodiscard]] IOReturn Stop(Direction d, uint32_t c, bool lookOnce, uint64_t timeoutNs) {
    ClearRun(d, c);
    if (!lookOnce) return WaitIdle(d, c, timeoutNs);
    const IOReturn ready = CheckReady(d, c);
    return ready == kIOReturnBusy ? kIOReturnNotResponding : ready;
  }

  // Probe-time quiesce: stopped, incremental addressing, every engine interrupt masked (poll
  // mode), idle, status cleared.
  [[nodiscard]] IOReturn Quiesce(Direction d, uint32_t c, uint64_t timeoutNs) {
    using namespace xdma;
    ChannelControl::GetW1C(XdmaDirection(d), c)
        .FromValue(0)
        .set_run(1)
        .set_non_inc_mode(1)
        .WriteTo(io_);
    ChannelIntEnable::GetW1C(XdmaDirection(d), c)
        .FromValue(ChannelIntEnable::kDefinedMask)
        .WriteTo(io_);
    const IOReturn r = WaitIdle(d, c, timeoutNs);
    if (r == kIOReturnSuccess) (void)ReadClearStatus(d, c);
    return r;
  }

  // Interrupt mode (PG195 "H2C/C2H Channel Interrupt Enable Mask"): the channel's interrupt
  // source rises when a descriptor with Completed or Stop completes or an error is logged, as
  // Xilinx's driver unmasks them in interrupt mode (dma_ip_drivers XDMA libxdma.c,
  // engine_init_regs). Not idle_stopped: Run is cleared after every window on purpose.
  static constexpr uint32_t kCompletionInterruptMask =
      xdma::ChannelIntEnable::kDefinedMask & ~xdma::ChannelIntEnable::im_idle_stopped_field::kMask;
  void UnmaskCompletionInterrupts(Direction d, uint32_t c) {
    xdma::ChannelIntEnable::Get(XdmaDirection(d), c)
        .FromValue(kCompletionInterruptMask)
        .WriteTo(io_);
  }

  // Points the stopped channel at a chain (xdma-facts §6.2): Run 0, first descriptor address,
  // adjacent count of the first block, and, with `writeback`, the poll-mode writeback address
  // (the word is zeroed first, so that a completion is never an old one). Run follows (Run).
  void ProgramChain(Direction d, uint32_t c, uint64_t firstDescriptor, uint32_t dscAdj,
                    const XdmaWritebackWord* writeback) {
    using namespace xdma;
    const xdma::Direction x = XdmaDirection(d);
    if (writeback != nullptr) __atomic_store_n(writeback->cpu, 0u, __ATOMIC_RELEASE);
    ClearRun(d, c);
    SgdmaDescAddrLo::Get(x, c).FromValue(static_cast<uint32_t>(firstDescriptor)).WriteTo(io_);
    SgdmaDescAddrHi::Get(x, c).FromValue(static_cast<uint32_t>(firstDescriptor >> 32)).WriteTo(io_);
    SgdmaDescAdjacent::Get(x, c).FromValue(0).set_dsc_adj(dscAdj).WriteTo(io_);
    if (writeback != nullptr) {
      const uint64_t wb = writeback->bus;
      ChannelPollModeWbAddrLo::Get(x, c).FromValue(static_cast<uint32_t>(wb)).WriteTo(io_);
      ChannelPollModeWbAddrHi::Get(x, c).FromValue(static_cast<uint32_t>(wb >> 32)).WriteTo(io_);
    }
  }

  // Run, with every error logged and stopping the engine; poll-mode writeback if asked. The
  // rising edge of Run clears status and the completed count.
  void Run(Direction d, uint32_t c, bool pollModeWriteback) {
    using namespace xdma;
    ChannelControl::Get(XdmaDirection(d), c)
        .FromValue(0)
        .set_ie_descriptor_stopped(1)
        .set_ie_descriptor_completed(1)
        .set_ie_align_mismatch(1)
        .set_ie_magic_stopped(1)
        .set_ie_invalid_length(1)
        .set_ie_read_error(ChannelControl::ie_read_error_field::kMax)
        .set_ie_write_error(ChannelControl::ie_write_error_field::kMax)
        .set_ie_desc_error(ChannelControl::ie_desc_error_field::kMax)
        .set_pollmode_wb_enable(pollModeWriteback ? 1 : 0)
        .set_run(1)
        .WriteTo(io_);
  }

 private:
  Io& io_;
  Platform platform_;
};

}  // namespace fpgadext::engine
