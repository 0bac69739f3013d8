#include "board.h"

#include "channel.h"

namespace fpgadext::models {

using namespace xdma;

namespace {

pci::Identity MakeIdentity(const XdmaModel::Config& c) {
  pci::Identity id;
  id.vendorId = c.vendorId;
  id.deviceId = c.deviceId;
  id.subsystemVendorId = c.subsystemVendorId;
  id.subsystemId = c.subsystemId;
  id.revisionId = c.revisionId;
  id.classCode = c.classCode;
  return id;
}

}  // namespace

XdmaBoard::XdmaBoard(const Config& config)
    : cfg(config),
      config(MakeIdentity(config)),
      card(config.cardMemorySize, config.cardMemoryFile),
      irq(config.h2cChannels, config.c2hChannels, config.userInterrupts, config.ipVersion),
      user(config.cardMemorySize, config.h2cChannels, config.c2hChannels, config.userInterrupts) {
  for (unsigned ch = 0; ch < kMaxChannels; ++ch) {
    if (IsStream(Direction::kH2c, ch) || IsStream(Direction::kC2h, ch)) {
      StreamPortConfig port = cfg.stream;
      // Loopback needs a C2H stream channel of the same number to drain it.
      port.loopback = port.loopback && IsStream(Direction::kC2h, ch);
      streamPorts_[ch] = std::make_unique<StreamPort>(port);
    }
  }
  for (unsigned ch = 0; ch < cfg.h2cChannels; ++ch) {
    channels_[0][ch] = std::make_unique<Channel>(*this, Direction::kH2c, ch);
  }
  for (unsigned ch = 0; ch < cfg.c2hChannels; ++ch) {
    channels_[1][ch] = std::make_unique<Channel>(*this, Direction::kC2h, ch);
  }
}

XdmaBoard::~XdmaBoard() {
  // Every engine thread is joined before any channel goes: a running engine (a stream C2H one
  // publishing a packet) wakes all channels, and would read a channel being freed.
  for (auto& dir : channels_) {
    for (auto& ch : dir) {
      if (ch) ch->StopThread();
    }
  }
  for (auto& dir : channels_) {
    for (auto& ch : dir) ch.reset();
  }
}

// ---------------------------------------------------------------------------------------------
// Guard: messages queued under the lock are sent after it is released.

void XdmaBoard::Guard::Unlock() {
  if (!lk_.owns_lock()) return;
  MsiMessage out[kOutboxSize];
  const unsigned n = board_.outboxCount_;
  for (unsigned i = 0; i < n; ++i) out[i] = board_.outbox_[i];
  board_.outboxCount_ = 0;
  lk_.unlock();
  if (n == 0) return;
  std::shared_lock port(board_.portLock_);
  if (board_.port_ == nullptr || board_.removed.load(std::memory_order_acquire)) return;
  for (unsigned i = 0; i < n; ++i) board_.port_->SignalMessage(out[i].address, out[i].data);
}

void XdmaBoard::Guard::Wait(std::condition_variable& cv) {
  if (board_.outboxCount_ != 0) {
    Unlock();
    Lock();
    return;
  }
  cv.wait(lk_);
}

void XdmaBoard::Queue(const MsiMessage& m) {
  if (outboxCount_ == kOutboxSize) {
    counters.interruptsSuppressed.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  outbox_[outboxCount_++] = m;
}

// ---------------------------------------------------------------------------------------------
// Interrupt delivery: vector → MSI-X entry or MSI message (xdma-facts §3.9, §7).

void XdmaBoard::RaiseVector(unsigned vector) {
  vector %= kMaxVectors;
  // An MSI is a memory write: no bus mastering, no message (PCI Local Bus spec §6.8).
  if (removed.load(std::memory_order_acquire) || !config.BusMasterEnabled()) {
    counters.interruptsSuppressed.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  const pci::MsixState msix_state = config.Msix();
  if (msix_state.enabled) {  // MSI-X wins when both are enabled (§7)
    MsiMessage m;
    if (msix.Signal(vector, msix_state.functionMask, &m)) {
      Queue(m);
      counters.interruptsRaised.fetch_add(1, std::memory_order_relaxed);
      counters.vectorMessages[vector].fetch_add(1, std::memory_order_relaxed);
    }
    return;  // else pending in the PBA until unmasked
  }
  const pci::MsiState msi = config.Msi();
  if (msi.enabled) {
    // Multiple Message: the device puts the vector in the low bits of the data.
    const uint32_t n = msi.vectorsAllocated;
    const uint32_t data = (msi.data & ~(n - 1)) | (vector & (n - 1));
    Queue(MsiMessage{msi.address, data});
    counters.interruptsRaised.fetch_add(1, std::memory_order_relaxed);
    counters.vectorMessages[vector].fetch_add(1, std::memory_order_relaxed);
    return;
  }
  counters.interruptsSuppressed.fetch_add(1, std::memory_order_relaxed);  // INTx not modelled
}

void XdmaBoard::SendPendingMsix() {
  const pci::MsixState s = config.Msix();
  if (!s.enabled || !config.BusMasterEnabled()) return;
  unsigned vector;
  MsiMessage m;
  while (msix.TakeUnmaskedPending(s.functionMask, &vector, &m)) {
    Queue(m);
    counters.interruptsRaised.fetch_add(1, std::memory_order_relaxed);
    counters.vectorMessages[vector].fetch_add(1, std::memory_order_relaxed);
  }
}

void XdmaBoard::OnConfigWrite() {
  Guard g(*this);
  SendPendingMsix();
  // Under the lock, so an engine between checking Bus Master and waiting cannot miss it.
  WakeChannels();
}

void XdmaBoard::FunctionLevelReset() {
  Guard g(*this);
  for (auto& dir : channels_) {
    for (auto& ch : dir) {
      if (ch) ch->Reset(g);
    }
  }
  irq = IrqBlock(cfg.h2cChannels, cfg.c2hChannels, cfg.userInterrupts, cfg.ipVersion);
  msix = MsixTable();
  halt_ = creditEnable_ = 0;
  relaxedOrdering_ = 1;
  writeFlushTimeout_ = 0;
  outboxCount_ = 0;  // messages not yet sent die with the function's state
  wedged.store(false, std::memory_order_release);
}

void XdmaBoard::WakeChannels() {
  for (auto& dir : channels_) {
    for (auto& ch : dir) {
      if (ch) ch->cv.notify_all();
    }
  }
}

Channel* XdmaBoard::channel(Direction dir, unsigned index) {
  return index < kMaxChannels ? channels_[static_cast<unsigned>(dir)][index].get() : nullptr;
}

bool XdmaBoard::ChannelHalted(Direction dir, unsigned index) const {
  return (halt_ & SgdmaChannelBits::BitFor(dir, index)) != 0;
}

bool XdmaBoard::CreditMode(Direction dir, unsigned index) const {
  return (creditEnable_ & SgdmaChannelBits::BitFor(dir, index)) != 0;
}

double XdmaBoard::LinkBytesPerSecond(Direction dir) const {
  double bps = 0;
  if (cfg.timing.enabled) {
    bps = dir == Direction::kH2c ? cfg.timing.h2cBytesPerSecond : cfg.timing.c2hBytesPerSecond;
  }
  const double slow = slowLinkBytesPerSecond.load(std::memory_order_relaxed);
  if (slow > 0 && (bps <= 0 || slow < bps)) bps = slow;
  return bps;
}

// ---------------------------------------------------------------------------------------------
// Host memory.

IOReturn XdmaBoard::HostRead(uint64_t busAddress, void* dst, uint64_t length) {
  std::shared_lock guard(portLock_);
  if (port_ == nullptr) return kIOReturnNotAttached;
  if (removed.load(std::memory_order_relaxed)) return kIOReturnNoDevice;  // set under portLock_
  const IOReturn r = port_->DmaRead(busAddress, dst, length);
  if (r != kIOReturnSuccess) counters.iommuRefusals.fetch_add(1, std::memory_order_relaxed);
  return r;
}

IOReturn XdmaBoard::HostWrite(uint64_t busAddress, const void* src, uint64_t length) {
  std::shared_lock guard(portLock_);
  if (port_ == nullptr) return kIOReturnNotAttached;
  if (removed.load(std::memory_order_relaxed)) return kIOReturnNoDevice;  // set under portLock_
  const IOReturn r = port_->DmaWrite(busAddress, src, length);
  if (r != kIOReturnSuccess) counters.iommuRefusals.fetch_add(1, std::memory_order_relaxed);
  return r;
}

void XdmaBoard::Connect(emu::DmaPort* port) {
  std::unique_lock guard(portLock_);
  port_ = port;
}

void XdmaBoard::Remove() {
  // Under the port lock held exclusively: a host access in flight ends first, and none starts
  // after. A driver that sees the board gone (all ones, an acquire load of `removed`) so sees
  // every byte the board moved before it went, as a root port delivers the TLPs that arrived
  // before the link went down and none after.
  std::unique_lock guard(portLock_);
  removed.store(true, std::memory_order_release);
}

// ---------------------------------------------------------------------------------------------
// BAR access.

bool XdmaBoard::Decodes() const {
  if (removed.load(std::memory_order_acquire) || wedged.load(std::memory_order_acquire)) {
    return false;
  }
  return !cfg.honourMemorySpace || config.MemorySpaceEnabled();
}

void XdmaBoard::MmioReadDelay() const {
  if (cfg.timing.enabled) DelayNs(cfg.timing.mmioReadNs);
}

void XdmaBoard::MmioWriteDelay() const {
  if (cfg.timing.enabled) DelayNs(cfg.timing.postedWriteNs);
}

uint32_t XdmaBoard::ReadDmaReg(uint32_t offset) {
  Guard g(*this);
  const uint32_t target = AddrTarget::Get(offset);
  const unsigned ch = AddrChannel::Get(offset);
  const uint32_t reg = AddrOffset::Get(offset);
  switch (static_cast<Target>(target)) {
    case Target::kH2cChannel:
    case Target::kC2hChannel: {
      Channel* c = channel(static_cast<Direction>(target), ch);
      return c ? c->ReadChannelReg(reg) : 0;  // missing channels read 0 (§1: probe stops)
    }
    case Target::kH2cSgdma:
    case Target::kC2hSgdma: {
      Channel* c = channel(static_cast<Direction>(target - 4), ch);
      return c ? c->ReadSgdmaReg(reg) : 0;
    }
    case Target::kIrq:
      return ch == 0 ? irq.Read(reg) : 0;
    case Target::kConfig:
      return ch == 0 ? ReadConfigBlock(reg) : 0;
    case Target::kSgdmaCommon:
      return ch == 0 ? ReadSgdmaCommon(reg) : 0;
    case Target::kMsix:
      return msix.Read(offset);
    default:
      return 0;
  }
}

void XdmaBoard::WriteDmaReg(uint32_t offset, uint32_t value) {
  Guard g(*this);
  const uint32_t target = AddrTarget::Get(offset);
  const unsigned ch = AddrChannel::Get(offset);
  const uint32_t reg = AddrOffset::Get(offset);
  switch (static_cast<Target>(target)) {
    case Target::kH2cChannel:
    case Target::kC2hChannel:
      if (Channel* c = channel(static_cast<Direction>(target), ch)) c->WriteChannelReg(reg, value);
      return;
    case Target::kH2cSgdma:
    case Target::kC2hSgdma:
      if (Channel* c = channel(static_cast<Direction>(target - 4), ch)) {
        c->WriteSgdmaReg(reg, value);
      }
      return;
    case Target::kIrq:
      if (ch == 0) irq.Write(reg, value, *this);
      return;
    case Target::kConfig:
      if (ch == 0) WriteConfigBlock(reg, value);
      return;
    case Target::kSgdmaCommon:
      if (ch == 0) WriteSgdmaCommon(reg, value);
      return;
    case Target::kMsix:
      msix.Write(offset, value);
      SendPendingMsix();  // an entry may have been unmasked
      return;
    default:
      return;
  }
}

uint32_t XdmaBoard::ReadConfigBlock(uint32_t reg) {
  switch (reg) {
    case config_reg::kIdentifier:
      return Identifier::Expected(Target::kConfig, 0, false, cfg.ipVersion);
    case config_reg::kPcieMaxPayload:
    case config_reg::kAxiUserMaxPayload:
      return config.MaxPayloadCode();
    case config_reg::kPcieMaxReadRequest:
    case config_reg::kAxiUserMaxReadRequest:
      return config.MaxReadRequestCode();
    case config_reg::kSystemId:
      return kSystemIdValue;
    case config_reg::kMsiEnable:
      return ConfigMsiEnable::msi_enable_field::Make(config.Msi().enabled) |
             ConfigMsiEnable::msix_enable_field::Make(config.Msix().enabled);
    case config_reg::kPcieDataWidth:
      return cfg.datapathWidthCode & 3;
    case config_reg::kPcieControl:
      return relaxedOrdering_;
    case config_reg::kWriteFlushTimeout:
      return writeFlushTimeout_;
    default:
      return 0;  // includes BusDev: the model does not know its bus number
  }
}

void XdmaBoard::WriteConfigBlock(uint32_t reg, uint32_t value) {
  if (reg == config_reg::kPcieControl) relaxedOrdering_ = value & 1;
  if (reg == config_reg::kWriteFlushTimeout) writeFlushTimeout_ = value & 0x1F;
}

uint32_t XdmaBoard::ReadSgdmaCommon(uint32_t reg) const {
  switch (reg) {
    case sgdma_common_reg::kIdentifier:
      return Identifier::Expected(Target::kSgdmaCommon, 0, false, cfg.ipVersion);
    case sgdma_common_reg::kDescControl:
      return halt_;
    case sgdma_common_reg::kCreditModeEnable:
      return creditEnable_;
    default:
      return 0;
  }
}

void XdmaBoard::WriteSgdmaCommon(uint32_t reg, uint32_t value) {
  value &= SgdmaChannelBits::kDefinedMask;
  const uint32_t oldCredit = creditEnable_;
  switch (reg) {
    case sgdma_common_reg::kDescControl:
      halt_ = value;
      break;
    case sgdma_common_reg::kDescControlW1S:
      halt_ |= value;
      break;
    case sgdma_common_reg::kDescControlW1C:
      halt_ &= ~value;
      break;
    case sgdma_common_reg::kCreditModeEnable:
      creditEnable_ = value;
      break;
    case sgdma_common_reg::kCreditModeEnableW1S:
      creditEnable_ |= value;
      break;
    case sgdma_common_reg::kCreditModeEnableW1C:
      creditEnable_ &= ~value;
      break;
    default:
      return;
  }
  // Disabling credit mode clears the channel's credits (xdma-facts §3.6).
  for (unsigned d = 0; d < 2; ++d) {
    for (unsigned ch = 0; ch < kMaxChannels; ++ch) {
      const Direction dir = static_cast<Direction>(d);
      const uint32_t bit = SgdmaChannelBits::BitFor(dir, ch);
      Channel* c = channel(dir, ch);
      if (c && (oldCredit & bit) && !(creditEnable_ & bit)) c->ClearCredits();
    }
  }
  WakeChannels();
}

uint32_t XdmaBoard::ReadUserReg(uint32_t offset) {
  Guard g(*this);
  return user.Read(offset);
}

void XdmaBoard::WriteUserReg(uint32_t offset, uint32_t value) {
  Guard g(*this);
  user.Write(offset, value, irq, *this);
}

}  // namespace fpgadext::models
