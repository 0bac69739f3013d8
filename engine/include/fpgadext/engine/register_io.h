// Register access for engines: any type with
//   uint32_t Read32(uint32_t offset);
//   void Write32(uint32_t offset, uint32_t value);
// (offsets relative to the BAR) satisfies RegisterIo — the dext's IOPCIDevice MMIO, a test's
// direct access to a model, a recording mock. Engines are templates on it: no virtual call per
// register access (style.md "What to absorb" 3).
#pragma once

#include <stdint.h>

#include <concepts>

namespace fpgadext::engine {

template <class T>
concept RegisterIo = requires(T io, uint32_t offset, uint32_t value) {
  { io.Read32(offset) } -> std::same_as<uint32_t>;
  io.Write32(offset, value);
};

}  // namespace fpgadext::engine
