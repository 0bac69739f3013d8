#include "stream_port.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>

namespace fpgadext::models {

void FillStreamPattern(uint64_t packet, uint64_t offset, uint8_t* dst, uint64_t length) {
  static const auto kRamp = [] {
    std::array<uint8_t, 512> ramp{};
    for (size_t i = 0; i < ramp.size(); ++i) ramp[i] = static_cast<uint8_t>(i);
    return ramp;
  }();
  uint64_t done = 0;
  while (done < length) {
    const uint64_t at = offset + done;
    const uint64_t n = std::min<uint64_t>(length - done, 256 - (at & 0xFF));
    std::memcpy(dst + done, kRamp.data() + StreamPatternByte(packet, at), n);
    done += n;
  }
}

StreamPort::StreamPort(const StreamPortConfig& config) : config_(config) {
  if (config_.generator.enabled) generator_ = config_.generator;
}

bool StreamPort::HasSpace(uint64_t bytes) {
  std::lock_guard guard(mutex_);
  return !config_.loopback || fifoBytes_ == 0 || fifoBytes_ + bytes <= config_.fifoBytes;
}

void StreamPort::Sink(std::vector<uint8_t>&& bytes, bool last) {
  std::lock_guard guard(mutex_);
  counters_.h2cBytes += bytes.size();
  if (config_.recordPackets) current_.insert(current_.end(), bytes.begin(), bytes.end());
  if (config_.loopback) {
    fifoBytes_ += bytes.size();
    fifo_.push_back(Chunk{std::move(bytes), 0, last});
  }
  sinkOpen_ = true;
  if (last) EndPacket();
}

void StreamPort::SinkEnd() {
  std::lock_guard guard(mutex_);
  if (!sinkOpen_) {
    // Nothing to end: AXI4-Stream has no beat without data, so there is no empty packet.
    ++counters_.emptyPacketEnds;
    return;
  }
  // The open packet's last chunk is still in the FIFO (Take keeps it): it gets the end mark.
  if (config_.loopback && !fifo_.empty()) fifo_.back().last = true;
  EndPacket();
}

void StreamPort::EndPacket() {
  ++counters_.h2cPackets;
  sinkOpen_ = false;
  if (!config_.recordPackets) return;
  if (recordedBytes_ + current_.size() <= config_.recordLimitBytes) {
    recordedBytes_ += current_.size();
    packets_.push_back(std::move(current_));
  } else {
    ++counters_.unrecordedPackets;
  }
  current_.clear();
}

bool StreamPort::Available() {
  std::lock_guard guard(mutex_);
  Generate();
  if (fifo_.empty()) return false;
  const Chunk& c = fifo_.front();
  return c.taken < c.Size() || c.last || fifo_.size() > 1;
}

uint64_t StreamPort::Take(uint8_t* dst, uint64_t max, bool* last) {
  std::lock_guard guard(mutex_);
  *last = false;
  Generate();
  uint64_t done = 0;
  while (!fifo_.empty()) {
    Chunk& c = fifo_.front();
    if (c.taken == c.Size()) {
      if (c.last) {
        *last = true;
        burstEnded_ |= c.linesAtEnd;
        fifo_.pop_front();
        break;
      }
      // The open packet's tail stays until more bytes or its end mark arrive.
      if (fifo_.size() == 1 && sinkOpen_) break;
      fifo_.pop_front();
      continue;
    }
    if (done == max) break;
    const uint64_t n = std::min<uint64_t>(max - done, c.Size() - c.taken);
    if (c.generated) {
      FillStreamPattern(c.packet, c.taken, dst + done, n);
    } else {
      std::memcpy(dst + done, c.bytes.data() + c.taken, n);
    }
    c.taken += n;
    done += n;
    fifoBytes_ -= n;
  }
  counters_.c2hBytes += done;
  return done;
}

void StreamPort::Generate() {
  // Whole packets only, and only between packets of the loopback.
  if (!generator_.enabled || !fifo_.empty() || sinkOpen_) return;
  if (generator_.packets != 0 && generated_ >= generator_.packets) return;
  const unsigned count =
      std::max(1u, std::min(generator_.sizeCount, StreamGeneratorConfig::kMaxSizes));
  const uint32_t size = std::max<uint32_t>(1, generator_.sizes[generated_ % count]);
  Chunk c;
  c.generated = true;
  c.packet = generated_;
  c.size = size;
  c.last = true;
  if (generator_.packets != 0 && generated_ + 1 == generator_.packets) {
    c.linesAtEnd = generator_.burstEndLines;
  }
  fifoBytes_ += size;
  fifo_.push_back(std::move(c));
  ++generated_;
  ++counters_.generatedPackets;
}

void StreamPort::Push(const uint8_t* bytes, uint64_t length) {
  if (length == 0) return;
  std::lock_guard guard(mutex_);
  fifoBytes_ += length;
  fifo_.push_back(Chunk{std::vector<uint8_t>(bytes, bytes + length), 0, true});
}

void StreamPort::StartGenerator(const StreamGeneratorConfig& generator) {
  std::lock_guard guard(mutex_);
  if (generator.sizeCount == 0) {
    // No sizes: stop the generator and empty the source FIFO, so a test starts clean.
    generator_.enabled = false;
    burstEnded_ = 0;
    fifo_.clear();
    fifoBytes_ = 0;
    return;
  }
  generator_ = generator;
  generator_.enabled = true;
  generated_ = 0;
}

std::vector<std::vector<uint8_t>> StreamPort::Packets() {
  std::lock_guard guard(mutex_);
  return packets_;
}

void StreamPort::ClearPackets() {
  std::lock_guard guard(mutex_);
  packets_.clear();
  recordedBytes_ = 0;
}

StreamPortCounters StreamPort::Counters() {
  std::lock_guard guard(mutex_);
  return counters_;
}

void StreamPort::CountSourceStall() {
  std::lock_guard guard(mutex_);
  ++counters_.sourceStalls;
}

void StreamPort::CountSinkStall() {
  std::lock_guard guard(mutex_);
  ++counters_.sinkStalls;
}

void StreamPort::CountC2hPacket() {
  std::lock_guard guard(mutex_);
  ++counters_.c2hPackets;
}

uint32_t StreamPort::TakeBurstEnd() {
  std::lock_guard guard(mutex_);
  return std::exchange(burstEnded_, 0u);
}

void StreamPort::CountEmptyPacketEnd() {
  std::lock_guard guard(mutex_);
  ++counters_.emptyPacketEnds;
}

}  // namespace fpgadext::models
