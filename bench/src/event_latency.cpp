// Event delivery latency per mode (event_latency.h). Each sample asserts user line 0 through
// the reference design's IRQ raise register on the user BAR and ends when the app has the
// event; the dext acknowledges the line before it publishes the count, so the next sample can
// assert it again at once.
#include "event_latency.h"

#include <reference_design/user_block_registers.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>

#include "paths_wanted.h"

namespace fpgadext::bench {
namespace {

constexpr uint32_t kLine = 1u << 0;

}  // namespace

void MeasureEventLatency(Device& device, const Options& options, const AddMeasurement& add) {
  if (!Wanted(options, "events-block") && !Wanted(options, "events-callback") &&
      !Wanted(options, "events-poll")) {
    return;
  }
  const int bar = device.info().userBar;
  uint32_t id = 0;
  if (bar < 0 || !device.Read32(bar, reference_design::user_reg::kId, &id) ||
      id != reference_design::kUserBlockId) {
    return;  // no raise register to drive the line with
  }
  Events events;
  if (!device.OpenEvents(kLine, &events)) return;
  auto raise = [&] {
    return device.Write32(bar, reference_design::user_reg::kIrqRaise, kLine).ok();
  };
  const auto timeout = std::chrono::seconds(10);
  if (Wanted(options, "events-block")) {
    add("events-block", "", 0, [&] {
      EventCounts got;
      return raise() && events.WaitForEvents(kLine, timeout, &got).ok();
    });
  }
  if (Wanted(options, "events-poll")) {
    add("events-poll", "", 0, [&] {
      if (!raise()) return false;
      const auto deadline = std::chrono::steady_clock::now() + timeout;
      EventCounts got;
      while (got.lines == 0) {
        if (!events.Poll(kLine, &got) || std::chrono::steady_clock::now() > deadline) return false;
      }
      return true;
    });
  }
  if (Wanted(options, "events-callback")) {
    std::mutex lock;
    std::condition_variable seen;
    uint64_t delivered = 0;
    if (!events.SetCallback(kLine, [&](const EventCounts& got) {
          std::lock_guard guard(lock);
          delivered += got.count[0];
          seen.notify_all();
        })) {
      return;
    }
    add("events-callback", "", 0, [&] {
      std::unique_lock guard(lock);
      const uint64_t before = delivered;
      guard.unlock();
      if (!raise()) return false;
      guard.lock();
      return seen.wait_for(guard, timeout, [&] { return delivered > before; });
    });
    (void)events.SetCallback(kLine, {});
  }
}

}  // namespace fpgadext::bench
