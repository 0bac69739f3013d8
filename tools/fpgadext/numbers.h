// Numbers on the command line: decimal with an optional binary size suffix (K, M, G, T, each
// optionally followed by "i", "iB" or "B": 4K = 4KiB = 4096), or hexadecimal with 0x (no
// suffix: "0x1B" is 27). Underscores may separate digits ("1_048_583").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace fpgadext::cli {

// The value, or nullopt with `*error` saying why (empty, bad digit, unknown suffix, > 2^64-1).
std::optional<uint64_t> ParseNumber(std::string_view text, std::string* error);

// "1 MiB", "1.5 GiB", "4097 B": for people, not scripts.
std::string HumanSize(uint64_t bytes);
// "1.23 GB/s" (decimal units, as link speeds are quoted).
std::string HumanRate(double bytesPerSecond);

}  // namespace fpgadext::cli
