// fpgadext: the command-line tool. Lists boards, shows what a board offers, reads and writes its
// registers, moves data between files and card memory, and verifies it — through the fpgadext
// library, on a Mac with the dext installed, or on Linux against the emulated board.
#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <fpgadext/fpgadext.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <map>
#include <string>

#include "commands.h"
#include "numbers.h"
#include "output.h"

using namespace fpgadext::cli;

namespace {

constexpr const char* kFooter = R"(
Numbers: decimal, or hexadecimal with 0x; decimal numbers take K, M, G, T (binary: 4K = 4096,
1M = 1048576; KiB, MiB, … and KB, MB, … mean the same).

Exit codes:
  0  success
  1  usage error (bad option or number, unreadable input file or standard input, an output
     that cannot be created, a --card-file or --card-size that cannot work, binary to a
     terminal)
  2  no such device (no board at --device)
  3  I/O or driver error (an IOReturn from the driver, e.g. kIOReturnOverrun for a range
     outside card memory; file write errors)
  4  verify found a mismatch

With --json every command prints one JSON object on stdout, errors included:
  {"error": {"code": "kIOReturn…", "value": <IOReturn>, "message": "…", "exit_code": N}}

On Linux the board is emulated: an XDMA board model (or --board bram) whose card memory is the
file --card-file (env FPGADEXT_CARD_FILE; default $XDG_CACHE_HOME/fpgadext/card0.bin or
~/.cache/fpgadext/card0.bin; 1 GiB sparse, --card-size), driven by the FpgaDext bundle
(env FPGADEXT_DEXT_BUNDLE; else the installed one next to the program, else the one this
build made). The emulated app is entitled to
open that dext (userclient-access for org.fpgadext.driver); env FPGADEXT_APP_ENTITLEMENTS names an
entitlements file to use instead, or "none" to run as an unsigned app. The emulated Mac's
hardware profile: environment FPGADEXT_EMU_PROFILE=apple-silicon|intel (default apple-silicon),
read by the emulated machine. With a machine daemon running (`fpgadext machine start`; its socket
is env FPGADEXT_MACHINE, else the card file's path + ".sock") commands use it instead of building
the machine, and its board options are the ones that count. On a Mac those options do nothing.)";

// A number option parsed with ParseNumber (hex, decimal, size suffixes).
template <typename T>
CLI::Option* AddNumber(CLI::App* app, const std::string& name, T* target,
                       const std::string& description) {
  return app
      ->add_option_function<std::string>(
          name,
          [target, name](const std::string& text) {
            std::string error;
            std::optional<uint64_t> v = ParseNumber(text, &error);
            if (!v) throw CLI::ValidationError(name, error);
            using V = std::remove_cvref_t<decltype(**&target)>;
            if constexpr (std::is_same_v<V, std::optional<uint64_t>> ||
                          std::is_same_v<V, uint64_t>) {
              *target = *v;
            } else {
              if (*v > std::numeric_limits<V>::max()) {
                throw CLI::ValidationError(name, fmt::format("'{}' is too large", text));
              }
              *target = static_cast<V>(*v);
            }
          },
          description)
      ->type_name("NUM");
}

// A standard descriptor the parent left closed would be the number the next open() gets — the
// card file could become "standard output" and `read` would write over card memory. Each
// closed one gets /dev/null opened the wrong way round, so using it still fails (EBADF).
void OccupyClosedStandardDescriptors() {
  for (int fd = STDIN_FILENO; fd <= STDERR_FILENO; ++fd) {
    if (fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
    const int placeholder = open("/dev/null", fd == STDIN_FILENO ? O_WRONLY : O_RDONLY);
    if (placeholder < 0) _exit(kExitIo);
    if (placeholder != fd) {
      dup2(placeholder, fd);
      close(placeholder);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  OccupyClosedStandardDescriptors();
  bool json = false;
  for (int i = 1; i < argc; ++i) json = json || std::strcmp(argv[i], "--json") == 0;

  CLI::App app{"fpgadext: move data to and from a PCIe FPGA board, and reach its registers."};
  app.name("fpgadext");
  app.footer(kFooter);
  app.fallthrough();  // global options may follow the command
  app.require_subcommand(1);
  // The project version, from the library (the protocol version is `info`'s protocol_version).
  app.set_version_flag("--version", fmt::format("fpgadext {}", fpgadext::Version()),
                       "Print the fpgadext version and exit");

  CommonOptions common;
  AddNumber(&app, "-d,--device", &common.device, "Board index (see `list`; default 0)");
  app.add_flag("--json", common.json, "Print one JSON object on stdout");
  app.add_flag("-q,--quiet", common.quiet, "No progress bar and no summary lines");
  app.add_flag("-v,--verbose", common.host.verbose, "Driver log messages (emulated host)");
  app.add_option("--board", common.host.board,
                 "Emulated board model (Linux): xdma, xdma-stream (AXI-Stream channel 2) or bram")
      ->check(CLI::IsMember({"xdma", "xdma-stream", "bram"}))
      ->capture_default_str();
  app.add_option("--card-file", common.host.cardFile,
                 "File holding the emulated card memory (Linux)");
  AddNumber(&app, "--card-size", &common.host.cardSize,
            "Emulated card memory size (Linux; default 1G for xdma, 1M for bram)");
  app.add_option("--timing", common.host.timing,
                 "Emulated XDMA board's link timing (Linux): none, tb3, gen3x8, gen4x16")
      ->check(CLI::IsMember({"none", "tb3", "gen3x8", "gen4x16"}))
      ->capture_default_str();
  app.add_option("--host-timing", common.host.hostTiming,
                 "Emulated Mac's host costs (Linux): none, mac-m2 (docs/performance.md)")
      ->check(CLI::IsMember({"none", "mac-m2"}))
      ->capture_default_str();

  CLI::App* list = app.add_subcommand("list", "List the boards the dext drives");
  CLI::App* info = app.add_subcommand("info", "Show a board: identity, card memory, BARs");

  RegisterOptions reg;
  CLI::App* regCmd = app.add_subcommand("reg", "Read or write a register of a BAR");
  regCmd->require_subcommand(1);
  CLI::App* regRead = regCmd->add_subcommand("read", "Read a register");
  CLI::App* regWrite = regCmd->add_subcommand("write", "Write a register");
  for (CLI::App* c : {regRead, regWrite}) {
    c->add_option("-b,--bar", reg.bar, "BAR index (default: the board's user BAR)")
        ->check(CLI::Range(0, 5));
    AddNumber(c, "-o,--offset", &reg.offset, "Byte offset in the BAR")->required();
    c->add_option("-w,--width", reg.width, "Access width in bits")
        ->check(CLI::IsMember({32u, 64u}))
        ->capture_default_str();
  }
  AddNumber(regWrite, "--value", &reg.value, "Value to write")->required();

  TransferOptions transfer;
  const std::map<std::string, fpgadext::TransferPath> paths{
      {"auto", fpgadext::TransferPath::kAuto},
      {"inband", fpgadext::TransferPath::kInband},
      {"out-of-line", fpgadext::TransferPath::kOutOfLine},
      {"client-memory", fpgadext::TransferPath::kClientMemory},
      {"bounce", fpgadext::TransferPath::kBounce}};
  const std::map<std::string, fpgadext::CompletionPolicy> completions{
      {"poll", fpgadext::CompletionPolicy::kPoll},
      {"interrupt", fpgadext::CompletionPolicy::kInterrupt},
      {"adaptive", fpgadext::CompletionPolicy::kAdaptive}};
  const char* completionHelp =
      "How the dext waits for the DMA: poll, interrupt, adaptive (default: the board's; "
      "docs/library.md \"Completion policy\")";
  CLI::App* read = app.add_subcommand("read", "Copy card memory to a file or stdout");
  CLI::App* write = app.add_subcommand("write", "Copy a file (or a test pattern) to card memory");
  CLI::App* verify = app.add_subcommand(
      "verify", "Write a file or pattern, read it back and compare (exit 4 on a mismatch)");
  for (CLI::App* c : {read, write, verify}) {
    AddNumber(c, "-a,--addr", &transfer.address, "Card address")->required();
    AddNumber(c, "--chunk", &transfer.chunk,
              "Bytes per library call (progress granularity; default 16M)");
    AddNumber(c, "--buffer-offset", &transfer.bufferOffset,
              "Place the app buffer this many bytes past a page boundary (alignment tests)")
        ->check(CLI::Range(0, 16383));
    c->add_option("--path", transfer.path,
                  "Transfer path: auto, inband (<= 4096 bytes), "
                  "out-of-line (> 4096), client-memory, bounce")
        ->transform(CLI::CheckedTransformer(paths));
    c->add_option("--completion", transfer.completion, completionHelp)
        ->transform(CLI::CheckedTransformer(completions));
  }
  AddNumber(read, "-s,--size", &transfer.size, "Bytes to read")->required();
  read->add_option("-o,--out", transfer.file, "Output file (default: stdout; '-' = stdout)");
  read->add_flag("-f,--force", transfer.force, "Write binary data to a terminal anyway");
  for (CLI::App* c : {write, verify}) {
    CLI::Option* file =
        c->add_option("-i,--file", transfer.file, "Input file ('-' = stdin, write only)");
    CLI::Option* pattern =
        AddNumber(c, "-p,--pattern", &transfer.patternSeed, "Pseudo-random pattern from SEED");
    file->excludes(pattern);
    AddNumber(c, "-s,--size", &transfer.size, "Bytes (pattern: required; file: a prefix)");
  }
  verify->add_flag("--no-write", transfer.compareOnly, "Only compare what the card already holds");

  EventsOptions eventsOptions;
  CLI::App* eventsCmd = app.add_subcommand(
      "events", "Wait for user interrupts from the board and print them (Ctrl-C stops)");
  AddNumber(eventsCmd, "--lines", &eventsOptions.lines, "Mask of lines (default 0xffff)");
  AddNumber(eventsCmd, "-n,--count", &eventsOptions.count, "Stop after N events");
  eventsCmd->add_option("--timeout", eventsOptions.timeoutSeconds,
                        "Exit 3 when no event comes for this many seconds");
  eventsCmd
      ->add_option("--raise", eventsOptions.raise,
                   "Have the board's user logic assert these lines (reference design)")
      ->delimiter(',')
      ->check(CLI::Range(0, 15));
  AddNumber(eventsCmd, "--times", &eventsOptions.times, "Assert each --raise line N times");

  double waitSeconds = -1;
  CLI::App* waitCmd = app.add_subcommand(
      "wait", "Wait until the dext drives the board (after loading a bitstream or a reset)");
  waitCmd->add_option("--timeout", waitSeconds, "Exit 2 if it is not there in this many seconds")
      ->check(CLI::NonNegativeNumber);

  BenchOptions benchOptions;
  CLI::App* benchCmd = app.add_subcommand(
      "bench", "Latency and throughput of every path, with baselines from the same run");
  benchCmd->add_option("--sizes", benchOptions.sizes, "Transfer sizes (default 1 B … 64 MiB)")
      ->delimiter(',')
      ->transform([](std::string text) {
        std::string error;
        std::optional<uint64_t> v = ParseNumber(text, &error);
        if (!v) throw CLI::ValidationError(error);
        if (*v == 0) throw CLI::ValidationError(fmt::format("'{}': a size of 0", text));
        return std::to_string(*v);
      });
  benchCmd
      ->add_option("--paths", benchOptions.paths,
                   "Paths: auto, inband, out-of-line, client-memory, bounce, registered, "
                   "register-mapped, register-call, async, ring, ring-paused, ring-paused-1ms, "
                   "registered-poll, registered-interrupt, registered-adaptive, "
                   "events-block, "
                   "events-callback, events-poll, stream-receive, stream-send (default: all)")
      ->delimiter(',')
      ->check(CLI::IsMember({"auto",
                             "bounce",
                             "inband",
                             "out-of-line",
                             "client-memory",
                             "registered",
                             "register-mapped",
                             "register-call",
                             "async",
                             "ring",
                             "ring-paused",
                             "ring-paused-1ms",
                             "registered-poll",
                             "registered-interrupt",
                             "registered-adaptive",
                             "events-block",
                             "events-callback",
                             "events-poll",
                             "stream-receive",
                             "stream-send"}));
  benchCmd->add_option("--min-seconds", benchOptions.minSeconds, "Least time per measurement")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  benchCmd
      ->add_option("--iterations", benchOptions.minIterations,
                   "Least operations per measurement (exactly this many with "
                   "--min-seconds 0, e.g. under callgrind: bench/callgrind.sh)")
      ->capture_default_str();
  AddNumber(benchCmd, "-a,--addr", &benchOptions.address, "Card address the transfers use");
  benchCmd->add_option("--csv", benchOptions.csvFile, "Also write the results as CSV");
  benchCmd->add_option("--plots", benchOptions.plotDir,
                       "Also write SVG plots (throughput, latency CDF) into this directory");
  benchCmd->add_option("--cpu-ir", benchOptions.instructionsFile,
                       "Our code's instructions per operation (CSV of bench/callgrind.sh), for "
                       "the predicted column (emulated host)");
  benchCmd
      ->add_option("--instructions-per-ns", benchOptions.instructionsPerNs,
                   "The predicted machine's instructions per ns for --cpu-ir")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  benchCmd->add_option("--completion", benchOptions.completion, completionHelp)
      ->transform(CLI::CheckedTransformer(completions));

  StreamCommandOptions streamOptions;
  CLI::App* stream = app.add_subcommand("stream", "AXI-Stream channels (docs/streams.md)");
  stream->require_subcommand(1);
  CLI::App* streamSend = stream->add_subcommand("send", "Send a file to a stream channel");
  streamSend->add_option("--file", streamOptions.file, "The bytes to send")->required();
  AddNumber(streamSend, "--packet-size", &streamOptions.packetSize,
            "Packets of this size (default: the whole file is one packet)");
  CLI::App* streamReceive =
      stream->add_subcommand("receive", "Receive packets from a stream channel into a file");
  streamReceive->add_option("--out", streamOptions.file, "Where the bytes go (- for stdout)")
      ->required();
  AddNumber(streamReceive, "--packets", &streamOptions.packets, "How many packets (default 1)");
  AddNumber(streamReceive, "--slots", &streamOptions.slots, "Receive slots (default 64)");
  AddNumber(streamReceive, "--slot-size", &streamOptions.slotSize,
            "Bytes per slot, a multiple of 64 (default 64K)");
  AddNumber(streamReceive, "--timeout-ms", &streamOptions.timeoutMs,
            "Longest wait for data (default 10000)");
  streamReceive
      ->add_option("--generate", common.host.streamGenerator,
                   "Emulated xdma-stream board: packet sizes its generator sends (Linux)")
      ->delimiter(',');
  for (CLI::App* command : {streamSend, streamReceive}) {
    command->add_option("--channel", streamOptions.channel, "Stream channel (default: any)");
  }

#if defined(__linux__)
  MachineOptions machineOptions;
  CLI::App* machineCmd = app.add_subcommand(
      "machine", "The emulated Mac as a daemon that later commands and apps share (Linux)");
  machineCmd->require_subcommand(1);
  for (const char* action : {"start", "stop", "status"}) {
    CLI::App* c = machineCmd->add_subcommand(
        action, std::string(action) == "start"  ? "Start the machine daemon (board options apply)"
                : std::string(action) == "stop" ? "Stop it (its apps' connections end)"
                                                : "Whether it runs (exit 2 when not)");
    if (std::string(action) == "start") {
      c->add_flag("--foreground", machineOptions.foreground, "Serve in this process");
    }
    c->final_callback([&machineOptions, action] { machineOptions.action = action; });
  }
#endif

  std::function<int()> run;
  streamSend->final_callback([&] { run = [&] { return RunStreamSend(common, streamOptions); }; });
  streamReceive->final_callback(
      [&] { run = [&] { return RunStreamReceive(common, streamOptions); }; });
  list->final_callback([&] { run = [&] { return RunList(common); }; });
  info->final_callback([&] { run = [&] { return RunInfo(common); }; });
  regRead->final_callback([&] { run = [&] { return RunRegRead(common, reg); }; });
  regWrite->final_callback([&] { run = [&] { return RunRegWrite(common, reg); }; });
  read->final_callback([&] { run = [&] { return RunRead(common, transfer); }; });
  write->final_callback([&] { run = [&] { return RunWrite(common, transfer); }; });
  verify->final_callback([&] { run = [&] { return RunVerify(common, transfer); }; });
  eventsCmd->final_callback([&] { run = [&] { return RunEvents(common, eventsOptions); }; });
  waitCmd->final_callback([&] { run = [&] { return RunWait(common, waitSeconds); }; });
  benchCmd->final_callback([&] { run = [&] { return RunBench(common, benchOptions); }; });
#if defined(__linux__)
  machineCmd->final_callback([&] { run = [&] { return RunMachine(common, machineOptions); }; });
#endif

  try {
    app.parse(argc, argv);
    if (write->parsed() || verify->parsed()) {
      if (transfer.file.empty() && !transfer.patternSeed) {
        throw CLI::ValidationError("give --file FILE or --pattern SEED --size N");
      }
      if (verify->parsed() && transfer.file == "-") {
        throw CLI::ValidationError("--file", "verify reads its input twice; stdin cannot be");
      }
    }
  } catch (const CLI::Success& e) {
    return app.exit(e);  // --help, --version
  } catch (const CLI::ParseError& e) {
    ReportError(CliError{kExitUsage, "usage", std::nullopt, e.what()}, json);
    if (!json) fmt::print(stderr, "Run with --help for more information.\n");
    return kExitUsage;
  }

  try {
    return run();
  } catch (const CliError& e) {
    ReportError(e, json);
    return e.exitCode;
  } catch (const std::exception& e) {
    ReportError(CliError{kExitIo, "internal", std::nullopt, e.what()}, json);
    return kExitIo;
  }
}
