// fpgadext's benchmark suite: latency distributions and throughput of every transfer path and
// of register access, with the baselines measured in the same run (memcpy of the same bytes,
// an empty IOConnectCallMethod round trip, a plain syscall), so that results are ratios
// against this machine now, not absolute numbers from a shared, noisy one.
#pragma once

#include <fpgadext/fpgadext.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace fpgadext::bench {

struct Options {
  // Transfer sizes; default 1 B … 64 MiB in powers of 4 plus 4096/4097.
  std::vector<uint64_t> sizes;
  // Paths to measure; empty = all: "auto" (the library's choice), "inband", "out-of-line",
  // "client-memory", "bounce", "registered",
  // "register-mapped", "register-call", "async", "ring", "ring-paused" (5 ms idle before each
  // request, not measured: the ring's wake-up), "ring-paused-1ms" (1 ms idle: bursty traffic
  // with pauses shorter than the poller's spin), and event delivery latency (user line asserted →
  // the app has it): "events-block", "events-callback", "events-poll".
  std::vector<std::string> paths;
  // Each (path, size) runs until both are reached (and at least 3 samples).
  uint32_t minIterations = 50;
  double minSeconds = 0.2;
  uint64_t cardAddress = 0;  // where on the card transfers go
  uint32_t device = 0;
  // Optional hooks of a host that can see the device itself (the emulated board; none on a Mac).
  // deviceRegisterRead: one register read performed by the device model on the caller's thread,
  // the cost of "a plain load from the device's registers" (baseline "device-register-read").
  std::function<bool()> deviceRegisterRead;
  // deviceTime: cumulative DMA engine time (jobs run, nanoseconds spent on them: descriptor
  // fetch, data, writeback, modelled link delays), to report device time per operation.
  std::function<void(uint64_t* jobs, uint64_t* ns)> deviceTime;
  // streamGenerator: starts the board's stream source on C2H stream `channel` with packets of
  // `packetBytes` (0: stops it and empties what it queued), for the "stream-receive" rows
  // (docs/streams.md "Throughput"); "stream-send" needs no hook.
  std::function<bool(uint32_t channel, uint32_t packetBytes)> streamGenerator;
  // What the run is measured on, printed with the platform (e.g. "timing tb3").
  std::string platformNote;
  // Prediction (docs/performance.md "Host-cost model"). modelledTime: cumulative modelled time
  // of an emulated host — the host-cost model's charges and the board's link model. With it
  // each row gets the modelled time per operation and a predicted time: modelled + our code's
  // CPU work, the latter from instructionsPerOp (our code's instructions per operation, keyed
  // "path/direction/size", from bench/callgrind.sh) at instructionsPerNs.
  std::function<void(uint64_t* hostNs, uint64_t* linkNs)> modelledTime;
  std::map<std::string, double> instructionsPerOp;
  double instructionsPerNs = 4.0;
  // The predicted host's copy rate in the app (bytes per ns; 0: copies not modelled). A path
  // that copies the bytes (in-band: into the message and into the dext's staging page; the
  // bounce buffer: once in the app) is predicted that copy's time besides (AppCopyBytesPerNs).
  double appCopyBytesPerNs = 0;
};

// The app's copy rate of a host-cost profile by name (protocol/fpgadext/path_costs.h), 0 for
// "none" or an unknown one.
double AppCopyBytesPerNs(const std::string& hostTiming);

struct Latency {
  uint64_t samples = 0;
  double p50 = 0, p99 = 0, p999 = 0, max = 0, mean = 0;  // nanoseconds
};

struct Result {
  std::string path;       // a path, or a baseline: "memcpy", "empty-call", "syscall"
  std::string direction;  // "read" (card → host), "write", or "" for baselines
  uint64_t size = 0;      // bytes per operation
  Latency latency;
  // Measured CPU time per operation (< 0: not measured): the whole process's (the app, the
  // dext and, emulated, the board model) and the calling thread's (the app's own part).
  double processCpuNs = -1, callerCpuNs = -1;
  double bytesPerSecond = 0;      // size / mean latency
  double deviceNs = 0;            // mean device (DMA engine) time per operation, 0 = not known
  std::vector<double> quantiles;  // latency at 0%, 1%, … 100% (101 values), for CDF plots
  // Per operation, < 0 = not known: host-cost model and link model time (modelled), our code's
  // CPU time (instructions / instructionsPerNs), and predicted = modelled + CPU.
  double hostNs = -1, linkNs = -1, cpuNs = -1, predictedNs = -1;
  // Modelled time of the copies the path makes (Options::appCopyBytesPerNs), part of predicted.
  double copyNs = -1;
  // The predicted time's median and 99th percentile over the operations: each operation's own
  // modelled charges (host + link, taken around it) + the CPU and copy terms (means).
  double predictedP50Ns = -1, predictedP99Ns = -1;
  // Path rows that let the library choose ("auto"): the path it took ("inband", "bounce", …).
  std::string chosen;
};

struct Report {
  std::vector<Result> results;
  std::string platform;  // "emulated (models/xdma)" or the board
  std::string error;     // non-empty when the run could not complete
};

// Runs the suite on an open device.
Report Run(Device& device, const Options& options);

// Renderings of a report.
std::string FormatTable(const Report& report);
std::string FormatJson(const Report& report);
std::string FormatCsv(const Report& report);
// The predicted time of each transfer path per size and direction, the best of them, and the
// automatic choice against it ("" without predictions).
std::string FormatPathChoice(const Report& report);
// The largest ratio of the automatic path's predicted time to the best path's, over every size
// and direction with both (0 when none).
double WorstAutoRatio(const Report& report);
// The registered-buffer rows (the completion policies' too) with their measured CPU time per
// operation: the process's, the app thread's and the rest (dext and, emulated, the board model);
// "" without such rows (bench/src/completion_rows.cpp).
std::string FormatCompletionTable(const Report& report);
// Writes throughput-vs-size and latency plots as SVG files into `directory`, and with
// predictions the predicted latency of each path against size; returns the paths.
std::vector<std::string> WriteSvgPlots(const Report& report, const std::string& directory);

// Reads bench/callgrind.sh's CSV of our code's instructions per operation ("operation,ours_ir"
// columns among others); false when the file cannot be read or has no such columns.
bool ReadInstructionCounts(const std::string& file, std::map<std::string, double>* out);

// The percentile of sorted samples (linear interpolation), for tests.
double Percentile(const std::vector<double>& sorted, double fraction);

}  // namespace fpgadext::bench
