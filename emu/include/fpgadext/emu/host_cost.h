// The host-cost model (issue 14 item 1; docs/performance.md "Host-cost model"): what a Mac's
// kernel and IPC cost on a driver's path, which the emulation otherwise does not have. A
// profile is one table of figures; every figure's source is in docs/performance.md. The
// emulation charges each cost where it occurs (the broker's method entry, PrepareForDMA and
// CompleteDMA of app memory, interrupt and completion delivery, IOSleep and IODelay): the
// calling thread waits the modelled time, and the charge is accounted, so that a benchmark can
// tell modelled time per operation apart from what only the emulation costs.
#pragma once

#include <cstdint>
#include <string_view>

namespace fpgadext::emu {

enum class HostCost : uint8_t {
  kDriverCall,       // an IOConnectCallMethod round trip, app → dext → app
  kWire,             // PrepareForDMA of app memory (CreateMemoryDescriptorFromClient's pages)
  kWirePage,         //   per page
  kUnwire,           // CompleteDMA of app memory
  kUnwirePage,       //   per page
  kInterruptToDext,  // an interrupt reaching the dext's IOInterruptDispatchSource handler
  kCompletionToApp,  // an AsyncCompletion reaching the app's notification callback
  kSleepOvershoot,   // IOSleep: the wake-up after the requested time
  kDelayOvershoot,   // IODelay: the same
  kCount
};

struct HostCostProfile {
  const char* name = "none";
  uint64_t ns[static_cast<int>(HostCost::kCount)] = {};  // per charge, or per page
  uint64_t pageSize = 16384;  // the page the per-page costs count (Apple silicon: 16 KiB)

  uint64_t Of(HostCost cost) const { return ns[static_cast<int>(cost)]; }
};

// "none" (no cost: the emulation as before) and "mac-m2" (an M2 Mac, macOS 14/15).
const HostCostProfile& HostCostProfileNone();
const HostCostProfile& HostCostProfileMacM2();
// The profile of that name, or nullptr.
const HostCostProfile* FindHostCostProfile(std::string_view name);
const char* HostCostName(HostCost cost);

// The profile in force for the whole process (default "none"). Set it before the machine
// starts; tests may install a profile of their own.
void SetHostCostProfile(const HostCostProfile& profile);
HostCostProfile CurrentHostCostProfile();

// Charges `units` of `cost` on the calling thread: accounts units × the profile's figure and
// waits that long. Nothing at all when the figure is 0.
void ChargeHostCost(HostCost cost, uint64_t units = 1);
// Pages of the profile's size that [address, address + length) touches.
uint64_t HostCostPages(uint64_t address, uint64_t length);

// What was charged since the process began, per cost: how many charges and their modelled ns.
struct HostCostTotals {
  uint64_t charges[static_cast<int>(HostCost::kCount)] = {};
  uint64_t ns[static_cast<int>(HostCost::kCount)] = {};

  uint64_t TotalNs() const;
};
HostCostTotals HostCostAccounted();

// Test knob, not a Mac's cost: every mach_absolute_time() of the emulated DriverKit first spins
// this long (0, the default: not at all). It widens the dext's windows between a poll and what
// it does next, so that a test can land in a race on purpose
// (RingWakeUp.PostsAsThePollerGoesToSleepAreNeverLost).
void SetClockReadDelayForTests(uint64_t ns);
void SpinClockReadDelayForTests();

}  // namespace fpgadext::emu
