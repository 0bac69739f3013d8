// How a synchronous transfer waits for its channels between two polls that found nothing new
// (docs/engine.md "Completion policy"): by polling, by sleeping until a channel interrupt, or
// adaptively (poll for a bounded time, then sleep). Polling costs a CPU for the whole transfer
// and sees a completion at once; sleeping costs an interrupt's delivery (tens of µs on a Mac:
// docs/performance.md) and no CPU.
#pragma once

#include <fpgadext/engine/types.h>
#include <stdint.h>

namespace fpgadext::engine {

// The values are protocol::CompletionPolicy's (protocol.h); never renumber.
enum class CompletionPolicy : uint8_t {
  kDefault = 0,    // the device's choice (PlannerOptions::completion)
  kPoll = 1,       // poll the writeback word, pausing with Platform::relax
  kInterrupt = 2,  // sleep until a completion interrupt of the transfer's channels
  kAdaptive = 3,   // poll for PlannerOptions::adaptiveSpinNs after the last progress, then sleep
};

constexpr bool ValidCompletionPolicy(uint64_t value) {
  return value <= static_cast<uint64_t>(CompletionPolicy::kAdaptive);
}

// The seam through which the planner sleeps on channel interrupts; the dext fills it from
// IOInterruptDispatchSource (dext/channel_interrupts.h), tests from the model. Without it (null
// functions) every policy polls.
struct CompletionWaitSeam {
  void* context = nullptr;
  // How many completion interrupts the channels of `channels` (a mask of `direction`) had so far.
  uint64_t (*events)(void* context, Direction direction, uint32_t channels) = nullptr;
  // Enables the channels' interrupts and returns once their count differs from `seen`, at
  // `deadlineNs` (Platform::nowNs time), or earlier: a return for no reason is allowed, the
  // caller polls again. Enabling a channel whose completion is already logged interrupts at once
  // (PG195 "IRQ Block Channel Interrupt Enable Mask"), so a completion between the caller's poll
  // and this call is never slept through.
  void (*wait)(void* context, Direction direction, uint32_t channels, uint64_t seen,
               uint64_t deadlineNs) = nullptr;
  // Every wait returns (a transfer was cancelled).
  void (*wake)(void* context) = nullptr;

  bool Usable() const { return events != nullptr && wait != nullptr; }
};

}  // namespace fpgadext::engine
