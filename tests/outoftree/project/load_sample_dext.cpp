// Loads the SampleDext bundle on an emulated Mac with a board whose IDs it matches, and checks
// that its driver started. Exit status 0 on success.
#include <IOKit/IOKitLib.h>
#include <fpgadext/emu/machine.h>
#include <models/bram/bram_model.h>

#include <cstdio>

int main() {
  fpgadext::emu::Machine machine;
  fpgadext::models::BramModel board;
  if (machine.AttachPciFunction(&board, "board") != kIOReturnSuccess) {
    std::fprintf(stderr, "cannot attach the board\n");
    return 1;
  }
  if (IOReturn ret = machine.LoadDext(SAMPLE_DEXT_BUNDLE); ret != kIOReturnSuccess) {
    std::fprintf(stderr, "LoadDext(%s): 0x%x\n", SAMPLE_DEXT_BUNDLE, ret);
    return 1;
  }
  io_service_t service =
      IOServiceGetMatchingService(kIOMainPortDefault, IOServiceNameMatching("SampleDriver"));
  if (service == IO_OBJECT_NULL) {
    std::fprintf(stderr, "SampleDriver did not start on the board\n");
    return 1;
  }
  IOObjectRelease(service);
  std::printf("SampleDriver started from %s\n", SAMPLE_DEXT_BUNDLE);
  return 0;
}
