// A client's user-interrupt subscription (events.h).
#include "client/events.h"

#include <fpgadext/protocol.h>

namespace fpgadext::dext::client {

IOReturn Events::Subscribe(IOUserClient* client, DriverResources& board, uint64_t mask,
                           uint64_t* lines) {
  UserInterrupts* interrupts = board.Interrupts();
  if (interrupts == nullptr) return kIOReturnUnsupported;
  if (mask > 0xFFFF'FFFFu) return kIOReturnBadArgument;
  const IOReturn ret = interrupts->Subscribe(&listener_, client, static_cast<uint32_t>(mask));
  if (ret == kIOReturnSuccess) *lines = interrupts->Lines();
  return ret;
}

IOReturn Events::Wait(DriverResources& board, OSAction* completion, uint64_t seen) {
  UserInterrupts* interrupts = board.Interrupts();
  if (interrupts == nullptr) return kIOReturnUnsupported;
  return interrupts->Wait(&listener_, completion, seen);
}

IOReturn Events::Unsubscribe(DriverResources& board) {
  UserInterrupts* interrupts = board.Interrupts();
  if (interrupts == nullptr) return kIOReturnUnsupported;
  interrupts->Unsubscribe(&listener_);
  return kIOReturnSuccess;
}

IOReturn Events::CopyMemory(DriverResources& board, uint64_t* options,
                            IOMemoryDescriptor** memory) {
  UserInterrupts* interrupts = board.Interrupts();
  if (interrupts == nullptr) return kIOReturnUnsupported;
  // Every client maps the same page; none may write it (IOUserClient.iig,
  // kIOUserClientMemoryReadOnly).
  if (options != nullptr) *options |= kIOUserClientMemoryReadOnly;
  return interrupts->CopyCounters(memory);
}

}  // namespace fpgadext::dext::client
