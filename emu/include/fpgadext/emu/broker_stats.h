// Counters of the emulated kernel broker, for tests that check how many driver calls a path
// makes (e.g. none per operation on the submission ring in steady state).
#pragma once

#include <cstdint>

namespace fpgadext::emu::broker {

// IOConnectCall*Method calls (sync and async) that reached the broker since the process began.
uint64_t CallCount();

}  // namespace fpgadext::emu::broker
