#include <IOKit/IOKitLib.h>
#include <fpgadext/path_costs.h>
#include <fpgadext/protocol.h>
#include <unistd.h>
#include <fpgadext/bench.hpp>

#include "completion_rows.h"

#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>  // no-ops unless run under callgrind (bench/callgrind.sh)
#define FPGADEXT_CALLGRIND 1
#endif

#include <algorithm>
#include <chrono>
#include <cstring>
#include <functional>
#include <numeric>
#include <thread>

#include "event_latency.h"
#include "paths_wanted.h"
#include "stream_throughput.h"

namespace fpgadext::bench {
namespace {

namespace protocol = fpgadext::protocol;
using Clock = std::chrono::steady_clock;

std::vector<uint64_t> DefaultSizes() {
  std::vector<uint64_t> sizes;
  for (uint64_t s = 1; s <= (64ull << 20); s *= 4) sizes.push_back(s);
  sizes.push_back(4096);
  sizes.push_back(4097);
  std::sort(sizes.begin(), sizes.end());
  sizes.erase(std::unique(sizes.begin(), sizes.end()), sizes.end());
  return sizes;
}

// Runs `op` until minIterations and minSeconds are both reached (big transfers: at least 3
// samples), and summarises the latencies.
Latency Measure(const Options& o, const std::string& label, uint64_t size,
                const std::function<bool()>& op, std::vector<double>* quantiles, double* deviceNs,
                Result* modelled, const std::function<void()>& pause, double copiedBytes) {
  std::vector<double> samples;
  const auto start = Clock::now();
  const uint64_t minIterations = size >= (16ull << 20) ? 3 : o.minIterations;
  op();  // warm-up: page faults, first preparation
  uint64_t jobs0 = 0, ns0 = 0;
  if (o.deviceTime) o.deviceTime(&jobs0, &ns0);
  uint64_t host0 = 0, link0 = 0;
  if (o.modelledTime) o.modelledTime(&host0, &link0);
#ifdef FPGADEXT_CALLGRIND
  CALLGRIND_ZERO_STATS;  // instruction counts of the measured operations only, every thread
#endif
  std::vector<double> modelledPerOp;  // host + link charges of each operation
  for (;;) {
    if (pause) pause();  // not measured: e.g. the idle time before a request of bursty traffic
    uint64_t hostBefore = 0, linkBefore = 0;
    if (o.modelledTime) o.modelledTime(&hostBefore, &linkBefore);
    const auto t0 = Clock::now();
    if (!op()) return {};
    const auto t1 = Clock::now();
    samples.push_back(std::chrono::duration<double, std::nano>(t1 - t0).count());
    if (o.modelledTime) {
      uint64_t hostAfter = 0, linkAfter = 0;
      o.modelledTime(&hostAfter, &linkAfter);
      modelledPerOp.push_back(static_cast<double>(hostAfter - hostBefore + linkAfter - linkBefore));
    }
    const double elapsed = std::chrono::duration<double>(t1 - start).count();
    if (samples.size() >= minIterations && elapsed >= o.minSeconds) break;
    if (samples.size() >= 1'000'000) break;
  }
#ifdef FPGADEXT_CALLGRIND
  if (RUNNING_ON_VALGRIND) {
    const std::string name = label + " ops=" + std::to_string(samples.size());
    CALLGRIND_DUMP_STATS_AT(name.c_str());
  }
#endif
  if (o.deviceTime && deviceNs != nullptr) {
    uint64_t jobs1 = 0, ns1 = 0;
    o.deviceTime(&jobs1, &ns1);
    *deviceNs = jobs1 > jobs0 ? static_cast<double>(ns1 - ns0) / samples.size() : 0;
  }
  if (o.modelledTime && modelled != nullptr) {
    // Operations run one at a time: what was charged in between belongs to them.
    uint64_t host1 = 0, link1 = 0;
    o.modelledTime(&host1, &link1);
    modelled->hostNs = static_cast<double>(host1 - host0) / samples.size();
    modelled->linkNs = static_cast<double>(link1 - link0) / samples.size();
    if (auto it = o.instructionsPerOp.find(label);
        it != o.instructionsPerOp.end() && o.instructionsPerNs > 0) {
      modelled->cpuNs = it->second / o.instructionsPerNs;
    }
    if (o.appCopyBytesPerNs > 0) modelled->copyNs = copiedBytes / o.appCopyBytesPerNs;
    const double unmodelled =
        (modelled->cpuNs > 0 ? modelled->cpuNs : 0) + (modelled->copyNs > 0 ? modelled->copyNs : 0);
    modelled->predictedNs = modelled->hostNs + modelled->linkNs + unmodelled;
    // Per operation: a doorbell or a sleep charged to some operations only shows in p99.
    std::sort(modelledPerOp.begin(), modelledPerOp.end());
    modelled->predictedP50Ns = Percentile(modelledPerOp, 0.5) + unmodelled;
    modelled->predictedP99Ns = Percentile(modelledPerOp, 0.99) + unmodelled;
  }
  std::sort(samples.begin(), samples.end());
  Latency l;
  l.samples = samples.size();
  l.p50 = Percentile(samples, 0.5);
  l.p99 = Percentile(samples, 0.99);
  l.p999 = Percentile(samples, 0.999);
  l.max = samples.back();
  l.mean = std::accumulate(samples.begin(), samples.end(), 0.0) / samples.size();
  if (quantiles != nullptr) {
    quantiles->clear();
    for (int q = 0; q <= 100; ++q) quantiles->push_back(Percentile(samples, q / 100.0));
  }
  return l;
}

// Bytes a transfer path copies per operation of `size` bytes: in-band into the message and
// again into the dext's staging page, the bounce buffer once in the app; the others none.
double CopiedBytes(TransferPath path, uint64_t size) {
  if (path == TransferPath::kInband) return 2.0 * size;
  if (path == TransferPath::kBounce) return static_cast<double>(size);
  return 0;
}

const char* PathName(TransferPath path) {
  switch (path) {
    case TransferPath::kInband:
      return "inband";
    case TransferPath::kOutOfLine:
      return "out-of-line";
    case TransferPath::kClientMemory:
      return "client-memory";
    case TransferPath::kBounce:
      return "bounce";
    case TransferPath::kAuto:
      break;
  }
  return "auto";
}

// A connection of the benchmark's own, for the baselines that must be raw IOKit calls.
class RawConnection {
 public:
  explicit RawConnection(uint32_t index) {
    io_iterator_t it = IO_OBJECT_NULL;
    if (IOServiceGetMatchingServices(kIOMainPortDefault,
                                     IOServiceNameMatching(protocol::kDriverClassName),
                                     &it) != kIOReturnSuccess) {
      return;
    }
    for (uint32_t i = 0; io_service_t s = IOIteratorNext(it); ++i) {
      if (i == index) IOServiceOpen(s, mach_task_self(), protocol::kProtocolVersion, &connection_);
      IOObjectRelease(s);
    }
    IOObjectRelease(it);
  }
  ~RawConnection() {
    if (connection_ != IO_OBJECT_NULL) IOServiceClose(connection_);
  }
  bool ok() const { return connection_ != IO_OBJECT_NULL; }
  bool Nop() {
    return IOConnectCallScalarMethod(connection_, protocol::kSelectorNop, nullptr, 0, nullptr,
                                     nullptr) == kIOReturnSuccess;
  }
  bool RegisterRead(int bar, uint64_t offset) {
    const uint64_t in[3] = {static_cast<uint64_t>(bar), offset, 4};
    uint64_t out = 0;
    uint32_t count = 1;
    return IOConnectCallScalarMethod(connection_, protocol::kSelectorRegisterRead, in, 3, &out,
                                     &count) == kIOReturnSuccess;
  }

 private:
  io_connect_t connection_ = IO_OBJECT_NULL;
};

}  // namespace

double AppCopyBytesPerNs(const std::string& hostTiming) {
  if (hostTiming == "mac-m2") return protocol::kMacM2PathCosts.copyBytesPerUs / 1000.0;
  return 0;
}

double Percentile(const std::vector<double>& sorted, double fraction) {
  if (sorted.empty()) return 0;
  const double position = fraction * (sorted.size() - 1);
  const size_t below = static_cast<size_t>(position);
  const size_t above = std::min(below + 1, sorted.size() - 1);
  const double weight = position - below;
  return sorted[below] * (1 - weight) + sorted[above] * weight;
}

Report Run(Device& device, const Options& options) {
  Report report;
  const DeviceInfo& info = device.info();
  report.platform = info.hasDmaEngine ? "XDMA engine" : "PIO (BAR window)";
  if (!options.platformNote.empty()) report.platform += ", " + options.platformNote;
  const std::vector<uint64_t> sizes = options.sizes.empty() ? DefaultSizes() : options.sizes;
  uint64_t largest = 0;
  for (uint64_t s : sizes) largest = std::max(largest, s);
  if (options.cardAddress + largest > info.cardMemorySize) {
    report.error = "the largest size does not fit the card's memory at that address";
    return report;
  }
  std::vector<std::byte> host(largest), other(largest);
  std::memset(host.data(), 0x5a, host.size());
  std::memset(other.data(), 0xa5, other.size());

  RawConnection raw(options.device);
  if (!raw.ok()) {
    report.error = "cannot open a second connection for the baselines";
    return report;
  }
  auto add = [&](const std::string& path, const std::string& direction, uint64_t size,
                 const std::function<bool()>& op, const std::function<void()>& pause = {},
                 double copiedBytes = 0, const std::string& chosen = {}) {
    Result r;
    r.path = path;
    r.direction = direction;
    r.size = size;
    r.chosen = chosen;
    const CpuTimes cpu0 = CpuNow();
    r.latency = Measure(options, path + "/" + direction + "/" + std::to_string(size), size, op,
                        &r.quantiles, &r.deviceNs, &r, pause, copiedBytes);
    const CpuTimes cpu1 = CpuNow();
    // Every operation Measure ran, its warm-up included; bookkeeping between them is noise.
    if (r.latency.samples > 0) {
      r.processCpuNs = (cpu1.process - cpu0.process) / (r.latency.samples + 1);
      r.callerCpuNs = (cpu1.thread - cpu0.thread) / (r.latency.samples + 1);
    }
    r.bytesPerSecond = r.latency.mean > 0 ? size / (r.latency.mean * 1e-9) : 0;
    report.results.push_back(std::move(r));
  };

  // Baselines, in the same run.
  for (uint64_t size : sizes) {
    add("memcpy", "", size, [&] {
      std::memcpy(other.data(), host.data(), size);
      return true;
    });
  }
  add("empty-call", "", 0, [&] { return raw.Nop(); });
  add("syscall", "", 0, [&] {
    (void)getppid();
    return true;
  });
  if (options.deviceRegisterRead) add("device-register-read", "", 4, options.deviceRegisterRead);

  const uint64_t card = options.cardAddress;
  auto span = [&](uint64_t size) { return std::span<std::byte>(host.data(), size); };
  for (uint64_t size : sizes) {
    struct Path {
      const char* name;
      TransferPath path;
      bool applies;
    } paths[] = {
        {"auto", TransferPath::kAuto, true},
        {"inband", TransferPath::kInband, size <= protocol::kInbandMax},
        {"out-of-line", TransferPath::kOutOfLine, size > protocol::kInbandMax},
        {"client-memory", TransferPath::kClientMemory, true},
        {"bounce", TransferPath::kBounce, true},
    };
    for (const Path& p : paths) {
      if (!p.applies || !Wanted(options, p.name)) continue;
      const TransferPath taken = p.path == TransferPath::kAuto ? device.AutoPath(size) : p.path;
      const double copied = CopiedBytes(taken, size);
      const std::string chosen = p.path == TransferPath::kAuto ? PathName(taken) : "";
      add(
          p.name, "write", size, [&] { return device.Write(card, span(size), p.path).ok(); }, {},
          copied, chosen);
      add(
          p.name, "read", size, [&] { return device.Read(card, span(size), p.path).ok(); }, {},
          copied, chosen);
    }
  }
  if (Wanted(options, "registered")) {
    RegisteredBuffer buffer;
    if (device.Register(std::span<std::byte>(host.data(), largest), BufferDirection::kBoth,
                        &buffer)) {
      for (uint64_t size : sizes) {
        add("registered", "write", size, [&] { return device.Write(card, buffer, 0, size).ok(); });
        add("registered", "read", size, [&] { return device.Read(card, buffer, 0, size).ok(); });
      }
    }
  }
  MeasureCompletionPolicies(
      device, options, sizes, std::span<std::byte>(host.data(), largest),
      [&](const std::string& path, const std::string& direction, uint64_t size,
          const std::function<bool()>& op) { add(path, direction, size, op); });
  if (info.userBar >= 0) {
    const int bar = info.userBar;
    uint32_t value = 0;
    if (Wanted(options, "register-mapped") && device.IsBarMapped(bar)) {
      add("register-mapped", "read", 4, [&] { return device.Read32(bar, 0, &value).ok(); });
    }
    if (Wanted(options, "register-call")) {
      add("register-call", "read", 4, [&] { return raw.RegisterRead(bar, 0); });
    }
  }
  // Async calls (one in flight: issue + completion round trip) and the submission ring
  // (post + poll the writeback word: no driver call per operation). docs/ring.md.
  if (Wanted(options, "async")) {
    for (uint64_t size : sizes) {
      add("async", "write", size, [&] { return device.WriteAsync(card, span(size)).Wait().ok(); });
      add("async", "read", size, [&] { return device.ReadAsync(card, span(size)).Wait().ok(); });
    }
  }
  if (Wanted(options, "ring") || Wanted(options, "ring-paused") ||
      Wanted(options, "ring-paused-1ms")) {
    RegisteredBuffer buffer;
    Ring ring;
    if (device.Register(std::span<std::byte>(host.data(), largest), BufferDirection::kBoth,
                        &buffer) &&
        device.CreateRing(8, RingDirections::kBoth, &ring)) {
      auto roundTrip = [&](bool write, uint64_t size) {
        const Status s = write ? ring.SubmitWrite(card, buffer, 0, size, 0)
                               : ring.SubmitRead(card, buffer, 0, size, 0);
        if (!s) return false;
        RingCompletion c;
        while (ring.PollCompletions({&c, 1}) == 0) {
        }
        return c.status == 0;
      };
      for (uint64_t size : Wanted(options, "ring") ? sizes : std::vector<uint64_t>{}) {
        add("ring", "write", size, [&] { return roundTrip(true, size); });
        add("ring", "read", size, [&] { return roundTrip(false, size); });
      }
      // Bursty traffic: 5 ms of idle before each request (not measured), longer than the dext
      // poller's 2 ms spin, so that every post finds it asleep and wakes it (docs/ring.md,
      // "Wake-up"): the worst case of a request after a pause.
      // With 1 ms of idle (issue 14's target: bursty traffic with pauses shorter than the spin)
      // every post should find the poller awake: no doorbell, nothing but the link modelled.
      for (const auto& [name, idle] :
           {std::pair{"ring-paused", std::chrono::milliseconds(5)},
            std::pair{"ring-paused-1ms", std::chrono::milliseconds(1)}}) {
        if (!Wanted(options, name)) continue;
        const auto pause = [idle] { std::this_thread::sleep_for(idle); };
        for (uint64_t size : sizes) {
          add(name, "write", size, [&] { return roundTrip(true, size); }, pause);
          add(name, "read", size, [&] { return roundTrip(false, size); }, pause);
        }
      }
    }
  }
  MeasureEventLatency(device, options,
                      [&](const std::string& path, const std::string& direction, uint64_t size,
                          const std::function<bool()>& op) { add(path, direction, size, op); });
  MeasureStreamThroughput(device, options, sizes,
                          [&](const std::string& path, const std::string& direction, uint64_t size,
                              const std::function<bool()>& op) { add(path, direction, size, op); });
  return report;
}

}  // namespace fpgadext::bench
