// `fpgadext events`: waits for user interrupts and prints them (docs/library.md "Events").
// `--raise` makes the board's user logic assert lines first, through the reference design's IRQ
// raise register on the user BAR (what a test bench or the design would do; it works on an
// emulated board and on a real one carrying the reference design).
#include <IOKit/IOReturn.h>
#include <fmt/format.h>
#include <reference_design/user_block_registers.h>

#include <chrono>
#include <string>
#include <thread>

#include "commands.h"
#include "output.h"

namespace fpgadext::cli {
namespace {

using Clock = std::chrono::steady_clock;
namespace reg = reference_design::user_reg;

[[noreturn]] void Fail(const Status& status, std::string_view what, int exitCode = kExitIo) {
  const std::string message = status.message()[0] != '\0'
                                  ? fmt::format("{}: {}", what, status.message())
                                  : std::string(what);
  throw CliError{exitCode, IOReturnName(status.code()), static_cast<uint32_t>(status.code()),
                 message};
}

// Asserts `line` once the design has taken its previous assertion (user logic holds a request
// until the host services it, PG195 "MSI and MSI-X Interrupts").
void RaiseLine(Device& device, unsigned line) {
  const int bar = device.info().userBar;
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  for (;;) {
    uint32_t lines = 0;
    if (Status s = device.Read32(bar, reg::kIrqStatus, &lines); !s) {
      Fail(s, "cannot read the user IRQ status");
    }
    if (!(lines & (1u << line))) break;
    if (Clock::now() > deadline) {
      throw CliError{kExitIo, "timeout", std::nullopt,
                     fmt::format("line {} was never acknowledged (nobody subscribed?)", line)};
    }
    std::this_thread::yield();
  }
  if (Status s = device.Write32(bar, reg::kIrqRaise, 1u << line); !s) {
    Fail(s, fmt::format("cannot raise line {}", line));
  }
}

}  // namespace

int RunEvents(const CommonOptions& common, const EventsOptions& options) {
  std::unique_ptr<Host> host;
  if (Status s = StartHost(common.host, &host); !s) Fail(s, "cannot start the host");
  Device device;
  if (Status s = Device::Open(common.device, &device); !s) {
    Fail(s, fmt::format("cannot open board {}", common.device),
         s.code() == kIOReturnNotFound ? kExitNoDevice : kExitIo);
  }
  Events events;
  if (Status s = device.OpenEvents(options.lines, &events); !s) {
    Fail(s, "cannot subscribe to user interrupts");
  }
  std::thread raiser;
  if (!options.raise.empty()) {
    raiser = std::thread([&] {
      try {
        for (uint64_t n = 0; n < options.times; ++n) {
          for (unsigned line : options.raise) RaiseLine(device, line);
        }
      } catch (const CliError& e) {
        ReportError(e, common.json);
      }
    });
  }
  std::vector<JsonObject> batches;
  uint64_t total[kMaxEventLines] = {};
  uint64_t seen = 0;
  int exit = kExitOk;
  const auto start = Clock::now();
  while (options.count == 0 || seen < options.count) {
    EventCounts got;
    const auto timeout = options.timeoutSeconds <= 0
                             ? std::chrono::nanoseconds::max()
                             : std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::duration<double>(options.timeoutSeconds));
    const Status s = events.WaitForEvents(options.lines, timeout, &got);
    if (s.code() == kIOReturnTimeout) {
      exit = kExitIo;
      if (!common.quiet && !common.json) fmt::print(stderr, "no event in time\n");
      break;
    }
    if (!s) Fail(s, "waiting for events");
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    for (unsigned i = 0; i < kMaxEventLines; ++i) {
      if (!(got.lines & (1u << i))) continue;
      total[i] += got.count[i];
      seen += got.count[i];
      if (common.json) {
        batches.push_back(JsonObject()
                              .Add("line", i)
                              .Add("events", got.count[i])
                              .Add("total", events.Count(i))
                              .Add("ms", ms));
      } else if (!common.quiet) {
        fmt::print("{:10.3f} ms  line {:2}  +{}  (count {})\n", ms, i, got.count[i],
                   events.Count(i));
      }
    }
  }
  if (raiser.joinable()) raiser.join();
  if (common.json) {
    JsonObject out;
    out.Add("events", batches).Add("seen", seen).Add("lines", events.lines());
    fmt::print("{}\n", out.str());
  } else if (!common.quiet) {
    fmt::print("{} event(s)\n", seen);
  }
  return exit;
}

}  // namespace fpgadext::cli
