// Fuzz target "cli_number" (docs/reliability.md): the fpgadext command's number parser
// (tools/fpgadext/numbers.h), on any text. After every input: no crash, no sanitizer report,
// and the parser agrees with a second, independent reading of the grammar numbers.h documents
// (decimal with an optional K/M/G/T suffix, each optionally followed by i, iB or B; hexadecimal
// with 0x and no suffix; underscores between digits; values up to 2^64 - 1), computed here in
// 128-bit arithmetic. Numbers the input spells in every form parse back to themselves.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "tools/fpgadext/numbers.h"

namespace {

using u128 = unsigned __int128;

[[noreturn]] void Fail(std::string_view text, const char* what) {
  std::fprintf(stderr, "cli_number fuzzer: '%.*s': %s\n", static_cast<int>(text.size()),
               text.data(), what);
  std::abort();
}

int Digit(char c, unsigned base) {
  if (c >= '0' && c <= '9') return c - '0';
  if (base == 16 && c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (base == 16 && c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The grammar of numbers.h, read independently of numbers.cpp.
std::optional<uint64_t> Reference(std::string_view text) {
  unsigned base = 10;
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    base = 16;
    text.remove_prefix(2);
  }
  // Digits: the first one a digit, then digits and underscores.
  size_t end = 0;
  while (end < text.size() && (Digit(text[end], base) >= 0 || (end > 0 && text[end] == '_'))) {
    ++end;
  }
  if (end == 0) return std::nullopt;
  u128 value = 0;
  for (size_t i = 0; i < end; ++i) {
    if (text[i] == '_') continue;
    value = value * base + static_cast<unsigned>(Digit(text[i], base));
    if (value > UINT64_MAX) return std::nullopt;
  }
  const std::string_view suffix = text.substr(end);
  if (suffix.empty()) return static_cast<uint64_t>(value);
  if (base == 16) return std::nullopt;
  static constexpr std::string_view kUnits = "KMGT";
  const size_t unit = kUnits.find(static_cast<char>(suffix[0] & ~0x20));
  if ((suffix[0] | 0x20) < 'a' || (suffix[0] | 0x20) > 'z' || unit == std::string_view::npos) {
    return std::nullopt;
  }
  const std::string_view rest = suffix.substr(1);
  if (rest != "" && rest != "i" && rest != "iB" && rest != "B") return std::nullopt;
  value <<= 10 * (unit + 1);
  if (value > UINT64_MAX) return std::nullopt;
  return static_cast<uint64_t>(value);
}

void Check(std::string_view text) {
  std::string error;
  const std::optional<uint64_t> parsed = fpgadext::cli::ParseNumber(text, &error);
  const std::optional<uint64_t> expected = Reference(text);
  if (parsed.has_value() != expected.has_value()) {
    Fail(text, parsed ? "accepted, the grammar refuses it" : "refused, the grammar accepts it");
  }
  if (parsed && *parsed != *expected) Fail(text, "parsed to another value");
  if (!parsed && error.empty()) Fail(text, "refused without saying why");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  Check(text);
  // Any number, written in each form the grammar has, reads back as itself.
  if (size >= 8) {
    FuzzedDataProvider in(data, size);
    const uint64_t v = in.ConsumeIntegral<uint64_t>();
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%llu", static_cast<unsigned long long>(v));
    Check(buffer);
    std::snprintf(buffer, sizeof buffer, "0x%llX", static_cast<unsigned long long>(v));
    Check(buffer);
    std::string error;
    if (fpgadext::cli::ParseNumber(buffer, &error) != v) Fail(buffer, "not read back");
    std::snprintf(buffer, sizeof buffer, "%lluKiB", static_cast<unsigned long long>(v >> 10));
    if (fpgadext::cli::ParseNumber(buffer, &error) != ((v >> 10) << 10)) {
      Fail(buffer, "not read back");
    }
    (void)fpgadext::cli::HumanSize(v);
  }
  return 0;
}
