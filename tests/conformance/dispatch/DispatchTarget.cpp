#include "DispatchTarget.h"

#include <chrono>
#include <thread>

#include "dispatch_events.h"

DispatchEvents gDispatchEvents;

namespace {
void Delay() {
  const uint64_t ms = gDispatchEvents.handlerDelayMs.load();
  if (ms != 0) std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}
}  // namespace

void IMPL(DispatchTarget, TimerOccurred) {
  (void)action;
  gDispatchEvents.timerRunning = true;
  Delay();
  IODispatchQueue* queue = gDispatchEvents.queue.load();
  if (queue != nullptr && !queue->OnQueue()) {
    ++gDispatchEvents.timerOffQueue;
  }
  gDispatchEvents.timerTime = time;
  ++gDispatchEvents.timerCalls;
}

void IMPL(DispatchTarget, DataAvailable) {
  (void)action;
  Delay();
  ++gDispatchEvents.dataAvailable;
}

void IMPL(DispatchTarget, DataServiced) {
  (void)action;
  Delay();
  ++gDispatchEvents.dataServiced;
}
