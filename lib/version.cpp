// fpgadext::Version() and fpgadext_version(): the project version, which the build passes in
// (CMake: project(VERSION) in the top-level CMakeLists.txt; Xcode: MARKETING_VERSION in
// macos/config/Shared.xcconfig), so the library, the CLI, the Python module and the dext's
// Info.plist report one number.
#include "fpgadext/fpgadext.h"
#include "fpgadext/fpgadext.hpp"

#ifndef FPGADEXT_VERSION_STRING
#error "FPGADEXT_VERSION_STRING must be defined by the build (lib/CMakeLists.txt)"
#endif

namespace fpgadext {

const char* Version() {
  return FPGADEXT_VERSION_STRING;
}

}  // namespace fpgadext

extern "C" const char* fpgadext_version(void) {
  return fpgadext::Version();
}
