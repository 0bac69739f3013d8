// What the dext's interrupt sources deliver to (docs/dext.md "User interrupts", "Channel
// interrupts"): an InterruptService is told which of its sources fired; FpgaInterruptTarget
// (FpgaInterruptTarget.iig) is the OSObject their actions need as a target, and
// AttachInterruptSource makes one enabled source whose deliveries reach the service.
#pragma once

#include <DriverKit/IODispatchQueue.h>
#include <DriverKit/IOInterruptDispatchSource.h>
#include <DriverKit/IOReturn.h>
#include <DriverKit/IOService.h>
#include <DriverKit/OSAction.h>
#include <DriverKit/OSSharedPtr.h>
#include <stdint.h>

class FpgaInterruptTarget;

namespace fpgadext::dext {

class InterruptService {
 public:
  // On the sources' queue. `source`: the number given to AttachInterruptSource.
  virtual void InterruptOccurred(uint32_t source) = 0;

 protected:
  ~InterruptService() = default;
};

// A target forwarding to `service` (+1: release it after the sources are cancelled and the
// service detached with FpgaInterruptTarget::SetService(nullptr) on the sources' queue).
[[nodiscard]] IOReturn CreateInterruptTarget(InterruptService* service,
                                             FpgaInterruptTarget** target);

// An enabled source for message vector `vector` of `provider` (source index vector + 1: index 0
// is the legacy pin, which an IOPCIDevice does not offer; xnu IOInterruptDispatchSource.iig,
// Create) on `queue`, delivering `source` to the target's service.
[[nodiscard]] IOReturn AttachInterruptSource(IOService* provider, uint32_t vector,
                                             IODispatchQueue* queue, FpgaInterruptTarget* target,
                                             uint32_t source,
                                             OSSharedPtr<IOInterruptDispatchSource>* out,
                                             OSSharedPtr<OSAction>* action);

}  // namespace fpgadext::dext
