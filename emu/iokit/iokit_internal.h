// Shared by the emulated IOKitLib's files.
#pragma once

#include <mach/mach_types.h>

namespace fpgadext::emu::iokit {

// The name of the calling task's port (mach_task_self()).
inline constexpr mach_port_t kTaskSelf = 0x203;

}  // namespace fpgadext::emu::iokit
