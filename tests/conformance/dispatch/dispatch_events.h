// What the DispatchTarget's handlers saw, for the dispatch conformance tests.
#pragma once

#include <DriverKit/IODispatchQueue.h>

#include <atomic>
#include <cstdint>

struct DispatchEvents {
  std::atomic<bool> timerRunning{false};  // TimerOccurred has started
  std::atomic<uint64_t> timerCalls{0};
  std::atomic<uint64_t> timerTime{0};
  std::atomic<uint64_t> timerOffQueue{0};  // TimerOccurred calls not on `queue`
  std::atomic<uint64_t> dataAvailable{0};
  std::atomic<uint64_t> dataServiced{0};
  std::atomic<uint64_t> handlerDelayMs{0};       // how long each handler sleeps before returning
  std::atomic<IODispatchQueue*> queue{nullptr};  // where TimerOccurred must run
};

extern DispatchEvents gDispatchEvents;
