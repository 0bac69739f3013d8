// UserInterrupts: the board's user interrupt lines (XDMA usr_irq_req[15:0]) delivered to the
// apps that subscribed to them (docs/dext.md "User interrupts").
//
// Vectors follow the layout of Xilinx's reference driver (dma_ip_drivers XDMA libxdma.c): the
// engine channels take the first vectors, user line i the one after them. Each user vector is
// an IOInterruptDispatchSource (source index = vector + 1, xnu IOInterruptDispatchSource.iig)
// on a dispatch queue of the board's user interrupts. A delivery reads which enabled lines are
// asserted (IRQ block 0x40), counts one event per line, and acknowledges it where PG195 says
// user logic expects it: the request stays asserted until the host services it through a
// register of the user design ("MSI and MSI-X Interrupts"), here the reference design's IRQ
// clear register. The counts go to a page every client may map read-only
// (protocol::EventCounters) and to the clients waiting in kSelectorEventsWait.
#pragma once

#include <DriverKit/IOBufferMemoryDescriptor.h>
#include <DriverKit/IODispatchQueue.h>
#include <DriverKit/IOInterruptDispatchSource.h>
#include <DriverKit/IOMemoryDescriptor.h>
#include <DriverKit/IOReturn.h>
#include <DriverKit/IOUserClient.h>
#include <DriverKit/OSAction.h>
#include <DriverKit/OSSharedPtr.h>
#include <PCIDriverKit/IOPCIDevice.h>
#include <fpgadext/protocol.h>
#include <stdint.h>

#include "bar_layout.h"
#include "interrupt_target.h"
#include "io_owned.h"

namespace fpgadext::dext {

// One client's subscription (kept in the client's events component, dext/client/events.h).
// Changed only on the user interrupts' queue.
struct EventListener {
  IOUserClient* client = nullptr;  // completes its wait; the client outlives its subscription
  uint32_t mask = 0;
  OSAction* waiter = nullptr;  // retained: a kSelectorEventsWait in progress
  uint64_t waitSeen = 0;
  EventListener* next = nullptr;
  bool linked = false;
};

class UserInterrupts final : public InterruptService {
 public:
  // Sets up delivery when the board has the reference design's user block with user interrupt
  // lines (*out stays empty otherwise, which is not an error): allocates `channelVectors` +
  // lines MSI-X vectors (else MSI, else one MSI vector shared by all lines), programs the user
  // vector registers, creates one enabled source per user vector. Every line stays disabled in
  // the IRQ block until a client subscribes to it.
  [[nodiscard]] static IOReturn Create(IOPCIDevice* device, const BarLayout& layout,
                                       unsigned channelVectors, IOOwned<UserInterrupts>* out);
  // Disables the lines, cancels the sources; a subscriber's wait completes with kIOReturnNoDevice.
  ~UserInterrupts();
  UserInterrupts(const UserInterrupts&) = delete;
  UserInterrupts& operator=(const UserInterrupts&) = delete;

  uint32_t Lines() const { return lines_; }
  // kSelectorEventsSubscribe: kIOReturnBadArgument for lines the board does not have; mask 0
  // is Unsubscribe.
  [[nodiscard]] IOReturn Subscribe(EventListener* listener, IOUserClient* client, uint32_t mask);
  // kSelectorEventsWait: kIOReturnNotReady when not subscribed, kIOReturnBusy with a wait in
  // progress; completes at once when a subscribed line had an event numbered after `seen`.
  [[nodiscard]] IOReturn Wait(EventListener* listener, OSAction* completion, uint64_t seen);
  // Ends the subscription (the wait in progress completes with kIOReturnAborted). Idempotent.
  void Unsubscribe(EventListener* listener);
  // The counters page (+1), for CopyClientMemoryForType with kIOUserClientMemoryReadOnly.
  IOReturn CopyCounters(IOMemoryDescriptor** memory);

  // A user vector fired (FpgaInterruptTarget::InterruptOccurred, on queue_); the lines say
  // which, so the source number is not needed.
  void InterruptOccurred(uint32_t) override { Service(); }

 private:
  friend class IOOwned<UserInterrupts>;
  UserInterrupts(IOPCIDevice* device, const BarLayout& layout, uint32_t lines);
  [[nodiscard]] IOReturn Build(unsigned channelVectors);
  [[nodiscard]] IOReturn ConfigureVectors(unsigned channelVectors, uint32_t* userBase);
  uint32_t LinesAfter(uint32_t mask, uint64_t seen) const;
  void Complete(EventListener* listener, IOReturn status, uint32_t lines);
  void Unlink(EventListener* listener);
  void UpdateEnable();

  OSSharedPtr<IOPCIDevice> device_;
  uint8_t dmaIndex_;
  uint8_t userIndex_;
  uint32_t lines_;
  uint32_t lineMask_;
  uint32_t enabled_ = 0;
  OSSharedPtr<IODispatchQueue> queue_;
  void Service();

  FpgaInterruptTarget* target_ = nullptr;  // retained
  OSSharedPtr<OSAction> actions_[protocol::kMaxEventLines];
  OSSharedPtr<IOInterruptDispatchSource> sources_[protocol::kMaxEventLines];
  unsigned sourceCount_ = 0;
  OSSharedPtr<IOBufferMemoryDescriptor> page_;
  protocol::EventCounters* counters_ = nullptr;
  // Queue only:
  uint64_t sequence_ = 0;
  uint64_t lineSequence_[protocol::kMaxEventLines] = {};  // number of each line's last event
  EventListener* listeners_ = nullptr;
};

}  // namespace fpgadext::dext
