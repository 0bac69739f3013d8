// Shared vocabulary of the engine: directions, bus segments, limits. Dext-safe (DESIGN.md
// decision 4): fixed-width types and IOReturn only.
#pragma once

#include <DriverKit/IOReturn.h>
#include <stddef.h>
#include <stdint.h>

namespace fpgadext::engine {

// Data direction, named from the host's side as the XDMA IP names its channels.
enum class Direction : uint8_t {
  kHostToCard = 0,  // H2C: a write to the card
  kCardToHost = 1,  // C2H: a read from the card
};

// One range of bus addresses (IOVAs) a device may access, as IODMACommand::PrepareForDMA
// returns them.
struct BusSegment {
  uint64_t address;
  uint64_t length;
};

// IODMACommand::PrepareForDMA returns at most this many segments per call.
inline constexpr uint32_t kMaxSegmentsPerWindow = 32;

}  // namespace fpgadext::engine
