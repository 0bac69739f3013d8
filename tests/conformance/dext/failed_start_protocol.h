// How the conformance dext is asked to fail its Start, and what it reports (failed_start_test.cpp):
// through the probe's BAR0 scratch register, which the test reads on the model directly since no
// app connection exists to a driver whose Start failed.
#pragma once

#include <stdint.h>

namespace conformance {

// Written to the scratch register before the dext loads: ConformanceDriver::Start then opens the
// device, enables Memory Space and Bus Lead, calls RegisterService, and fails.
inline constexpr uint64_t kFailStartRequest = 0x46A11'57A27ull;
// What Start leaves in the scratch register just before it fails.
inline constexpr uint64_t kStartFailed = 0xF1;
// Or-ed into the scratch register by Stop and by free of the driver that failed.
inline constexpr uint64_t kStopRan = 0x100;
inline constexpr uint64_t kFreeRan = 0x200;
// The error Start returns.
inline constexpr int32_t kFailStartError = static_cast<int32_t>(0xE00002CA);  // kIOReturnIOError

}  // namespace conformance
