// What the commands print: results as text or as one JSON object on stdout, errors with the
// exit code scripts rely on, and the progress bar on stderr.
#pragma once

#include <chrono>
#include <concepts>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fpgadext::cli {

// Exit codes (documented in `fpgadext --help` and README.md).
enum ExitCode : int {
  kExitOk = 0,
  kExitUsage = 1,     // bad command line: unknown option, bad number, missing file, …
  kExitNoDevice = 2,  // no board at the index (or no board at all)
  kExitIo = 3,        // the driver or the system refused: IOReturn errors, file I/O
  kExitMismatch = 4,  // verify: the card's bytes differ from the expected ones
};

// A failure that ends the command. `code` is an IOReturn name ("kIOReturnOverrun") when the
// driver said it, else a word ("usage", "file"); `value` the IOReturn value when there is one.
struct CliError {
  int exitCode;
  std::string code;
  std::optional<uint32_t> value;
  std::string message;
};

// JSON text of a string, quotes included.
std::string JsonString(std::string_view text);

// An ordered JSON object, built field by field.
class JsonObject {
 public:
  template <typename T>
    requires std::integral<T>
  JsonObject& Add(std::string_view key, T value) {
    if constexpr (std::same_as<T, bool>) {
      return Raw(key, value ? "true" : "false");
    } else {
      return Raw(key, std::to_string(value));
    }
  }
  JsonObject& Add(std::string_view key, double value);
  JsonObject& Add(std::string_view key, std::string_view value) {
    return Raw(key, JsonString(value));
  }
  JsonObject& Add(std::string_view key, const char* value) {
    return Add(key, std::string_view(value));
  }
  JsonObject& Add(std::string_view key, const std::string& value) {
    return Add(key, std::string_view(value));
  }
  JsonObject& Add(std::string_view key, const JsonObject& value) { return Raw(key, value.str()); }
  JsonObject& Add(std::string_view key, const std::vector<JsonObject>& values);
  JsonObject& AddNull(std::string_view key) { return Raw(key, "null"); }
  // `json` must already be valid JSON text.
  JsonObject& Raw(std::string_view key, std::string json);

  std::string str() const;

 private:
  std::vector<std::pair<std::string, std::string>> fields_;
};

// Prints an error: {"error": {...}} on stdout with `json`, else a line on stderr.
void ReportError(const CliError& error, bool json);

// A progress bar on stderr for one transfer. Draws nothing unless stderr is a terminal, and
// only once the transfer has run for a moment; erases itself when done.
class Progress {
 public:
  Progress(std::string label, uint64_t total, bool enabled);
  ~Progress();
  void Update(uint64_t done);
  void Finish();

 private:
  std::string label_;
  uint64_t total_;
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point lastDraw_;
};

}  // namespace fpgadext::cli
