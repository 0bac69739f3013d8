// The host-cost model's table and accounting (host_cost.h). The figures' sources and
// reasoning: docs/performance.md, "Host-cost model".
#include <fpgadext/emu/host_cost.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

namespace fpgadext::emu {
namespace {

constexpr int kCosts = static_cast<int>(HostCost::kCount);

HostCostProfile MakeMacM2() {
  HostCostProfile p;
  p.name = "mac-m2";
  auto set = [&p](HostCost c, uint64_t ns) { p.ns[static_cast<int>(c)] = ns; };
  set(HostCost::kDriverCall, 15'000);       // estimate within the 7–30 µs quoted
  set(HostCost::kWire, 350'000);            // fit of a DriverKit driver's registrations (M2 Ultra)
  set(HostCost::kWirePage, 3'900);          //   same fit, per 16 KiB page
  set(HostCost::kUnwire, 20'000);           // estimate: no published figure
  set(HostCost::kUnwirePage, 1'000);        // estimate
  set(HostCost::kInterruptToDext, 37'000);  // half of (80 µs interrupt − 6 µs polled), estimate
  set(HostCost::kCompletionToApp, 37'000);  //   the other half
  set(HostCost::kSleepOvershoot, 50'000);   // estimate: a timer wake-up of a user-space thread
  set(HostCost::kDelayOvershoot, 10'000);   // estimate: a thread wake-up
  p.pageSize = 16384;
  return p;
}

std::mutex gLock;
HostCostProfile gProfile;  // "none"
// The current figures, readable without the lock on every charge.
std::atomic<uint64_t> gNs[kCosts];
std::atomic<uint64_t> gPageSize{16384};
std::atomic<uint64_t> gCharges[kCosts];
std::atomic<uint64_t> gChargedNs[kCosts];

// The modelled wait: a spin, so that short costs are not stretched to a scheduler tick; long
// ones sleep most of the way.
void Wait(uint64_t ns) {
  using Clock = std::chrono::steady_clock;
  const auto end = Clock::now() + std::chrono::nanoseconds(ns);
  if (ns > 300'000) std::this_thread::sleep_until(end - std::chrono::microseconds(200));
  while (Clock::now() < end) {
  }
}

}  // namespace

const HostCostProfile& HostCostProfileNone() {
  static const HostCostProfile none;
  return none;
}

const HostCostProfile& HostCostProfileMacM2() {
  static const HostCostProfile m2 = MakeMacM2();
  return m2;
}

const HostCostProfile* FindHostCostProfile(std::string_view name) {
  if (name == "none") return &HostCostProfileNone();
  if (name == "mac-m2") return &HostCostProfileMacM2();
  return nullptr;
}

const char* HostCostName(HostCost cost) {
  switch (cost) {
    case HostCost::kDriverCall:
      return "driver-call";
    case HostCost::kWire:
      return "wire";
    case HostCost::kWirePage:
      return "wire-page";
    case HostCost::kUnwire:
      return "unwire";
    case HostCost::kUnwirePage:
      return "unwire-page";
    case HostCost::kInterruptToDext:
      return "interrupt-to-dext";
    case HostCost::kCompletionToApp:
      return "completion-to-app";
    case HostCost::kSleepOvershoot:
      return "sleep-overshoot";
    case HostCost::kDelayOvershoot:
      return "delay-overshoot";
    case HostCost::kCount:
      break;
  }
  return "?";
}

void SetHostCostProfile(const HostCostProfile& profile) {
  std::lock_guard guard(gLock);
  gProfile = profile;
  for (int i = 0; i < kCosts; ++i) gNs[i].store(profile.ns[i], std::memory_order_relaxed);
  gPageSize.store(profile.pageSize ? profile.pageSize : 16384, std::memory_order_relaxed);
}

HostCostProfile CurrentHostCostProfile() {
  std::lock_guard guard(gLock);
  return gProfile;
}

void ChargeHostCost(HostCost cost, uint64_t units) {
  const int i = static_cast<int>(cost);
  const uint64_t ns = gNs[i].load(std::memory_order_relaxed) * units;
  if (ns == 0) return;
  gCharges[i].fetch_add(1, std::memory_order_relaxed);
  gChargedNs[i].fetch_add(ns, std::memory_order_relaxed);
  Wait(ns);
}

uint64_t HostCostPages(uint64_t address, uint64_t length) {
  if (length == 0) return 0;
  const uint64_t page = gPageSize.load(std::memory_order_relaxed);
  return (address + length - 1) / page - address / page + 1;
}

namespace {
std::atomic<uint64_t> gClockReadDelayNs{0};
}  // namespace

void SetClockReadDelayForTests(uint64_t ns) {
  gClockReadDelayNs.store(ns, std::memory_order_relaxed);
}

void SpinClockReadDelayForTests() {
  if (const uint64_t ns = gClockReadDelayNs.load(std::memory_order_relaxed); ns != 0) Wait(ns);
}

uint64_t HostCostTotals::TotalNs() const {
  uint64_t total = 0;
  for (uint64_t n : ns) total += n;
  return total;
}

HostCostTotals HostCostAccounted() {
  HostCostTotals t;
  for (int i = 0; i < kCosts; ++i) {
    t.charges[i] = gCharges[i].load(std::memory_order_relaxed);
    t.ns[i] = gChargedNs[i].load(std::memory_order_relaxed);
  }
  return t;
}

}  // namespace fpgadext::emu
