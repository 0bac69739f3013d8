// fpgadext library: the public C++ API (include/fpgadext/fpgadext.hpp) over IOKitLib only, so
// that this file builds unchanged on a Mac (IOKit.framework) and on Linux (the emulated
// IOKitLib of emu/). Everything that crosses to the dext is in protocol/fpgadext/protocol.h.
//
// Transfer paths (docs/library.md explains the choice):
//   ≤ 4096 bytes   in-band: the bytes travel in the IOConnectCallMethod message (one call);
//   > 4096 bytes   client memory: address and length as scalars, the dext DMAs straight to and
//                  from the caller's pages (one call, zero copies);
//   registered     a buffer prepared for DMA once, then id + offset + length per transfer.
#include <IOKit/IOKitLib.h>
#include <fpgadext/protocol.h>

#include <algorithm>
#include <cinttypes>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "fpgadext/fpgadext.hpp"

namespace fpgadext {

namespace {

constexpr int kBarCount = 6;

__attribute__((format(printf, 2, 3))) Status Fail(IOReturnCode code, const char* format, ...) {
  char text[512];
  va_list args;
  va_start(args, format);
  vsnprintf(text, sizeof(text), format, args);
  va_end(args);
  return Status(code, text);
}

const char* PathName(TransferPath path) {
  switch (path) {
    case TransferPath::kAuto:
      return "auto";
    case TransferPath::kInband:
      return "in-band";
    case TransferPath::kOutOfLine:
      return "out-of-line";
    case TransferPath::kClientMemory:
      return "client memory";
  }
  return "?";
}

// The services the dext publishes, ordered by registry entry ID (stable while they live).
struct Service {
  io_service_t service;
  uint64_t registryId;
};

std::vector<Service> MatchingServices() {
  std::vector<Service> services;
  io_iterator_t iterator = IO_OBJECT_NULL;
  if (IOServiceGetMatchingServices(kIOMainPortDefault,
                                   IOServiceNameMatching(protocol::kDriverClassName),
                                   &iterator) != kIOReturnSuccess) {
    return services;
  }
  while (io_service_t service = IOIteratorNext(iterator)) {
    uint64_t id = 0;
    IORegistryEntryGetRegistryEntryID(service, &id);
    services.push_back({service, id});
  }
  IOObjectRelease(iterator);
  std::sort(services.begin(), services.end(),
            [](const Service& a, const Service& b) { return a.registryId < b.registryId; });
  return services;
}

void Release(std::vector<Service>& services) {
  for (const Service& s : services) IOObjectRelease(s.service);
  services.clear();
}

kern_return_t GetDeviceInfo(io_connect_t connection, uint64_t (&info)[protocol::kDeviceInfoCount]) {
  uint32_t count = protocol::kDeviceInfoCount;
  kern_return_t ret = IOConnectCallScalarMethod(connection, protocol::kSelectorGetDeviceInfo,
                                                nullptr, 0, info, &count);
  if (ret == kIOReturnSuccess && count != protocol::kDeviceInfoCount) ret = kIOReturnUnderrun;
  return ret;
}

// Why the dext refused a transfer, in the caller's terms.
const char* Reason(IOReturnCode code) {
  switch (code) {
    case kIOReturnNotWritable:
      return "the destination buffer is read-only";
    case kIOReturnVMError:
      return "the buffer is not mapped memory";
    case kIOReturnTimeout:
      return "the board did not finish the transfer in time";
    case kIOReturnNoDevice:
      return "the board is gone";
    case kIOReturnNotAttached:
    case MACH_SEND_INVALID_DEST:
      return "the board is gone (the dext closed the connection)";
    case kIOReturnDMAError:
      return "the DMA engine reported an error";
    case kIOReturnNotAligned:
      return "the DMA engine refused the alignment";
    case kIOReturnNoMemory:
    case kIOReturnNoResources:
      return "the dext is out of resources";
    case kIOReturnBadArgument:
      return "the dext refused the arguments";
    case kIOReturnNotPermitted:
      return "the dext does not permit this";
    case kIOReturnUnsupported:
      return "the dext does not support this";
    case kIOReturnNotFound:
      return "the dext does not know this buffer";
    default:
      return "the dext returned an error";
  }
}

}  // namespace

struct Device::State {
  io_connect_t connection = IO_OBJECT_NULL;
  DeviceInfo info;
  uint64_t capabilities = 0;
  struct Mapping {
    mach_vm_address_t address = 0;
    mach_vm_size_t size = 0;
  };
  Mapping bars[kBarCount];
  // Registered buffers alive on this connection (their device_ points at the Device).
  std::mutex lock;
  std::vector<RegisteredBuffer*> buffers;

  Status CardRange(uint64_t card, uint64_t length) const {
    if (card > info.cardMemorySize || length > info.cardMemorySize - card) {
      return Fail(kIOReturnBadArgument,
                  "card range 0x%" PRIx64 "+0x%" PRIx64 " is outside the card's 0x%" PRIx64
                  " bytes",
                  card, length, info.cardMemorySize);
    }
    return Status::Ok();
  }

  // A transfer the dext refused.
  Status TransferError(kern_return_t code, const char* what, uint64_t card, uint64_t length,
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

  Status RegisterCheck(int bar, uint64_t offset, unsigned width) const {
    if (bar < 0 || bar >= kBarCount || info.barSizes[bar] == 0) {
      return Fail(kIOReturnBadArgument, "BAR %d does not exist on this board", bar);
    }
    if (bar == info.dmaBar) {
      return Fail(kIOReturnNotPermitted,
                  "BAR %d holds the DMA engine's registers: only the dext may access it", bar);
    }
    if (offset >= info.barSizes[bar] || width > info.barSizes[bar] - offset) {
      return Fail(kIOReturnBadArgument,
                  "register 0x%" PRIx64 " (%u bytes) is outside BAR %d's 0x%" PRIx64 " bytes",
                  offset, width, bar, info.barSizes[bar]);
    }
    if (offset % width != 0) {
      return Fail(kIOReturnBadArgument, "register 0x%" PRIx64 " is not %u-byte aligned", offset,
                  width);
    }
    return Status::Ok();
  }

  volatile uint8_t* Mapped(int bar) const {
    return reinterpret_cast<volatile uint8_t*>(static_cast<uintptr_t>(bars[bar].address));
  }

  Status RegisterRead(int bar, uint64_t offset, unsigned width, uint64_t* value) const {
    if (Status s = RegisterCheck(bar, offset, width); !s) return s;
    if (bars[bar].address != 0) {
      if (width == 4) {
        *value = *reinterpret_cast<volatile uint32_t*>(Mapped(bar) + offset);
      } else {
        *value = *reinterpret_cast<volatile uint64_t*>(Mapped(bar) + offset);
      }
      return Status::Ok();
    }
    const uint64_t in[3] = {static_cast<uint64_t>(bar), offset, width};
    uint64_t out[1] = {};
    uint32_t count = 1;
    kern_return_t ret =
        IOConnectCallScalarMethod(connection, protocol::kSelectorRegisterRead, in, 3, out, &count);
    if (ret != kIOReturnSuccess) {
      return Fail(ret, "register read of BAR %d offset 0x%" PRIx64 ": %s (%s)", bar, offset,
                  Reason(ret), IOReturnName(ret));
    }
    *value = out[0];
    return Status::Ok();
  }

  Status RegisterWrite(int bar, uint64_t offset, unsigned width, uint64_t value) const {
    if (Status s = RegisterCheck(bar, offset, width); !s) return s;
    if (bars[bar].address != 0) {
      if (width == 4) {
        *reinterpret_cast<volatile uint32_t*>(Mapped(bar) + offset) = static_cast<uint32_t>(value);
      } else {
        *reinterpret_cast<volatile uint64_t*>(Mapped(bar) + offset) = value;
      }
      return Status::Ok();
    }
    const uint64_t in[4] = {static_cast<uint64_t>(bar), offset, width, value};
    kern_return_t ret = IOConnectCallScalarMethod(connection, protocol::kSelectorRegisterWrite, in,
                                                  4, nullptr, nullptr);
    if (ret != kIOReturnSuccess) {
      return Fail(ret, "register write of BAR %d offset 0x%" PRIx64 ": %s (%s)", bar, offset,
                  Reason(ret), IOReturnName(ret));
    }
    return Status::Ok();
  }
};

namespace {

const DeviceInfo kClosedInfo{};

Status NotOpen() {
  return Status(kIOReturnNotOpen, "the device is not open");
}

}  // namespace

// ---- RegisteredBuffer ------------------------------------------------------------------------

RegisteredBuffer::~RegisteredBuffer() {
  Release();
}

RegisteredBuffer::RegisteredBuffer(RegisteredBuffer&& other) noexcept {
  *this = std::move(other);
}

RegisteredBuffer& RegisteredBuffer::operator=(RegisteredBuffer&& other) noexcept {
  if (this == &other) return *this;
  Release();
  if (other.device_ != nullptr) {
    std::lock_guard guard(other.device_->state_->lock);
    std::replace(other.device_->state_->buffers.begin(), other.device_->state_->buffers.end(),
                 &other, this);
    device_ = other.device_;
    id_ = other.id_;
    memory_ = other.memory_;
    direction_ = other.direction_;
    other.device_ = nullptr;
    other.id_ = 0;
    other.memory_ = {};
  }
  return *this;
}

Status RegisteredBuffer::Release() {
  if (device_ == nullptr) return Status::Ok();
  Device::State& state = *device_->state_;
  std::lock_guard guard(state.lock);
  std::erase(state.buffers, this);
  const uint64_t in[1] = {id_};
  kern_return_t ret = IOConnectCallScalarMethod(
      state.connection, protocol::kSelectorUnregisterBuffer, in, 1, nullptr, nullptr);
  device_ = nullptr;
  id_ = 0;
  memory_ = {};
  if (ret != kIOReturnSuccess) {
    return Fail(ret, "unregistering a buffer: %s (%s)", Reason(ret), IOReturnName(ret));
  }
  return Status::Ok();
}

// ---- Device: lifetime ------------------------------------------------------------------------

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
  std::vector<Service> services = MatchingServices();
  std::vector<BoardSummary> boards;
  for (uint32_t i = 0; i < services.size(); ++i) {
    BoardSummary board{i, 0, 0, {}, services[i].registryId};
    io_name_t name = {};
    if (IORegistryEntryGetName(services[i].service, name) == kIOReturnSuccess) board.name = name;
    // The dext reports vendor and device; a short connection asks it (no registry properties
    // are needed, which the emulated IOKitLib does not carry).
    io_connect_t connection = IO_OBJECT_NULL;
    if (IOServiceOpen(services[i].service, mach_task_self(), protocol::kProtocolVersion,
                      &connection) == kIOReturnSuccess) {
      uint64_t info[protocol::kDeviceInfoCount] = {};
      if (GetDeviceInfo(connection, info) == kIOReturnSuccess) {
        board.vendorId = static_cast<uint16_t>(info[protocol::kInfoVendorDevice]);
        board.deviceId = static_cast<uint16_t>(info[protocol::kInfoVendorDevice] >> 16);
      }
      IOServiceClose(connection);
    }
    boards.push_back(std::move(board));
  }
  Release(services);
  return boards;
}

Status Device::Open(uint32_t index, Device* device) {
  if (device == nullptr) return Status(kIOReturnBadArgument, "Open: no Device to open into");
  device->Close();
  std::vector<Service> services = MatchingServices();
  if (index >= services.size()) {
    const size_t count = services.size();
    Release(services);
    return Fail(kIOReturnNotFound, "no board %u: the fpgadext dext drives %zu board(s)", index,
                count);
  }
  io_connect_t connection = IO_OBJECT_NULL;
  kern_return_t ret = IOServiceOpen(services[index].service, mach_task_self(),
                                    protocol::kProtocolVersion, &connection);
  Release(services);
  if (ret == kIOReturnUnsupported) {
    return Fail(ret,
                "board %u: the fpgadext dext speaks another protocol version than this "
                "library (%u.%u) (%s)",
                index, protocol::kVersionMajor, protocol::kVersionMinor, IOReturnName(ret));
  }
  if (ret != kIOReturnSuccess) {
    return Fail(ret, "board %u: IOServiceOpen failed (%s)", index, IOReturnName(ret));
  }
  uint64_t raw[protocol::kDeviceInfoCount] = {};
  ret = GetDeviceInfo(connection, raw);
  if (ret != kIOReturnSuccess) {
    IOServiceClose(connection);
    return Fail(ret, "board %u: the dext did not describe the board (%s)", index,
                IOReturnName(ret));
  }
  if (protocol::MajorOf(static_cast<uint32_t>(raw[protocol::kInfoProtocolVersion])) !=
      protocol::kVersionMajor) {
    IOServiceClose(connection);
    return Fail(kIOReturnUnsupported,
                "board %u: the dext speaks protocol 0x%x, this library 0x%x (kIOReturnUnsupported)",
                index, static_cast<uint32_t>(raw[protocol::kInfoProtocolVersion]),
                protocol::kProtocolVersion);
  }

  auto state = std::make_unique<State>();
  state->connection = connection;
  state->capabilities = raw[protocol::kInfoCapabilities];
  DeviceInfo& info = state->info;
  info.protocolVersion = static_cast<uint32_t>(raw[protocol::kInfoProtocolVersion]);
  info.vendorId = static_cast<uint16_t>(raw[protocol::kInfoVendorDevice]);
  info.deviceId = static_cast<uint16_t>(raw[protocol::kInfoVendorDevice] >> 16);
  info.hasDmaEngine = (state->capabilities & protocol::kCapabilityDmaEngine) != 0;
  info.cardMemorySize = raw[protocol::kInfoCardMemorySize];
  info.h2cChannels = static_cast<uint32_t>(raw[protocol::kInfoH2cChannels]);
  info.c2hChannels = static_cast<uint32_t>(raw[protocol::kInfoC2hChannels]);
  const uint64_t dmaBar = raw[protocol::kInfoDmaBar];
  info.dmaBar = dmaBar < kBarCount ? static_cast<int>(dmaBar) : -1;
  for (int i = 0; i < kBarCount; ++i) {
    info.barSizes[i] = raw[protocol::kInfoBarSizes0 + i];
    if (info.barSizes[i] != 0 && i != info.dmaBar && info.userBar < 0) info.userBar = i;
  }

  // Map every BAR an app may use. A platform may refuse: then register access goes through
  // the dext, bounds-checked. FPGADEXT_MAP_BARS=0 asks for the driver calls (to compare the two,
  // or when a mapped access misbehaves on some machine).
  const char* mapBars = std::getenv("FPGADEXT_MAP_BARS");
  const bool mapping = mapBars == nullptr || std::strcmp(mapBars, "0") != 0;
  if (mapping && (state->capabilities & protocol::kCapabilityMappedBars)) {
    for (int i = 0; i < kBarCount; ++i) {
      if (info.barSizes[i] == 0 || i == info.dmaBar) continue;
      mach_vm_address_t address = 0;
      mach_vm_size_t size = 0;
      if (IOConnectMapMemory64(connection, protocol::kMemoryTypeBar0 + i, mach_task_self(),
                               &address, &size, kIOMapAnywhere) != kIOReturnSuccess) {
        continue;
      }
      if (size < info.barSizes[i]) {  // not the whole BAR: not usable for bounds we promise
        IOConnectUnmapMemory64(connection, protocol::kMemoryTypeBar0 + i, mach_task_self(),
                               address);
        continue;
      }
      state->bars[i] = {address, size};
    }
  }
  device->state_ = std::move(state);
  return Status::Ok();
}

bool Device::isOpen() const {
  return state_ != nullptr;
}

const DeviceInfo& Device::info() const {
  return state_ ? state_->info : kClosedInfo;
}

void Device::Close() {
  if (!state_) return;
  {
    // The dext drops a client's registrations when it closes; unregistering first keeps each
    // RegisteredBuffer's view (valid() == false) in step with the dext's.
    std::lock_guard guard(state_->lock);
    for (RegisteredBuffer* b : state_->buffers) {
      const uint64_t in[1] = {b->id_};
      IOConnectCallScalarMethod(state_->connection, protocol::kSelectorUnregisterBuffer, in, 1,
                                nullptr, nullptr);
      b->device_ = nullptr;
      b->id_ = 0;
      b->memory_ = {};
    }
    state_->buffers.clear();
  }
  for (int i = 0; i < kBarCount; ++i) {
    if (state_->bars[i].address != 0) {
      IOConnectUnmapMemory64(state_->connection, protocol::kMemoryTypeBar0 + i, mach_task_self(),
                             state_->bars[i].address);
    }
  }
  IOServiceClose(state_->connection);
  state_.reset();
}

// ---- Device: transfers -----------------------------------------------------------------------

Status Device::Read(uint64_t cardAddress, std::span<std::byte> destination, TransferPath path) {
  if (!state_) return NotOpen();
  State& s = *state_;
  const uint64_t length = destination.size();
  std::byte* data = destination.data();
  if (length != 0 && data == nullptr) {
    return Fail(kIOReturnBadArgument, "read of 0x%" PRIx64 " bytes into a null buffer", length);
  }
  if (Status r = s.CardRange(cardAddress, length); !r) return r;
  if (path == TransferPath::kAuto) {
    path = length <= protocol::kInbandMax ? TransferPath::kInband : TransferPath::kClientMemory;
  }
  kern_return_t ret = kIOReturnSuccess;
  switch (path) {
    case TransferPath::kInband: {
      if (length > protocol::kInbandMax) {
        return Fail(kIOReturnBadArgument,
                    "in-band reads carry at most 4096 bytes; 0x%" PRIx64 " asked", length);
      }
      const uint64_t in[2] = {cardAddress, length};
      size_t received = length;
      ret = IOConnectCallMethod(s.connection, protocol::kSelectorReadInband, in, 2, nullptr, 0,
                                nullptr, nullptr, data, &received);
      if (ret == kIOReturnSuccess && received != length) {
        return Fail(kIOReturnUnderrun,
                    "in-band read of 0x%" PRIx64 " bytes: the dext returned 0x%zx (%s)", length,
                    received, IOReturnName(kIOReturnUnderrun));
      }
      break;
    }
    case TransferPath::kOutOfLine: {
      if (length <= protocol::kInbandMax) {
        return Fail(kIOReturnBadArgument,
                    "out-of-line reads need more than 4096 bytes (IOKit sends 0x%" PRIx64
                    " in-band)",
                    length);
      }
      if (length > UINT32_MAX) {
        // xnu refuses out-of-line outputs above 4 GiB - 1 (is_io_connect_method).
        return Fail(kIOReturnBadArgument,
                    "out-of-line reads carry at most 4 GiB - 1 bytes; 0x%" PRIx64 " asked", length);
      }
      const uint64_t in[1] = {cardAddress};
      size_t capacity = length;
      ret = IOConnectCallMethod(s.connection, protocol::kSelectorReadOutOfLine, in, 1, nullptr, 0,
                                nullptr, nullptr, data, &capacity);
      break;
    }
    case TransferPath::kClientMemory:
    default: {
      const uint64_t in[3] = {cardAddress, reinterpret_cast<uintptr_t>(data), length};
      ret = IOConnectCallScalarMethod(s.connection, protocol::kSelectorReadClientMemory, in, 3,
                                      nullptr, nullptr);
      break;
    }
  }
  if (ret != kIOReturnSuccess) {
    return s.TransferError(ret, "read", cardAddress, length, PathName(path));
  }
  return Status::Ok();
}

Status Device::Write(uint64_t cardAddress, std::span<const std::byte> source, TransferPath path) {
  if (!state_) return NotOpen();
  State& s = *state_;
  const uint64_t length = source.size();
  const std::byte* data = source.data();
  if (length != 0 && data == nullptr) {
    return Fail(kIOReturnBadArgument, "write of 0x%" PRIx64 " bytes from a null buffer", length);
  }
  if (Status r = s.CardRange(cardAddress, length); !r) return r;
  if (path == TransferPath::kAuto) {
    path = length <= protocol::kInbandMax ? TransferPath::kInband : TransferPath::kClientMemory;
  }
  kern_return_t ret = kIOReturnSuccess;
  switch (path) {
    case TransferPath::kInband: {
      if (length > protocol::kInbandMax) {
        return Fail(kIOReturnBadArgument,
                    "in-band writes carry at most 4096 bytes; 0x%" PRIx64 " asked", length);
      }
      const uint64_t in[1] = {cardAddress};
      ret = IOConnectCallMethod(s.connection, protocol::kSelectorWriteInband, in, 1, data, length,
                                nullptr, nullptr, nullptr, nullptr);
      break;
    }
    case TransferPath::kOutOfLine: {
      if (length <= protocol::kInbandMax) {
        return Fail(kIOReturnBadArgument,
                    "out-of-line writes need more than 4096 bytes (IOKit sends 0x%" PRIx64
                    " in-band)",
                    length);
      }
      const uint64_t in[1] = {cardAddress};
      ret = IOConnectCallMethod(s.connection, protocol::kSelectorWriteOutOfLine, in, 1, data,
                                length, nullptr, nullptr, nullptr, nullptr);
      break;
    }
    case TransferPath::kClientMemory:
    default: {
      const uint64_t in[3] = {cardAddress, reinterpret_cast<uintptr_t>(data), length};
      ret = IOConnectCallScalarMethod(s.connection, protocol::kSelectorWriteClientMemory, in, 3,
                                      nullptr, nullptr);
      break;
    }
  }
  if (ret != kIOReturnSuccess) {
    return s.TransferError(ret, "write", cardAddress, length, PathName(path));
  }
  return Status::Ok();
}

// ---- Device: registered buffers --------------------------------------------------------------

Status Device::Register(std::span<std::byte> memory, BufferDirection direction,
                        RegisteredBuffer* buffer) {
  if (!state_) return NotOpen();
  if (buffer == nullptr) return Status(kIOReturnBadArgument, "Register: no RegisteredBuffer");
  if (memory.empty() || memory.data() == nullptr) {
    return Status(kIOReturnBadArgument, "cannot register an empty buffer");
  }
  const uint64_t dir = static_cast<uint64_t>(direction);
  if (dir < protocol::kBufferToCard || dir > protocol::kBufferBoth) {
    return Fail(kIOReturnBadArgument, "unknown buffer direction %" PRIu64, dir);
  }
  buffer->Release();
  const uint64_t in[3] = {reinterpret_cast<uintptr_t>(memory.data()), memory.size(), dir};
  uint64_t out[1] = {};
  uint32_t count = 1;
  kern_return_t ret = IOConnectCallScalarMethod(
      state_->connection, protocol::kSelectorRegisterBuffer, in, 3, out, &count);
  if (ret != kIOReturnSuccess) {
    const char* reason = Reason(ret);
    if (ret == kIOReturnNoResources) {
      reason =
          "the dext holds its maximum of registered buffers for this client, or the "
          "buffer is too fragmented to keep prepared";
    } else if (ret == kIOReturnVMError) {
      reason = "the buffer is not mapped memory (or is read-only and the card must write it)";
    }
    return Fail(ret, "registering 0x%zx bytes: %s (%s)", memory.size(), reason, IOReturnName(ret));
  }
  std::lock_guard guard(state_->lock);
  buffer->device_ = this;
  buffer->id_ = out[0];
  buffer->memory_ = memory;
  buffer->direction_ = direction;
  state_->buffers.push_back(buffer);
  return Status::Ok();
}

Status Device::Read(uint64_t cardAddress, RegisteredBuffer& buffer, uint64_t offset,
                    uint64_t length) {
  if (!state_) return NotOpen();
  if (buffer.device_ != this) {
    return Status(kIOReturnBadArgument, "the buffer is not registered with this device");
  }
  if (offset > buffer.memory_.size() || length > buffer.memory_.size() - offset) {
    return Fail(kIOReturnBadArgument,
                "bytes 0x%" PRIx64 "+0x%" PRIx64 " are outside the registered buffer's 0x%zx",
                offset, length, buffer.memory_.size());
  }
  if (!(static_cast<uint64_t>(buffer.direction_) & protocol::kBufferFromCard)) {
    return Status(kIOReturnNotPermitted,
                  "the buffer was registered for writes to the card only; it cannot be read into");
  }
  if (Status r = state_->CardRange(cardAddress, length); !r) return r;
  const uint64_t in[4] = {buffer.id_, offset, cardAddress, length};
  kern_return_t ret = IOConnectCallScalarMethod(
      state_->connection, protocol::kSelectorReadRegistered, in, 4, nullptr, nullptr);
  if (ret != kIOReturnSuccess) {
    return state_->TransferError(ret, "read", cardAddress, length, "registered buffer");
  }
  return Status::Ok();
}

Status Device::Write(uint64_t cardAddress, RegisteredBuffer& buffer, uint64_t offset,
                     uint64_t length) {
  if (!state_) return NotOpen();
  if (buffer.device_ != this) {
    return Status(kIOReturnBadArgument, "the buffer is not registered with this device");
  }
  if (offset > buffer.memory_.size() || length > buffer.memory_.size() - offset) {
    return Fail(kIOReturnBadArgument,
                "bytes 0x%" PRIx64 "+0x%" PRIx64 " are outside the registered buffer's 0x%zx",
                offset, length, buffer.memory_.size());
  }
  if (!(static_cast<uint64_t>(buffer.direction_) & protocol::kBufferToCard)) {
    return Status(kIOReturnNotPermitted,
                  "the buffer was registered for reads from the card only; it cannot be written "
                  "from");
  }
  if (Status r = state_->CardRange(cardAddress, length); !r) return r;
  const uint64_t in[4] = {buffer.id_, offset, cardAddress, length};
  kern_return_t ret = IOConnectCallScalarMethod(
      state_->connection, protocol::kSelectorWriteRegistered, in, 4, nullptr, nullptr);
  if (ret != kIOReturnSuccess) {
    return state_->TransferError(ret, "write", cardAddress, length, "registered buffer");
  }
  return Status::Ok();
}

// ---- Device: registers -----------------------------------------------------------------------

Status Device::Read32(int bar, uint64_t offset, uint32_t* value) {
  if (!state_) return NotOpen();
  if (value == nullptr) return Status(kIOReturnBadArgument, "Read32: null value pointer");
  uint64_t v = 0;
  Status s = state_->RegisterRead(bar, offset, 4, &v);
  if (s) *value = static_cast<uint32_t>(v);
  return s;
}

Status Device::Write32(int bar, uint64_t offset, uint32_t value) {
  if (!state_) return NotOpen();
  return state_->RegisterWrite(bar, offset, 4, value);
}

Status Device::Read64(int bar, uint64_t offset, uint64_t* value) {
  if (!state_) return NotOpen();
  if (value == nullptr) return Status(kIOReturnBadArgument, "Read64: null value pointer");
  return state_->RegisterRead(bar, offset, 8, value);
}

Status Device::Write64(int bar, uint64_t offset, uint64_t value) {
  if (!state_) return NotOpen();
  return state_->RegisterWrite(bar, offset, 8, value);
}

Status Device::ReadBlock(int bar, uint64_t offset, std::span<uint32_t> values) {
  if (!state_) return NotOpen();
  if (values.empty()) return Status::Ok();
  const uint64_t bytes = values.size() * uint64_t{4};
  if (Status s = state_->RegisterCheck(bar, offset, 4); !s) return s;
  if (bytes > state_->info.barSizes[bar] - offset) {
    return Fail(kIOReturnBadArgument,
                "registers 0x%" PRIx64 "+0x%" PRIx64 " are outside BAR %d's 0x%" PRIx64 " bytes",
                offset, bytes, bar, state_->info.barSizes[bar]);
  }
  for (size_t i = 0; i < values.size(); ++i) {
    uint64_t v = 0;
    if (Status s = state_->RegisterRead(bar, offset + 4 * i, 4, &v); !s) return s;
    values[i] = static_cast<uint32_t>(v);
  }
  return Status::Ok();
}

Status Device::WriteBlock(int bar, uint64_t offset, std::span<const uint32_t> values) {
  if (!state_) return NotOpen();
  if (values.empty()) return Status::Ok();
  const uint64_t bytes = values.size() * uint64_t{4};
  if (Status s = state_->RegisterCheck(bar, offset, 4); !s) return s;
  if (bytes > state_->info.barSizes[bar] - offset) {
    return Fail(kIOReturnBadArgument,
                "registers 0x%" PRIx64 "+0x%" PRIx64 " are outside BAR %d's 0x%" PRIx64 " bytes",
                offset, bytes, bar, state_->info.barSizes[bar]);
  }
  for (size_t i = 0; i < values.size(); ++i) {
    if (Status s = state_->RegisterWrite(bar, offset + 4 * i, 4, values[i]); !s) return s;
  }
  return Status::Ok();
}

bool Device::IsBarMapped(int bar) const {
  return state_ && bar >= 0 && bar < kBarCount && state_->bars[bar].address != 0;
}

}  // namespace fpgadext
