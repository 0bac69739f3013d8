// Linux only: before main() runs, builds the emulated Mac with a BRAM board (BAR 0 a 1 MiB window
// on card memory, PCI ID 10ee:7011) and loads the porting example's dext, so that the app finds
// the driver as it would on a Mac with the board plugged in and the dext installed.
#include <fpgadext/emu/machine.h>

#include <cstdio>
#include <cstdlib>

#include "models/bram/bram_model.h"

#ifndef PORTING_DEXT_BUNDLE
#error "PORTING_DEXT_BUNDLE (the PortingDext.dext bundle path) must be defined"
#endif

namespace {

fpgadext::models::BramModel::Config BoardConfig() {
  fpgadext::models::BramModel::Config config;
  config.memorySize = 1u << 20;
  return config;
}

struct EmulatedBoard {
  fpgadext::models::BramModel board{BoardConfig()};  // declared first: outlives the machine
  fpgadext::emu::Machine machine;

  EmulatedBoard() {
    if (IOReturn ret = machine.AttachPciFunction(&board, "fpga0"); ret != kIOReturnSuccess) {
      std::fprintf(stderr, "emulated board: the machine refused the BRAM board (0x%x)\n", ret);
      std::exit(2);
    }
    if (IOReturn ret = machine.LoadDext(PORTING_DEXT_BUNDLE); ret != kIOReturnSuccess) {
      std::fprintf(stderr, "emulated board: cannot load %s (0x%x)\n", PORTING_DEXT_BUNDLE, ret);
      std::exit(2);
    }
  }
};

EmulatedBoard gBoard;

}  // namespace
