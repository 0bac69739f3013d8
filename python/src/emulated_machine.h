// Linux: the Python module runs against an emulated Mac, built the way the fpgadext CLI builds
// it (tools/fpgadext/emulated_host.cpp): a board model whose card memory is a file — by default
// the CLI's, so `fpgadext write` in a shell and `fpgadext.open().read()` in Python see the same
// bytes — and the FpgaDext bundle of the build, which matches the board and starts the driver.
#pragma once

#include <fpgadext/fpgadext.hpp>

#include <cstdint>
#include <memory>
#include <string>

namespace fpgadext::python {

struct MachineOptions {
  std::string board = "xdma";   // "xdma" (DMA engine) or "bram" (BAR window, PIO)
  std::string cardFile;         // empty: $FPGADEXT_CARD_FILE, else the CLI's cache default
  uint64_t cardSize = 0;        // 0: the board's default (XDMA 1 GiB sparse, BRAM 1 MiB)
  std::string timing = "none";  // XDMA link timing: none, tb3, gen3x8, gen4x16
  std::string dextBundle;       // empty: $FPGADEXT_DEXT_BUNDLE, else the build's FpgaDext.dext
};

struct MachineDescription {
  std::string board;
  std::string cardFile;
  uint64_t cardSize = 0;
  std::string dextBundle;
  std::string timing;
};

// What the board model counted (the XDMA model's; zero for the BRAM board, which has no DMA).
struct BoardCounters {
  uint64_t h2cBytes = 0;  // host → card bytes its DMA engines moved
  uint64_t c2hBytes = 0;  // card → host
  uint64_t h2cDescriptors = 0;
  uint64_t c2hDescriptors = 0;
  uint64_t iommuRefusals = 0;
};

class EmulatedMachine {
 public:
  struct Parts;
  EmulatedMachine();
  ~EmulatedMachine();  // tears the machine down before the board it drives
  EmulatedMachine(const EmulatedMachine&) = delete;
  EmulatedMachine& operator=(const EmulatedMachine&) = delete;

  // Builds the machine, plugs the board in and loads the dext. A card file or size that cannot
  // work is kIOReturnBadArgument with the reason; a missing bundle kIOReturnNotFound.
  Status Start(const MachineOptions& options);
  const MachineDescription& description() const { return description_; }
  BoardCounters counters() const;

 private:
  MachineDescription description_;
  std::unique_ptr<Parts> parts_;
};

}  // namespace fpgadext::python
