#include "numbers.h"

#include <fmt/format.h>

#include <cctype>

namespace fpgadext::cli {

std::optional<uint64_t> ParseNumber(std::string_view text, std::string* error) {
  auto fail = [&](std::string message) -> std::optional<uint64_t> {
    *error = fmt::format("'{}': {}", text, message);
    return std::nullopt;
  };
  if (text.empty()) return fail("empty number");
  unsigned base = 10;
  std::string_view digits = text;
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    base = 16;
    digits = text.substr(2);
  }
  uint64_t value = 0;
  size_t i = 0;
  bool any = false;
  for (; i < digits.size(); ++i) {
    const char c = digits[i];
    if (c == '_' && any) continue;
    unsigned d;
    if (c >= '0' && c <= '9') {
      d = static_cast<unsigned>(c - '0');
    } else if (base == 16 && std::isxdigit(static_cast<unsigned char>(c))) {
      d = static_cast<unsigned>(std::tolower(static_cast<unsigned char>(c)) - 'a' + 10);
    } else {
      break;
    }
    if (value > (UINT64_MAX - d) / base) return fail("does not fit in 64 bits");
    value = value * base + d;
    any = true;
  }
  if (!any) return fail("not a number (decimal, or hexadecimal with 0x)");
  std::string_view suffix = digits.substr(i);
  if (suffix.empty()) return value;
  if (base == 16) return fail("hexadecimal numbers take no size suffix");
  unsigned shift = 0;
  switch (std::toupper(static_cast<unsigned char>(suffix[0]))) {
    case 'K':
      shift = 10;
      break;
    case 'M':
      shift = 20;
      break;
    case 'G':
      shift = 30;
      break;
    case 'T':
      shift = 40;
      break;
    default:
      return fail("unknown suffix (K, M, G or T)");
  }
  std::string_view rest = suffix.substr(1);
  if (!(rest.empty() || rest == "i" || rest == "iB" || rest == "B")) {
    return fail("unknown suffix (K, M, G or T, optionally followed by iB or B)");
  }
  if (value > (UINT64_MAX >> shift)) return fail("does not fit in 64 bits");
  return value << shift;
}

std::string HumanSize(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  if (bytes < 1024) return fmt::format("{} B", bytes);
  double v = static_cast<double>(bytes);
  unsigned u = 0;
  while (v >= 1024 && u < 6) {
    v /= 1024;
    ++u;
  }
  if (v == static_cast<double>(static_cast<uint64_t>(v))) {
    return fmt::format("{} {}", static_cast<uint64_t>(v), kUnits[u]);
  }
  return fmt::format("{:.1f} {}", v, kUnits[u]);
}

std::string HumanRate(double bytesPerSecond) {
  static constexpr const char* kUnits[] = {"B/s", "kB/s", "MB/s", "GB/s", "TB/s"};
  unsigned u = 0;
  while (bytesPerSecond >= 1000 && u < 4) {
    bytesPerSecond /= 1000;
    ++u;
  }
  return fmt::format("{:.3g} {}", bytesPerSecond, kUnits[u]);
}

}  // namespace fpgadext::cli
