// Renderings of a benchmark report: a table for people, JSON and CSV for scripts.
#include <fmt/format.h>

#include <fpgadext/bench.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <vector>

namespace fpgadext::bench {
namespace {

std::string HumanSize(uint64_t bytes) {
  if (bytes >= (1ull << 20) && bytes % (1ull << 20) == 0) return fmt::format("{}M", bytes >> 20);
  if (bytes >= 1024 && bytes % 1024 == 0) return fmt::format("{}K", bytes >> 10);
  return fmt::format("{}", bytes);
}

std::string HumanTime(double ns) {
  if (ns >= 1e6) return fmt::format("{:.2f}ms", ns / 1e6);
  if (ns >= 1e3) return fmt::format("{:.2f}us", ns / 1e3);
  return fmt::format("{:.0f}ns", ns);
}

const Result* Find(const Report& report, const std::string& path, uint64_t size) {
  for (const Result& r : report.results) {
    if (r.path == path && r.size == size) return &r;
  }
  return nullptr;
}

nlohmann::json ToJson(const Result& r) {
  return {{"samples", r.latency.samples},
          {"p50_ns", r.latency.p50},
          {"p99_ns", r.latency.p99},
          {"p999_ns", r.latency.p999},
          {"max_ns", r.latency.max},
          {"mean_ns", r.latency.mean},
          {"bytes_per_second", r.bytesPerSecond},
          {"device_ns", r.deviceNs},
          {"host_model_ns", r.hostNs},
          {"link_model_ns", r.linkNs},
          {"cpu_ns", r.cpuNs},
          {"copy_model_ns", r.copyNs},
          {"predicted_ns", r.predictedNs},
          {"predicted_p50_ns", r.predictedP50Ns},
          {"predicted_p99_ns", r.predictedP99Ns},
          {"chosen", r.chosen}};
}

bool Predicted(const Report& report) {
  for (const Result& r : report.results) {
    if (r.predictedNs >= 0) return true;
  }
  return false;
}

std::string Known(double ns) {
  return ns < 0 ? "-" : HumanTime(ns);
}

}  // namespace

std::string FormatTable(const Report& report) {
  std::string out = fmt::format("platform: {}\n", report.platform);
  if (!report.error.empty()) out += fmt::format("error: {}\n", report.error);
  const Result* call = Find(report, "empty-call", 0);
  const Result* load = Find(report, "device-register-read", 4);
  const bool predicted = Predicted(report);
  out += fmt::format("{:<20} {:<5} {:>6} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10}", "path",
                     "dir", "size", "p50", "p99", "p99.9", "max", "MB/s", "vs base", "vs device");
  // Prediction columns (docs/performance.md "Host-cost model"): modelled host costs, modelled
  // link time, our code's CPU time, and their sum, per operation.
  if (predicted) {
    out += fmt::format(" {:>10} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10}", "host/op", "link/op",
                       "cpu/op", "copy/op", "predicted", "pred p50", "pred p99");
  }
  out += "\n";
  for (const Result& r : report.results) {
    // Bulk transfers compare with memcpy of the same bytes; small ones and calls with an empty
    // driver call.
    std::string ratio;
    const Result* memcpyBase = Find(report, "memcpy", r.size);
    if (r.path == "memcpy" || r.path == "empty-call" || r.path == "device-register-read") {
      ratio = "base";
    } else if (r.size >= 65536 && memcpyBase && memcpyBase->bytesPerSecond > 0) {
      ratio = fmt::format("{:.2f}x mc", r.bytesPerSecond / memcpyBase->bytesPerSecond);
    } else if (call && call->latency.p50 > 0) {
      ratio = fmt::format("{:.2f}x call", r.latency.p50 / call->latency.p50);
    }
    // Against the device's own time: the DMA engine's time per operation (deviceNs), or for a
    // mapped register read a register read done by the device model directly.
    std::string device;
    if (r.deviceNs > 0) {
      device = fmt::format("{:.2f}x dev", r.latency.p50 / r.deviceNs);
    } else if (r.path == "register-mapped" && load && load->latency.p50 > 0) {
      device = fmt::format("{:.1f}x load", r.latency.p50 / load->latency.p50);
    }
    out += fmt::format("{:<20} {:<5} {:>6} {:>10} {:>10} {:>10} {:>10} {:>10.1f} {:>10} {:>10}",
                       r.path, r.direction, HumanSize(r.size), HumanTime(r.latency.p50),
                       HumanTime(r.latency.p99), HumanTime(r.latency.p999),
                       HumanTime(r.latency.max), r.bytesPerSecond / 1e6, ratio, device);
    if (predicted) {
      out += fmt::format(" {:>10} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10}", Known(r.hostNs),
                         Known(r.linkNs), Known(r.cpuNs), Known(r.copyNs), Known(r.predictedNs),
                         Known(r.predictedP50Ns), Known(r.predictedP99Ns));
    }
    out += "\n";
  }
  return out;
}

std::string FormatJson(const Report& report) {
  nlohmann::json j;
  j["platform"] = report.platform;
  if (!report.error.empty()) j["error"] = report.error;
  j["paths"] = nlohmann::json::object();
  j["baselines"] = nlohmann::json::object();
  for (const Result& r : report.results) {
    const std::string size = std::to_string(r.size);
    if (r.direction.empty()) {
      j["baselines"][r.path][size] = ToJson(r);
    } else {
      j["paths"][r.path][r.direction][size] = ToJson(r);
    }
  }
  return j.dump(2) + "\n";
}

std::string FormatCsv(const Report& report) {
  std::string out =
      "path,direction,size,samples,p50_ns,p99_ns,p999_ns,max_ns,mean_ns,bytes_per_second,"
      "device_ns,host_model_ns,link_model_ns,cpu_ns,predicted_ns,copy_model_ns,chosen,"
      "predicted_p50_ns,predicted_p99_ns\n";
  for (const Result& r : report.results) {
    out += fmt::format(
        "{},{},{},{},{:.1f},{:.1f},{:.1f},{:.1f},{:.1f},{:.1f},{:.1f},{:.1f},{:.1f},{:.1f},{:.1f},"
        "{:.1f},{},{:.1f},{:.1f}\n",
        r.path, r.direction, r.size, r.latency.samples, r.latency.p50, r.latency.p99,
        r.latency.p999, r.latency.max, r.latency.mean, r.bytesPerSecond, r.deviceNs, r.hostNs,
        r.linkNs, r.cpuNs, r.predictedNs, r.copyNs, r.chosen, r.predictedP50Ns, r.predictedP99Ns);
  }
  return out;
}

namespace {

// The transfer paths an app's Read/Write can take, compared by predicted time.
constexpr const char* kTransferPaths[] = {"inband", "out-of-line", "client-memory", "bounce",
                                          "registered"};

struct PathChoice {
  const Result* automatic;
  const Result* best;
};

// Per (direction, size) with an "auto" row and a prediction: the best path's row.
std::vector<PathChoice> PathChoices(const Report& report) {
  std::vector<PathChoice> choices;
  for (const Result& a : report.results) {
    if (a.path != "auto" || a.predictedNs <= 0) continue;
    const Result* best = nullptr;
    for (const Result& r : report.results) {
      if (r.direction != a.direction || r.size != a.size || r.predictedNs <= 0) continue;
      for (const char* path : kTransferPaths) {
        if (r.path == path && (best == nullptr || r.predictedNs < best->predictedNs)) best = &r;
      }
    }
    if (best != nullptr) choices.push_back({&a, best});
  }
  return choices;
}

}  // namespace

double WorstAutoRatio(const Report& report) {
  double worst = 0;
  for (const PathChoice& c : PathChoices(report)) {
    worst = std::max(worst, c.automatic->predictedNs / c.best->predictedNs);
  }
  return worst;
}

std::string FormatPathChoice(const Report& report) {
  const std::vector<PathChoice> choices = PathChoices(report);
  if (choices.empty()) return "";
  std::string out = fmt::format("{:<5} {:>6} {:>14} {:>10} {:>14} {:>10} {:>8}\n", "dir", "size",
                                "auto takes", "predicted", "best path", "predicted", "ratio");
  for (const PathChoice& c : choices) {
    out +=
        fmt::format("{:<5} {:>6} {:>14} {:>10} {:>14} {:>10} {:>7.2f}x\n", c.automatic->direction,
                    HumanSize(c.automatic->size), c.automatic->chosen,
                    HumanTime(c.automatic->predictedNs), c.best->path,
                    HumanTime(c.best->predictedNs), c.automatic->predictedNs / c.best->predictedNs);
  }
  out += fmt::format("automatic path within {:.2f}x of the best predicted path at every size\n",
                     WorstAutoRatio(report));
  return out;
}

bool ReadInstructionCounts(const std::string& file, std::map<std::string, double>* out) {
  std::ifstream in(file);
  std::string line;
  if (!in || !std::getline(in, line)) return false;
  // The header names the columns; the operation and our code's instructions per operation.
  std::vector<std::string> header;
  for (std::stringstream cells(line); std::getline(cells, line, ',');) header.push_back(line);
  size_t operation = header.size(), ours = header.size();
  for (size_t i = 0; i < header.size(); ++i) {
    if (header[i] == "operation") operation = i;
    if (header[i] == "ours_ir_per_op") ours = i;
  }
  if (operation == header.size() || ours == header.size()) return false;
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    for (std::stringstream row(line); std::getline(row, line, ',');) cells.push_back(line);
    if (cells.size() <= std::max(operation, ours)) continue;
    (*out)[cells[operation]] = std::strtod(cells[ours].c_str(), nullptr);
  }
  return true;
}

}  // namespace fpgadext::bench
