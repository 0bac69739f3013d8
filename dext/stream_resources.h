// StreamResources: the board's AXI-Stream channels (docs/streams.md), built once at Start beside
// the memory-mapped mover when the XDMA IP reports stream channels (identifier bit 15): the
// engine's StreamMover (engine/xdma/xdma_stream.h), the descriptor rings, writeback words and
// C2H result slots it uses, all prepared for DMA here, and which client holds which channel.
#pragma once

#include <atomic>

#include <DriverKit/IOReturn.h>
#include <PCIDriverKit/IOPCIDevice.h>
#include <fpgadext/engine/platform.h>
#include <fpgadext/engine/stream_channel.h>
#include <stdint.h>
#include <xdma/xdma_descriptors.h>

#include "bar_layout.h"
#include "io_owned.h"
#include "pci_register_io.h"
#include "prepared_buffer.h"

namespace fpgadext::dext {

class StreamResources {
 public:
  struct Engine;  // the XdmaStream (stream_resources.cpp): its header stays out of this one

  // On success *resources holds the probed stream channels. kIOReturnNotFound: the board has
  // none (not an error for the driver). On failure nothing is left prepared or allocated.
  [[nodiscard]] static IOReturn Create(IOPCIDevice* device, const BarLayout& layout,
                                       const engine::Platform& platform,
                                       IOOwned<StreamResources>* resources);
  StreamResources() = default;
  ~StreamResources();  // stops every stream channel before its memory goes
  StreamResources(const StreamResources&) = delete;
  StreamResources& operator=(const StreamResources&) = delete;

  engine::StreamMover& Mover() { return *mover_; }
  // Stream channels per engine direction (bit c = channel c).
  uint32_t Channels(uint32_t direction) const { return channels_[direction & 1]; }
  // Takes a stream channel of `direction` for one client: `wanted` (an index) or any free one
  // (protocol::kStreamAnyChannel). kIOReturnNotFound: no such stream channel;
  // kIOReturnExclusiveAccess: taken by another stream.
  [[nodiscard]] IOReturn Claim(uint32_t direction, uint64_t wanted, uint32_t* channel);
  void Unclaim(uint32_t direction, uint32_t channel);

 private:
  PciRegisterIo io_;
  PreparedBuffer sendRings_[xdma::kMaxChannels];
  PreparedBuffer sendWriteback_;
  PreparedBuffer receiveRings_[xdma::kMaxChannels];
  PreparedBuffer receiveResults_[xdma::kMaxChannels];
  IOOwned<Engine> engine_;
  engine::StreamMover* mover_ = nullptr;  // engine_'s
  uint32_t channels_[2] = {};
  std::atomic<uint32_t> claimed_[2] = {};  // clients' ExternalMethod queues race for them
};

}  // namespace fpgadext::dext
