// UserInterrupts: user interrupt lines to subscribed clients (user_interrupts.h).
// C++ library headers first: DriverKit declares the global placement operator new, and
// libc++'s <new> read after any DriverKit header does not compile (docs/macos.md).
#include <new>

#include "user_interrupts.h"

#include <DriverKit/IOLib.h>
#include <PCIDriverKit/IOPCIFamilyDefinitions.h>
#include <os/log.h>
#include <reference_design/user_block_registers.h>
#include <xdma/xdma_registers.h>

#include "FpgaInterruptTarget.h"
#include "pci_register_io.h"

namespace fpgadext::dext {

namespace {

namespace irq_reg = xdma::irq_reg;
namespace user_reg = reference_design::user_reg;
constexpr uint32_t kIrq = xdma::kIrqBlockBase;

// How many user lines the reference design's user block reports (0 without the block).
uint32_t ReferenceDesignLines(IOPCIDevice* device, const BarLayout& layout) {
  using namespace reference_design;
  if (layout.userBar == kNoBar || layout.dmaBar == kNoBar) return 0;
  const BarLayout::Bar& bar = layout.bars[layout.userBar];
  if (!bar.present || bar.size < user_reg::kChannels + 4) return 0;
  PciRegisterIo io(device, bar.memoryIndex);
  if (!UserBlockId::Get().ReadFrom(io).present()) return 0;
  const uint32_t lines = UserChannels::Get().ReadFrom(io).user_interrupts();
  return lines < protocol::kMaxEventLines ? lines : protocol::kMaxEventLines;
}

}  // namespace

UserInterrupts::UserInterrupts(IOPCIDevice* device, const BarLayout& layout, uint32_t lines)
    : device_(device, OSRetain),
      dmaIndex_(layout.bars[layout.dmaBar].memoryIndex),
      userIndex_(layout.bars[layout.userBar].memoryIndex),
      lines_(lines),
      lineMask_((1u << lines) - 1u) {}

IOReturn UserInterrupts::Create(IOPCIDevice* device, const BarLayout& layout,
                                unsigned channelVectors, IOOwned<UserInterrupts>* out) {
  const uint32_t lines = ReferenceDesignLines(device, layout);
  if (lines == 0) return kIOReturnSuccess;
  IOOwned<UserInterrupts> built = IOOwned<UserInterrupts>::Make(device, layout, lines);
  if (!built) return kIOReturnNoMemory;
  const IOReturn ret = built->Build(channelVectors);
  if (ret != kIOReturnSuccess) return ret;  // `built` goes and undoes what Build did
  *out = static_cast<IOOwned<UserInterrupts>&&>(built);
  return kIOReturnSuccess;
}

// MSI-X with a vector per channel and per line (PG195 "User Interrupt in MSI-X Mode": distinct
// user vectors); else MSI with as many (a power of two, PCI Local Bus 3.0 §6.8.1.3); else one
// MSI vector for everything. *userBase: the vector of line 0 (0 when shared).
IOReturn UserInterrupts::ConfigureVectors(unsigned channelVectors, uint32_t* userBase) {
  const uint32_t wanted = channelVectors + lines_;
  *userBase = channelVectors;
  if (wanted <= xdma::kMaxVectors &&
      device_->ConfigureInterrupts(kIOInterruptTypePCIMessagedX, wanted, wanted, 0) ==
          kIOReturnSuccess) {
    return kIOReturnSuccess;
  }
  uint32_t msi = 1;
  while (msi < wanted) msi <<= 1;
  if (msi <= xdma::kMaxVectors &&
      device_->ConfigureInterrupts(kIOInterruptTypePCIMessaged, msi, msi, 0) == kIOReturnSuccess) {
    return kIOReturnSuccess;
  }
  *userBase = 0;
  return device_->ConfigureInterrupts(kIOInterruptTypePCIMessaged, 1, 1, 0);
}

IOReturn UserInterrupts::Build(unsigned channelVectors) {
  PciRegisterIo irq(device_.get(), dmaIndex_);
  irq.Write32(kIrq + irq_reg::kUserIntEnableW1C, lineMask_);  // nothing until a subscription
  IOReturn ret =
      IOBufferMemoryDescriptor::Create(kIOMemoryDirectionInOut, 16384, 0, page_.attach());
  if (ret == kIOReturnSuccess) ret = page_->SetLength(16384);
  IOAddressSegment range{};
  if (ret == kIOReturnSuccess) ret = page_->GetAddressRange(&range);
  if (ret != kIOReturnSuccess) return ret;
  counters_ = reinterpret_cast<protocol::EventCounters*>(range.address);
  counters_->magic = protocol::kEventCountersMagic;
  counters_->lines = lines_;

  ret = IODispatchQueue::Create("fpgadext.events", 0, 0, queue_.attach());
  if (ret != kIOReturnSuccess) return ret;
  ret = CreateInterruptTarget(this, &target_);
  if (ret != kIOReturnSuccess) return ret;

  uint32_t userBase = 0;
  ret = ConfigureVectors(channelVectors, &userBase);
  if (ret != kIOReturnSuccess) {
    os_log_error(OS_LOG_DEFAULT, "fpgadext: no interrupt vectors for user lines: 0x%x", ret);
    return ret;
  }
  // Vector fields: four 5-bit fields per register, line i in 0x80 + 4*(i/4) (PG195 "IRQ Block
  // User Vector Number"). Lines share vector 0 when userBase is 0.
  for (uint32_t reg = 0; reg < protocol::kMaxEventLines / 4; ++reg) {
    uint32_t value = 0;
    for (uint32_t field = 0; field < 4; ++field) {
      const uint32_t line = reg * 4 + field;
      const uint32_t vector = userBase == 0 ? 0 : userBase + line;
      if (line < lines_)
        value |= (vector & xdma::kIrqVectorFieldMask) << xdma::IrqVectorShift(line);
    }
    irq.Write32(kIrq + xdma::IrqVectorRegOffset(irq_reg::kUserVectorBase, reg * 4), value);
  }
  const uint32_t sources = userBase == 0 ? 1 : lines_;
  for (uint32_t i = 0; i < sources; ++i) {
    const uint32_t vector = userBase == 0 ? 0 : userBase + i;
    ret = AttachInterruptSource(device_.get(), vector, queue_.get(), target_, i, &sources_[i],
                                &actions_[i]);
    if (ret != kIOReturnSuccess) return ret;
    sourceCount_ = i + 1;
  }
  return kIOReturnSuccess;
}

UserInterrupts::~UserInterrupts() {
  PciRegisterIo(device_.get(), dmaIndex_).Write32(kIrq + irq_reg::kUserIntEnableW1C, lineMask_);
  for (unsigned i = 0; i < protocol::kMaxEventLines; ++i) {
    if (sources_[i]) (void)sources_[i]->Cancel(nullptr);
  }
  if (queue_) {
    // After deliveries already queued: nothing reaches this object once it returns.
    queue_->DispatchSync(^{
      if (target_ != nullptr) target_->SetService(nullptr);
      while (listeners_ != nullptr) {
        EventListener* listener = listeners_;
        Complete(listener, kIOReturnNoDevice, 0);
        Unlink(listener);
      }
    });
  }
  for (unsigned i = 0; i < protocol::kMaxEventLines; ++i) {
    sources_[i].reset();
    actions_[i].reset();
  }
  if (target_ != nullptr) target_->release();
  target_ = nullptr;
}

uint32_t UserInterrupts::LinesAfter(uint32_t mask, uint64_t seen) const {
  uint32_t lines = 0;
  for (uint32_t i = 0; i < lines_; ++i) {
    if ((mask & (1u << i)) && lineSequence_[i] > seen) lines |= 1u << i;
  }
  return lines;
}

void UserInterrupts::Complete(EventListener* listener, IOReturn status, uint32_t lines) {
  if (listener->waiter == nullptr) return;
  uint64_t arguments[protocol::kEventsWaitArgumentCount] = {};
  arguments[protocol::kEventsWaitSequence] = sequence_;
  arguments[protocol::kEventsWaitLines] = lines;
  listener->client->AsyncCompletion(listener->waiter, status, arguments,
                                    protocol::kEventsWaitArgumentCount);
  listener->waiter->release();
  listener->waiter = nullptr;
}

void UserInterrupts::Unlink(EventListener* listener) {
  for (EventListener** at = &listeners_; *at != nullptr; at = &(*at)->next) {
    if (*at == listener) {
      *at = listener->next;
      break;
    }
  }
  listener->next = nullptr;
  listener->linked = false;
  listener->mask = 0;
}

// A line is enabled while any client subscribes to it. Enabling a line whose request is already
// asserted raises its interrupt (PG195 "IRQ Block User Interrupt Enable Mask"), so an event that
// came while nobody listened is delivered to the first subscriber.
void UserInterrupts::UpdateEnable() {
  uint32_t wanted = 0;
  for (EventListener* l = listeners_; l != nullptr; l = l->next) wanted |= l->mask;
  if (wanted == enabled_) return;
  enabled_ = wanted;
  PciRegisterIo(device_.get(), dmaIndex_).Write32(kIrq + irq_reg::kUserIntEnable, wanted);
}

IOReturn UserInterrupts::Subscribe(EventListener* listener, IOUserClient* client, uint32_t mask) {
  if (mask & ~lineMask_) return kIOReturnBadArgument;
  if (mask == 0) {
    Unsubscribe(listener);
    return kIOReturnSuccess;
  }
  queue_->DispatchSync(^{
    if (!listener->linked) {
      listener->client = client;
      listener->next = listeners_;
      listeners_ = listener;
      listener->linked = true;
    }
    listener->mask = mask;
    UpdateEnable();
  });
  return kIOReturnSuccess;
}

IOReturn UserInterrupts::Wait(EventListener* listener, OSAction* completion, uint64_t seen) {
  if (completion == nullptr) return kIOReturnBadArgument;
  // The block writes the result through a pointer (DispatchSync runs it before returning).
  IOReturn ret = kIOReturnSuccess;
  IOReturn* result = &ret;
  queue_->DispatchSync(^{
    if (!listener->linked) {
      *result = kIOReturnNotReady;
    } else if (listener->waiter != nullptr) {
      *result = kIOReturnBusy;
    } else {
      completion->retain();
      listener->waiter = completion;
      listener->waitSeen = seen;
      const uint32_t lines = LinesAfter(listener->mask, seen);
      if (lines != 0) Complete(listener, kIOReturnSuccess, lines);
    }
  });
  return ret;
}

void UserInterrupts::Unsubscribe(EventListener* listener) {
  queue_->DispatchSync(^{
    if (!listener->linked) return;
    Complete(listener, kIOReturnAborted, 0);
    Unlink(listener);
    UpdateEnable();
  });
}

IOReturn UserInterrupts::CopyCounters(IOMemoryDescriptor** memory) {
  page_->retain();
  *memory = page_.get();
  return kIOReturnSuccess;
}

void UserInterrupts::Service() {
  PciRegisterIo irq(device_.get(), dmaIndex_);
  // Request = asserted AND enabled (PG195 "IRQ Block User Interrupt Request"). A line stays
  // asserted until it is acknowledged below, so it cannot fire twice in between: one event
  // per line seen here. A vector whose line an earlier delivery took finds nothing.
  const uint32_t raw = irq.Read32(kIrq + irq_reg::kUserIntRequest);
  if (raw == 0xFFFF'FFFFu) return;  // the board is gone (an all-ones read)
  const uint32_t request = raw & lineMask_;
  if (request == 0) return;
  PciRegisterIo(device_.get(), userIndex_).Write32(user_reg::kIrqClear, request);
  for (uint32_t i = 0; i < lines_; ++i) {
    if (!(request & (1u << i))) continue;
    lineSequence_[i] = ++sequence_;
    __atomic_store_n(&counters_->count[i], counters_->count[i] + 1, __ATOMIC_RELAXED);
  }
  __atomic_store_n(&counters_->sequence, sequence_, __ATOMIC_RELEASE);
  for (EventListener* l = listeners_; l != nullptr; l = l->next) {
    if (l->waiter == nullptr) continue;
    const uint32_t lines = LinesAfter(l->mask, l->waitSeen);
    if (lines != 0) Complete(l, kIOReturnSuccess, lines);
  }
}

}  // namespace fpgadext::dext
