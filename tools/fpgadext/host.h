// What the platform must do before fpgadext::Device can see boards.
//
// On a Mac: nothing — the installed dext drives the real boards (native_host.cpp).
// On Linux: build an emulated Mac, plug a board model into its PCI bus (card memory backed by a
// file, so consecutive commands see the same data) and load the FpgaDext bundle
// (emulated_host.cpp). CMake compiles exactly one of the two, so the command code is the same on
// both platforms.
#pragma once

#include <fpgadext/fpgadext.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace fpgadext::cli {

struct HostOptions {
  std::string board = "xdma";  // emulated board: "xdma", "xdma-stream" or "bram"
  std::string cardFile;        // empty: $FPGADEXT_CARD_FILE, else the cache default
  uint64_t cardSize = 0;       // 0: the board's default
  bool verbose = false;        // driver log messages down to "info"
  // xdma-stream: packets its stream generator sends on stream channel 2, sizes in turn (empty:
  // no generator; docs/streams.md).
  std::vector<uint32_t> streamGenerator;
  // Emulated XDMA board's link timing model (docs/models.md "Timing model"): "none" (as fast
  // as memcpy), "tb3" (Thunderbolt 3, PCIe Gen3 x4 tunnelled), "gen3x8", "gen4x16".
  std::string timing = "none";
  // Host-cost model of the emulated Mac (docs/performance.md "Host-cost model"): "none" (the
  // emulation's own costs only) or "mac-m2" (an M2 Mac's driver call, wiring, interrupt
  // delivery and sleep costs, charged where they occur).
  std::string hostTiming = "none";
};

// Facts about the host for `info` (all empty / zero on a Mac).
struct HostDescription {
  std::string kind;  // "native" or "emulated"
  std::string board;
  std::string cardFile;
  uint64_t cardSize = 0;
  std::string dextBundle;
  std::string timing;         // the emulated board's timing preset
  std::string hostTiming;     // the emulated Mac's host-cost profile
  std::string machineSocket;  // kind "machine": the machine daemon this process talks to
};

// What a host that sees the device itself offers the benchmark (bench::Options hooks); empty
// on a Mac.
struct DeviceProbes {
  std::function<bool()> registerRead;                            // one user-BAR read by the model
  std::function<void(uint64_t* jobs, uint64_t* ns)> engineTime;  // cumulative DMA engine time
  // Cumulative modelled time: the host-cost model's charges and the board's link model.
  std::function<void(uint64_t* hostNs, uint64_t* linkNs)> modelledTime;
  // The board's stream generator on a C2H stream channel: packets of packetBytes, 0 stops it.
  std::function<bool(uint32_t channel, uint32_t packetBytes)> streamGenerator;
};

class Host {
 public:
  virtual ~Host() = default;
  virtual HostDescription Describe() const = 0;
  virtual DeviceProbes Probes() const { return {}; }
};

// Prepares the platform. On failure the Status says why (the command exits with the I/O code);
// an emulated card file or size that cannot work throws CliError with the usage code.
// The host must outlive every Device opened after it.
// On Linux, when a machine daemon answers at MachineSocketPath(options), the library talks to
// it instead (kind "machine"; the board options are the daemon's then); otherwise the emulated Mac
// is built in this process.
Status StartHost(const HostOptions& options, std::unique_ptr<Host>* host);

// Linux: the machine daemon's socket (`fpgadext machine`): FPGADEXT_MACHINE, else the card
// file's path with ".sock" appended. Builds the emulated Mac in this process whatever runs
// there: what the daemon itself does.
std::string MachineSocketPath(const HostOptions& options);
Status StartHostHere(const HostOptions& options, std::unique_ptr<Host>* host);

}  // namespace fpgadext::cli
