// How termination_test.cpp asks the conformance dext for a slow user-client Stop, and how the
// dext reports the order its Stops ran in: through the probe's BAR0 scratch register, which the
// test reads and writes on the model directly (the app's connection is closing meanwhile).
#pragma once

#include <stdint.h>

namespace conformance {

// Written by the test before it closes its connection: the user client's Stop then writes
// kClientStopping, sleeps kSlowStopMs, and writes kClientStopped if the value is still
// kClientStopping.
inline constexpr uint64_t kSlowStopRequest = 0x510'5709ull;
inline constexpr uint64_t kClientStopping = 0x510'0001ull;
inline constexpr uint64_t kClientStopped = 0x510'0002ull;
inline constexpr uint32_t kSlowStopMs = 300;
// Written by the driver's Stop when it finds kClientStopping: it ran while a client's Stop did.
inline constexpr uint64_t kDriverStoppedDuringClientStop = 0x5100'0BADull;

}  // namespace conformance
