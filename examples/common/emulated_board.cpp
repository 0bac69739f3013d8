// See emulated_board.h. The machine is a static object: built before main(), torn down after it
// returns (after the example has closed its devices), the board outliving the machine.
#include "emulated_board.h"

#include <fpgadext/emu/entitlements.h>
#include <fpgadext/emu/machine.h>

#include <cstdio>
#include <cstdlib>

#include "models/xdma/xdma_model.h"

#ifndef FPGADEXT_DEXT_BUNDLE
#error "FPGADEXT_DEXT_BUNDLE (the FpgaDext.dext bundle path) must be defined"
#endif

namespace fpgadext::examples {
namespace {

models::XdmaModel::Config BoardConfig() {
  models::XdmaModel::Config config;
  config.cardMemorySize = kEmulatedCardMemory;
  return config;
}

struct EmulatedBoard {
  models::XdmaModel board{BoardConfig()};  // declared first: outlives the machine
  emu::Machine machine;

  EmulatedBoard() {
    // The example app is entitled to open the dext, as it would be signed on a Mac.
    emu::GrantUserClientAccess("org.fpgadext.driver");
    if (IOReturn ret = machine.AttachPciFunction(&board, "fpga0"); ret != kIOReturnSuccess) {
      std::fprintf(stderr, "emulated board: the machine refused the XDMA board (0x%x)\n", ret);
      std::exit(2);
    }
    if (IOReturn ret = machine.LoadDext(FPGADEXT_DEXT_BUNDLE); ret != kIOReturnSuccess) {
      std::fprintf(stderr, "emulated board: cannot load %s (0x%x)\n", FPGADEXT_DEXT_BUNDLE, ret);
      std::exit(2);
    }
  }
};

EmulatedBoard gBoard;

}  // namespace
}  // namespace fpgadext::examples
