// fpgadext library: the public C++ API (include/fpgadext/fpgadext.hpp) over IOKitLib only, so
// that this file builds unchanged on a Mac (IOKit.framework) and on Linux (the emulated
// IOKitLib of emu/). Everything that crosses to the dext is in protocol/fpgadext/protocol.h.
//
// Transfer paths (docs/library.md explains the choice):
//   ≤ 4096 bytes   in-band: the bytes travel in the IOConnectCallMethod message (one call);
//   > 4096 bytes   client memory: address and length as scalars, the dext DMAs straight to and
//                  from the caller's pages (one call, zero copies);
//   registered     a buffer prepared for DMA once, then id + offset + length per transfer.
#include <CoreFoundation/CoreFoundation.h>
#include <IOKit/IOKitLib.h>
#include <fpgadext/protocol.h>

#include <dispatch/dispatch.h>

#include <algorithm>
#include <atomic>
#include <cinttypes>
#include <condition_variable>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
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

// The opened service's bundle ID (its CFBundleIdentifier property, from the dext's personality):
// what an app's userclient-access entitlement must list.
std::string BundleIdentifier(io_service_t service) {
  std::string id;
  CFTypeRef value =
      IORegistryEntryCreateCFProperty(service, CFSTR("CFBundleIdentifier"), kCFAllocatorDefault, 0);
  if (value == nullptr) return id;
  char buffer[256];
  if (CFGetTypeID(value) == CFStringGetTypeID() &&
      CFStringGetCString(static_cast<CFStringRef>(value), buffer, sizeof buffer,
                         kCFStringEncodingUTF8)) {
    id = buffer;
  }
  CFRelease(value);
  return id;
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
    case kIOReturnCannotWire:  // what a Mac's wiring returns for unmapped pages
      return "the buffer is not mapped memory";
    case KERN_PROTECTION_FAILURE:  // a Mac's wiring: pages without the access the card needs
      return "the buffer's pages are read-only or inaccessible";
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

// Async completions of one Device: a notification port delivering on a serial dispatch queue
// of the library's, and the operations in flight by tag.
struct AsyncEngine {
  struct Pending {
    std::shared_ptr<AsyncOperation::State> op;
    const char* what;
    uint64_t card;
    uint64_t length;
  };
  std::mutex lock;
  IONotificationPortRef port = nullptr;
  dispatch_queue_t queue = nullptr;
  uint64_t nextTag = 1;
  std::map<uint64_t, Pending> pending;
  uint64_t cardMemorySize = 0;
};

}  // namespace

struct AsyncOperation::State {
  std::mutex lock;
  std::condition_variable changed;
  bool done = false;
  Status status;
  uint64_t bytes = 0;
  AsyncCallback callback;

  // The callback first: once Wait returns, the callback has run.
  void Complete(const Status& s, uint64_t moved) {
    if (callback) callback(s, moved);
    {
      std::lock_guard guard(lock);
      status = s;
      bytes = moved;
      done = true;
    }
    changed.notify_all();
  }
};

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
  // Async completions (made on first use) and the ring, if any.
  std::unique_ptr<AsyncEngine> async;
  Ring::Impl* ring = nullptr;

  AsyncEngine* Async();
  void DetachRing();
  void StopAsync();

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
  // The kernel refused the app, not the board: say which entitlement is missing and where.
  const std::string bundleID = ret == kIOReturnNotPermitted || ret == kIOReturnNotPrivileged
                                   ? BundleIdentifier(services[index].service)
                                   : std::string();
  Release(services);
  if (ret == kIOReturnNotPermitted) {
    return Fail(ret,
                "board %u: macOS refused this app access to the fpgadext dext: the app needs the "
                "entitlement com.apple.developer.driverkit.userclient-access listing \"%s\" in "
                "its code signature (or the dext needs "
                "com.apple.developer.driverkit.allow-any-userclient-access in its own) (%s)",
                index, bundleID.empty() ? "the dext's bundle ID" : bundleID.c_str(),
                IOReturnName(ret));
  }
  if (ret == kIOReturnNotPrivileged) {
    return Fail(ret,
                "board %u: macOS refused this app access to the fpgadext dext: the app lacks an "
                "entitlement the dext's user client requires (IOUserClientEntitlements) (%s)",
                index, IOReturnName(ret));
  }
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
  state_->DetachRing();
  for (int i = 0; i < kBarCount; ++i) {
    if (state_->bars[i].address != 0) {
      IOConnectUnmapMemory64(state_->connection, protocol::kMemoryTypeBar0 + i, mach_task_self(),
                             state_->bars[i].address);
    }
  }
  // The dext completes every async transfer still in flight when the connection ends.
  IOServiceClose(state_->connection);
  state_->StopAsync();
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
  return RegisteredTransfer(true, cardAddress, buffer, offset, length);
}

Status Device::Write(uint64_t cardAddress, RegisteredBuffer& buffer, uint64_t offset,
                     uint64_t length) {
  return RegisteredTransfer(false, cardAddress, buffer, offset, length);
}

Status Device::RegisteredTransfer(bool read, uint64_t cardAddress, RegisteredBuffer& buffer,
                                  uint64_t offset, uint64_t length) {
  if (!state_) return NotOpen();
  if (buffer.device_ != this) {
    return Status(kIOReturnBadArgument, "the buffer is not registered with this device");
  }
  if (offset > buffer.memory_.size() || length > buffer.memory_.size() - offset) {
    return Fail(kIOReturnBadArgument,
                "bytes 0x%" PRIx64 "+0x%" PRIx64 " are outside the registered buffer's 0x%zx",
                offset, length, buffer.memory_.size());
  }
  const uint64_t needed = read ? protocol::kBufferFromCard : protocol::kBufferToCard;
  if (!(static_cast<uint64_t>(buffer.direction_) & needed)) {
    return Status(kIOReturnNotPermitted,
                  read ? "the buffer was registered for writes to the card only; it cannot be "
                         "read into"
                       : "the buffer was registered for reads from the card only; it cannot be "
                         "written from");
  }
  if (Status r = state_->CardRange(cardAddress, length); !r) return r;
  const uint64_t in[4] = {buffer.id_, offset, cardAddress, length};
  const uint32_t selector =
      read ? protocol::kSelectorReadRegistered : protocol::kSelectorWriteRegistered;
  kern_return_t ret =
      IOConnectCallScalarMethod(state_->connection, selector, in, 4, nullptr, nullptr);
  if (ret != kIOReturnSuccess) {
    return state_->TransferError(ret, read ? "read" : "write", cardAddress, length,
                                 "registered buffer");
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

// ---- Async transfers -------------------------------------------------------------------------

namespace {

void OnAsyncCompletion(void* refcon, IOReturn result, void** args, uint32_t count) {
  auto* engine = static_cast<AsyncEngine*>(refcon);
  if (count < protocol::kAsyncArgumentCount) return;
  const uint64_t bytes = reinterpret_cast<uintptr_t>(args[protocol::kAsyncBytes]);
  const uint64_t tag = reinterpret_cast<uintptr_t>(args[protocol::kAsyncTag]);
  AsyncEngine::Pending pending;
  {
    std::lock_guard guard(engine->lock);
    auto it = engine->pending.find(tag);
    if (it == engine->pending.end()) return;  // not ours (or completed at close already)
    pending = std::move(it->second);
    engine->pending.erase(it);
  }
  Status status;
  if (result == kIOReturnOverrun) {
    status = Fail(result,
                  "async %s of 0x%" PRIx64 " bytes at card 0x%" PRIx64
                  ": outside the card's 0x%" PRIx64 " bytes (%s)",
                  pending.what, pending.length, pending.card, engine->cardMemorySize,
                  IOReturnName(result));
  } else if (result != kIOReturnSuccess) {
    status = Fail(result, "async %s of 0x%" PRIx64 " bytes at card 0x%" PRIx64 ": %s (%s)",
                  pending.what, pending.length, pending.card, Reason(result), IOReturnName(result));
  }
  pending.op->Complete(status, bytes);
}

// Completes `op` on `queue` (never on the caller's stack: callbacks always run on the queue).
void CompleteLater(dispatch_queue_t queue, std::shared_ptr<AsyncOperation::State> op,
                   Status status) {
  auto* work = new std::pair<std::shared_ptr<AsyncOperation::State>, Status>(std::move(op),
                                                                             std::move(status));
  dispatch_async(queue, ^{
    work->first->Complete(work->second, 0);
    delete work;
  });
}

// For operations on a Device that is not open: a queue of the process.
dispatch_queue_t FallbackQueue() {
  static dispatch_queue_t queue = dispatch_queue_create("fpgadext.closed", DISPATCH_QUEUE_SERIAL);
  return queue;
}

}  // namespace

AsyncEngine* Device::State::Async() {
  std::lock_guard guard(lock);
  if (!async) {
    auto engine = std::make_unique<AsyncEngine>();
    engine->queue = dispatch_queue_create("fpgadext.completions", DISPATCH_QUEUE_SERIAL);
    engine->port = IONotificationPortCreate(kIOMainPortDefault);
    if (engine->queue == nullptr || engine->port == nullptr) {
      if (engine->port) IONotificationPortDestroy(engine->port);
      if (engine->queue) dispatch_release(engine->queue);
      return nullptr;
    }
    IONotificationPortSetDispatchQueue(engine->port, engine->queue);
    engine->cardMemorySize = info.cardMemorySize;
    async = std::move(engine);
  }
  return async.get();
}

void Device::State::StopAsync() {
  if (!async) return;
  AsyncEngine* engine = async.get();
  // Completions the dext sent at close are delivered first; what is left never will be.
  dispatch_sync(engine->queue, ^{
                });
  std::map<uint64_t, AsyncEngine::Pending> left;
  {
    std::lock_guard guard(engine->lock);
    left.swap(engine->pending);
  }
  auto* leftover = &left;
  dispatch_sync(engine->queue, ^{
    for (auto& [tag, p] : *leftover) {
      p.op->Complete(Status(kIOReturnAborted, "the device was closed with the transfer in flight"),
                     0);
    }
  });
  IONotificationPortDestroy(engine->port);
  dispatch_release(engine->queue);
  async.reset();
}

namespace {

AsyncOperation StartAsync(Device::State* s, uint32_t selector, const char* what, uint64_t card,
                          const void* data, uint64_t length, AsyncCallback callback);

}  // namespace

AsyncOperation Device::ReadAsync(uint64_t cardAddress, std::span<std::byte> destination,
                                 AsyncCallback callback) {
  return StartAsync(state_.get(), protocol::kSelectorReadAsync, "read", cardAddress,
                    destination.data(), destination.size(), std::move(callback));
}

AsyncOperation Device::WriteAsync(uint64_t cardAddress, std::span<const std::byte> source,
                                  AsyncCallback callback) {
  return StartAsync(state_.get(), protocol::kSelectorWriteAsync, "write", cardAddress,
                    source.data(), source.size(), std::move(callback));
}

namespace {

AsyncOperation StartAsync(Device::State* s, uint32_t selector, const char* what, uint64_t card,
                          const void* data, uint64_t length, AsyncCallback callback) {
  auto op = std::make_shared<AsyncOperation::State>();
  op->callback = std::move(callback);
  AsyncOperation handle(op);
  if (s == nullptr) {
    CompleteLater(FallbackQueue(), op, NotOpen());
    return handle;
  }
  AsyncEngine* engine = s->Async();
  if (engine == nullptr) {
    CompleteLater(FallbackQueue(), op,
                  Status(kIOReturnNoResources, "no notification port for async completions"));
    return handle;
  }
  if (length != 0 && data == nullptr) {
    CompleteLater(
        engine->queue, op,
        Fail(kIOReturnBadArgument, "async %s of 0x%" PRIx64 " bytes: null buffer", what, length));
    return handle;
  }
  if (Status r = s->CardRange(card, length); !r) {
    CompleteLater(engine->queue, op, r);
    return handle;
  }
  uint64_t tag;
  {
    std::lock_guard guard(engine->lock);
    tag = engine->nextTag++;
    engine->pending[tag] = AsyncEngine::Pending{op, what, card, length};
  }
  uint64_t reference[kOSAsyncRef64Count] = {};
  reference[kIOAsyncCalloutFuncIndex] = reinterpret_cast<uintptr_t>(&OnAsyncCompletion);
  reference[kIOAsyncCalloutRefconIndex] = reinterpret_cast<uintptr_t>(engine);
  const uint64_t in[4] = {card, reinterpret_cast<uintptr_t>(data), length, tag};
  const kern_return_t ret = IOConnectCallAsyncScalarMethod(
      s->connection, selector, IONotificationPortGetMachPort(engine->port), reference,
      kIOAsyncCalloutCount, in, 4, nullptr, nullptr);
  if (ret != kIOReturnSuccess) {
    // Refused before it started: no completion will come.
    {
      std::lock_guard guard(engine->lock);
      engine->pending.erase(tag);
    }
    CompleteLater(engine->queue, op,
                  ret == kIOReturnOverrun
                      ? Fail(ret,
                             "async %s of 0x%" PRIx64 " bytes at card 0x%" PRIx64
                             ": outside the card's memory (%s)",
                             what, length, card, IOReturnName(ret))
                      : Fail(ret, "async %s of 0x%" PRIx64 " bytes at card 0x%" PRIx64 ": %s (%s)",
                             what, length, card, Reason(ret), IOReturnName(ret)));
  }
  return handle;
}

}  // namespace

bool AsyncOperation::done() const {
  if (!state_) return false;
  std::lock_guard guard(state_->lock);
  return state_->done;
}

Status AsyncOperation::Wait(std::chrono::nanoseconds timeout) const {
  if (!state_) return Status(kIOReturnBadArgument, "Wait: not an operation");
  std::unique_lock guard(state_->lock);
  const auto ready = [&] { return state_->done; };
  if (timeout == std::chrono::nanoseconds::max()) {
    state_->changed.wait(guard, ready);
  } else if (!state_->changed.wait_for(guard, timeout, ready)) {
    return Status(kIOReturnTimeout, "the operation has not completed yet");
  }
  return state_->status;
}

uint64_t AsyncOperation::bytes() const {
  if (!state_) return 0;
  std::lock_guard guard(state_->lock);
  return state_->bytes;
}

// ---- The submission ring -----------------------------------------------------------------------

struct Ring::Impl {
  Device::State* device = nullptr;  // null once the device closed or the ring was destroyed
  mach_vm_address_t address = 0;
  protocol::RingHeader* header = nullptr;
  protocol::RingSubmission* submissions = nullptr;
  protocol::RingCompletion* completions = nullptr;
  uint32_t entries = 0;
  uint32_t sqTail = 0;  // ours: the shared word is only written
  uint32_t cqHead = 0;
  uint64_t token = 0;
  // Ring waits (kSelectorRingWait): completed on the device's async queue.
  std::mutex lock;
  std::condition_variable woken;
  bool waiting = false;

  uint32_t Completed() const {
    const uint32_t tail = __atomic_load_n(&header->cqTail, __ATOMIC_ACQUIRE);
    protocol::RingSanitizerAcquire(token);
    return tail;
  }
  bool Available() const { return Completed() != cqHead; }

  Status Post(uint64_t bufferId, uint64_t offset, uint64_t card, uint64_t length,
              uint32_t direction, uint64_t tag) {
    if (device == nullptr) return Status(kIOReturnNotOpen, "the ring is not active");
    if (sqTail - cqHead >= entries) {
      return Fail(kIOReturnNoSpace, "the ring holds %u requests in flight already", entries);
    }
    protocol::RingSubmission& e = submissions[sqTail & (entries - 1)];
    e = protocol::RingSubmission{bufferId, offset, card, length, direction, 0, tag};
    ++sqTail;
    protocol::RingSanitizerRelease(token);
    __atomic_store_n(&header->sqTail, sqTail, __ATOMIC_RELEASE);
    return Status::Ok();
  }

  // Called with the device's lock not held.
  void Stop() {
    if (device == nullptr) return;
    IOConnectCallScalarMethod(device->connection, protocol::kSelectorRingDestroy, nullptr, 0,
                              nullptr, nullptr);
    if (device->async) {  // a ring wait the dext just aborted is delivered before we go
      dispatch_sync(device->async->queue, ^{
                    });
    }
    IOConnectUnmapMemory64(device->connection, protocol::kMemoryTypeRing, mach_task_self(),
                           address);
    device = nullptr;
    header = nullptr;
  }
};

namespace {

void OnRingWait(void* refcon, IOReturn, void**, uint32_t) {
  auto* impl = static_cast<Ring::Impl*>(refcon);
  {
    std::lock_guard guard(impl->lock);
    impl->waiting = false;
  }
  impl->woken.notify_all();
}

}  // namespace

void Device::State::DetachRing() {
  if (ring != nullptr) {
    ring->Stop();
    ring = nullptr;
  }
}

Status Device::CreateRing(uint32_t entries, RingDirections directions, Ring* ring) {
  if (!state_) return NotOpen();
  if (ring == nullptr) return Status(kIOReturnBadArgument, "CreateRing: no Ring");
  ring->Destroy();
  if (!(state_->capabilities & protocol::kCapabilityRing)) {
    return Status(kIOReturnUnsupported, "the dext has no submission rings (protocol < 1.2)");
  }
  if (state_->ring != nullptr) {
    return Status(kIOReturnBusy, "this device has a ring already (one per connection)");
  }
  const uint64_t in[2] = {entries, static_cast<uint64_t>(directions)};
  uint64_t out[1] = {};
  uint32_t count = 1;
  kern_return_t ret = IOConnectCallScalarMethod(state_->connection, protocol::kSelectorRingCreate,
                                                in, 2, out, &count);
  if (ret != kIOReturnSuccess) {
    const char* reason = Reason(ret);
    if (ret == kIOReturnExclusiveAccess) {
      reason = "every DMA channel of a direction the ring needs is owned by another ring";
    } else if (ret == kIOReturnBadArgument) {
      reason = "entries must be a power of two from 2 to 4096, directions 1 to 3";
    }
    return Fail(ret, "creating a ring of %u entries: %s (%s)", entries, reason, IOReturnName(ret));
  }
  auto impl = std::make_unique<Ring::Impl>();
  mach_vm_size_t size = 0;
  ret = IOConnectMapMemory64(state_->connection, protocol::kMemoryTypeRing, mach_task_self(),
                             &impl->address, &size, kIOMapAnywhere);
  if (ret != kIOReturnSuccess || size < protocol::RingBytes(entries)) {
    if (ret == kIOReturnSuccess) {
      IOConnectUnmapMemory64(state_->connection, protocol::kMemoryTypeRing, mach_task_self(),
                             impl->address);
    }
    IOConnectCallScalarMethod(state_->connection, protocol::kSelectorRingDestroy, nullptr, 0,
                              nullptr, nullptr);
    return Fail(ret == kIOReturnSuccess ? kIOReturnNoMemory : ret,
                "mapping the ring into the app failed (%s)", IOReturnName(ret));
  }
  auto* base = reinterpret_cast<uint8_t*>(static_cast<uintptr_t>(impl->address));
  impl->header = reinterpret_cast<protocol::RingHeader*>(base);
  impl->entries = entries;
  impl->submissions =
      reinterpret_cast<protocol::RingSubmission*>(base + impl->header->submissionOffset);
  impl->completions =
      reinterpret_cast<protocol::RingCompletion*>(base + impl->header->completionOffset);
  impl->token = impl->header->sanitizerToken;
  impl->device = state_.get();
  state_->ring = impl.get();
  ring->impl_ = std::move(impl);
  return Status::Ok();
}

Ring::Ring() = default;

Ring::~Ring() {
  Destroy();
}

Ring::Ring(Ring&& other) noexcept = default;

Ring& Ring::operator=(Ring&& other) noexcept {
  if (this != &other) {
    Destroy();
    impl_ = std::move(other.impl_);
  }
  return *this;
}

bool Ring::valid() const {
  return impl_ && impl_->device != nullptr;
}

uint32_t Ring::entries() const {
  return impl_ ? impl_->entries : 0;
}

uint32_t Ring::inFlight() const {
  return impl_ ? impl_->sqTail - impl_->cqHead : 0;
}

Status Ring::Destroy() {
  if (!impl_) return Status::Ok();
  if (impl_->device != nullptr) {
    Device::State* device = impl_->device;
    impl_->Stop();
    device->ring = nullptr;
  }
  impl_.reset();
  return Status::Ok();
}

namespace {

Status CheckRingBuffer(const RegisteredBuffer& buffer, uint64_t offset, uint64_t length) {
  if (!buffer.valid()) return Status(kIOReturnBadArgument, "the buffer is not registered");
  if (offset > buffer.memory().size() || length > buffer.memory().size() - offset) {
    return Fail(kIOReturnBadArgument,
                "bytes 0x%" PRIx64 "+0x%" PRIx64 " are outside the registered buffer's 0x%zx",
                offset, length, buffer.memory().size());
  }
  return Status::Ok();
}

}  // namespace

Status Ring::SubmitRead(uint64_t cardAddress, const RegisteredBuffer& buffer, uint64_t offset,
                        uint64_t length, uint64_t tag) {
  if (!valid()) return Status(kIOReturnNotOpen, "the ring is not active");
  if (Status s = CheckRingBuffer(buffer, offset, length); !s) return s;
  return impl_->Post(buffer.id(), offset, cardAddress, length, protocol::kRingFromCard, tag);
}

Status Ring::SubmitWrite(uint64_t cardAddress, const RegisteredBuffer& buffer, uint64_t offset,
                         uint64_t length, uint64_t tag) {
  if (!valid()) return Status(kIOReturnNotOpen, "the ring is not active");
  if (Status s = CheckRingBuffer(buffer, offset, length); !s) return s;
  return impl_->Post(buffer.id(), offset, cardAddress, length, protocol::kRingToCard, tag);
}

Status Ring::SubmitRaw(uint64_t bufferId, uint64_t offset, uint64_t cardAddress, uint64_t length,
                       uint32_t direction, uint64_t tag) {
  if (!valid()) return Status(kIOReturnNotOpen, "the ring is not active");
  return impl_->Post(bufferId, offset, cardAddress, length, direction, tag);
}

size_t Ring::PollCompletions(std::span<RingCompletion> out) {
  if (!valid()) return 0;
  const uint32_t tail = impl_->Completed();
  size_t n = 0;
  while (n < out.size() && impl_->cqHead != tail) {
    const protocol::RingCompletion c = impl_->completions[impl_->cqHead & (impl_->entries - 1)];
    out[n++] = RingCompletion{c.tag, c.status, c.bytes};
    ++impl_->cqHead;
  }
  if (n != 0) __atomic_store_n(&impl_->header->cqHead, impl_->cqHead, __ATOMIC_RELEASE);
  return n;
}

Status Ring::Wait(std::chrono::nanoseconds timeout, std::chrono::nanoseconds spin) {
  if (!valid()) return Status(kIOReturnNotOpen, "the ring is not active");
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const auto deadline =
      timeout > std::chrono::hours(24 * 365) ? Clock::time_point::max() : start + timeout;
  const auto spinUntil = start + std::min(spin, timeout);
  while (Clock::now() < spinUntil) {
    if (impl_->Available()) return Status::Ok();
  }
  Device::State* device = impl_->device;
  AsyncEngine* engine = device->Async();
  if (engine == nullptr) return Status(kIOReturnNoResources, "no notification port");
  for (;;) {
    const uint32_t seen = impl_->Completed();
    if (seen != impl_->cqHead) return Status::Ok();
    {
      std::unique_lock guard(impl_->lock);
      if (!impl_->waiting) {
        impl_->waiting = true;
        guard.unlock();
        uint64_t reference[kOSAsyncRef64Count] = {};
        reference[kIOAsyncCalloutFuncIndex] = reinterpret_cast<uintptr_t>(&OnRingWait);
        reference[kIOAsyncCalloutRefconIndex] = reinterpret_cast<uintptr_t>(impl_.get());
        const uint64_t in[1] = {seen};
        const kern_return_t ret =
            IOConnectCallAsyncScalarMethod(device->connection, protocol::kSelectorRingWait,
                                           IONotificationPortGetMachPort(engine->port), reference,
                                           kIOAsyncCalloutCount, in, 1, nullptr, nullptr);
        guard.lock();
        if (ret != kIOReturnSuccess) {
          impl_->waiting = false;
          return Fail(ret, "waiting on the ring: %s (%s)", Reason(ret), IOReturnName(ret));
        }
      }
      if (deadline == Clock::time_point::max()) {
        impl_->woken.wait(guard, [&] { return !impl_->waiting; });
      } else if (!impl_->woken.wait_until(guard, deadline, [&] { return !impl_->waiting; })) {
        guard.unlock();
        if (impl_->Available()) return Status::Ok();
        return Status(kIOReturnTimeout, "no ring completion in time");
      }
    }
  }
}

uint32_t Ring::errors() const {
  return valid() ? __atomic_load_n(&impl_->header->errors, __ATOMIC_ACQUIRE) : 0;
}

}  // namespace fpgadext
