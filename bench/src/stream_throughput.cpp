// Stream throughput (stream_throughput.h). Receive measures the steady state of continuous
// streaming: the ring's backlog is drained first, so each sample is the time the next slot took
// to arrive once the app handed the previous ones back — with a source faster than the link,
// the link's rate when the driver keeps the engine fed. Send measures one packet's Send call;
// the board loops H2C packets back to its C2H source, so a second connection drains that side
// meanwhile (otherwise the source fills and back-pressures the sends).
#include "stream_throughput.h"

#include <algorithm>
#include <atomic>
#include <bit>
#include <thread>
#include <vector>

#include "paths_wanted.h"

namespace fpgadext::bench {
namespace {

constexpr auto kTimeout = std::chrono::seconds(10);
// Receive slots: 64 B granularity (PG195 "Length Granularity"); rows from 4 KiB to 4 MiB, with
// about 16 MiB of ring (at least 4 slots, at most the 512 the dext allows) so that the card has
// slots to fill while the app holds a few.
constexpr uint64_t kSmallestSlot = 4096;
constexpr uint64_t kLargestSlot = 4ull << 20;
constexpr uint64_t kRingBytes = 16ull << 20;

int LowestChannel(uint32_t mask) {
  return mask == 0 ? -1 : std::countr_zero(mask);
}

uint32_t SlotsFor(uint64_t slotSize) {
  const uint64_t slots = std::bit_floor(std::max<uint64_t>(kRingBytes / slotSize, 1));
  return static_cast<uint32_t>(std::clamp<uint64_t>(slots, 4, 512));
}

// Receives and hands back slots on a connection of its own until destroyed.
class LoopbackDrain {
 public:
  LoopbackDrain(uint32_t deviceIndex, int channel) {
    StreamOptions o;
    o.channel = channel;
    o.slots = 16;
    o.slotSize = 1ull << 20;
    if (!Device::Open(deviceIndex, &device_) ||
        !device_.OpenStream(StreamDirection::kFromCard, o, &stream_)) {
      return;
    }
    thread_ = std::thread([this] {
      while (!stop_.load(std::memory_order_acquire)) {
        StreamBuffer slot;
        (void)stream_.Receive(std::chrono::milliseconds(20), &slot);
      }
    });
  }
  ~LoopbackDrain() {
    stop_.store(true, std::memory_order_release);
    if (thread_.joinable()) thread_.join();
    (void)stream_.Close();
  }
  bool ok() const { return thread_.joinable(); }

 private:
  Device device_;
  Stream stream_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

void MeasureReceive(Device& device, const Options& options, const AddMeasurement& add,
                    const std::vector<uint64_t>& sizes, int channel) {
  for (uint64_t size : sizes) {
    if (size % 64 != 0 || size < kSmallestSlot || size > kLargestSlot) continue;
    StreamOptions o;
    o.channel = channel;
    o.slots = SlotsFor(size);
    o.slotSize = size;
    Stream rx;
    if (!device.OpenStream(StreamDirection::kFromCard, o, &rx)) return;
    if (!options.streamGenerator(static_cast<uint32_t>(channel), static_cast<uint32_t>(size))) {
      return;
    }
    auto receiveOne = [&] {
      StreamBuffer slot;
      return rx.Receive(kTimeout, &slot).ok() && slot.status() == 0;
    };
    bool flowing = true;
    for (uint32_t i = 0; i < 2 * o.slots && flowing; ++i) flowing = receiveOne();
    if (flowing) add("stream-receive", "read", size, receiveOne);
    (void)options.streamGenerator(static_cast<uint32_t>(channel), 0);  // stop, empty the source
    (void)rx.Close();
  }
}

void MeasureSend(Device& device, const Options& options, const AddMeasurement& add,
                 const std::vector<uint64_t>& sizes, int channel, bool loopsBack) {
  Stream tx;
  StreamOptions o;
  o.channel = channel;
  if (!device.OpenStream(StreamDirection::kToCard, o, &tx)) return;
  if (options.streamGenerator) (void)options.streamGenerator(static_cast<uint32_t>(channel), 0);
  std::unique_ptr<LoopbackDrain> drain;
  if (loopsBack) {
    drain = std::make_unique<LoopbackDrain>(options.device, channel);
    if (!drain->ok()) return;
  }
  uint64_t largest = 0;
  for (uint64_t s : sizes) largest = std::max(largest, s);
  std::vector<std::byte> packet(largest, std::byte{0x3c});
  for (uint64_t size : sizes) {
    const std::span<const std::byte> bytes(packet.data(), size);
    add("stream-send", "write", size, [&] { return tx.Send(bytes, true).ok(); });
  }
}

}  // namespace

void MeasureStreamThroughput(Device& device, const Options& options,
                             const std::vector<uint64_t>& sizes, const AddMeasurement& add) {
  const bool receive = Wanted(options, "stream-receive") && options.streamGenerator;
  const bool send = Wanted(options, "stream-send");
  if (!receive && !send) return;
  uint32_t toCard = 0, fromCard = 0;
  if (!device.StreamChannels(&toCard, &fromCard) || (toCard | fromCard) == 0) return;
  if (receive && fromCard != 0)
    MeasureReceive(device, options, add, sizes, LowestChannel(fromCard));
  if (send && toCard != 0) {
    const int channel = LowestChannel(toCard);
    MeasureSend(device, options, add, sizes, channel, ((fromCard >> channel) & 1) != 0);
  }
}

}  // namespace fpgadext::bench
