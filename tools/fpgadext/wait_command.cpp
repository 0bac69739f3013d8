// `fpgadext wait`: returns once the dext drives the board --device names, for a script that loads
// a new bitstream into the FPGA (or resets it) and goes on when the board is back (docs/library.md,
// "When the board goes away"). At once when the board is there.
#include <IOKit/IOReturn.h>
#include <fmt/format.h>

#include <chrono>
#include <memory>
#include <string>

#include "commands.h"
#include "host.h"
#include "output.h"

namespace fpgadext::cli {

int RunWait(const CommonOptions& common, double timeoutSeconds) {
  std::unique_ptr<Host> host;
  if (Status s = StartHost(common.host, &host); !s) {
    throw CliError{kExitIo, IOReturnName(s.code()), static_cast<uint32_t>(s.code()),
                   fmt::format("cannot start the host: {}", s.message())};
  }
  using Clock = std::chrono::steady_clock;
  const auto timeout = timeoutSeconds < 0 ? std::chrono::nanoseconds::max()
                                          : std::chrono::duration_cast<std::chrono::nanoseconds>(
                                                std::chrono::duration<double>(timeoutSeconds));
  const auto start = Clock::now();
  const Status s = Device::WaitForBoard(common.device, timeout);
  if (!s) {
    // Not there in time: the "no such device" exit code, as for a command on a missing board.
    throw CliError{s.code() == kIOReturnTimeout ? kExitNoDevice : kExitIo, IOReturnName(s.code()),
                   static_cast<uint32_t>(s.code()),
                   s.message()[0] != '\0' ? std::string(s.message())
                                          : fmt::format("board {} did not appear", common.device)};
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (common.json) {
    fmt::print("{}\n", JsonObject().Add("board", common.device).Add("seconds", seconds).str());
  } else if (!common.quiet) {
    fmt::print("board {} is there ({:.3f} s)\n", common.device, seconds);
  }
  return kExitOk;
}

}  // namespace fpgadext::cli
