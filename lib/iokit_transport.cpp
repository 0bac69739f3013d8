#include "iokit_transport.h"

#include <IOKit/IOMessage.h>
#include <fpgadext/protocol.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <string>

#include "status_text.h"

namespace fpgadext {

namespace {

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

Status RefusedOpen(uint32_t index, kern_return_t ret, const std::string& bundleID) {
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
  return Fail(ret, "board %u: IOServiceOpen failed (%s)", index, IOReturnName(ret));
}

}  // namespace

std::vector<BoardSummary> IokitTransport::List() {
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
      uint32_t count = protocol::kDeviceInfoCount;
      if (IOConnectCallScalarMethod(connection, protocol::kSelectorGetDeviceInfo, nullptr, 0, info,
                                    &count) == kIOReturnSuccess &&
          count == protocol::kDeviceInfoCount) {
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

namespace {

// What a board watch's matching callout tells the waiting thread: that a dext service matched.
struct BoardWatch {
  std::mutex lock;
  std::condition_variable matched;
  uint64_t generation = 0;
};

// Empties the iterator, which re-arms the notification (IOServiceAddMatchingNotification sends
// nothing more until the iterator was read to its end).
void OnBoardMatched(void* refcon, io_iterator_t iterator) {
  auto* watch = static_cast<BoardWatch*>(refcon);
  while (io_object_t service = IOIteratorNext(iterator)) IOObjectRelease(service);
  {
    std::lock_guard guard(watch->lock);
    ++watch->generation;
  }
  watch->matched.notify_all();
}

size_t BoardCount() {
  std::vector<Service> services = MatchingServices();
  const size_t count = services.size();
  Release(services);
  return count;
}

}  // namespace

Status IokitTransport::WaitForBoard(uint32_t index, std::chrono::nanoseconds timeout) {
  using Clock = std::chrono::steady_clock;
  const Clock::time_point now = Clock::now();
  const Clock::time_point deadline =
      timeout >= Clock::time_point::max() - now
          ? Clock::time_point::max()
          : now + std::chrono::duration_cast<Clock::duration>(timeout);
  BoardWatch watch;
  dispatch_queue_t queue = dispatch_queue_create("fpgadext.boards", DISPATCH_QUEUE_SERIAL);
  IONotificationPortRef port = IONotificationPortCreate(kIOMainPortDefault);
  io_iterator_t matches = IO_OBJECT_NULL;
  Status result = Status(kIOReturnNoResources, "no notification port to wait for a board");
  if (queue != nullptr && port != nullptr) {
    IONotificationPortSetDispatchQueue(port, queue);
    // The iterator is drained on the port's queue, where later callouts run too.
    if (IOServiceAddMatchingNotification(port, kIOFirstMatchNotification,
                                         IOServiceNameMatching(protocol::kDriverClassName),
                                         &OnBoardMatched, &watch, &matches) == kIOReturnSuccess) {
      BoardWatch* w = &watch;
      io_iterator_t it = matches;
      dispatch_sync(queue, ^{
        OnBoardMatched(w, it);
      });
    }
    // Counted after the notification is armed: a board that matches in between wakes the wait.
    for (;;) {
      uint64_t seen = 0;
      {
        std::lock_guard guard(watch.lock);
        seen = watch.generation;
      }
      if (BoardCount() > index) {
        result = Status::Ok();
        break;
      }
      std::unique_lock guard(watch.lock);
      if (!watch.matched.wait_until(guard, deadline, [&] { return watch.generation != seen; })) {
        result = Fail(kIOReturnTimeout, "board %u did not appear in time (%s)", index,
                      IOReturnName(kIOReturnTimeout));
        break;
      }
    }
  }
  if (matches != IO_OBJECT_NULL) IOObjectRelease(matches);
  if (port != nullptr) IONotificationPortDestroy(port);
  if (queue != nullptr) {
    dispatch_sync(queue, ^{
                  });  // a callout already queued runs before `watch` goes
    dispatch_release(queue);
  }
  return result;
}

Status IokitTransport::Open(uint32_t index, std::unique_ptr<IokitTransport>* transport) {
  std::vector<Service> services = MatchingServices();
  if (index >= services.size()) {
    const size_t count = services.size();
    Release(services);
    return Fail(kIOReturnNotFound, "no board %u: the fpgadext dext drives %zu board(s)", index,
                count);
  }
  const io_service_t service = services[index].service;
  std::unique_ptr<IokitTransport> t(new IokitTransport());
  kern_return_t ret =
      IOServiceOpen(service, mach_task_self(), protocol::kProtocolVersion, &t->connection_);
  if (ret != kIOReturnSuccess) {
    t->connection_ = IO_OBJECT_NULL;
    // The kernel refused the app, not the board: say which entitlement is missing and where.
    const std::string bundleID = ret == kIOReturnNotPermitted || ret == kIOReturnNotPrivileged
                                     ? BundleIdentifier(service)
                                     : std::string();
    Release(services);
    return RefusedOpen(index, ret, bundleID);
  }
  t->queue_ = dispatch_queue_create("fpgadext.completions", DISPATCH_QUEUE_SERIAL);
  t->port_ = IONotificationPortCreate(kIOMainPortDefault);
  if (t->queue_ == nullptr || t->port_ == nullptr) {
    Release(services);
    return Status(kIOReturnNoResources, "no notification port for completions");
  }
  IONotificationPortSetDispatchQueue(t->port_, t->queue_);
  // The kernel's word that the board or its driver went away (kIOMessageServiceIsTerminated).
  ret = IOServiceAddInterestNotification(t->port_, service, kIOGeneralInterest, &OnInterest,
                                         t.get(), &t->interest_);
  Release(services);
  if (ret != kIOReturnSuccess) t->interest_ = IO_OBJECT_NULL;  // calls still find out
  *transport = std::move(t);
  return Status::Ok();
}

IokitTransport::~IokitTransport() {
  Close();
  if (port_ != nullptr) IONotificationPortDestroy(port_);
  if (queue_ != nullptr) {
    dispatch_sync(queue_, ^{
                  });  // a callout already queued runs before the transport goes
    dispatch_release(queue_);
  }
}

void IokitTransport::OnInterest(void* refcon, io_service_t, uint32_t messageType, void*) {
  if (messageType == kIOMessageServiceIsTerminated)
    static_cast<IokitTransport*>(refcon)->MarkGone();
}

int IokitTransport::Checked(int ret) {
  bool dead = ret == kIOReturnNotAttached || ret == MACH_SEND_INVALID_DEST;
  if (ret == kIOReturnBadArgument) {
    // On a Mac the connection of a terminated user client names its set of maps from then on,
    // and every routine's check for a user client fails with kIOReturnBadArgument (xnu
    // IOUserClient.cpp, destroyUserReferences and CHECK): IOConnectGetService tells such a
    // connection from an argument the dext refused.
    io_service_t service = IO_OBJECT_NULL;
    if (IOConnectGetService(connection_, &service) == kIOReturnSuccess) {
      IOObjectRelease(service);
    } else {
      dead = true;
    }
  }
  if (!dead) return ret;
  MarkGone();
  return kIOReturnNoDevice;
}

int IokitTransport::Call(uint32_t selector, const uint64_t* in, uint32_t inCount, uint64_t* out,
                         uint32_t* outCount, const void* structIn, size_t structInSize,
                         void* structOut, size_t* structOutSize) {
  if (gone() || connection_ == IO_OBJECT_NULL) return kIOReturnNoDevice;
  return Checked(IOConnectCallMethod(connection_, selector, in, inCount, structIn, structInSize,
                                     out, outCount, structOut, structOutSize));
}

int IokitTransport::CallAsync(uint32_t selector, const uint64_t* in, uint32_t inCount,
                              AsyncDone done, void* refcon) {
  if (gone() || connection_ == IO_OBJECT_NULL) return kIOReturnNoDevice;
  uint64_t reference[kOSAsyncRef64Count] = {};
  reference[kIOAsyncCalloutFuncIndex] = reinterpret_cast<uintptr_t>(done);
  reference[kIOAsyncCalloutRefconIndex] = reinterpret_cast<uintptr_t>(refcon);
  return Checked(IOConnectCallAsyncScalarMethod(
      connection_, selector, IONotificationPortGetMachPort(port_), reference, kIOAsyncCalloutCount,
      in, inCount, nullptr, nullptr));
}

int IokitTransport::Map(uint32_t type, uint64_t* address, uint64_t* size) {
  if (gone() || connection_ == IO_OBJECT_NULL) return kIOReturnNoDevice;
  mach_vm_address_t a = 0;
  mach_vm_size_t s = 0;
  const int ret =
      Checked(IOConnectMapMemory64(connection_, type, mach_task_self(), &a, &s, kIOMapAnywhere));
  *address = a;
  *size = s;
  return ret;
}

int IokitTransport::Unmap(uint32_t type, uint64_t address) {
  // After removal the maps belong to the connection until it is closed (xnu
  // IOUserClient::destroyUserReferences): there is no user client left to unmap them.
  if (gone() || connection_ == IO_OBJECT_NULL) return kIOReturnNoDevice;
  return Checked(IOConnectUnmapMemory64(connection_, type, mach_task_self(), address));
}

void IokitTransport::Close() {
  if (interest_ != IO_OBJECT_NULL) {
    IOObjectRelease(interest_);
    interest_ = IO_OBJECT_NULL;
  }
  if (connection_ != IO_OBJECT_NULL) {
    IOServiceClose(connection_);  // the dext completes what it still holds; mappings go
    connection_ = IO_OBJECT_NULL;
  }
}

}  // namespace fpgadext
