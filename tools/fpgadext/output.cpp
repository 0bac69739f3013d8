#include "output.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>

#include "numbers.h"

namespace fpgadext::cli {

std::string JsonString(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

JsonObject& JsonObject::Add(std::string_view key, double value) {
  return Raw(key, std::isfinite(value) ? fmt::format("{}", value) : "null");
}

JsonObject& JsonObject::Add(std::string_view key, const std::vector<JsonObject>& values) {
  std::string text = "[";
  for (size_t i = 0; i < values.size(); ++i) text += (i ? ", " : "") + values[i].str();
  return Raw(key, text + "]");
}

JsonObject& JsonObject::Raw(std::string_view key, std::string json) {
  fields_.emplace_back(std::string(key), std::move(json));
  return *this;
}

std::string JsonObject::str() const {
  std::string text = "{";
  for (size_t i = 0; i < fields_.size(); ++i) {
    text += fmt::format("{}{}: {}", i ? ", " : "", JsonString(fields_[i].first), fields_[i].second);
  }
  return text + "}";
}

void ReportError(const CliError& error, bool json) {
  if (json) {
    JsonObject e;
    e.Add("code", error.code);
    if (error.value) {
      e.Add("value", *error.value);
    } else {
      e.AddNull("value");
    }
    e.Add("message", error.message);
    e.Add("exit_code", error.exitCode);
    std::fputs((JsonObject().Add("error", e).str() + "\n").c_str(), stdout);
    std::fflush(stdout);
    return;
  }
  if (error.value) {
    fmt::print(stderr, "fpgadext: {} ({} 0x{:08x})\n", error.message, error.code, *error.value);
  } else {
    fmt::print(stderr, "fpgadext: {}\n", error.message);
  }
}

namespace {
constexpr auto kQuietPeriod = std::chrono::milliseconds(300);  // "longer than a moment"
constexpr auto kRedrawPeriod = std::chrono::milliseconds(100);
constexpr int kBarWidth = 30;
}  // namespace

Progress::Progress(std::string label, uint64_t total, bool enabled)
    : label_(std::move(label)),
      total_(total),
      enabled_(enabled && isatty(STDERR_FILENO) == 1),
      start_(std::chrono::steady_clock::now()) {}

Progress::~Progress() {
  Finish();
}

void Progress::Update(uint64_t done) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - start_ < kQuietPeriod || (drawn_ && now - lastDraw_ < kRedrawPeriod)) return;
  lastDraw_ = now;
  drawn_ = true;
  const double seconds = std::chrono::duration<double>(now - start_).count();
  const double fraction = total_ ? static_cast<double>(done) / static_cast<double>(total_) : 1.0;
  const int filled = static_cast<int>(fraction * kBarWidth);
  std::string bar(static_cast<size_t>(filled), '=');
  if (filled < kBarWidth)
    bar += '>' + std::string(static_cast<size_t>(kBarWidth - filled - 1), ' ');
  fmt::print(stderr, "\r{} [{}] {:3.0f}%  {} / {}  {}\x1b[K", label_, bar, fraction * 100,
             HumanSize(done), HumanSize(total_), HumanRate(static_cast<double>(done) / seconds));
  std::fflush(stderr);
}

void Progress::Finish() {
  if (drawn_) {
    std::fputs("\r\x1b[K", stderr);
    std::fflush(stderr);
    drawn_ = false;
  }
  enabled_ = false;
}

}  // namespace fpgadext::cli
