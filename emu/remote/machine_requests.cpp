// The machine daemon's requests (machine_requests.h): each runs the broker routine on behalf of
// one app, answered only for the names that app holds.
#include "machine_requests.h"

#include <DriverKit/IOLib.h>
#include <DriverKit/OSDictionary.h>
#include <sys/mman.h>
#include <sys/uio.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "../kernel/broker.h"

namespace fpgadext::emu::remote {

namespace {

constexpr IOReturn kDead = broker::kMachSendInvalidDest;

enum class Kind { kObject, kConnection, kPort };

// The app got a reference to `name`. False (and the reference dropped) if the app has gone.
bool Give(Session& s, uint32_t name, Kind kind = Kind::kObject) {
  if (name == 0) return true;
  {
    std::lock_guard guard(s.lock);
    if (!s.ended) {
      ++s.names[name];
      if (kind == Kind::kConnection) s.connections.insert(name);
      return true;
    }
  }
  if (kind == Kind::kConnection) {
    broker::ServiceClose(name);
  } else if (kind == Kind::kPort) {
    broker::NotificationPortDestroy(name);
  } else {
    broker::ObjectRelease(name);
  }
  return false;
}

// The app gave up one reference; false if it held none.
bool Take(Session& s, uint32_t name) {
  std::lock_guard guard(s.lock);
  auto it = s.names.find(name);
  if (it == s.names.end()) return false;
  if (--it->second == 0) {
    s.names.erase(it);
    s.connections.erase(name);
  }
  return true;
}

void Forward(void* context, const broker::AsyncMessage& message) {
  auto* route = static_cast<PortRoute*>(context);
  Writer w;
  w.U32(route->port);
  w.Raw(&message, sizeof message);
  std::lock_guard guard(route->session->sendLock);
  remote::SendFrame(route->session->events, w.bytes());  // an app that is gone misses it
}

// The app's memory for out-of-line structures, copied in (and out after the call) with
// process_vm_readv/writev: the dext sees a range of this process holding the app's bytes.
class AppRange {
 public:
  AppRange(pid_t pid, uint64_t address, uint64_t size) : pid_(pid), app_(address), size_(size) {
    if (size == 0) return;
    local_ = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (local_ == MAP_FAILED) {
      local_ = nullptr;
      return;
    }
    iovec here{local_, size};
    iovec there{reinterpret_cast<void*>(address), size};
    // Unreadable app memory: the dext finds the range inaccessible, as the app's own would be.
    if (process_vm_readv(pid, &here, 1, &there, 1, 0) != static_cast<ssize_t>(size)) {
      mprotect(local_, size, PROT_NONE);
      readable_ = false;
    }
  }
  ~AppRange() {
    if (local_ != nullptr) munmap(local_, size_);
  }
  uint64_t address() const { return reinterpret_cast<uint64_t>(local_); }
  void CopyBack() {
    if (local_ == nullptr || !readable_) return;
    iovec here{local_, size_};
    iovec there{reinterpret_cast<void*>(app_), size_};
    process_vm_writev(pid_, &here, 1, &there, 1, 0);
  }

 private:
  pid_t pid_;
  uint64_t app_;
  uint64_t size_;
  void* local_ = nullptr;
  bool readable_ = true;
};

void ConnectMethod(Session& s, Reader& r, Writer& out) {
  broker::ConnectMethodRequest rq;
  rq.connection = r.U32();
  rq.selector = r.U32();
  rq.scalarInputCount = r.U32();
  r.Raw(rq.scalarInput, sizeof rq.scalarInput);
  const std::string inband = r.Bytes();
  rq.inbandInputSize = static_cast<uint32_t>(inband.size());
  rq.inbandInput = reinterpret_cast<const uint8_t*>(inband.data());
  const uint64_t oolIn = r.U64();
  rq.oolInputSize = r.U64();
  rq.scalarOutputCapacity = r.U32();
  rq.inbandOutputCapacity = r.U32();
  const uint64_t oolOut = r.U64();
  rq.oolOutputSize = r.U64();
  rq.variableOutput = r.U32() != 0;
  rq.async = r.U32() != 0;
  rq.wakePort = r.U32();
  rq.asyncReferenceCount = r.U32();
  r.Raw(rq.asyncReference, sizeof rq.asyncReference);
  broker::ConnectMethodReply reply;
  uint8_t inbandOut[broker::kInbandMax];
  reply.inbandOutput = inbandOut;
  if (!r.ok() || rq.inbandOutputCapacity > broker::kInbandMax) {
    reply.status = kIOReturnIPCError;
  } else if (!s.Owns(rq.connection) || (rq.async && !s.Owns(rq.wakePort))) {
    reply.status = kDead;  // not a name in this app's space
  } else {
    // The broker refuses out-of-line sizes it does not accept before touching memory.
    const bool oolSizesValid = rq.oolInputSize <= UINT32_MAX && rq.oolOutputSize <= UINT32_MAX;
    AppRange in(s.pid, oolIn, oolSizesValid ? rq.oolInputSize : 0);
    AppRange outRange(s.pid, oolOut, oolSizesValid ? rq.oolOutputSize : 0);
    rq.oolInputAddress = oolSizesValid ? in.address() : oolIn;
    rq.oolOutputAddress = oolSizesValid ? outRange.address() : oolOut;
    broker::ConnectMethod(rq, &reply);
    if (reply.status == kIOReturnSuccess) outRange.CopyBack();
  }
  out.U32(static_cast<uint32_t>(reply.status));
  out.U32(reply.scalarOutputCount);
  out.Raw(reply.scalarOutput, sizeof reply.scalarOutput);
  out.Bytes(inbandOut, reply.status == kIOReturnSuccess ? reply.inbandOutputSize : 0);
  out.U32(reply.variableOutput != nullptr);
  out.Bytes(reply.variableOutput, reply.variableOutputSize);
  std::free(reply.variableOutput);
}

void NamesOut(Session& s, IOReturn ret, const std::vector<uint32_t>& names, Writer& out) {
  std::vector<uint32_t> given;
  for (uint32_t n : names) {
    if (Give(s, n)) given.push_back(n);
  }
  out.U32(static_cast<uint32_t>(ret));
  out.U32(static_cast<uint32_t>(given.size()));
  for (uint32_t n : given) out.U32(n);
}

// One request: the broker routine, for this app. *fd: a descriptor to send with the reply.
}  // namespace

void Serve(Session& s, Reader& r, Writer& out, int* fd) {
  const auto op = static_cast<Op>(r.U32());
  switch (op) {
    case Op::kGetMatchingServices: {
      OSObject* object = r.Object();
      std::vector<uint32_t> names;
      IOReturn ret = broker::GetMatchingServices(OSDynamicCast(OSDictionary, object), &names);
      OSSafeReleaseNULL(object);
      NamesOut(s, ret, names, out);
      return;
    }
    case Op::kIteratorCreate: {
      // The iterator takes over the app's references to its items.
      const uint32_t count = r.U32();
      std::vector<uint32_t> items;
      for (uint32_t i = 0; i < count && r.ok(); ++i) {
        const uint32_t item = r.U32();
        if (Take(s, item)) items.push_back(item);
      }
      const uint32_t iterator = broker::IteratorCreate(items);
      out.U32(Give(s, iterator) ? iterator : 0);
      return;
    }
    case Op::kIteratorNext: {
      const uint32_t iterator = r.U32();
      const uint32_t next = s.Owns(iterator) ? broker::IteratorNext(iterator) : 0;
      out.U32(Give(s, next) ? next : 0);
      return;
    }
    case Op::kObjectRetain: {
      const uint32_t name = r.U32();
      IOReturn ret = s.Owns(name) ? broker::ObjectRetain(name) : kDead;
      if (ret == kIOReturnSuccess) Give(s, name);
      out.U32(static_cast<uint32_t>(ret));
      return;
    }
    case Op::kObjectRelease: {
      const uint32_t name = r.U32();
      out.U32(static_cast<uint32_t>(Take(s, name) ? broker::ObjectRelease(name) : kDead));
      return;
    }
    case Op::kConnectionGetService: {
      const uint32_t connection = r.U32();
      uint32_t service = 0;
      IOReturn ret =
          s.Owns(connection) ? broker::ConnectionGetService(connection, &service) : kDead;
      if (ret == kIOReturnSuccess && !Give(s, service)) ret = kDead;
      out.U32(static_cast<uint32_t>(ret));
      out.U32(service);
      return;
    }
    case Op::kServiceOpen: {
      const uint32_t service = r.U32();
      const uint32_t type = r.U32();
      uint32_t connection = 0;
      IOReturn ret = s.Owns(service) ? broker::ServiceOpen(service, type, &connection) : kDead;
      if (ret == kIOReturnSuccess) broker::SetConnectionOfOtherProcess(connection);
      if (ret == kIOReturnSuccess && !Give(s, connection, Kind::kConnection)) ret = kDead;
      out.U32(static_cast<uint32_t>(ret));
      out.U32(connection);
      return;
    }
    case Op::kServiceClose: {
      const uint32_t connection = r.U32();
      bool owned;
      {
        std::lock_guard guard(s.lock);
        owned = s.connections.erase(connection) != 0;
        s.names.erase(connection);  // IOServiceClose releases the name whatever happens
      }
      out.U32(static_cast<uint32_t>(owned ? broker::ServiceClose(connection) : kDead));
      return;
    }
    case Op::kConnectMethod:
      ConnectMethod(s, r, out);
      return;
    case Op::kMapMemory: {
      const uint32_t connection = r.U32();
      const uint32_t type = r.U32();
      const uint32_t options = r.U32();
      uint64_t size = 0, token = 0;
      bool readOnly = false;
      IOReturn ret = s.Owns(connection) ? broker::MapMemoryShared(connection, type, options, fd,
                                                                  &size, &readOnly, &token)
                                        : kDead;
      out.U32(static_cast<uint32_t>(ret));
      out.U64(size);
      out.U32(readOnly);
      out.U64(token);
      return;
    }
    case Op::kUnmapMemory: {
      const uint32_t connection = r.U32();
      const uint32_t type = r.U32();
      const uint64_t token = r.U64();
      out.U32(static_cast<uint32_t>(
          s.Owns(connection) ? broker::UnmapMemory(connection, type, token) : kDead));
      return;
    }
    case Op::kNotificationPortCreate: {
      const uint32_t port = broker::NotificationPortCreate();
      if (port != 0) {
        auto route = std::make_unique<PortRoute>(PortRoute{&s, port});
        broker::NotificationPortSetReceiver(port, Forward, route.get());
        std::lock_guard guard(s.lock);
        s.ports[port] = std::move(route);
      }
      out.U32(Give(s, port, Kind::kPort) ? port : 0);
      return;
    }
    case Op::kNotificationPortDestroy: {
      const uint32_t port = r.U32();
      std::unique_ptr<PortRoute> route;
      {
        std::lock_guard guard(s.lock);
        if (auto it = s.ports.find(port); it != s.ports.end()) {
          route = std::move(it->second);
          s.ports.erase(it);
          s.names.erase(port);
        }
      }
      if (route) broker::NotificationPortDestroy(port);  // waits for a delivery in progress
      out.U32(0);
      return;
    }
    case Op::kAddMatchingNotification: {
      const std::string type = r.Bytes();
      OSObject* matching = r.Object();
      const uint32_t port = r.U32();
      const std::string reference = r.Bytes();
      uint32_t notification = 0;
      IOReturn ret = kDead;
      if (s.Owns(port)) {
        ret = broker::AddMatchingNotification(
            type.c_str(), OSDynamicCast(OSDictionary, matching), port,
            reinterpret_cast<const uint64_t*>(reference.data()),
            static_cast<uint32_t>(reference.size() / sizeof(uint64_t)), &notification);
      }
      OSSafeReleaseNULL(matching);
      if (ret == kIOReturnSuccess && !Give(s, notification)) ret = kDead;
      out.U32(static_cast<uint32_t>(ret));
      out.U32(notification);
      return;
    }
    case Op::kAddInterestNotification: {
      const uint32_t service = r.U32();
      const std::string type = r.Bytes();
      const uint32_t port = r.U32();
      const std::string reference = r.Bytes();
      uint32_t notification = 0;
      IOReturn ret = kDead;
      if (s.Owns(service) && s.Owns(port)) {
        ret = broker::AddInterestNotification(
            service, type.c_str(), port, reinterpret_cast<const uint64_t*>(reference.data()),
            static_cast<uint32_t>(reference.size() / sizeof(uint64_t)), &notification);
      }
      if (ret == kIOReturnSuccess && !Give(s, notification)) ret = kDead;
      out.U32(static_cast<uint32_t>(ret));
      out.U32(notification);
      return;
    }
    default:
      break;
  }
  // The routines of one name, answered only for names the app holds.
  const uint32_t name = r.U32();
  const bool owned = s.Owns(name);
  switch (op) {
    case Op::kIteratorReset:
      out.U32(static_cast<uint32_t>(owned ? broker::IteratorReset(name) : kDead));
      return;
    case Op::kIteratorIsValid:
      out.U32(owned && broker::IteratorIsValid(name));
      return;
    case Op::kObjectUserRetainCount:
      out.U32(owned ? broker::ObjectUserRetainCount(name) : 0);
      return;
    case Op::kCheckConnection:
      out.U32(static_cast<uint32_t>(owned ? broker::CheckConnection(name) : kDead));
      return;
    case Op::kNotificationIsLive:
      out.U32(owned && broker::NotificationIsLive(name));
      return;
    case Op::kObjectConformsTo: {
      const std::string className = r.Bytes();
      out.U32(owned && broker::ObjectConformsTo(name, className.c_str()));
      return;
    }
    case Op::kSameObject: {
      const uint32_t other = r.U32();
      out.U32(owned && s.Owns(other) && broker::SameObject(name, other));
      return;
    }
    case Op::kObjectGetClass:
    case Op::kRegistryEntryGetName: {
      std::string text;
      IOReturn ret = !owned                      ? kDead
                     : op == Op::kObjectGetClass ? broker::ObjectGetClass(name, &text)
                                                 : broker::RegistryEntryGetName(name, &text);
      out.U32(static_cast<uint32_t>(ret));
      out.String(text);
      return;
    }
    case Op::kRegistryEntryGetID: {
      uint64_t id = 0;
      out.U32(static_cast<uint32_t>(owned ? broker::RegistryEntryGetID(name, &id) : kDead));
      out.U64(id);
      return;
    }
    case Op::kCopyProperties:
    case Op::kCopyProperty: {
      OSObject* value = nullptr;
      IOReturn ret = kDead;
      if (op == Op::kCopyProperties && owned) {
        OSDictionary* properties = nullptr;
        ret = broker::CopyProperties(name, &properties);
        value = properties;
      } else if (owned) {
        const std::string key = r.Bytes();
        const bool parents = r.U32() != 0;
        ret = broker::CopyProperty(name, key.c_str(), parents, &value);
      }
      out.U32(static_cast<uint32_t>(ret));
      out.Object(ret == kIOReturnSuccess ? value : nullptr);
      OSSafeReleaseNULL(value);
      return;
    }
    default:
      out.U32(static_cast<uint32_t>(kIOReturnUnsupported));
      return;
  }
}

// What xnu does for a dead task's rights. Its connections close (the dext's
// user clients stop), its ports go, every name it held is released.
void End(Session& s) {
  std::set<uint32_t> connections;
  std::map<uint32_t, std::unique_ptr<PortRoute>> ports;
  std::map<uint32_t, int> names;
  {
    std::lock_guard guard(s.lock);
    s.ended = true;
    connections.swap(s.connections);
    ports.swap(s.ports);
    names.swap(s.names);
  }
  for (uint32_t c : connections) {
    broker::ServiceClose(c);
    names.erase(c);
  }
  for (auto& [port, route] : ports) {
    broker::NotificationPortDestroy(port);
    names.erase(port);
  }
  for (auto& [name, references] : names) {
    for (int i = 0; i < references; ++i) broker::ObjectRelease(name);
  }
}

}  // namespace fpgadext::emu::remote
