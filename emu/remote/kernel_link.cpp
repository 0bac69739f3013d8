// IOKitLib's way to the kernel (emu/iokit/kernel_link.h): each routine goes to the machine
// daemon once this process is connected to one (machine_client.h), and to the broker in this
// process otherwise.
#include <DriverKit/IOLib.h>
#include <DriverKit/OSDictionary.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "../iokit/kernel_link.h"
#include "machine_client.h"

namespace fpgadext::emu {

using remote::Client;
using remote::kDead;
using remote::MapView;
using remote::NamesReply;
using remote::ObjectReply;
using remote::OneName;
using remote::Op;
using remote::Reader;
using remote::Remote;
using remote::Request;
using remote::StatusAndName;
using remote::StatusAndString;
using remote::Unview;
using remote::View;
using remote::Writer;

namespace kernel_link {

IOReturn GetMatchingServices(OSDictionary* matching, std::vector<uint32_t>* handles) {
  Client* c = Remote();
  if (c == nullptr) return broker::GetMatchingServices(matching, handles);
  Writer w = Request(Op::kGetMatchingServices);
  w.Object(matching);
  std::string reply;
  if (!c->Call(w, &reply)) return kIOReturnNotReady;  // as the broker without a machine
  return NamesReply(reply, handles);
}

uint32_t IteratorCreate(const std::vector<uint32_t>& handles) {
  Client* c = Remote();
  if (c == nullptr) return broker::IteratorCreate(handles);
  Writer w = Request(Op::kIteratorCreate);
  w.U32(static_cast<uint32_t>(handles.size()));
  for (uint32_t h : handles) w.U32(h);
  std::string reply;
  if (!c->Call(w, &reply)) return 0;
  return Reader(reply).U32();
}

uint32_t IteratorNext(uint32_t iterator) {
  Client* c = Remote();
  return c ? OneName(*c, Op::kIteratorNext, iterator, 0) : broker::IteratorNext(iterator);
}

IOReturn IteratorReset(uint32_t iterator) {
  Client* c = Remote();
  return c ? static_cast<IOReturn>(OneName(*c, Op::kIteratorReset, iterator, kDead))
           : broker::IteratorReset(iterator);
}

bool IteratorIsValid(uint32_t iterator) {
  Client* c = Remote();
  return c ? OneName(*c, Op::kIteratorIsValid, iterator, 0) != 0
           : broker::IteratorIsValid(iterator);
}

IOReturn ObjectRetain(uint32_t handle) {
  Client* c = Remote();
  return c ? static_cast<IOReturn>(OneName(*c, Op::kObjectRetain, handle, kDead))
           : broker::ObjectRetain(handle);
}

IOReturn ObjectRelease(uint32_t handle) {
  Client* c = Remote();
  return c ? static_cast<IOReturn>(OneName(*c, Op::kObjectRelease, handle, kDead))
           : broker::ObjectRelease(handle);
}

IOReturn ObjectGetClass(uint32_t handle, std::string* className) {
  Client* c = Remote();
  return c ? StatusAndString(*c, Op::kObjectGetClass, handle, className)
           : broker::ObjectGetClass(handle, className);
}

bool ObjectConformsTo(uint32_t handle, const char* className) {
  Client* c = Remote();
  if (c == nullptr) return broker::ObjectConformsTo(handle, className);
  if (className == nullptr) return false;
  Writer w = Request(Op::kObjectConformsTo);
  w.U32(handle);
  w.String(className);
  std::string reply;
  return c->Call(w, &reply) && Reader(reply).U32() != 0;
}

uint32_t ObjectUserRetainCount(uint32_t handle) {
  Client* c = Remote();
  return c ? OneName(*c, Op::kObjectUserRetainCount, handle, 0)
           : broker::ObjectUserRetainCount(handle);
}

bool SameObject(uint32_t a, uint32_t b) {
  Client* c = Remote();
  if (c == nullptr) return broker::SameObject(a, b);
  Writer w = Request(Op::kSameObject);
  w.U32(a);
  w.U32(b);
  std::string reply;
  return c->Call(w, &reply) && Reader(reply).U32() != 0;
}

IOReturn RegistryEntryGetName(uint32_t handle, std::string* name) {
  Client* c = Remote();
  return c ? StatusAndString(*c, Op::kRegistryEntryGetName, handle, name)
           : broker::RegistryEntryGetName(handle, name);
}

IOReturn RegistryEntryGetID(uint32_t handle, uint64_t* id) {
  Client* c = Remote();
  if (c == nullptr) return broker::RegistryEntryGetID(handle, id);
  Writer w = Request(Op::kRegistryEntryGetID);
  w.U32(handle);
  std::string reply;
  if (!c->Call(w, &reply)) return kDead;
  Reader r(reply);
  const IOReturn ret = static_cast<IOReturn>(r.U32());
  const uint64_t value = r.U64();
  if (ret == kIOReturnSuccess) *id = value;
  return ret;
}

IOReturn CopyProperties(uint32_t entry, OSDictionary** properties) {
  Client* c = Remote();
  if (c == nullptr) return broker::CopyProperties(entry, properties);
  Writer w = Request(Op::kCopyProperties);
  w.U32(entry);
  OSObject* object = nullptr;
  const IOReturn ret = ObjectReply(*c, w, &object);
  if (ret != kIOReturnSuccess) return ret;
  *properties = OSDynamicCast(OSDictionary, object);
  if (*properties == nullptr) {
    OSSafeReleaseNULL(object);
    return kIOReturnInternalError;
  }
  return kIOReturnSuccess;
}

IOReturn CopyProperty(uint32_t entry, const char* key, bool parents, OSObject** value) {
  Client* c = Remote();
  if (c == nullptr) return broker::CopyProperty(entry, key, parents, value);
  Writer w = Request(Op::kCopyProperty);
  w.U32(entry);
  w.String(key != nullptr ? key : "");
  w.U32(parents);
  return ObjectReply(*c, w, value);
}

IOReturn ConnectionGetService(uint32_t connection, uint32_t* service) {
  Client* c = Remote();
  if (c == nullptr) return broker::ConnectionGetService(connection, service);
  Writer w = Request(Op::kConnectionGetService);
  w.U32(connection);
  return StatusAndName(*c, w, service);
}

IOReturn CheckConnection(uint32_t connection) {
  Client* c = Remote();
  return c ? static_cast<IOReturn>(OneName(*c, Op::kCheckConnection, connection, kDead))
           : broker::CheckConnection(connection);
}

IOReturn ServiceOpen(uint32_t service, uint32_t type, uint32_t* connection) {
  Client* c = Remote();
  if (c == nullptr) return broker::ServiceOpen(service, type, connection);
  Writer w = Request(Op::kServiceOpen);
  w.U32(service);
  w.U32(type);
  return StatusAndName(*c, w, connection);
}

IOReturn ServiceClose(uint32_t connection) {
  Client* c = Remote();
  if (c == nullptr) return broker::ServiceClose(connection);
  const IOReturn ret = static_cast<IOReturn>(OneName(*c, Op::kServiceClose, connection, kDead));
  // The app's views through the connection go with it, whatever the daemon said.
  std::lock_guard guard(c->viewsLock);
  std::erase_if(c->views, [connection](const View& v) {
    if (v.connection != connection) return false;
    Unview(v);
    return true;
  });
  return ret;
}

void ConnectMethod(const ConnectMethodRequest& rq, ConnectMethodReply* reply) {
  Client* c = Remote();
  if (c == nullptr) return broker::ConnectMethod(rq, reply);
  Writer w = Request(Op::kConnectMethod);
  w.U32(rq.connection);
  w.U32(rq.selector);
  w.U32(rq.scalarInputCount);
  w.Raw(rq.scalarInput, sizeof rq.scalarInput);
  w.Bytes(rq.inbandInput, rq.inbandInput != nullptr ? rq.inbandInputSize : 0);
  w.U64(rq.oolInputAddress);
  w.U64(rq.oolInputSize);
  w.U32(rq.scalarOutputCapacity);
  w.U32(rq.inbandOutputCapacity);
  w.U64(rq.oolOutputAddress);
  w.U64(rq.oolOutputSize);
  w.U32(rq.variableOutput);
  w.U32(rq.async);
  w.U32(rq.wakePort);
  w.U32(rq.asyncReferenceCount);
  w.Raw(rq.asyncReference, sizeof rq.asyncReference);
  std::string frame;
  if (!c->Call(w, &frame)) {
    reply->status = kDead;
    return;
  }
  Reader r(frame);
  reply->status = static_cast<IOReturn>(r.U32());
  reply->scalarOutputCount = r.U32();
  r.Raw(reply->scalarOutput, sizeof reply->scalarOutput);
  const std::string inband = r.Bytes();
  const uint32_t variable = r.U32();
  const std::string variableBytes = r.Bytes();
  if (!r.ok() || inband.size() > rq.inbandOutputCapacity ||
      reply->scalarOutputCount > broker::kScalarMax) {
    reply->status = kIOReturnIPCError;
    return;
  }
  reply->inbandOutputSize = static_cast<uint32_t>(inband.size());
  if (!inband.empty()) std::memcpy(reply->inbandOutput, inband.data(), inband.size());
  if (variable != 0) {
    // The app frees it with vm_deallocate, as the broker's reply.
    reply->variableOutput = std::malloc(variableBytes.empty() ? 1 : variableBytes.size());
    std::memcpy(reply->variableOutput, variableBytes.data(), variableBytes.size());
    reply->variableOutputSize = variableBytes.size();
  }
}

IOReturn MapMemory(uint32_t connection, uint32_t type, uint32_t options, uint64_t* address,
                   uint64_t* size) {
  Client* c = Remote();
  if (c == nullptr) return broker::MapMemory(connection, type, options, address, size);
  Writer w = Request(Op::kMapMemory);
  w.U32(connection);
  w.U32(type);
  w.U32(options);
  std::string reply;
  int fd = -1;
  if (!c->Call(w, &reply, &fd)) return kDead;
  Reader r(reply);
  const IOReturn ret = static_cast<IOReturn>(r.U32());
  const uint64_t length = r.U64();
  const bool readOnly = r.U32() != 0;
  const uint64_t token = r.U64();
  if (ret != kIOReturnSuccess) {
    if (fd >= 0) close(fd);
    return ret;
  }
  void* view = fd >= 0 ? MapView(fd, length, readOnly) : nullptr;
  if (fd >= 0) close(fd);
  if (view == nullptr) {
    Writer undo = Request(Op::kUnmapMemory);
    undo.U32(connection);
    undo.U32(type);
    undo.U64(token);
    std::string ignored;
    c->Call(undo, &ignored);
    return kIOReturnNoMemory;
  }
  std::lock_guard guard(c->viewsLock);
  c->views.push_back({connection, type, reinterpret_cast<uint64_t>(view), length, token});
  *address = reinterpret_cast<uint64_t>(view);
  *size = length;
  return kIOReturnSuccess;
}

IOReturn UnmapMemory(uint32_t connection, uint32_t type, uint64_t address) {
  Client* c = Remote();
  if (c == nullptr) return broker::UnmapMemory(connection, type, address);
  View view{};
  bool found = false;
  {
    std::lock_guard guard(c->viewsLock);
    for (const View& v : c->views) {
      if (v.connection == connection && v.type == type && v.address == address) {
        view = v;
        found = true;
        break;
      }
    }
  }
  Writer w = Request(Op::kUnmapMemory);
  w.U32(connection);
  w.U32(type);
  w.U64(found ? view.token : 0);  // 0 matches no mapping: the daemon answers as for a bad address
  std::string reply;
  if (!c->Call(w, &reply)) return kDead;
  const IOReturn ret = static_cast<IOReturn>(Reader(reply).U32());
  if (ret == kIOReturnSuccess && found) {
    std::lock_guard guard(c->viewsLock);
    std::erase_if(c->views, [&](const View& v) { return v.token == view.token; });
    Unview(view);
  }
  return ret;
}

uint32_t NotificationPortCreate() {
  Client* c = Remote();
  if (c == nullptr) return broker::NotificationPortCreate();
  std::lock_guard guard(c->portsLock);  // before a message for it can arrive
  const uint32_t port = static_cast<uint32_t>(OneName(*c, Op::kNotificationPortCreate, 0, 0));
  if (port != 0) c->ports[port];
  return port;
}

void NotificationPortDestroy(uint32_t port) {
  Client* c = Remote();
  if (c == nullptr) return broker::NotificationPortDestroy(port);
  OneName(*c, Op::kNotificationPortDestroy, port, 0);
  std::lock_guard guard(c->portsLock);  // a delivery in progress ends first
  c->ports.erase(port);
}

void NotificationPortSetReceiver(uint32_t port, void (*deliver)(void*, const AsyncMessage&),
                                 void* context) {
  Client* c = Remote();
  if (c == nullptr) return broker::NotificationPortSetReceiver(port, deliver, context);
  std::lock_guard guard(c->portsLock);
  auto it = c->ports.find(port);
  if (it == c->ports.end()) return;
  it->second.deliver = deliver;
  it->second.context = context;
  for (const AsyncMessage& m : it->second.pending) deliver(context, m);
  it->second.pending.clear();
}

bool NotificationIsLive(uint32_t notification) {
  Client* c = Remote();
  return c ? OneName(*c, Op::kNotificationIsLive, notification, 0) != 0
           : broker::NotificationIsLive(notification);
}

IOReturn AddMatchingNotification(const char* type, OSDictionary* matching, uint32_t port,
                                 const uint64_t* reference, uint32_t referenceCount,
                                 uint32_t* notification) {
  Client* c = Remote();
  if (c == nullptr) {
    return broker::AddMatchingNotification(type, matching, port, reference, referenceCount,
                                           notification);
  }
  Writer w = Request(Op::kAddMatchingNotification);
  w.String(type != nullptr ? type : "");
  w.Object(matching);
  w.U32(port);
  w.Bytes(reference, referenceCount * sizeof(uint64_t));
  return StatusAndName(*c, w, notification);
}

IOReturn AddInterestNotification(uint32_t service, const char* type, uint32_t port,
                                 const uint64_t* reference, uint32_t referenceCount,
                                 uint32_t* notification) {
  Client* c = Remote();
  if (c == nullptr) {
    return broker::AddInterestNotification(service, type, port, reference, referenceCount,
                                           notification);
  }
  Writer w = Request(Op::kAddInterestNotification);
  w.U32(service);
  w.String(type != nullptr ? type : "");
  w.U32(port);
  w.Bytes(reference, referenceCount * sizeof(uint64_t));
  return StatusAndName(*c, w, notification);
}

}  // namespace kernel_link
}  // namespace fpgadext::emu
