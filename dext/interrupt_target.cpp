// FpgaInterruptTarget and interrupt sources (interrupt_target.h).
// C++ library headers first: DriverKit declares the global placement operator new, and
// libc++'s <new> read after any DriverKit header does not compile (docs/macos.md).
#include <new>

#include "interrupt_target.h"

#include <DriverKit/IOLib.h>

#include "FpgaInterruptTarget.h"

struct FpgaInterruptTarget_IVars {
  fpgadext::dext::InterruptService* service;
};

bool FpgaInterruptTarget::init() {
  if (!super::init()) return false;
  ivars = IONewZero(FpgaInterruptTarget_IVars, 1);
  return ivars != nullptr;
}

void FpgaInterruptTarget::free() {
  IOSafeDeleteNULL(ivars, FpgaInterruptTarget_IVars, 1);
  super::free();
}

void FpgaInterruptTarget::SetService(fpgadext::dext::InterruptService* service) {
  ivars->service = service;
}

void IMPL(FpgaInterruptTarget, InterruptOccurred) {
  // `count` > 1 only says deliveries coalesced; the service reads what happened.
  const auto* source = static_cast<const uint32_t*>(action->GetReference());
  if (ivars->service != nullptr && source != nullptr) ivars->service->InterruptOccurred(*source);
}

namespace fpgadext::dext {

IOReturn CreateInterruptTarget(InterruptService* service, FpgaInterruptTarget** target) {
  *target = OSTypeAlloc(FpgaInterruptTarget);
  if (*target == nullptr) return kIOReturnNoMemory;
  if (!(*target)->init()) {
    (*target)->release();
    *target = nullptr;
    return kIOReturnNoMemory;
  }
  (*target)->SetService(service);
  return kIOReturnSuccess;
}

IOReturn AttachInterruptSource(IOService* provider, uint32_t vector, IODispatchQueue* queue,
                               FpgaInterruptTarget* target, uint32_t source,
                               OSSharedPtr<IOInterruptDispatchSource>* out,
                               OSSharedPtr<OSAction>* action) {
  IOReturn ret = IOInterruptDispatchSource::Create(provider, vector + 1, queue, out->attach());
  if (ret == kIOReturnSuccess) {
    ret = target->CreateActionInterruptOccurred(sizeof(uint32_t), action->attach());
  }
  if (ret != kIOReturnSuccess) return ret;
  *static_cast<uint32_t*>((*action)->GetReference()) = source;
  ret = (*out)->SetHandler(action->get());
  if (ret == kIOReturnSuccess) ret = (*out)->SetEnable(true);
  return ret;
}

}  // namespace fpgadext::dext
