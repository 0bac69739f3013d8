// IODispatchQueue (xnu iokit/DriverKit/IODispatchQueue.iig; Apple's generated IODispatchQueue.h,
// iig 16.4): a serial queue. In the emulation each queue is a thread that runs the queue's blocks
// one at a time, in order.
#pragma once

#include <DriverKit/IODispatchSource.h>
#include <DriverKit/OSAction.h>
#include <DriverKit/OSObject.h>

#include <functional>

typedef int (*IODispatchLogFunction)(const char* format, ...);
typedef void (^IODispatchBlock)(void);
typedef void (*IODispatchFunction)(void* context);
typedef kern_return_t (^IODispatchAction)(void);
typedef void (^IODispatchQueueCancelHandler)(void);

// Create() options.
enum {
  kIODispatchQueueReentrant = 0x00000001,
  kIODispatchQueueMethodsNotSynchronized = 0x00000002,
};
// WakeupWithOptions() options.
enum {
  kIODispatchQueueWakeupAll = 0x00000001,
};
// SleepWithDeadline() options.
enum {
  kIODispatchQueueSleepReuseEvent = 0x00000100,
};

namespace fpgadext::emu {
class SerialQueue;
}

class IODispatchQueue : public OSObject {
  OSDeclareEmulatedClass(IODispatchQueue)

 public:
  // A serial queue (+1). `options`: 0 or the kIODispatchQueue* Create() options; the queue is
  // serial whatever they are. `priority`: none defined, pass 0.
  static kern_return_t Create(const IODispatchQueueName name, uint64_t options, uint64_t priority,
                              IODispatchQueue** queue);
  bool init() override;
  void free() override;

  // True when the calling thread runs this queue's block.
  bool OnQueue();
  // The name given to Create; valid while the queue is retained.
  const char* GetName();
  // Accepts nothing more; `handler` runs on the queue after the blocks already queued.
  kern_return_t Cancel(IODispatchQueueCancelHandler handler);
  void DispatchAsync(IODispatchBlock block);
  void DispatchAsync_f(void* context, IODispatchFunction function);
  // Queued like DispatchAsync (the emulation runs every block serially). Apple allows it only on
  // a queue created with kIODispatchQueueReentrant; otherwise the emulation logs a fault and
  // still runs the block.
  void DispatchConcurrent(IODispatchBlock block);
  void DispatchConcurrent_f(void* context, IODispatchFunction function);
  // Runs the block on the queue and waits for it. Called from the queue itself this would
  // deadlock on a Mac; the emulation runs nothing and logs a fault.
  void DispatchSync(IODispatchBlock block);
  void DispatchSync_f(void* context, IODispatchFunction function);
  // Writes `message` and the queue the calling thread runs on (if any) with `output` (IOLog fits).
  static void Log(const char* message, IODispatchLogFunction output);
  // DispatchSync returning the action's result (kIOReturnNotReady from the queue itself or after
  // Cancel, without running it).
  kern_return_t RunAction(IODispatchAction action);
  // Called from a block on the queue: releases the queue (another thread runs its blocks) until
  // Wakeup(event) or the deadline (`options` a kIOTimerClock* timebase, 0 for none), then holds
  // it again. kIOReturnSuccess or kIOReturnTimeout; kIOReturnNotPermitted off the queue.
  kern_return_t SleepWithDeadline(void* event, uint64_t options, uint64_t deadline);
  // `timeout`: mach_absolute_time() ticks from now (Apple gives no unit), 0 for none.
  kern_return_t SleepWithTimeout(void* event, uint64_t timeout);
  kern_return_t Sleep(void* event, uint64_t timeout);
  // Wakes the first block sleeping on `event` (all of them with kIODispatchQueueWakeupAll).
  kern_return_t Wakeup(void* event);
  kern_return_t WakeupWithOptions(void* event, uint64_t options);

  // Emulation only: the same with C++ callables, for the runtime's own use.
  void EmulationAsync(std::function<void()> work);
  kern_return_t EmulationSync(const std::function<void()>& work);
  const char* EmulationName() const;
  fpgadext::emu::SerialQueue* EmulationSerialQueue() const { return queue_; }

 private:
  fpgadext::emu::SerialQueue* queue_ = nullptr;
  uint64_t options_ = 0;
};
