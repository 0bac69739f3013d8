// fpgadext library: the public C++ API (include/fpgadext/fpgadext.hpp) over IOKitLib only, so
// that these sources build unchanged on a Mac (IOKit.framework) and on Linux (the emulated
// IOKitLib of emu/). Everything that crosses to the dext is in protocol/fpgadext/protocol.h.
//
// This file: opening, describing and closing a Device. The components: transfers.cpp,
// registered_buffers.cpp, async.cpp, ring.cpp, registers.cpp; all reach the dext through a
// Transport (transport.h; iokit_transport.cpp today). docs/library.md has the picture.
#include <fpgadext/protocol.h>

#include <cstdlib>
#include <cstring>

#include "iokit_transport.h"
#include "session.h"

namespace fpgadext {

namespace {

const DeviceInfo kClosedInfo{};

// Maps every BAR an app may use. A platform may refuse: then register access goes through the
// dext, bounds-checked. FPGADEXT_MAP_BARS=0 asks for the driver calls (to compare the two, or
// when a mapped access misbehaves on some machine).
void MapBars(Session& s) {
  const char* mapBars = std::getenv("FPGADEXT_MAP_BARS");
  const bool mapping = mapBars == nullptr || std::strcmp(mapBars, "0") != 0;
  if (!mapping || !(s.capabilities & protocol::kCapabilityMappedBars)) return;
  for (int i = 0; i < kBarCount; ++i) {
    if (s.info.barSizes[i] == 0 || i == s.info.dmaBar) continue;
    uint64_t address = 0;
    uint64_t size = 0;
    if (s.transport->Map(protocol::kMemoryTypeBar0 + i, &address, &size) != kIOReturnSuccess) {
      continue;
    }
    if (size < s.info.barSizes[i]) {  // not the whole BAR: not usable for bounds we promise
      (void)s.transport->Unmap(protocol::kMemoryTypeBar0 + i, address);
      continue;
    }
    s.bars[i] = {address, size};
  }
}

}  // namespace

Status Session::TransferError(int code, const char* what, uint64_t card, uint64_t length,
                              const char* path) const {
  if (code == kIOReturnOverrun) {
    return Fail(code,
                "%s of 0x%" PRIx64 " bytes at card 0x%" PRIx64 " (%s): card range 0x%" PRIx64
                "+0x%" PRIx64 " is outside the card's 0x%" PRIx64 " bytes (%s)",
                what, length, card, path, card, length, info.cardMemorySize, IOReturnName(code));
  }
  return Fail(code, "%s of 0x%" PRIx64 " bytes at card 0x%" PRIx64 " (%s): %s (%s)", what, length,
              card, path, Reason(code), IOReturnName(code));
}

Device::Device() = default;

Device::~Device() {
  Close();
}

Device::Device(Device&& other) noexcept {
  *this = std::move(other);
}

Device& Device::operator=(Device&& other) noexcept {
  if (this == &other) return *this;
  Close();
  state_ = std::move(other.state_);
  if (state_) {
    std::lock_guard guard(state_->lock);
    for (RegisteredBuffer* b : state_->buffers) b->device_ = this;
  }
  return *this;
}

std::vector<BoardSummary> Device::List() {
  return IokitTransport::List();
}

Status Device::Open(uint32_t index, Device* device) {
  if (device == nullptr) return Status(kIOReturnBadArgument, "Open: no Device to open into");
  device->Close();
  std::unique_ptr<IokitTransport> transport;
  if (Status s = IokitTransport::Open(index, &transport); !s) return s;
  auto state = std::make_unique<State>();
  state->transport = std::move(transport);
  Session& s = *state;

  uint64_t raw[protocol::kDeviceInfoCount] = {};
  uint32_t count = protocol::kDeviceInfoCount;
  int ret = s.transport->Call(protocol::kSelectorGetDeviceInfo, nullptr, 0, raw, &count);
  if (ret == kIOReturnSuccess && count != protocol::kDeviceInfoCount) ret = kIOReturnUnderrun;
  if (ret != kIOReturnSuccess) {
    return Fail(ret, "board %u: the dext did not describe the board (%s)", index,
                IOReturnName(ret));
  }
  if (protocol::MajorOf(static_cast<uint32_t>(raw[protocol::kInfoProtocolVersion])) !=
      protocol::kVersionMajor) {
    return Fail(kIOReturnUnsupported,
                "board %u: the dext speaks protocol 0x%x, this library 0x%x (kIOReturnUnsupported)",
                index, static_cast<uint32_t>(raw[protocol::kInfoProtocolVersion]),
                protocol::kProtocolVersion);
  }
  s.capabilities = raw[protocol::kInfoCapabilities];
  DeviceInfo& info = s.info;
  info.protocolVersion = static_cast<uint32_t>(raw[protocol::kInfoProtocolVersion]);
  info.vendorId = static_cast<uint16_t>(raw[protocol::kInfoVendorDevice]);
  info.deviceId = static_cast<uint16_t>(raw[protocol::kInfoVendorDevice] >> 16);
  info.hasDmaEngine = (s.capabilities & protocol::kCapabilityDmaEngine) != 0;
  info.cardMemorySize = raw[protocol::kInfoCardMemorySize];
  info.h2cChannels = static_cast<uint32_t>(raw[protocol::kInfoH2cChannels]);
  info.c2hChannels = static_cast<uint32_t>(raw[protocol::kInfoC2hChannels]);
  const uint64_t dmaBar = raw[protocol::kInfoDmaBar];
  info.dmaBar = dmaBar < kBarCount ? static_cast<int>(dmaBar) : -1;
  for (int i = 0; i < kBarCount; ++i) {
    info.barSizes[i] = raw[protocol::kInfoBarSizes0 + i];
    if (info.barSizes[i] != 0 && i != info.dmaBar && info.userBar < 0) info.userBar = i;
  }
  s.async.cardMemorySize = info.cardMemorySize;
  MapBars(s);
  // Removal news may come on any thread: a ring wait in progress returns at once.
  s.transport->SetRemovalHandler([session = &s] {
    session->WakeRingWaiter();
    session->WakeStreamWaiter();
    session->WakeEvents();
  });
  device->state_ = std::move(state);
  return Status::Ok();
}

Status Device::WaitForBoard(uint32_t index, std::chrono::nanoseconds timeout) {
  return IokitTransport::WaitForBoard(index, timeout);
}

bool Device::isOpen() const {
  return state_ != nullptr;
}

bool Device::gone() const {
  return state_ != nullptr && state_->gone();
}

const DeviceInfo& Device::info() const {
  return state_ ? state_->info : kClosedInfo;
}

void Device::Close() {
  if (!state_) return;
  Session& s = *state_;
  // A bounce transfer on another thread finishes the chunk it is moving and stops.
  s.closing.store(true, std::memory_order_release);
  {
    std::lock_guard bounce(s.bounce.lock);
  }
  s.DetachStreams();  // first: a receive stream's slots are a registered buffer
  ForgetBuffers();
  s.DetachRing();
  s.DetachEvents();
  s.UnmapBars();
  // The dext completes every async transfer still in flight when the connection ends.
  s.transport->Close();
  s.AbortAsync();
  s.transport->SetRemovalHandler({});
  {
    std::unique_lock drained(s.inUse);
  }  // transfers whose calls the close ended have left
  state_.reset();
}

}  // namespace fpgadext
