// A client's user-interrupt subscription (kSelectorEventsSubscribe/Wait/Unsubscribe and the
// counters page, kMemoryTypeEventCounters): the board's UserInterrupts does the work; this
// keeps the client's place in it and says kIOReturnUnsupported on a board without user lines.
#pragma once

#include <DriverKit/IOMemoryDescriptor.h>
#include <DriverKit/IOReturn.h>
#include <DriverKit/IOUserClient.h>
#include <DriverKit/OSAction.h>
#include <stdint.h>

#include "driver_resources.h"
#include "user_interrupts.h"

namespace fpgadext::dext::client {

class Events {
 public:
  Events() = default;
  Events(const Events&) = delete;
  Events& operator=(const Events&) = delete;

  // *lines: how many user lines the board has.
  IOReturn Subscribe(IOUserClient* client, DriverResources& board, uint64_t mask, uint64_t* lines);
  IOReturn Wait(DriverResources& board, OSAction* completion, uint64_t seen);
  IOReturn Unsubscribe(DriverResources& board);
  // The counters page, read-only (+1).
  IOReturn CopyMemory(DriverResources& board, uint64_t* options, IOMemoryDescriptor** memory);
  // Client stop: a wait in progress completes with kIOReturnAborted.
  void Stop(DriverResources& board) { (void)Unsubscribe(board); }

 private:
  EventListener listener_;
};

}  // namespace fpgadext::dext::client
