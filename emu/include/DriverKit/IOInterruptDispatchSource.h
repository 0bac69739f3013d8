// IOInterruptDispatchSource (iokit/DriverKit/IOInterruptDispatchSource.iig): delivers a
// device's interrupts to a handler on a dispatch queue. Sources start disabled; interrupts are
// coalesced (the handler's count says how many since the last delivery).
#pragma once

#include <DriverKit/IODispatchQueue.h>
#include <DriverKit/OSAction.h>

class IOService;

#define kIOInterruptDispatchSourceTypeEdge 0
#define kIOInterruptSourceIndexMask 0x0000ffffu
#define kIOInterruptSourceContinuousTime 0x00010000u

enum {
  kIOInterruptTypeEdge = 0x00000000,
  kIOInterruptTypeLevel = 0x00000001,
  kIOInterruptTypePCIMessaged = 0x00010000,
  kIOInterruptTypePCIMessagedX = 0x00020000,
};

#define IOInterruptDispatchSource_InterruptOccurred_Args \
  OSAction *action, uint64_t count, uint64_t time

namespace fpgadext::emu {
struct InterruptLine;
}

class IOInterruptDispatchSource : public OSObject {
  OSDeclareEmulatedClass(IOInterruptDispatchSource)

 public:
  static kern_return_t Create(IOService* provider, uint32_t index, IODispatchQueue* queue,
                              IOInterruptDispatchSource** source);
  static kern_return_t GetInterruptType(IOService* provider, uint32_t index,
                                        uint64_t* interruptType);
  kern_return_t SetHandler(OSAction* action);
  kern_return_t SetEnable(bool enable);
  kern_return_t Cancel(IODispatchQueueCancelHandler handler);

  static constexpr uint64_t kInterruptOccurredTypeID =
      IORPCMethodID("IOInterruptDispatchSource::InterruptOccurred");

  void free() override;

  // Emulation only: the machine calls this when the source's vector fires.
  void EmulationSignal(uint64_t time);

 private:
  fpgadext::emu::InterruptLine* line_ = nullptr;
};
