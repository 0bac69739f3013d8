// SVG plots of a benchmark report: throughput against size (log-log), the latency CDF of
// 4 KiB operations, and with predictions the predicted latency of each transfer path. Plain SVG
// text, no plotting library.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fpgadext/bench.hpp>
#include <fstream>
#include <map>

namespace fpgadext::bench {
namespace {

constexpr double kWidth = 760, kHeight = 460, kLeft = 70, kRight = 200, kTop = 30, kBottom = 50;
const char* kColours[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                          "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

struct Axis {
  double lo, hi;
  double Map(double v, double a, double b) const {
    const double t = (std::log10(v) - std::log10(lo)) / (std::log10(hi) - std::log10(lo));
    return a + t * (b - a);
  }
};

std::string Header(const std::string& title) {
  return fmt::format(
      "<svg xmlns='http://www.w3.org/2000/svg' width='{}' height='{}' font-family='sans-serif' "
      "font-size='12'>\n<rect width='100%' height='100%' fill='white'/>\n"
      "<text x='{}' y='18' font-size='14'>{}</text>\n",
      kWidth, kHeight, kLeft, title);
}

std::string Frame(const Axis& x, const Axis& y, const std::string& xLabel,
                  const std::string& yLabel, bool yLog) {
  std::string s =
      fmt::format("<rect x='{}' y='{}' width='{}' height='{}' fill='none' stroke='black'/>\n",
                  kLeft, kTop, kWidth - kLeft - kRight, kHeight - kTop - kBottom);
  for (double v = std::pow(10, std::floor(std::log10(x.lo))); v <= x.hi * 1.0001; v *= 10) {
    if (v < x.lo) continue;
    const double px = x.Map(v, kLeft, kWidth - kRight);
    s += fmt::format("<text x='{:.1f}' y='{}' text-anchor='middle'>{:g}</text>\n", px,
                     kHeight - kBottom + 16, v);
  }
  if (yLog) {
    for (double v = std::pow(10, std::floor(std::log10(y.lo))); v <= y.hi * 1.0001; v *= 10) {
      if (v < y.lo) continue;
      s += fmt::format("<text x='{}' y='{:.1f}' text-anchor='end'>{:g}</text>\n", kLeft - 6,
                       y.Map(v, kHeight - kBottom, kTop) + 4, v);
    }
  }
  s += fmt::format("<text x='{}' y='{}' text-anchor='middle'>{}</text>\n",
                   (kLeft + kWidth - kRight) / 2, kHeight - 12, xLabel);
  s += fmt::format(
      "<text x='14' y='{}' transform='rotate(-90 14 {})' text-anchor='middle'>{}</text>\n",
      kHeight / 2, kHeight / 2, yLabel);
  return s;
}

std::string Legend(int index, const std::string& name) {
  const double y = kTop + 14 + index * 16;
  return fmt::format(
      "<line x1='{}' y1='{:.0f}' x2='{}' y2='{:.0f}' stroke='{}' stroke-width='2'/><text x='{}' "
      "y='{:.0f}'>{}</text>\n",
      kWidth - kRight + 10, y - 4, kWidth - kRight + 30, y - 4, kColours[index % 10],
      kWidth - kRight + 36, y, name);
}

// Predicted latency of each transfer path against size for one direction (log-log), the
// library's automatic choice dashed over them, and a vertical line where that choice changes.
std::string PredictedPathsPlot(const Report& report, const std::string& direction) {
  const char* kPaths[] = {"inband", "out-of-line", "client-memory", "bounce", "registered", "auto"};
  std::map<std::string, std::vector<const Result*>> series;
  double minSize = 1e30, maxSize = 1, minNs = 1e30, maxNs = 1;
  for (const Result& r : report.results) {
    if (r.direction != direction || r.predictedNs <= 0 || r.size == 0) continue;
    if (std::find(std::begin(kPaths), std::end(kPaths), r.path) == std::end(kPaths)) continue;
    series[r.path].push_back(&r);
    minSize = std::min<double>(minSize, r.size);
    maxSize = std::max<double>(maxSize, r.size);
    minNs = std::min(minNs, r.predictedNs);
    maxNs = std::max(maxNs, r.predictedNs);
  }
  if (series.count("auto") == 0) return "";
  const Axis x{minSize, maxSize * 1.5}, y{minNs / 2, maxNs * 2};
  std::string svg =
      Header("Predicted " + direction + " latency per path (" + report.platform + ")");
  svg += Frame(x, y, "bytes per operation", "predicted ns per operation", true);
  int i = 0;
  for (const char* name : kPaths) {
    auto it = series.find(name);
    if (it == series.end()) continue;
    std::string path;
    for (const Result* r : it->second) {
      path += fmt::format("{}{:.1f},{:.1f} ", path.empty() ? "M" : "L",
                          x.Map(r->size, kLeft, kWidth - kRight),
                          y.Map(r->predictedNs, kHeight - kBottom, kTop));
    }
    const bool automatic = it->first == "auto";
    svg += fmt::format("<path d='{}' fill='none' stroke='{}' stroke-width='{}'{}/>\n", path,
                       automatic ? "black" : kColours[i % 10], automatic ? 3 : 2,
                       automatic ? " stroke-dasharray='6,4'" : "");
    svg += automatic ? Legend(9, "auto (the library's choice)") : Legend(i, it->first);
    ++i;
  }
  // The crossovers: where the automatic choice changes between two measured sizes.
  const std::vector<const Result*>& automatic = series["auto"];
  for (size_t k = 1; k < automatic.size(); ++k) {
    if (automatic[k]->chosen == automatic[k - 1]->chosen) continue;
    const double at = std::sqrt(static_cast<double>(automatic[k - 1]->size) * automatic[k]->size);
    const double px = x.Map(at, kLeft, kWidth - kRight);
    svg += fmt::format(
        "<line x1='{:.1f}' y1='{}' x2='{:.1f}' y2='{}' stroke='gray' stroke-dasharray='2,3'/>\n"
        "<text x='{:.1f}' y='{}' font-size='10' text-anchor='middle'>{} | {}</text>\n",
        px, kTop, px, kHeight - kBottom, px, kTop + 12 + 12 * (k % 2), automatic[k - 1]->chosen,
        automatic[k]->chosen);
  }
  return svg + "</svg>\n";
}

}  // namespace

std::vector<std::string> WriteSvgPlots(const Report& report, const std::string& directory) {
  std::vector<std::string> written;
  // Throughput against size.
  std::map<std::string, std::vector<const Result*>> series;
  double minSize = 1e30, maxSize = 1, minRate = 1e30, maxRate = 1;
  for (const Result& r : report.results) {
    if (r.size == 0 || r.bytesPerSecond <= 0 || r.path.rfind("register", 0) == 0) continue;
    series[r.direction.empty() ? r.path : r.path + " " + r.direction].push_back(&r);
    minSize = std::min<double>(minSize, r.size);
    maxSize = std::max<double>(maxSize, r.size);
    minRate = std::min(minRate, r.bytesPerSecond / 1e6);
    maxRate = std::max(maxRate, r.bytesPerSecond / 1e6);
  }
  if (!series.empty()) {
    const Axis x{minSize, maxSize * 1.5}, y{std::max(minRate / 2, 1e-3), maxRate * 2};
    std::string svg = Header("Throughput against transfer size (" + report.platform + ")");
    svg += Frame(x, y, "bytes per operation", "MB/s", true);
    int i = 0;
    for (const auto& [name, points] : series) {
      std::string path;
      for (const Result* r : points) {
        path += fmt::format("{}{:.1f},{:.1f} ", path.empty() ? "M" : "L",
                            x.Map(r->size, kLeft, kWidth - kRight),
                            y.Map(r->bytesPerSecond / 1e6, kHeight - kBottom, kTop));
      }
      svg += fmt::format("<path d='{}' fill='none' stroke='{}' stroke-width='2'/>\n", path,
                         kColours[i % 10]);
      svg += Legend(i++, name);
    }
    svg += "</svg>\n";
    const std::string file = directory + "/throughput.svg";
    std::ofstream(file) << svg;
    written.push_back(file);
  }
  // Latency CDF of 4 KiB operations (and the empty call).
  std::vector<const Result*> cdf;
  double minNs = 1e30, maxNs = 1;
  for (const Result& r : report.results) {
    if ((r.size == 4096 || r.path == "empty-call" || r.path == "syscall") &&
        r.quantiles.size() == 101) {
      cdf.push_back(&r);
      minNs = std::min(minNs, std::max(r.quantiles.front(), 1.0));
      maxNs = std::max(maxNs, r.quantiles.back());
    }
  }
  if (!cdf.empty()) {
    const Axis x{minNs / 1.5, maxNs * 1.5};
    std::string svg = Header("Latency CDF, 4 KiB operations (" + report.platform + ")");
    svg += Frame(x, Axis{1, 10}, "nanoseconds", "fraction of operations", false);
    for (int q = 0; q <= 4; ++q) {
      svg += fmt::format("<text x='{}' y='{:.1f}' text-anchor='end'>{:.2f}</text>\n", kLeft - 6,
                         kHeight - kBottom - q * (kHeight - kTop - kBottom) / 4 + 4, q / 4.0);
    }
    int i = 0;
    for (const Result* r : cdf) {
      std::string path;
      for (int q = 0; q <= 100; ++q) {
        path += fmt::format("{}{:.1f},{:.1f} ", q ? "L" : "M",
                            x.Map(std::max(r->quantiles[q], 1.0), kLeft, kWidth - kRight),
                            kHeight - kBottom - q / 100.0 * (kHeight - kTop - kBottom));
      }
      svg += fmt::format("<path d='{}' fill='none' stroke='{}' stroke-width='2'/>\n", path,
                         kColours[i % 10]);
      svg += Legend(i++, r->direction.empty() ? r->path : r->path + " " + r->direction);
    }
    svg += "</svg>\n";
    const std::string file = directory + "/latency_cdf.svg";
    std::ofstream(file) << svg;
    written.push_back(file);
  }
  for (const char* direction : {"write", "read"}) {
    const std::string svg = PredictedPathsPlot(report, direction);
    if (svg.empty()) continue;
    const std::string file = directory + "/predicted_paths_" + direction + ".svg";
    std::ofstream(file) << svg;
    written.push_back(file);
  }
  return written;
}

}  // namespace fpgadext::bench
