// The fpgadext commands. Each returns the exit code of a completed command (kExitOk, or
// kExitMismatch from verify) and throws CliError for everything else. The code uses only the
// library API (fpgadext.hpp) and host.h: it is the same on a Mac and on Linux.
#pragma once

#include <fpgadext/fpgadext.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "host.h"

namespace fpgadext::cli {

inline constexpr uint64_t kDefaultChunk = 16ull << 20;  // progress granularity
inline constexpr uint64_t kJsonDataLimit = 1ull << 20;  // read --json without --out

struct CommonOptions {
  uint32_t device = 0;
  bool json = false;
  bool quiet = false;  // no progress bar, no summary lines
  HostOptions host;
};

struct TransferOptions {
  uint64_t address = 0;
  std::optional<uint64_t> size;
  std::string file;  // read: destination ("-" or empty: stdout); write/verify: source ("-": stdin)
  std::optional<uint64_t> patternSeed;
  bool force = false;        // read: binary to a terminal
  bool compareOnly = false;  // verify: compare what the card holds, write nothing
  uint64_t chunk = kDefaultChunk;
  uint64_t bufferOffset = 0;  // app buffer this many bytes past a page boundary
  TransferPath path = TransferPath::kAuto;
  std::optional<CompletionPolicy> completion;  // --completion; empty: the board's default
};

struct RegisterOptions {
  std::optional<int> bar;  // default: the board's user BAR
  uint64_t offset = 0;
  unsigned width = 32;
  uint64_t value = 0;
};

int RunList(const CommonOptions& common);
int RunInfo(const CommonOptions& common);
int RunRegRead(const CommonOptions& common, const RegisterOptions& reg);
int RunRegWrite(const CommonOptions& common, const RegisterOptions& reg);
int RunRead(const CommonOptions& common, const TransferOptions& transfer);
int RunWrite(const CommonOptions& common, const TransferOptions& transfer);
int RunVerify(const CommonOptions& common, const TransferOptions& transfer);

// `stream send` / `stream receive` (stream_commands.cpp, docs/streams.md).
struct StreamCommandOptions {
  std::string file;         // send: the bytes; receive: where they go ("-": stdout)
  uint64_t packetSize = 0;  // send: packets of this size (0: the whole file is one packet)
  uint64_t packets = 1;     // receive: how many packets
  int channel = -1;         // a stream channel index, -1: any
  uint32_t slots = 64;      // receive slots
  uint64_t slotSize = 64 * 1024;
  uint64_t timeoutMs = 10000;  // receive: longest wait for the next slot
};
int RunStreamSend(const CommonOptions& common, const StreamCommandOptions& stream);
int RunStreamReceive(const CommonOptions& common, const StreamCommandOptions& stream);

struct EventsOptions {
  uint32_t lines = 0xFFFF;      // lines to subscribe to and wait for
  uint64_t count = 0;           // stop after this many events (0: never)
  double timeoutSeconds = 0;    // give up when no event comes for this long (0: never)
  std::vector<unsigned> raise;  // lines to assert first (reference design's IRQ raise register)
  uint64_t times = 1;           // how many times each
};
// Waits for user interrupts and prints them (events_command.cpp).
int RunEvents(const CommonOptions& common, const EventsOptions& events);

// Waits until the dext drives board common.device, at most `timeoutSeconds` (negative: no
// limit); exit 2 when it did not appear (wait_command.cpp).
int RunWait(const CommonOptions& common, double timeoutSeconds);

struct MachineOptions {
  std::string action;       // start, stop or status
  bool foreground = false;  // start: serve in this process instead of a daemon
};
// The machine daemon (Linux, emulated_host.cpp): start exits once it serves, stop once it has
// exited; status exits 2 when none runs.
int RunMachine(const CommonOptions& common, const MachineOptions& options);

struct BenchOptions {
  std::vector<uint64_t> sizes;     // empty: the suite's default sizes
  std::vector<std::string> paths;  // empty: every path
  double minSeconds = 0.2;
  uint32_t minIterations = 50;
  uint64_t address = 0;
  std::string csvFile;  // also write CSV here
  std::string plotDir;  // also write SVG plots here
  // Our code's instructions per operation (bench/callgrind.sh's CSV) and the predicted
  // machine's instructions per ns, for the predicted column (docs/performance.md).
  std::string instructionsFile;
  double instructionsPerNs = 4.0;
  // --completion: the policy of every transfer row (empty: the board's default); the
  // registered-poll/-interrupt/-adaptive rows choose their own per call.
  std::optional<CompletionPolicy> completion;
};
// Benchmarks every path against the baselines measured in the same run (bench/).
int RunBench(const CommonOptions& common, const BenchOptions& bench);

}  // namespace fpgadext::cli
