// Rows per completion policy (completion_rows.h).
#include "completion_rows.h"

#include <fmt/format.h>
#include <time.h>

#include <algorithm>

#include "paths_wanted.h"

namespace fpgadext::bench {
namespace {

struct Policy {
  const char* row;
  CompletionPolicy policy;
};
constexpr Policy kPolicies[] = {
    {"registered-poll", CompletionPolicy::kPoll},
    {"registered-interrupt", CompletionPolicy::kInterrupt},
    {"registered-adaptive", CompletionPolicy::kAdaptive},
};

double ClockNs(clockid_t clock) {
  timespec t{};
  clock_gettime(clock, &t);
  return static_cast<double>(t.tv_sec) * 1e9 + static_cast<double>(t.tv_nsec);
}

std::string Us(double ns) {
  return ns < 0 ? "-" : fmt::format("{:.2f}us", ns / 1000);
}

}  // namespace

CpuTimes CpuNow() {
  return {ClockNs(CLOCK_PROCESS_CPUTIME_ID), ClockNs(CLOCK_THREAD_CPUTIME_ID)};
}

void MeasureCompletionPolicies(Device& device, const Options& options,
                               const std::vector<uint64_t>& sizes, std::span<std::byte> memory,
                               const AddMeasurement& add) {
  const bool any = std::any_of(std::begin(kPolicies), std::end(kPolicies),
                               [&](const Policy& p) { return Wanted(options, p.row); });
  if (!any) return;
  RegisteredBuffer buffer;
  if (!device.Register(memory, BufferDirection::kBoth, &buffer)) return;
  const uint64_t card = options.cardAddress;
  for (const Policy& p : kPolicies) {
    if (!Wanted(options, p.row)) continue;
    for (uint64_t size : sizes) {
      add(p.row, "write", size, [&] { return device.Write(card, buffer, 0, size, p.policy).ok(); });
      add(p.row, "read", size, [&] { return device.Read(card, buffer, 0, size, p.policy).ok(); });
    }
  }
}

std::string FormatCompletionTable(const Report& report) {
  std::string out;
  for (const Result& r : report.results) {
    if (r.processCpuNs < 0 || r.path.rfind("registered", 0) != 0) continue;
    if (out.empty()) {
      out = fmt::format("{:<22} {:<5} {:>6} {:>10} {:>10} {:>12} {:>12} {:>12} {:>10}\n", "path",
                        "dir", "size", "p50", "p99", "cpu/op", "app cpu/op", "other cpu/op",
                        "predicted");
    }
    out +=
        fmt::format("{:<22} {:<5} {:>6} {:>10} {:>10} {:>12} {:>12} {:>12} {:>10}\n", r.path,
                    r.direction, r.size, Us(r.latency.p50), Us(r.latency.p99), Us(r.processCpuNs),
                    Us(r.callerCpuNs), Us(r.processCpuNs - r.callerCpuNs), Us(r.predictedNs));
  }
  return out;
}

}  // namespace fpgadext::bench
