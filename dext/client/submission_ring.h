// A client's submission ring (docs/ring.md): dext-allocated memory mapped into the app, polled
// on a dispatch queue of the ring's own. Each step loads the app's indices once, copies a
// submission out of shared memory once, and lets engine::RingValidator decide what to run;
// the dext only ever publishes indices it computed itself and never reads back what it wrote.
#pragma once

#include <atomic>

#include <DriverKit/IOBufferMemoryDescriptor.h>
#include <DriverKit/IODispatchQueue.h>
#include <DriverKit/IOMemoryDescriptor.h>
#include <DriverKit/IOReturn.h>
#include <DriverKit/IOUserClient.h>
#include <DriverKit/OSAction.h>
#include <DriverKit/OSSharedPtr.h>
#include <fpgadext/engine/ring_validator.h>
#include <fpgadext/engine/transfer_planner.h>
#include <fpgadext/protocol.h>
#include <stdint.h>

#include "client/buffer_table.h"
#include "client/in_place.h"
#include "driver_resources.h"

namespace fpgadext::dext::client {

struct RingState {
  RingState(uint32_t entries, uint64_t directions) : validator(entries, directions) {}

  OSSharedPtr<IOBufferMemoryDescriptor> memory;
  uint8_t* base = nullptr;
  uint32_t channels[2] = {};  // the channel the ring owns, per engine direction (mask; 0 = none)
  // Of those, the ones a job left running (its engine did not stop): quarantined, not freed,
  // when the ring goes (issue 12 item 3).
  uint32_t stranded[2] = {};
  engine::ChannelClient* channelClient = nullptr;  // the user client's (outlives the ring)
  OSSharedPtr<IODispatchQueue> queue;
  std::atomic<bool> stopping{false};
  // Set by the poller before it publishes RingHeader::pollerSleeping and stops re-queuing
  // itself; whoever clears it (the doorbell, or the poller's own re-check) queues the next pass.
  std::atomic<bool> parked{false};
  // The app rang the doorbell once: it knows the wake-up protocol, so the poller may sleep.
  // An app that never does gets the older 1 kHz polling when idle.
  std::atomic<bool> doorbellKnown{false};
  DriverResources* board = nullptr;  // the driver's (outlives the ring)
  BufferTable* buffers = nullptr;    // the user client's (outlives the ring)
  // Ring queue only:
  engine::RingValidator validator;  // the dext's sqHead/cqTail and error bits
  // Sanitizer builds: the token the dext wrote into the header, kept here so that it is never
  // read back from memory the app can write (docs/ring.md, "Sanitizer note").
  uint64_t sanitizerToken = 0;
  uint64_t lastWorkNs = 0;
  bool sleepingPublished = false;  // RingHeader::pollerSleeping as the dext last wrote it
  OSSharedPtr<OSAction> waiter;    // kSelectorRingWait in progress
  uint64_t waitIndex = 0;
  engine::TransferJob job;
};

class SubmissionRing {
 public:
  SubmissionRing() = default;
  SubmissionRing(const SubmissionRing&) = delete;
  SubmissionRing& operator=(const SubmissionRing&) = delete;

  // kSelectorRingCreate: *size is the ring's size in bytes. The ring reads `buffers` through
  // its ring view (BufferTable::SetRingVisible, run through Exclusive); its transfers run for
  // `channelClient`. kIOReturnExclusiveAccess at once when a channel it needs is the last shared
  // one of its direction (DriverResources::AcquireChannel).
  IOReturn Create(IOUserClient* client, DriverResources& board, BufferTable& buffers,
                  engine::ChannelClient* channelClient, uint64_t entries, uint64_t directions,
                  uint64_t* size);
  // kSelectorRingDestroy: kIOReturnNotFound without a ring.
  IOReturn Destroy(IOUserClient* client, DriverResources& board);
  // kSelectorRingWait.
  IOReturn Wait(IOUserClient* client, OSAction* completion, uint64_t index);
  // kSelectorRingDoorbell: restarts the poller if it sleeps; a no-op when it is awake.
  IOReturn Doorbell(IOUserClient* client);
  // The ring's memory for CopyClientMemoryForType (+1), kIOReturnNotReady without a ring.
  IOReturn CopyMemory(IOMemoryDescriptor** memory);
  // Client stop: as Destroy, if there is a ring.
  void Stop(IOUserClient* client, DriverResources& board) { (void)Destroy(client, board); }
  // Runs `change` where the ring cannot be looking at what it changes: on the ring's queue
  // while a ring exists (waiting for the entry in flight), else at once.
  void Exclusive(IODispatchBlock change);

 private:
  static void Service(IOUserClient* client, RingState* ring);
  static void Schedule(IOUserClient* client, RingState* ring);
  // An idle poller: publishes that it sleeps, then re-checks. Whether it went to sleep.
  static bool Sleep(RingState* ring);
  static protocol::RingCompletion Execute(DriverResources* board, BufferTable* buffers,
                                          RingState* ring, const protocol::RingSubmission& entry);

  InPlace<RingState> state_;  // exists while a ring does (ExternalMethod queue decides)
};

}  // namespace fpgadext::dext::client
