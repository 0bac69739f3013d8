// What a C API handle (fpgadext.h) holds, for the files that implement the C API
// (fpgadext_c.cpp, stream_c.cpp).
#pragma once

#include <string>

#include "fpgadext/fpgadext.hpp"

struct fpgadext_device {
  fpgadext::Device device;
  std::string lastError;
};
