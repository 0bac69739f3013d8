// IOInterruptDispatchSource (xnu iokit/DriverKit/IOInterruptDispatchSource.iig; kernel half in
// xnu iokit/Kernel/IOUserServer.cpp): delivers a device's interrupts to InterruptOccurred on a
// dispatch queue. Sources start disabled; interrupts are coalesced (the handler's count says how
// many arrived since the last delivery).
#pragma once

#include <DriverKit/IODispatchQueue.h>
#include <DriverKit/IOService.h>

struct IOInterruptDispatchSourcePayload {
  uint64_t time;
  uint64_t count;
};

enum {
  kIOInterruptDispatchSourceTypeEdge = 0x00000000,
  kIOInterruptDispatchSourceTypeLevel = 0x00000001
};

enum {
  kIOInterruptSourceIndexMask = 0x0000FFFF,
  kIOInterruptSourceAbsoluteTime = 0x00000000,
  kIOInterruptSourceContinuousTime = 0x00010000
};

#define IOInterruptDispatchSource_Create_Args \
  IOService *provider, uint32_t index, IODispatchQueue *queue, IOInterruptDispatchSource **source
#define IOInterruptDispatchSource_GetInterruptType_Args \
  IOService *provider, uint32_t index, uint64_t *interruptType
#define IOInterruptDispatchSource_SetHandler_Args OSAction* action
#define IOInterruptDispatchSource_GetLastInterrupt_Args uint64_t *count, uint64_t *time
#define IOInterruptDispatchSource_InterruptOccurred_Args \
  OSAction *action, uint64_t count, uint64_t time

namespace fpgadext::emu {
struct InterruptLine;
}

class IOInterruptDispatchSource : public IODispatchSource {
  OSDeclareEmulatedClass(IOInterruptDispatchSource)

 public:
  // A source for interrupt `index` of `provider` (optionally or'ed with
  // kIOInterruptSourceContinuousTime), delivering on `queue` (+1). For an IOPCIDevice only
  // message-signalled sources (index 1…) exist.
  static kern_return_t Create(IOService* provider, uint32_t index, IODispatchQueue* queue,
                              IOInterruptDispatchSource** source);
  // kIOInterruptDispatchSourceTypeEdge/Level, or'ed with the provider's flags (for PCI the
  // message-signalled type).
  static kern_return_t GetInterruptType(IOService* provider, uint32_t index,
                                        uint64_t* interruptType);
  bool init() override;
  void free() override;

  // The action must come from a method declared TYPE(IOInterruptDispatchSource::InterruptOccurred).
  kern_return_t SetHandler(OSAction* action, OSDispatchMethod supermethod = nullptr) {
    return OSEmulatedWrapperBody(SetHandler, action);
  }
  // The count of interrupts not yet delivered and the time of the last one received.
  kern_return_t GetLastInterrupt(uint64_t* count, uint64_t* time,
                                 OSDispatchMethod supermethod = nullptr) {
    return OSEmulatedWrapperBody(GetLastInterrupt, count, time);
  }

  virtual kern_return_t SetHandler_Impl(OSAction* action);
  virtual kern_return_t GetLastInterrupt_Impl(uint64_t* count, uint64_t* time);
  kern_return_t SetEnableWithCompletion_Impl(bool enable,
                                             IODispatchSourceCancelHandler handler) override;
  kern_return_t Cancel_Impl(IODispatchSourceCancelHandler handler) override;

  static kern_return_t _Dispatch(OSObject* self, const IORPC rpc);

  // Emulation only: the machine calls this when the source's vector fires.
  void EmulationSignal(uint64_t time);

 private:
  kern_return_t CheckForWork_Impl(bool synchronous) override;
  void Deliver();

  static constexpr uint64_t kInterruptOccurredTypeID =
      IORPCMethodID("IOInterruptDispatchSource::InterruptOccurred");

  fpgadext::emu::InterruptLine* line_ = nullptr;
};
