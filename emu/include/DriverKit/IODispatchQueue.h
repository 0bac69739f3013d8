// IODispatchQueue (iokit/DriverKit/IODispatchQueue.iig): a serial queue. In the emulation each
// queue is a real thread that runs the queue's blocks one at a time, in order.
#pragma once

#include <DriverKit/OSObject.h>

#include <functional>

typedef void (^IODispatchBlock)(void);
typedef void (^IODispatchQueueCancelHandler)(void);

#define kIODispatchQueueReentrant 0x00000001ull

namespace fpgadext::emu {
class SerialQueue;
}

class IODispatchQueue : public OSObject {
  OSDeclareEmulatedClass(IODispatchQueue)

 public:
  // Creates a serial queue (+1). `options` may only be 0 or kIODispatchQueueReentrant, which the
  // emulation accepts and treats as serial.
  static kern_return_t Create(const IODispatchQueueName name, uint64_t options, uint64_t priority,
                              IODispatchQueue** queue);
  void DispatchAsync(IODispatchBlock block);
  // Runs the block on the queue and waits for it. Called from the queue itself this would
  // deadlock on a Mac; the emulation refuses it with kIOReturnBadArgument and logs a fault.
  void DispatchSync(IODispatchBlock block);
  bool OnQueue();
  // Stops the queue: pending blocks still run, then `handler` runs (on the queue), then nothing
  // more is accepted.
  kern_return_t Cancel(IODispatchQueueCancelHandler handler);

  // Emulation only: the same with C++ callables, for the runtime's own use.
  void EmulationAsync(std::function<void()> work);
  kern_return_t EmulationSync(const std::function<void()>& work);
  const char* EmulationName() const;

  void free() override;

 private:
  fpgadext::emu::SerialQueue* queue_ = nullptr;
};
