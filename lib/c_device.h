// What a C API handle (fpgadext.h) holds, for the files that implement the C API
// (fpgadext_c.cpp, stream_c.cpp).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "fpgadext/fpgadext.hpp"

struct fpgadext_device {
  fpgadext::Device device;
  std::string lastError;
};

namespace fpgadext::c_api {

// Keeps `status`'s message as the device's last error (fpgadext_last_error); its code.
inline int Record(fpgadext_device* device, const Status& status) {
  device->lastError = status.ok() ? std::string() : std::string(status.message());
  return status.code();
}

// A C timeout in nanoseconds; UINT64_MAX (anything past the clock's range): no limit.
inline std::chrono::nanoseconds Timeout(uint64_t ns) {
  return ns >= static_cast<uint64_t>(std::chrono::nanoseconds::max().count())
             ? std::chrono::nanoseconds::max()
             : std::chrono::nanoseconds(static_cast<int64_t>(ns));
}

}  // namespace fpgadext::c_api
