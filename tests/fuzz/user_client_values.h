// Values the "user_client" fuzz target (user_client_fuzzer.cpp) passes as a hostile app would:
// card addresses, lengths and app addresses near the edges that matter, and what each scalar
// of each selector means, so that most calls get past the dext's first check while a value of
// another kind is still chosen often.
#pragma once

#include <fpgadext/protocol.h>
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>

namespace fpgadext::fuzz {

inline constexpr uint64_t kCardMemory = 64ull << 20;
inline constexpr size_t kGuard = 64 << 10;    // inaccessible, around and between the parts
inline constexpr size_t kWritable = 1 << 20;  // app memory the card may read and write
inline constexpr size_t kReadOnly = 64 << 10;

// App memory the target owns: [guard][writable][guard][read-only][guard], one reservation.
struct Arena {
  uint8_t* base = nullptr;
  uint8_t* writable = nullptr;
  uint8_t* guard = nullptr;  // the one between writable and read-only
  uint8_t* readOnly = nullptr;
  size_t size = 0;
};

inline uint64_t CardAddress(FuzzedDataProvider& in) {
  switch (in.ConsumeIntegralInRange<int>(0, 5)) {
    case 0:
      return in.ConsumeIntegralInRange<uint64_t>(0, 0x10000);
    case 1:
      return in.ConsumeIntegralInRange<uint64_t>(0, kCardMemory);
    case 2:
      return kCardMemory - in.ConsumeIntegralInRange<uint64_t>(0, 0x2000);
    case 3:
      return kCardMemory + in.ConsumeIntegralInRange<uint64_t>(0, 0x2000);
    case 4:
      return UINT64_MAX - in.ConsumeIntegralInRange<uint64_t>(0, 0x2000);
    default:
      return in.ConsumeIntegral<uint64_t>();
  }
}

inline uint64_t Length(FuzzedDataProvider& in) {
  switch (in.ConsumeIntegralInRange<int>(0, 5)) {
    case 0:
      return in.ConsumeIntegralInRange<uint64_t>(0, 64);
    case 1:
      return 4096 + in.ConsumeIntegralInRange<int64_t>(-2, 2);
    case 2:
      return in.ConsumeIntegralInRange<uint64_t>(0, kWritable + kGuard);
    case 3:
      return (uint64_t{1} << in.ConsumeIntegralInRange<int>(12, 63)) +
             in.ConsumeIntegralInRange<int64_t>(-1, 1);
    case 4:
      return UINT64_MAX - in.ConsumeIntegralInRange<uint64_t>(0, 0x2000);
    default:
      return in.ConsumeIntegral<uint64_t>();
  }
}

// An app address: inside the arena (any part), or in no mapping at all. A Mac would let a
// hostile app have the card overwrite its own heap, which proves nothing about the dext.
inline uint64_t AppAddress(FuzzedDataProvider& in, const Arena& a) {
  auto at = [](const uint8_t* p) { return reinterpret_cast<uintptr_t>(p); };
  switch (in.ConsumeIntegralInRange<int>(0, 7)) {
    case 0:
    case 1:
      return at(a.writable) + in.ConsumeIntegralInRange<uint64_t>(0, kWritable);
    case 2:
      return at(a.guard) - in.ConsumeIntegralInRange<uint64_t>(0, 0x3000);
    case 3:
      return at(a.readOnly) + in.ConsumeIntegralInRange<uint64_t>(0, kReadOnly);
    case 4:
      return at(a.base) + in.ConsumeIntegralInRange<uint64_t>(0, kGuard - 1);
    case 5:
      return in.ConsumeIntegralInRange<uint64_t>(0, 0x10000);  // the null page and above
    case 6:
      return in.ConsumeIntegral<uint64_t>() | (uint64_t{1} << 63);  // not a user address
    default:
      return UINT64_MAX - in.ConsumeIntegralInRange<uint64_t>(0, 0x10000);
  }
}

// Whether the page at `address` is mapped readable but not writable: memory the dext hands out
// read-only whatever the app asked (a store there faults the app, as on a Mac). Device memory
// the emulation traps is mapped inaccessible and is not read-only.
inline bool MappedReadOnly(uint64_t address) {
  FILE* maps = std::fopen("/proc/self/maps", "r");
  if (maps == nullptr) return false;
  bool readOnly = false;
  unsigned long long begin = 0, end = 0;
  char perms[8] = {};
  char line[512];
  while (std::fgets(line, sizeof line, maps) != nullptr) {
    if (std::sscanf(line, "%llx-%llx %7s", &begin, &end, perms) == 3 && address >= begin &&
        address < end) {
      readOnly = perms[0] == 'r' && perms[1] == '-';
      break;
    }
  }
  std::fclose(maps);
  return readOnly;
}

// What each scalar of a selector means (protocol.h). How many scalars a call carries and
// whether it is async come from protocol::kCallLayouts, so a selector added there is fuzzed
// (with values of any kind) before it gets a row here.
enum class Role : uint8_t {
  kAny,
  kCard,
  kApp,
  kLength,
  kBar,
  kOffset,
  kWidth,
  kDirection,
  kBuffer,
  kEntries,
  kRingDirections,
  kIndex,
  kLineMask,  // user interrupt lines, bits 0..15
};
inline constexpr int kRoledScalars = 5;
using Roles = Role[kRoledScalars];
namespace roles {
inline constexpr Role A = Role::kAny, C = Role::kCard, P = Role::kApp, L = Role::kLength,
                      B = Role::kBar, O = Role::kOffset, W = Role::kWidth, D = Role::kDirection,
                      I = Role::kBuffer, E = Role::kEntries, R = Role::kRingDirections,
                      X = Role::kIndex, M = Role::kLineMask;
}  // namespace roles
inline constexpr Roles kRoles[protocol::kSelectorCount] = {
    // GetDeviceInfo, ReadInband, WriteInband, ReadOutOfLine, WriteOutOfLine
    {},
    {roles::C, roles::L},
    {roles::C},
    {roles::C},
    {roles::C},
    // ReadClientMemory, WriteClientMemory, RegisterRead, RegisterWrite, RegisterBuffer
    {roles::C, roles::P, roles::L},
    {roles::C, roles::P, roles::L},
    {roles::B, roles::O, roles::W},
    {roles::B, roles::O, roles::W, roles::A},
    {roles::P, roles::L, roles::D},
    // UnregisterBuffer, ReadRegistered, WriteRegistered, Nop, ReadAsync
    {roles::I},
    {roles::I, roles::O, roles::C, roles::L},
    {roles::I, roles::O, roles::C, roles::L},
    {},
    {roles::C, roles::P, roles::L, roles::A},
    // WriteAsync, RingCreate, RingDestroy, RingWait
    {roles::C, roles::P, roles::L, roles::A},
    {roles::E, roles::R},
    {},
    {roles::X},
    // 19..24, streams (their owners' word; the counts come with their kCallLayouts rows):
    // StreamOpen {direction, channel, registered buffer, slot size, slots}, StreamClose
    // {direction}, StreamSend {app address, length, flags}, StreamWait {completion seen},
    // StreamCounters {direction}, StreamChannels {}
    {roles::D, roles::X, roles::I, roles::L, roles::E},
    {roles::D},
    {roles::P, roles::L, roles::A},
    {roles::X},
    {roles::D},
    {},
    // 25..27, events: EventsSubscribe {line mask}, EventsWait {sequence seen},
    // EventsUnsubscribe {}; 28 ring doorbell {}; 29 recovery: any kind of value until its row
    {roles::M},
    {roles::X},
    {},
    {},
    {},
    // 30 BounceTransfer {direction, card, offset in the bounce buffer, length}
    {roles::D, roles::C, roles::O, roles::L},
    // 31 CompletionPolicy {policy: 0..3, more refused} (small indices cover both)
    {roles::X},
};

inline uint32_t ScalarInputs(uint32_t selector) {
  return selector < protocol::kSelectorCount ? protocol::kCallLayouts[selector].scalarInputs : 0;
}

inline Role RoleOf(uint32_t selector, uint32_t scalar) {
  if (selector >= protocol::kSelectorCount || scalar >= kRoledScalars) return Role::kAny;
  return kRoles[selector][scalar];
}

// Whether an accepted call of the selector completes (once) through the async reference.
inline bool IsAsyncSelector(uint32_t selector) {
  return selector < protocol::kSelectorCount && protocol::kCallLayouts[selector].async;
}

}  // namespace fpgadext::fuzz
