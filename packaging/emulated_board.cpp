// libfpgadext_emulated.so (Linux): a program linked with it finds, from main() on, the emulated
// XDMA board the fpgadext CLI uses — same card file (FPGADEXT_CARD_FILE, else
// ~/.cache/fpgadext/card0.bin), the FpgaDext bundle installed next to this library
// (lib/fpgadext/FpgaDext.dext; FPGADEXT_DEXT_BUNDLE overrides it). The machine is built before
// main() and torn down after it returns; the program closes its devices before that.
#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "emulated_machine.h"

namespace fpgadext::python {
namespace {

// <directory of this library>/fpgadext/FpgaDext.dext when it is there (an installed copy).
std::string InstalledBundle() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&InstalledBundle), &info) == 0 || !info.dli_fname) return "";
  const std::filesystem::path bundle =
      std::filesystem::path(info.dli_fname).parent_path() / "fpgadext" / "FpgaDext.dext";
  std::error_code ec;
  return std::filesystem::exists(bundle / "Info.plist", ec) ? bundle.string() : "";
}

struct Board {
  EmulatedMachine machine;
  Board() {
    MachineOptions options;
    options.dextBundle = InstalledBundle();
    if (Status s = machine.Start(options); !s) {
      // The IOReturn as a number: this library does not carry the app library's name table.
      std::fprintf(stderr, "fpgadext emulated board: %s (0x%x)\n", s.message(),
                   static_cast<unsigned>(s.code()));
      std::exit(2);
    }
  }
};

Board gBoard;

}  // namespace
}  // namespace fpgadext::python
