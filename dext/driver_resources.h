// DriverResources: everything FpgaDriver::Start brings up for one board — the opened
// IOPCIDevice, its BAR layout, the data mover (XDMA engine or PIO) with the memory it uses, the
// channel pool and the transfer planner — built in one step and released in one step, in reverse,
// whichever step failed. User clients reach the board only through it (FpgaDriver::GetResources).
#pragma once

#include <DriverKit/IODispatchQueue.h>
#include <DriverKit/IOReturn.h>
#include <DriverKit/IOService.h>
#include <DriverKit/OSSharedPtr.h>
#include <PCIDriverKit/IOPCIDevice.h>
#include <fpgadext/engine/channel_pool.h>
#include <fpgadext/engine/transfer_planner.h>
#include <stdint.h>

#include "bar_layout.h"
#include "channel_interrupts.h"
#include "data_movers.h"
#include "io_owned.h"
#include "stream_resources.h"
#include "user_interrupts.h"

namespace fpgadext::dext {

class DriverResources {
 public:
  // Opens `device` for `owner`, enables memory space and bus mastering, finds the BARs, builds
  // the data mover, channel pool and planner. On success *resources owns all of it (free it
  // with Release). On failure *resources is null and
  // whatever was done is undone: nothing prepared for DMA, nothing allocated, the device closed.
  [[nodiscard]] static IOReturn Create(IOService* owner, IOPCIDevice* device,
                                       DriverResources** resources);
  // The resources are counted: Create gives its caller (the driver) one reference, and each
  // user client takes one (Retain) from its Start to its Stop, so the board outlives every
  // client that uses it, whichever Stop runs first. On a Mac the driver's Stop may run before or
  // while a client's Stop does: when the board's nub goes, xnu sends both asynchronously, the
  // driver's first (iokit/Kernel/IOService.cpp actionWillTerminate, IOUserServer.cpp
  // serviceWillTerminate; docs/dext.md "Stop order").
  void Retain();
  // Drops one reference; the last stops the engines and undoes Create, in reverse. Null does
  // nothing.
  static void Release(DriverResources* resources);

  ~DriverResources();
  DriverResources(const DriverResources&) = delete;
  DriverResources& operator=(const DriverResources&) = delete;

  IOPCIDevice* Device() const { return device_.get(); }
  // The board's AXI-Stream channels (stream_resources.h); null when it has none.
  StreamResources* Streams() const { return streams_.get(); }
  // The service that opened the device: the one to name in _CopyDeviceMemoryWithIndex.
  IOService* Owner() const { return owner_; }
  const BarLayout& Layout() const { return layout_; }
  uint64_t CardMemorySize() const { return cardMemorySize_; }
  // Fills out[protocol::kDeviceInfoCount].
  void GetDeviceInfo(uint64_t* out) const;
  // How many window slots a client's HostMemory needs (one per channel).
  uint32_t WindowSlots() const;

  // Moves `length` bytes between card address `cardAddress` and `host`; direction 0 = to the
  // card, 1 = from the card (engine::Direction). kIOReturnNotReady for another direction or a
  // null `host`. `client`: the user client's scheduling record, so that clients take turns for
  // the shared channels (docs/engine.md "Scheduling"); `cancel`: lets CancelTransfer, from
  // another queue, stop it (kIOReturnAborted).
  [[nodiscard]] IOReturn Transfer(uint32_t direction, uint64_t cardAddress,
                                  engine::HostMemory* host, uint64_t length,
                                  engine::ChannelClient* client, engine::TransferCancel* cancel);
  // Stops the Transfer given `cancel` between two polls (and any later one at once); callable
  // from any queue.
  void CancelTransfer(engine::TransferCancel* cancel);
  // The policy Transfer waits with for `client`'s transfers (never kDefault; kPoll when the
  // board cannot interrupt: engine::TransferPlanner::PolicyFor).
  engine::CompletionPolicy CompletionPolicyFor(const engine::ChannelClient* client) const {
    return planner_->PolicyFor(client);
  }
  // The same without blocking (engine::TransferPlanner::Begin/Poll/Abort), for async calls and
  // rings; `ownedChannels` as taken with AcquireChannel.
  [[nodiscard]] IOReturn BeginTransfer(uint32_t direction, uint64_t cardAddress,
                                       engine::HostMemory* host, uint64_t length,
                                       engine::TransferJob* job, uint32_t ownedChannels,
                                       engine::ChannelClient* client);
  [[nodiscard]] IOReturn PollTransfer(engine::TransferJob* job);
  void AbortTransfer(engine::TransferJob* job, IOReturn reason);
  // Takes one channel of `direction` for a client's exclusive use (a ring), *mask its bit
  // (engine::ChannelPool::AcquireExclusive): kIOReturnExclusiveAccess when it would be the last
  // shared channel of the direction (every client's transfers keep one), kIOReturnBusy when all
  // are in use right now, kIOReturnBadArgument for another direction.
  [[nodiscard]] IOReturn AcquireChannel(uint32_t direction, uint32_t* mask);
  void ReleaseChannels(uint32_t direction, uint32_t mask);
  // The board's user interrupt lines (user_interrupts.h); null when it has none.
  UserInterrupts* Interrupts() const { return userInterrupts_.get(); }
  // Sets channels taken with AcquireChannel aside instead of giving them back: their engine did
  // not stop. The planner gives each back once it sees it idle (engine::ChannelPool::Quarantine).
  void QuarantineChannels(uint32_t direction, uint32_t mask);

 private:
  // Recovery (docs/dext.md, "Recovery"), after every transfer step of `direction` that ended
  // with `result`:
  // - kIOReturnNotResponding with every channel of the direction set aside (each timed out and
  //   did not stop): the engine is wedged;
  // - kIOReturnNoDevice: the engine read all ones from a channel register. A second register
  //   confirms it: the XDMA config block's identifier, which never reads all ones. If that too
  //   reads all ones, the function's vendor ID in configuration space tells a function that is
  //   gone (all ones there as well: no new DMA is started, the kernel terminates the driver)
  //   from one that stopped answering on its BARs while its configuration space answers
  //   (wedged).
  // A wedged function is reset once (RequestReset).
  void CheckFunction(uint32_t direction, IOReturn result);
  // Whether all ones from a channel register are confirmed by the config block's identifier.
  bool DmaBarReadsAllOnes() const;
  // A function-level reset with kIOPCIDeviceResetOptionTerminate, once, so that the driver is
  // started afresh on the reset function. Not when the function is gone (its vendor ID reads
  // all ones). Without Function Level Reset the function is refused new DMA (Quarantine).
  void RequestReset(const char* why);
  // No new DMA: every later transfer is refused with kIOReturnNoDevice, and bus mastering is
  // turned off, so the function can use none of the mappings still in place.
  void QuarantineFunction();
  // Set once, atomically: clients' queues may find the wedge at the same time.
  bool resetRequested_ = false;
  bool quarantined_ = false;  // atomic accesses

  uint32_t references_ = 1;  // atomic accesses

  friend class IOOwned<DriverResources>;
  DriverResources(IOService* owner, IOPCIDevice* device);
  [[nodiscard]] IOReturn Build();

  // The destructor undoes Build in reverse: planner, pool, the pool's wait queue, mover, then the
  // device is closed and released.
  IOService* owner_;  // not retained: the owner holds these resources
  OSSharedPtr<IOPCIDevice> device_;
  bool opened_ = false;
  uint16_t vendorDevice_[2] = {};
  BarLayout layout_;
  uint64_t cardMemorySize_ = 0;
  IOOwned<MoverResources> mover_;
  IOOwned<StreamResources> streams_;
  IOOwned<engine::ChannelPool> channels_;
  // Where a transfer waiting for a channel sleeps (dext/channel_wait.h); outlives channels_.
  OSSharedPtr<IODispatchQueue> channelWaitQueue_;
  IOOwned<engine::TransferPlanner> planner_;
  IOOwned<UserInterrupts> userInterrupts_;  // goes first: its lines are disabled while open
  // Completion interrupts the planner sleeps on (kInterrupt, kAdaptive); null: it polls. Goes
  // after the planner, which refers to it.
  IOOwned<ChannelInterrupts> channelInterrupts_;
};

}  // namespace fpgadext::dext
