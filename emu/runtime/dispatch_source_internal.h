// Shared by the emulated dispatch sources (interrupt, timer): helpers of the runtime, not part of
// any Apple header.
#pragma once

#include <DriverKit/IODispatchSource.h>

class IODispatchQueue;

namespace fpgadext::emu {

// Runs `handler` (a SetEnableWithCompletion or Cancel block; may be NULL) on `queue` after every
// block already queued there, so it follows the deliveries in flight.
void RunAfterQueued(IODispatchQueue* queue, IODispatchSourceCancelHandler handler);

}  // namespace fpgadext::emu
