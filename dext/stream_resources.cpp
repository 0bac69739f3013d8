// StreamResources (stream_resources.h, docs/streams.md).
// C++ library headers first: DriverKit declares the global placement operator new, and
// libc++'s <new> read after any DriverKit header does not compile (docs/macos.md).
#include <atomic>
#include <new>

#include "stream_resources.h"

#include <DriverKit/IOLib.h>
#include <fpgadext/protocol.h>
#include <os/log.h>
#include <xdma/xdma_stream.h>

namespace fpgadext::dext {
namespace {

namespace protocol = fpgadext::protocol;

constexpr uint32_t kSendRingBytes = 64 * 1024;  // 2048 descriptors, as the MM engine's rings
constexpr uint32_t kWritebackStride = 64;       // one word per channel, a cache line apart
// One descriptor and one 32-byte result per receive slot: the most slots a stream may have.
constexpr uint32_t kReceiveCapacity = protocol::kStreamMaxSlots;
static_assert(kReceiveCapacity <= engine::XdmaStream<PciRegisterIo>::kMaxReceiveBuffers);

}  // namespace

struct StreamResources::Engine {
  Engine(PciRegisterIo& io, const engine::Platform& platform,
         const engine::XdmaStreamConfig& config)
      : xdma(io, platform, config) {}
  engine::XdmaStream<PciRegisterIo> xdma;
};

StreamResources::~StreamResources() {
  if (mover_ != nullptr) {
    for (uint32_t d = 0; d < 2; ++d) {
      for (uint32_t c = 0; c < xdma::kMaxChannels; ++c) {
        if (!(channels_[d] & (1u << c))) continue;
        const IOReturn stopped = mover_->Stop(static_cast<engine::Direction>(d), c);
        if (stopped != kIOReturnSuccess) {
          os_log_error(OS_LOG_DEFAULT, "fpgadext: stream channel %u/%u did not stop: 0x%x", d, c,
                       stopped);
        }
      }
    }
  }
  mover_ = nullptr;
  engine_.reset();  // then the memory it used (members, in reverse)
}

IOReturn StreamResources::Create(IOPCIDevice* device, const BarLayout& layout,
                                 const engine::Platform& platform,
                                 IOOwned<StreamResources>* resources) {
  resources->reset();
  if (layout.dmaBar == kNoBar) return kIOReturnNotFound;
  IOOwned<StreamResources> r = IOOwned<StreamResources>::Make();
  if (!r) return kIOReturnNoMemory;
  r->io_ = PciRegisterIo(device, layout.bars[layout.dmaBar].memoryIndex);
  engine::StreamChannelMap map{};
  IOReturn ret = engine::ProbeXdmaChannels(r->io_, &map);
  if (ret != kIOReturnSuccess) return ret;
  const uint32_t send = map.stream[0];
  const uint32_t receive = map.stream[1];
  if (send == 0 && receive == 0) return kIOReturnNotFound;
  // Memory only for the channels that stream.
  engine::XdmaStreamConfig config;
  if (send != 0) {
    ret = r->sendWriteback_.Prepare(device, kIOMemoryDirectionIn, 4096);
    if (ret != kIOReturnSuccess) return ret;
  }
  for (uint32_t c = 0; c < xdma::kMaxChannels; ++c) {
    if (send & (1u << c)) {
      PreparedBuffer& ring = r->sendRings_[c];
      ret = ring.Prepare(device, kIOMemoryDirectionOut, kSendRingBytes);  // the device reads it
      if (ret != kIOReturnSuccess) return ret;
      engine::XdmaChannelMemory& m = config.h2c[c];
      m.ring.cpu = reinterpret_cast<xdma::Descriptor*>(ring.cpu());
      m.ring.segments = ring.segments();
      m.ring.segmentCount = ring.segmentCount();
      m.ring.capacity = kSendRingBytes / sizeof(xdma::Descriptor);
      m.writeback.cpu = reinterpret_cast<uint32_t*>(r->sendWriteback_.cpu() + c * kWritebackStride);
      m.writeback.bus = r->sendWriteback_.segments()[0].address + c * kWritebackStride;
    }
    if (receive & (1u << c)) {
      PreparedBuffer& ring = r->receiveRings_[c];
      ret =
          ring.Prepare(device, kIOMemoryDirectionOut, kReceiveCapacity * sizeof(xdma::Descriptor));
      if (ret != kIOReturnSuccess) return ret;
      PreparedBuffer& results = r->receiveResults_[c];
      ret = results.Prepare(device, kIOMemoryDirectionIn,
                            kReceiveCapacity * sizeof(xdma::StreamResult));  // the device writes
      if (ret != kIOReturnSuccess) return ret;
      engine::XdmaStreamReceiverMemory& m = config.c2h[c];
      m.ring.cpu = reinterpret_cast<xdma::Descriptor*>(ring.cpu());
      m.ring.segments = ring.segments();
      m.ring.segmentCount = ring.segmentCount();
      m.ring.capacity = kReceiveCapacity;
      m.results = reinterpret_cast<xdma::StreamResult*>(results.cpu());
      m.resultSegments = results.segments();
      m.resultSegmentCount = results.segmentCount();
    }
  }
  r->engine_ = IOOwned<Engine>::Make(r->io_, platform, config);
  if (!r->engine_) return kIOReturnNoMemory;
  ret = r->engine_->xdma.Probe();
  if (ret != kIOReturnSuccess) return ret;
  r->mover_ = &r->engine_->xdma;
  r->channels_[0] = r->mover_->StreamChannels(engine::Direction::kHostToCard);
  r->channels_[1] = r->mover_->StreamChannels(engine::Direction::kCardToHost);
  os_log(OS_LOG_DEFAULT, "fpgadext: stream channels 0x%x to the card, 0x%x from it",
         r->channels_[0], r->channels_[1]);
  *resources = static_cast<IOOwned<StreamResources>&&>(r);
  return kIOReturnSuccess;
}

IOReturn StreamResources::Claim(uint32_t direction, uint64_t wanted, uint32_t* channel) {
  const uint32_t d = direction & 1;
  uint32_t candidates = channels_[d];
  if (wanted != protocol::kStreamAnyChannel) {
    if (wanted >= xdma::kMaxChannels || !(candidates & (1u << wanted))) return kIOReturnNotFound;
    candidates = 1u << wanted;
  }
  if (candidates == 0) return kIOReturnNotFound;
  uint32_t taken = claimed_[d].load(std::memory_order_acquire);
  for (;;) {
    const uint32_t free = candidates & ~taken;
    if (free == 0) return kIOReturnExclusiveAccess;
    const uint32_t bit = free & (~free + 1);  // the lowest free channel
    if (claimed_[d].compare_exchange_weak(taken, taken | bit, std::memory_order_acq_rel)) {
      *channel = static_cast<uint32_t>(__builtin_ctz(bit));
      return kIOReturnSuccess;
    }
  }
}

void StreamResources::Unclaim(uint32_t direction, uint32_t channel) {
  if (channel >= xdma::kMaxChannels) return;
  claimed_[direction & 1].fetch_and(~(1u << channel), std::memory_order_acq_rel);
}

}  // namespace fpgadext::dext
