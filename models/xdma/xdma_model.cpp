#include "xdma_model.h"

#include <algorithm>

#include "bars.h"
#include "board.h"
#include "channel.h"

namespace fpgadext::models {

using namespace xdma;

namespace {

uint64_t PowerOfTwoAtLeast(uint64_t v, uint64_t min) {
  uint64_t p = min;
  while (p < v) p <<= 1;
  return p;
}

XdmaModel::Config Sanitize(XdmaModel::Config c) {
  c.h2cChannels = std::clamp(c.h2cChannels, 1u, kMaxChannels);
  c.c2hChannels = std::clamp(c.c2hChannels, 1u, kMaxChannels);
  c.h2cStreamChannels &= (1u << c.h2cChannels) - 1;
  c.c2hStreamChannels &= (1u << c.c2hChannels) - 1;
  c.userInterrupts = std::min(c.userInterrupts, kMaxUserInterrupts);
  c.datapathWidthCode &= 3;
  c.msiLog2Vectors = std::min(c.msiLog2Vectors, 5u);
  c.userBarSize = PowerOfTwoAtLeast(c.userBarSize, 4096);
  c.bypassBarSize = PowerOfTwoAtLeast(std::min(c.bypassBarSize, c.cardMemorySize), 4096);
  if (c.bypassBarSize > c.cardMemorySize) c.bypassBar = false;  // cannot be backed
  c.maxChunkBytes = std::max<uint64_t>(c.maxChunkBytes, 64);
  return c;
}

}  // namespace

XdmaModel::XdmaModel() : XdmaModel(Config{}) {}

XdmaModel::XdmaModel(const Config& config)
    : config_(Sanitize(config)), board_(std::make_unique<XdmaBoard>(config_)) {
  // BAR order user, DMA, bypass; 64-bit BARs take two registers (xdma-facts §1).
  const unsigned step = config_.bars64Bit ? 2 : 1;
  unsigned next = 0;
  pci::ConfigSpace& cs = board_->config;
  auto place = [&](uint64_t size, bool prefetchable, emu::MmioRegion* region) {
    const int index = static_cast<int>(next);
    cs.SetBar(next, pci::BarSpec{size, config_.bars64Bit, prefetchable});
    bars_[next] = region;
    next += step;
    return index;
  };
  if (config_.userBar) {
    regions_[0] = std::make_unique<UserBarRegion>(*board_, config_.userBarSize);
    userBarIndex_ = place(config_.userBarSize, false, regions_[0].get());
  }
  regions_[1] = std::make_unique<DmaBarRegion>(*board_);
  dmaBarIndex_ = place(kDmaBarSize, false, regions_[1].get());
  if (config_.bypassBar) {
    regions_[2] = std::make_unique<BypassBarRegion>(*board_, config_.bypassBarSize);
    bypassBarIndex_ = place(config_.bypassBarSize, config_.bars64Bit, regions_[2].get());
  }
  cs.AddMsiCapability(config_.msiLog2Vectors);
  // MSI-X table and PBA inside the DMA BAR (xdma-facts §3.9).
  cs.AddMsixCapability(kMsixTableEntries, static_cast<unsigned>(dmaBarIndex_), kMsixTableBase,
                       kMsixPbaBase);
  cs.AddPcieCapability(config_.link);
  if (config_.functionLevelReset) {
    cs.EnableFunctionLevelReset(
        [](void* board) { static_cast<XdmaBoard*>(board)->FunctionLevelReset(); }, board_.get());
  }
  cs.SetWriteObserver([](void* board) { static_cast<XdmaBoard*>(board)->OnConfigWrite(); },
                      board_.get());
}

XdmaModel::~XdmaModel() = default;

uint32_t XdmaModel::ConfigRead(uint32_t offset, unsigned width) {
  if (board_->removed.load(std::memory_order_acquire)) {
    return width >= 4 ? 0xFFFF'FFFFu : ((1u << (8 * width)) - 1u);
  }
  return board_->config.Read(offset, width);
}

void XdmaModel::ConfigWrite(uint32_t offset, unsigned width, uint32_t value) {
  if (board_->removed.load(std::memory_order_acquire)) return;
  board_->config.Write(offset, width, value);
}

emu::MmioRegion* XdmaModel::Bar(unsigned index) {
  return index < 6 ? bars_[index] : nullptr;
}

void XdmaModel::Connect(emu::DmaPort* port) {
  board_->Connect(port);
}

CardMemory& XdmaModel::cardMemory() {
  return board_->card;
}

pci::ConfigSpace& XdmaModel::configSpace() {
  return board_->config;
}

XdmaModel::Counters XdmaModel::counters() const {
  const auto& a = board_->counters;
  Counters c;
  constexpr auto r = std::memory_order_relaxed;
  for (unsigned ch = 0; ch < kMaxChannels; ++ch) {
    c.h2cBytes[ch] = a.bytes[0][ch].load(r);
    c.c2hBytes[ch] = a.bytes[1][ch].load(r);
    c.h2cDescriptors[ch] = a.descriptors[0][ch].load(r);
    c.c2hDescriptors[ch] = a.descriptors[1][ch].load(r);
  }
  c.interruptsRaised = a.interruptsRaised.load(r);
  c.interruptsSuppressed = a.interruptsSuppressed.load(r);
  for (unsigned v = 0; v < kMaxVectors; ++v) c.vectorMessages[v] = a.vectorMessages[v].load(r);
  c.iommuRefusals = a.iommuRefusals.load(r);
  c.descriptorWarnings = a.descriptorWarnings.load(r);
  c.unloggedErrors = a.unloggedErrors.load(r);
  c.droppedMmioWrites = a.droppedMmioWrites.load(r);
  c.jobs = a.jobs.load(r);
  c.jobNs = a.jobNs.load(r);
  c.wakeNs = a.wakeNs.load(r);
  return c;
}

void XdmaModel::InjectHang(Direction dir, unsigned channel) {
  XdmaBoard::Guard g(*board_);
  if (Channel* c = board_->channel(dir, channel)) c->SetHang(true);
}

void XdmaModel::InjectErrorAfterBytes(Direction dir, unsigned channel, uint64_t bytes,
                                      unsigned statusBit) {
  if (statusBit == 0) statusBit = dir == Direction::kH2c ? 15 : 10;  // AXI SLVERR
  XdmaBoard::Guard g(*board_);
  if (Channel* c = board_->channel(dir, channel)) c->ArmError(bytes, 1u << (statusBit & 31));
}

void XdmaModel::SetSlowLink(double bytesPerSecond) {
  board_->slowLinkBytesPerSecond.store(bytesPerSecond, std::memory_order_relaxed);
}

void XdmaModel::ClearFaults() {
  board_->slowLinkBytesPerSecond.store(0, std::memory_order_relaxed);
  XdmaBoard::Guard g(*board_);
  for (unsigned d = 0; d < 2; ++d) {
    for (unsigned ch = 0; ch < kMaxChannels; ++ch) {
      if (Channel* c = board_->channel(static_cast<Direction>(d), ch)) c->ClearFaults();
    }
  }
  board_->WakeChannels();
}

void XdmaModel::WedgeFunction() {
  XdmaBoard::Guard g(*board_);
  board_->wedged.store(true, std::memory_order_release);
  for (unsigned d = 0; d < 2; ++d) {
    for (unsigned ch = 0; ch < kMaxChannels; ++ch) {
      if (Channel* c = board_->channel(static_cast<Direction>(d), ch)) c->SetHang(true);
    }
  }
}

void XdmaModel::SurpriseRemove() {
  board_->Remove();  // not under the board lock: it waits for a host access in flight
  XdmaBoard::Guard g(*board_);
  board_->WakeChannels();
}

bool XdmaModel::removed() const {
  return board_->removed.load(std::memory_order_acquire);
}

}  // namespace fpgadext::models
