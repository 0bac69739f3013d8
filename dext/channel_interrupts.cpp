// ChannelInterrupts: completion interrupts of the XDMA channels (channel_interrupts.h).
// C++ library headers first: DriverKit declares the global placement operator new, and
// libc++'s <new> read after any DriverKit header does not compile (docs/macos.md).
#include <new>

#include "channel_interrupts.h"

#include <DriverKit/IOLib.h>
#include <DriverKit/IOTimerDispatchSource.h>
#include <PCIDriverKit/IOPCIFamilyDefinitions.h>
#include <os/log.h>
#include <xdma/xdma_registers.h>

#include "FpgaInterruptTarget.h"
#include "channel_wait.h"
#include "pci_register_io.h"

namespace fpgadext::dext {

namespace {

namespace irq_reg = xdma::irq_reg;
constexpr uint32_t kIrq = xdma::kIrqBlockBase;

}  // namespace

ChannelInterrupts::ChannelInterrupts(IOPCIDevice* device, const BarLayout& layout, uint32_t h2c,
                                     uint32_t c2h)
    : device_(device, OSRetain),
      dmaIndex_(layout.bars[layout.dmaBar].memoryIndex),
      h2c_(h2c),
      count_(h2c + c2h) {}

IOReturn ChannelInterrupts::Create(IOPCIDevice* device, const BarLayout& layout, uint32_t h2c,
                                   uint32_t c2h, bool vectorsConfigured,
                                   IOOwned<ChannelInterrupts>* out) {
  if (layout.dmaBar == kNoBar || h2c > xdma::kMaxChannels || c2h > xdma::kMaxChannels ||
      h2c + c2h == 0) {
    return kIOReturnUnsupported;
  }
  IOOwned<ChannelInterrupts> built = IOOwned<ChannelInterrupts>::Make(device, layout, h2c, c2h);
  if (!built) return kIOReturnNoMemory;
  const IOReturn ret = built->Build(vectorsConfigured);
  if (ret != kIOReturnSuccess) return ret;  // `built` goes and undoes what Build did
  *out = static_cast<IOOwned<ChannelInterrupts>&&>(built);
  return kIOReturnSuccess;
}

// A vector per channel: MSI-X, else MSI with a power of two of them (PCI Local Bus 3.0
// §6.8.1.3). One shared vector is no use here: a delivery must say which channel it was.
IOReturn ChannelInterrupts::ConfigureVectors() {
  if (device_->ConfigureInterrupts(kIOInterruptTypePCIMessagedX, count_, count_, 0) ==
      kIOReturnSuccess) {
    return kIOReturnSuccess;
  }
  uint32_t msi = 1;
  while (msi < count_) msi <<= 1;
  return device_->ConfigureInterrupts(kIOInterruptTypePCIMessaged, msi, msi, 0);
}

IOReturn ChannelInterrupts::Build(bool vectorsConfigured) {
  PciRegisterIo irq(device_.get(), dmaIndex_);
  // Nothing until a transfer waits (a previous driver may have left channels enabled).
  irq.Write32(kIrq + irq_reg::kChannelIntEnableW1C, (1u << count_) - 1u);
  IOReturn ret = kIOReturnSuccess;
  if (vectorsConfigured) {
    // The user lines were given the vectors after the channels, unless everything shares one:
    // then no vector follows the channels'.
    uint64_t type = 0;
    ret = IOInterruptDispatchSource::GetInterruptType(device_.get(), count_ + 1, &type);
  } else {
    ret = ConfigureVectors();
  }
  if (ret != kIOReturnSuccess) return kIOReturnNoInterrupt;

  // Vector fields: four 5-bit fields per register, channel bit i in 0xA0 + 4*(i/4) (PG195 "IRQ
  // Block Channel Vector Number").
  uint32_t vectors[2] = {};
  for (uint32_t bit = 0; bit < count_; ++bit) {
    vectors[bit / 4] |= (bit & xdma::kIrqVectorFieldMask) << xdma::IrqVectorShift(bit);
  }
  for (uint32_t reg = 0; reg < 2; ++reg) {
    irq.Write32(kIrq + xdma::IrqVectorRegOffset(irq_reg::kChannelVectorBase, reg * 4),
                vectors[reg]);
  }

  // Reentrant: a waiter sleeps on it while deliveries run on it (channel_wait.h says why).
  ret = IODispatchQueue::Create("fpgadext.completions", kIODispatchQueueReentrant, 0,
                                queue_.attach());
  if (ret != kIOReturnSuccess) return ret;
  ret = CreateInterruptTarget(this, &target_);
  if (ret != kIOReturnSuccess) return ret;
  for (uint32_t bit = 0; bit < count_; ++bit) {
    ret = AttachInterruptSource(device_.get(), bit, queue_.get(), target_, bit, &sources_[bit],
                                &actions_[bit]);
    if (ret != kIOReturnSuccess) return ret;
  }
  return kIOReturnSuccess;
}

ChannelInterrupts::~ChannelInterrupts() {
  stopping_.store(true, std::memory_order_release);
  PciRegisterIo(device_.get(), dmaIndex_)
      .Write32(kIrq + irq_reg::kChannelIntEnableW1C, (1u << count_) - 1u);
  for (uint32_t bit = 0; bit < kMaxChannelBits; ++bit) {
    if (sources_[bit]) (void)sources_[bit]->Cancel(nullptr);
  }
  if (queue_) {
    // After deliveries already queued: nothing reaches this object once it returns.
    queue_->DispatchSync(^{
      if (target_ != nullptr) target_->SetService(nullptr);
    });
    WakeAll();
  }
  for (uint32_t bit = 0; bit < kMaxChannelBits; ++bit) {
    sources_[bit].reset();
    actions_[bit].reset();
  }
  if (target_ != nullptr) target_->release();
  target_ = nullptr;
}

uint32_t ChannelInterrupts::Bits(engine::Direction direction, uint32_t channels) const {
  const bool h2c = direction == engine::Direction::kHostToCard;
  const uint32_t mine = h2c ? (1u << h2c_) - 1u : (1u << (count_ - h2c_)) - 1u;
  return (channels & mine) << (h2c ? 0 : h2c_);
}

uint64_t ChannelInterrupts::Events(uint32_t bits) const {
  uint64_t sum = 0;
  for (uint32_t bit = 0; bit < count_; ++bit) {
    if ((bits >> bit) & 1u) sum += events_[bit].load(std::memory_order_acquire);
  }
  return sum;
}

void ChannelInterrupts::InterruptOccurred(uint32_t bit) {
  if (bit >= count_) return;
  // Acknowledge: the channel stays disabled until the next wait enables it, so a completion
  // logged until the engine runs again interrupts once.
  PciRegisterIo(device_.get(), dmaIndex_).Write32(kIrq + irq_reg::kChannelIntEnableW1C, 1u << bit);
  events_[bit].fetch_add(1, std::memory_order_acq_rel);
  queue_->WakeupWithOptions(&events_, kIODispatchQueueWakeupAll);  // on queue_: allowed here
}

void ChannelInterrupts::WakeAll() {
  wakes_.fetch_add(1, std::memory_order_acq_rel);
  queue_->DispatchSync(^{
    queue_->WakeupWithOptions(&events_, kIODispatchQueueWakeupAll);
  });
}

void ChannelInterrupts::Wait(uint32_t bits, uint64_t seen, uint64_t deadlineNs) {
  if (bits == 0 || stopping_.load(std::memory_order_acquire)) return;
  const uint64_t deadline = channel_wait_detail::TicksFromNs(deadlineNs);
  const uint64_t wakes = wakes_.load(std::memory_order_acquire);
  queue_->DispatchSync(^{
    // Enabled on the queue, so a delivery it causes runs after this block sleeps (or finds the
    // count changed before it does).
    PciRegisterIo(device_.get(), dmaIndex_).Write32(kIrq + irq_reg::kChannelIntEnableW1S, bits);
    while (Events(bits) == seen && wakes_.load(std::memory_order_acquire) == wakes &&
           mach_absolute_time() < deadline) {
      if (queue_->SleepWithDeadline(&events_, kIOTimerClockMachAbsoluteTime, deadline) !=
          kIOReturnSuccess) {
        break;  // timed out or refused: the caller polls either way
      }
    }
  });
}

engine::CompletionWaitSeam ChannelInterrupts::Seam() {
  engine::CompletionWaitSeam seam;
  seam.context = this;
  seam.events = [](void* context, engine::Direction direction, uint32_t channels) {
    auto* self = static_cast<ChannelInterrupts*>(context);
    return self->Events(self->Bits(direction, channels));
  };
  seam.wait = [](void* context, engine::Direction direction, uint32_t channels, uint64_t seen,
                 uint64_t deadlineNs) {
    auto* self = static_cast<ChannelInterrupts*>(context);
    self->Wait(self->Bits(direction, channels), seen, deadlineNs);
  };
  seam.wake = [](void* context) { static_cast<ChannelInterrupts*>(context)->WakeAll(); };
  return seam;
}

}  // namespace fpgadext::dext
