// Status messages of the library's components: what failed, in the caller's terms.
#pragma once

#include <cstdint>

#include "fpgadext/fpgadext.hpp"

namespace fpgadext {

constexpr int kBarCount = 6;

// A Status with a printf-formatted message.
__attribute__((format(printf, 2, 3))) Status Fail(IOReturnCode code, const char* format, ...);
// Why the dext (or the kernel) refused a call, in the caller's terms.
const char* Reason(IOReturnCode code);
// The Status of a call on a Device that is not open.
Status NotOpen();
// The Status of a call after the board went away (kIOReturnNoDevice).
Status Gone(const char* what);

}  // namespace fpgadext
