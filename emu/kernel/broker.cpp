// The kernel broker: port names, matching, user-client connections and xnu's marshalling of
// IOConnectCallMethod (xnu iokit/Kernel/IOUserClient.cpp is_io_connect_method and
// iokit/Kernel/IOUserServer.cpp IOUserUserClient::externalMethod), memory mapping
// (IOUserUserClient::clientMemoryForType), async completions (sendAsyncResult64).
#include "broker.h"

#include <DriverKit/IOBufferMemoryDescriptor.h>
#include <DriverKit/IOKitKeys.h>
#include <DriverKit/IOUserClient.h>
#include <DriverKit/OSBoolean.h>
#include <DriverKit/OSData.h>
#include <DriverKit/OSDictionary.h>
#include <fcntl.h>
#include <os/log.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <deque>
#include <map>
#include <memory>
#include <mutex>

#include "async_action.h"
#include "broker_internal.h"
#include "entitlement_check.h"
#include "fpgadext/emu/broker_stats.h"
#include "fpgadext/emu/host_cost.h"
#include "ipc_lock.h"
#include "kernel.h"
#include "mmio_trap.h"

namespace fpgadext::emu {

OSDefineMetaClassWithAllocator(AsyncCompletionAction, OSAction, nullptr);

namespace broker {
namespace {

constexpr uint32_t kUserClientMemoryReadOnly = 0x1;  // kIOUserClientMemoryReadOnly
constexpr uint32_t kMapReadOnly = 0x1000;            // kIOMapReadOnly (app side)

}  // namespace

struct Mapping {
  uint32_t type;
  uint64_t address;
  uint64_t size;
  IOMemoryDescriptor* memory;                // retained while mapped
  void (*unmap)(void*, uint64_t) = nullptr;  // undoes the view (buffer view, device mapping)
};

struct Connection {
  std::mutex lock;
  IOUserClient* userClient = nullptr;  // retained until the connection ends
  ServiceNode* node = nullptr;
  bool dead = false;
  // The app mapped memory through it once (xnu then gives the user client its set of maps,
  // kept after unmapping: is_io_connect_map_memory_into_task).
  bool everMapped = false;
  std::vector<Mapping> mappings;
  // xnu's per-user-client IPC lock (ipc_lock.h): calls take it `callMode`, a close exclusive.
  IpcLock ipc;
  IpcLock::Mode callMode = IpcLock::Mode::kShared;
  // The app is another process (the machine daemon's): its addresses are not this process's.
  bool otherProcess = false;
};

HandleTable* Table() {
  Kernel* kernel = Kernel::Current();
  return kernel != nullptr ? &kernel->handles() : nullptr;
}

uint32_t NewName(HandleTable& t) {
  t.nextName += 4;  // Mach port names are sparse; never reuse one
  return t.nextName;
}

Handle* Find(HandleTable& t, uint32_t name, Handle::Kind kind) {
  auto it = t.handles.find(name);
  return it != t.handles.end() && it->second.kind == kind ? &it->second : nullptr;
}

uint32_t ServiceHandle(HandleTable& t, const ServiceNode* node) {
  for (auto& [name, h] : t.handles) {
    if (h.kind == Handle::Kind::kService && h.registryID == node->registryID) {
      ++h.references;
      return name;
    }
  }
  uint32_t name = NewName(t);
  Handle h;
  h.kind = Handle::Kind::kService;
  h.registryID = node->registryID;
  h.name = node->name;
  h.classes = KernelClasses(node);
  t.handles.emplace(name, std::move(h));
  return name;
}

void ReleaseLocked(HandleTable& t, uint32_t name) {
  auto it = t.handles.find(name);
  if (it == t.handles.end() || --it->second.references > 0) return;
  std::vector<uint32_t> items = std::move(it->second.items);
  std::shared_ptr<Notifier> notifier = std::move(it->second.notifier);
  t.handles.erase(it);
  if (notifier) NotifierReleasedLocked(t, notifier);
  for (uint32_t item : items) ReleaseLocked(t, item);
}

ServiceNode* NodeFor(uint32_t service) {
  Kernel* kernel = Kernel::Current();
  if (kernel == nullptr) return nullptr;
  HandleTable* t = &kernel->handles();
  std::lock_guard guard(t->lock);
  Handle* h = Find(*t, service, Handle::Kind::kService);
  return h ? kernel->FindNode(h->registryID) : nullptr;
}

std::vector<std::string> KernelClasses(const ServiceNode* node) {
  std::vector<std::string> classes{node->className};
  if (node->className == "IOUserUserClient") classes.push_back("IOUserClient");
  classes.insert(classes.end(), {"IOService", "IORegistryEntry", "OSObject"});
  return classes;
}

namespace {

std::shared_ptr<Connection> ConnectionFor(uint32_t name) {
  HandleTable* t = Table();
  if (t == nullptr) return nullptr;
  std::lock_guard guard(t->lock);
  Handle* h = Find(*t, name, Handle::Kind::kConnection);
  return h ? h->connection : nullptr;
}

// What a routine taking an object returns for a name that is not one of `kind`: a dead name
// fails in mach_msg, a live port of another kind in the routine's CHECK(cls, ...) cast.
IOReturn WrongHandle(uint32_t name) {
  HandleTable* t = Table();
  if (t == nullptr) return kMachSendInvalidDest;
  std::lock_guard guard(t->lock);
  return t->handles.count(name) ? kIOReturnBadArgument : kMachSendInvalidDest;
}

// What the app's connection port answers once the kernel ended its user client (terminated:
// xnu runs IOUserClient::destroyUserReferences as the user client goes inactive, so from then
// on, and after it is freed alike). If the app ever mapped memory through it, the port names
// the user client's set of maps and every routine's CHECK(IOUserClient, ...) fails:
// kIOReturnBadArgument. Otherwise the port is destroyed and the app's name is dead:
// MACH_SEND_INVALID_DEST from mach_msg (iokit/Kernel/IOUserClient.cpp, osfmk/device/iokit_rpc.c
// iokit_destroy_object_port). kIOReturnSuccess while the user client lives. Caller holds c.lock.
IOReturn EndedStatusLocked(const Connection& c) {
  if (!c.dead) return kIOReturnSuccess;
  return c.everMapped ? kIOReturnBadArgument : kMachSendInvalidDest;
}

IOReturn EndedStatus(Connection& c) {
  std::lock_guard guard(c.lock);
  return EndedStatusLocked(c);
}

void UnmapLocked(Mapping& m) {
  if (m.unmap != nullptr) m.unmap(reinterpret_cast<void*>(m.address), m.size);
  OSSafeReleaseNULL(m.memory);
}

// How a call holds the user client's IPC lock (xnu is_io_service_open_extended): shared unless
// its properties set IOUserClientDefaultLocking false; exclusive when they also set
// IOUserClientDefaultLockingSingleThreadExternalMethod (IOUserClient::callExternalMethod).
IpcLock::Mode CallLockMode(const ServiceNode& userClient) {
  if (Kernel::Current() == nullptr) return IpcLock::Mode::kShared;
  std::lock_guard guard(Kernel::Current()->lock());
  OSDictionary* p = userClient.properties;
  OSObject* locking = p ? p->getObject(kIOUserClientDefaultLockingKey) : nullptr;
  if (locking != nullptr && locking == kOSBooleanFalse) return IpcLock::Mode::kNone;
  OSObject* single =
      p ? p->getObject(kIOUserClientDefaultLockingSingleThreadExternalMethodKey) : nullptr;
  if (single != nullptr && single != kOSBooleanFalse) return IpcLock::Mode::kExclusive;
  return IpcLock::Mode::kShared;
}

// The app's mappings of a connection go (IOServiceClose, or the machine ends).
void ReleaseMappings(const std::shared_ptr<Connection>& c) {
  std::lock_guard guard(c->lock);
  for (Mapping& m : c->mappings) UnmapLocked(m);
  c->mappings.clear();
}

// Ends a connection: the user client is stopped and released. The app's mappings go with it
// when the app closes; when the kernel ends it (the user client or its provider terminated),
// they stay until the app closes the connection: xnu's IOUserClient::destroyUserReferences
// hands the user client's set of maps to the app's connection port, and is_io_service_close
// on that set only drops the port (iokit/Kernel/IOUserClient.cpp). Device memory whose function
// is gone then answers nothing: loads read all ones, stores are dropped.
void EndConnection(const std::shared_ptr<Connection>& c, bool terminate,
                   bool keepAppMappings = false) {
  IOUserClient* userClient;
  ServiceNode* node;
  {
    std::lock_guard guard(c->lock);
    if (c->dead) return;
    c->dead = true;
    if (keepAppMappings) {
      for (Mapping& m : c->mappings) {
        MemoryBacking* b = BackingOf(m.memory);
        if (b != nullptr && b->kind == MemoryBacking::Kind::kDevice && m.unmap != nullptr) {
          MmioTrapDetach(reinterpret_cast<void*>(m.address));
        }
      }
    } else {
      for (Mapping& m : c->mappings) UnmapLocked(m);
      c->mappings.clear();
    }
    userClient = c->userClient;
    node = c->node;
    c->userClient = nullptr;
  }
  if (terminate && Kernel::Current() != nullptr) Kernel::Current()->TerminateNode(node);
  OSSafeReleaseNULL(userClient);
}

}  // namespace

uint32_t IteratorCreate(const std::vector<uint32_t>& handles) {
  HandleTable* t = Table();
  if (t == nullptr) return 0;
  std::lock_guard guard(t->lock);
  uint32_t name = NewName(*t);
  Handle h;
  h.kind = Handle::Kind::kIterator;
  h.items = handles;
  t->handles.emplace(name, std::move(h));
  return name;
}

uint32_t IteratorNext(uint32_t iterator) {
  HandleTable* t = Table();
  if (t == nullptr) return 0;
  std::lock_guard guard(t->lock);
  if (Handle* n = Find(*t, iterator, Handle::Kind::kNotifier); n != nullptr && n->items.empty()) {
    return NotifierNextLocked(*n->notifier);  // a matching notification's iterator
  }
  Handle* h = Find(*t, iterator, Handle::Kind::kIterator);
  if (h == nullptr || h->position >= h->items.size()) return 0;
  uint32_t item = h->items[h->position++];
  ++t->handles[item].references;  // the caller owns one reference
  return item;
}

IOReturn IteratorReset(uint32_t iterator) {
  HandleTable* t = Table();
  if (t == nullptr) return kMachSendInvalidDest;
  std::lock_guard guard(t->lock);
  if (Find(*t, iterator, Handle::Kind::kNotifier) != nullptr) return kIOReturnSuccess;
  Handle* h = Find(*t, iterator, Handle::Kind::kIterator);
  if (h == nullptr) return kMachSendInvalidDest;
  h->position = 0;
  return kIOReturnSuccess;
}

bool IteratorIsValid(uint32_t iterator) {
  HandleTable* t = Table();
  if (t == nullptr) return false;
  std::lock_guard guard(t->lock);
  return Find(*t, iterator, Handle::Kind::kIterator) != nullptr ||
         Find(*t, iterator, Handle::Kind::kNotifier) != nullptr;
}

IOReturn ObjectRetain(uint32_t handle) {
  HandleTable* t = Table();
  if (t == nullptr) return kMachSendInvalidDest;
  std::lock_guard guard(t->lock);
  auto it = t->handles.find(handle);
  if (it == t->handles.end()) return kMachSendInvalidDest;
  ++it->second.references;
  return kIOReturnSuccess;
}

IOReturn ObjectRelease(uint32_t handle) {
  HandleTable* t = Table();
  if (t == nullptr) return kMachSendInvalidDest;
  std::lock_guard guard(t->lock);
  if (t->handles.find(handle) == t->handles.end()) return kMachSendInvalidDest;
  ReleaseLocked(*t, handle);
  return kIOReturnSuccess;
}

uint32_t ObjectUserRetainCount(uint32_t handle) {
  HandleTable* t = Table();
  if (t == nullptr) return 0;
  std::lock_guard guard(t->lock);
  auto it = t->handles.find(handle);
  return it == t->handles.end() ? 0 : static_cast<uint32_t>(it->second.references);
}

namespace {

// The kernel classes of an object handle: a service's, or the IOKit class of the other kinds.
bool ClassesOf(uint32_t handle, std::vector<std::string>* classes) {
  HandleTable* t = Table();
  if (t == nullptr) return false;
  std::lock_guard guard(t->lock);
  auto it = t->handles.find(handle);
  if (it == t->handles.end()) return false;
  switch (it->second.kind) {
    case Handle::Kind::kService:
      *classes = it->second.classes;
      break;
    case Handle::Kind::kIterator:
      *classes = {"OSIterator", "OSObject"};
      break;
    case Handle::Kind::kConnection:
      *classes = {"IOUserUserClient", "IOUserClient", "IOService", "IORegistryEntry", "OSObject"};
      break;
    case Handle::Kind::kNotifier:
      *classes = {"IOUserNotification", "OSIterator", "OSObject"};
      break;
    case Handle::Kind::kPort:
      return false;  // a receive right, not an IOKit object
  }
  return true;
}

}  // namespace

IOReturn ObjectGetClass(uint32_t handle, std::string* className) {
  std::vector<std::string> classes;
  if (!ClassesOf(handle, &classes)) return kMachSendInvalidDest;
  *className = classes.front();
  return kIOReturnSuccess;
}

bool ObjectConformsTo(uint32_t handle, const char* className) {
  std::vector<std::string> classes;
  if (className == nullptr || !ClassesOf(handle, &classes)) return false;
  return std::find(classes.begin(), classes.end(), className) != classes.end();
}

std::string SuperclassOf(const std::string& className) {
  static const std::map<std::string, std::string> kSuper = {
      {"IOPCIDevice", "IOService"},         {"IOUserService", "IOService"},
      {"IOUserUserClient", "IOUserClient"}, {"IOUserClient", "IOService"},
      {"IOService", "IORegistryEntry"},     {"IORegistryEntry", "OSObject"},
      {"IOUserNotification", "OSIterator"}, {"OSIterator", "OSObject"},
  };
  auto it = kSuper.find(className);
  return it == kSuper.end() ? std::string() : it->second;
}

IOReturn RegistryEntryGetName(uint32_t handle, std::string* name) {
  HandleTable* t = Table();
  if (t == nullptr) return kMachSendInvalidDest;
  std::lock_guard guard(t->lock);
  Handle* h = Find(*t, handle, Handle::Kind::kService);
  if (h == nullptr) return t->handles.count(handle) ? kIOReturnBadArgument : kMachSendInvalidDest;
  *name = h->name;
  return kIOReturnSuccess;
}

IOReturn RegistryEntryGetID(uint32_t handle, uint64_t* id) {
  HandleTable* t = Table();
  if (t == nullptr) return kMachSendInvalidDest;
  std::lock_guard guard(t->lock);
  Handle* h = Find(*t, handle, Handle::Kind::kService);
  if (h == nullptr) return t->handles.count(handle) ? kIOReturnBadArgument : kMachSendInvalidDest;
  *id = h->registryID;
  return kIOReturnSuccess;
}

bool SameObject(uint32_t a, uint32_t b) {
  HandleTable* t = Table();
  if (t == nullptr) return false;
  std::lock_guard guard(t->lock);
  return a == b && t->handles.count(a) != 0;
}

IOReturn CheckConnection(uint32_t connection) {
  std::shared_ptr<Connection> c = ConnectionFor(connection);
  return c != nullptr ? EndedStatus(*c) : WrongHandle(connection);
}

IOReturn ConnectionGetService(uint32_t connection, uint32_t* service) {
  HandleTable* t = Table();
  if (t == nullptr) return kMachSendInvalidDest;
  std::shared_ptr<Connection> c = ConnectionFor(connection);
  if (c == nullptr) return WrongHandle(connection);
  ServiceNode* provider;
  {
    std::lock_guard guard(c->lock);
    if (IOReturn ended = EndedStatusLocked(*c); ended != kIOReturnSuccess) return ended;
    // is_io_connect_get_service: a user client without a provider
    if (c->node == nullptr || c->node->provider == nullptr) return kIOReturnUnsupported;
    provider = c->node->provider;
  }
  std::lock_guard guard(t->lock);
  *service = ServiceHandle(*t, provider);
  return kIOReturnSuccess;
}

IOReturn ServiceOpen(uint32_t service, uint32_t type, uint32_t* connection) {
  HandleTable* t = Table();
  if (t == nullptr) return kMachSendInvalidDest;
  ServiceNode* node = NodeFor(service);
  if (node == nullptr) return WrongHandle(service);
  // Once the kernel routine runs, its reply carries the connection even when the open fails:
  // NULL then (xnu is_io_service_open_extended sets *connection = client, cleared on failure).
  *connection = 0;
  if (node->terminated) return kIOReturnNotAttached;
  if (node->dext == nullptr) return kIOReturnUnsupported;  // kernel nubs have no user clients
  IOService* driver = node->service;
  IOUserClient* userClient = nullptr;
  IOReturn ret = kIOReturnError;
  driver->retain();
  IOReturn queued = driver->EmulationQueue(nullptr)->EmulationSync(
      [&] { ret = driver->NewUserClient(type, &userClient); });
  driver->release();
  if (queued != kIOReturnSuccess) return queued;
  if (ret != kIOReturnSuccess) {
    OSSafeReleaseNULL(userClient);
    return ret;
  }
  if (userClient == nullptr || userClient->EmulationNode() == nullptr) {
    os_log_error(OS_LOG_DEFAULT, "NewUserClient returned no user client made with Create()");
    OSSafeReleaseNULL(userClient);
    return kIOReturnError;
  }
  // xnu checks entitlements after the dext made the user client, and terminates it on refusal
  // (IOUserServer::serviceNewUserClient, is_io_service_open_extended).
  if (IOReturn refused = CheckUserClientAccess(*node, *userClient->EmulationNode());
      refused != kIOReturnSuccess) {
    if (Kernel::Current() != nullptr) Kernel::Current()->TerminateNode(userClient->EmulationNode());
    OSSafeReleaseNULL(userClient);
    return refused;
  }
  auto c = std::make_shared<Connection>();
  c->userClient = userClient;  // the +1 NewUserClient returned
  c->node = userClient->EmulationNode();
  c->callMode = CallLockMode(*c->node);
  std::lock_guard guard(t->lock);
  uint32_t name = NewName(*t);
  Handle h;
  h.kind = Handle::Kind::kConnection;
  h.connection = std::move(c);
  t->handles.emplace(name, std::move(h));
  *connection = name;
  return kIOReturnSuccess;
}

IOReturn ServiceClose(uint32_t connection) {
  HandleTable* t = Table();
  if (t == nullptr) return kMachSendInvalidDest;
  std::shared_ptr<Connection> c;
  {
    std::lock_guard guard(t->lock);
    Handle* h = Find(*t, connection, Handle::Kind::kConnection);
    if (h == nullptr) return kMachSendInvalidDest;
    c = h->connection;
    t->handles.erase(connection);  // IOServiceClose releases the name whatever the routine said
  }
  // Ended by the kernel: is_io_service_close on the set of maps succeeds; a dead name fails.
  if (IOReturn ended = EndedStatus(*c); ended != kIOReturnSuccess) {
    ReleaseMappings(c);
    return ended == kIOReturnBadArgument ? kIOReturnSuccess : ended;
  }
  // is_io_service_close only asks the user client to close (holding its IPC lock exclusive);
  // its maps go after it, with the connection (IOUserClient.cpp).
  {
    IpcScope closing(c->ipc, IpcLock::Mode::kExclusive);
    EndConnection(c, true, /*keepAppMappings=*/true);
  }
  ReleaseMappings(c);
  return kIOReturnSuccess;
}

std::atomic<uint64_t> gCallCount{0};

uint64_t CallCount() {
  return gCallCount.load(std::memory_order_relaxed);
}

void ConnectMethod(const ConnectMethodRequest& rq, ConnectMethodReply* reply) {
  gCallCount.fetch_add(1, std::memory_order_relaxed);
  // The Mac's cost of the round trip (MIG trap, IORPC to the dext and back), which the broker's
  // thread hand-offs do not model (docs/performance.md, "Host-cost model").
  ChargeHostCost(HostCost::kDriverCall);
  reply->status = kIOReturnSuccess;
  std::shared_ptr<Connection> c = ConnectionFor(rq.connection);
  if (c == nullptr) {
    reply->status = WrongHandle(rq.connection);
    return;
  }
  // A dead name fails in mach_msg, before the MIG server; a set of maps in CHECK, after it.
  const IOReturn ended = EndedStatus(*c);
  if (ended == kMachSendInvalidDest) {
    reply->status = ended;
    return;
  }
  // What the MIG server and is_io_connect_method reject before anything reaches the dext.
  if (rq.scalarInputCount > kScalarMax || rq.scalarOutputCapacity > kScalarMax) {
    reply->status = kIOReturnOverrun;
    return;
  }
  if (ended != kIOReturnSuccess) {
    reply->status = ended;
    return;
  }
  if ((rq.oolInputSize != 0 && rq.oolInputSize <= kInbandMax) ||
      (rq.oolOutputSize != 0 &&
       (rq.oolOutputSize <= kInbandMax || rq.oolOutputSize > UINT32_MAX)) ||
      rq.inbandInputSize > kInbandMax || rq.inbandOutputCapacity > kInbandMax) {
    reply->status = kIOReturnIPCError;
    return;
  }
  if (rq.async && (rq.asyncReferenceCount < 1 || rq.asyncReferenceCount > kAsyncRefCount)) {
    reply->status = kIOReturnBadArgument;
    return;
  }
  IOUserClient* userClient;
  {
    std::lock_guard guard(c->lock);
    if (IOReturn endedNow = EndedStatusLocked(*c); endedNow != kIOReturnSuccess) {
      reply->status = endedNow;
      return;
    }
    userClient = c->userClient;
    userClient->retain();  // for the duration of the call
  }

  IOUserClientMethodArguments args{};
  uint64_t scalarOutput[kScalarMax] = {};  // zeroed to the caller's count, as the kernel does
  args.version = kIOUserClientMethodArgumentsCurrentVersion;
  args.selector = rq.selector;
  args.scalarInput = rq.scalarInput;
  args.scalarInputCount = rq.scalarInputCount;
  if (rq.inbandInputSize != 0)
    args.structureInput = OSData::withBytes(rq.inbandInput, rq.inbandInputSize);
  if (rq.oolInputSize != 0) {
    const IOAddressSegment seg{rq.oolInputAddress, rq.oolInputSize};
    args.structureInputDescriptor =
        NewClientMemoryDescriptor(&seg, 1, kIOMemoryDirectionOut, /*copyOnWrite=*/true);
  }
  if (rq.oolOutputSize != 0) {
    const IOAddressSegment seg{rq.oolOutputAddress, rq.oolOutputSize};
    args.structureOutputDescriptor =
        NewClientMemoryDescriptor(&seg, 1, kIOMemoryDirectionIn, /*copyOnWrite=*/false);
  }
  args.scalarOutput = scalarOutput;
  args.scalarOutputCount = rq.scalarOutputCapacity;
  args.structureOutputMaximumSize = rq.variableOutput  ? 0xffffffffull
                                    : rq.oolOutputSize ? rq.oolOutputSize
                                                       : rq.inbandOutputCapacity;
  if (rq.async) {
    uint64_t reference[kAsyncRefCount] = {};
    std::copy(rq.asyncReference, rq.asyncReference + rq.asyncReferenceCount, reference);
    args.completion = AsyncCompletionAction::Create(userClient, rq.wakePort, reference);
  }

  IOReturn ret = kIOReturnError;
  IOReturn queued;
  {
    IpcScope calling(c->ipc, c->callMode);  // IOUserClient::callExternalMethod
    queued = userClient->EmulationQueue(kIOUserClientQueueNameExternalMethod)->EmulationSync([&] {
      ret = userClient->ExternalMethod(rq.selector, &args, nullptr, nullptr, nullptr);
    });
  }
  if (queued != kIOReturnSuccess) ret = queued;

  if (ret == kIOReturnSuccess && args.structureOutput != nullptr) {
    OSData* out = args.structureOutput;
    const uint64_t length = out->getLength();
    if (rq.oolOutputSize != 0) {
      ret = kIOReturnBadArgument;  // structureOutput set although a descriptor was passed
    } else if (rq.variableOutput) {
      reply->variableOutput = std::malloc(length ? length : 1);
      if (length) std::memcpy(reply->variableOutput, out->getBytesNoCopy(), length);
      reply->variableOutputSize = length;
    } else if (length > rq.inbandOutputCapacity) {
      ret = kIOReturnBadArgument;  // never truncated
    } else {
      if (length) std::memcpy(reply->inbandOutput, out->getBytesNoCopy(), length);
      reply->inbandOutputSize = static_cast<uint32_t>(length);
    }
  }
  if (ret == kIOReturnSuccess) {
    reply->scalarOutputCount = std::min(rq.scalarOutputCapacity, args.scalarOutputCount);
    std::copy(scalarOutput, scalarOutput + reply->scalarOutputCount, reply->scalarOutput);
  }
  // The OS consumes the reference on structureOutput; what the call created goes with it.
  OSSafeReleaseNULL(args.structureOutput);
  OSSafeReleaseNULL(args.structureInput);
  OSSafeReleaseNULL(args.structureInputDescriptor);
  OSSafeReleaseNULL(args.structureOutputDescriptor);
  OSSafeReleaseNULL(args.completion);
  userClient->release();
  reply->status = ret;
}

IOReturn MapMemory(uint32_t connection, uint32_t type, uint32_t options, uint64_t* address,
                   uint64_t* size) {
  std::shared_ptr<Connection> c = ConnectionFor(connection);
  if (c == nullptr) return WrongHandle(connection);
  IOUserClient* userClient;
  {
    std::lock_guard guard(c->lock);
    if (IOReturn ended = EndedStatusLocked(*c); ended != kIOReturnSuccess) return ended;
    userClient = c->userClient;
    userClient->retain();
  }
  uint64_t dextOptions = 0;
  IOMemoryDescriptor* memory = nullptr;
  IOReturn ret = kIOReturnError;
  userClient->EmulationQueue(nullptr)->EmulationSync(
      [&] { ret = userClient->CopyClientMemoryForType(type, &dextOptions, &memory); });
  userClient->release();
  if (ret != kIOReturnSuccess || memory == nullptr) {
    OSSafeReleaseNULL(memory);
    return kIOReturnBadArgument;
  }
  const bool readOnly = (dextOptions & kUserClientMemoryReadOnly) || (options & kMapReadOnly);
  MemoryBacking* b = BackingOf(memory);
  Mapping m{type, 0, b ? b->length : 0, memory, nullptr};
  if (b == nullptr || m.size == 0) {
    ret = kIOReturnBadArgument;
  } else if (b->multi) {
    // Each part mapped in turn into one range, as xnu's IOMultiMemoryDescriptor::doMap does.
    // A mapping that fails is kIOReturnBadArgument to the app (xnu IOUserClient.cpp,
    // is_io_connect_map_memory_into_task); what is not emulated stays kIOReturnUnsupported.
    ret = MapMultiMemory(b, 0, m.size, readOnly, &m.address);
    if (ret == kIOReturnSuccess) {
      m.unmap = UnmapPages;
    } else if (ret != kIOReturnUnsupported) {
      ret = kIOReturnBadArgument;
    }
  } else if (b->kind == MemoryBacking::Kind::kBuffer) {
    // Whole pages of the emulated Mac (xnu maps page-granular): the app may reach the rest of
    // the buffer's last page, which is the buffer's own (IOBufferMemoryDescriptor.cpp rounds
    // a shared buffer to pages); the size reported is the descriptor's length.
    void* view =
        MapMacPages(m.size, readOnly ? PROT_READ : PROT_READ | PROT_WRITE, MAP_SHARED, b->memfd, 0);
    if (view == nullptr) {
      ret = kIOReturnNoMemory;
    } else {
      m.address = reinterpret_cast<uint64_t>(view);
      m.unmap = UnmapMacPages;
    }
  } else if (b->kind == MemoryBacking::Kind::kDevice) {
    // The model's plain memory, or a trap mapping through the bus (registers with side
    // effects, read-only views).
    void* base = MapDeviceMemory(b, readOnly, &m.size, &m.unmap);
    if (base == nullptr) {
      ret = kIOReturnUnsupported;
      os_log_error(OS_LOG_DEFAULT, "IOConnectMapMemory64: device memory cannot be mapped here");
    } else {
      m.address = reinterpret_cast<uint64_t>(base);
    }
  } else {
    ret = kIOReturnUnsupported;
    os_log_error(OS_LOG_DEFAULT, "IOConnectMapMemory64: this kind of memory is not emulated");
  }
  if (ret != kIOReturnSuccess) {
    memory->release();  // the +1 from CopyClientMemoryForType
    return ret;
  }
  // The mapping keeps the descriptor; the kernel drops the reference the dext returned: net 0.
  {
    std::lock_guard guard(c->lock);
    // Ended while the map was being made. A Mac hands the app this map, kept by the ended user
    // client until it is freed; the emulation undoes it and says so (not a Mac's answer).
    if (c->dead) {
      UnmapLocked(m);
      return kIOReturnNotAttached;
    }
    c->mappings.push_back(m);
    c->everMapped = true;
  }
  *address = m.address;
  *size = m.size;
  return kIOReturnSuccess;
}

IOReturn UnmapMemory(uint32_t connection, uint32_t type, uint64_t address) {
  std::shared_ptr<Connection> c = ConnectionFor(connection);
  if (c == nullptr) return WrongHandle(connection);
  std::lock_guard guard(c->lock);
  // The user client is gone: its maps belong to the connection port now and go when the app
  // closes it (is_io_connect_unmap_memory_from_task finds no user client to ask).
  if (IOReturn ended = EndedStatusLocked(*c); ended != kIOReturnSuccess) return ended;
  for (auto it = c->mappings.begin(); it != c->mappings.end(); ++it) {
    if (it->type == type && it->address == address) {
      UnmapLocked(*it);
      c->mappings.erase(it);
      return kIOReturnSuccess;
    }
  }
  return kIOReturnBadArgument;
}

namespace {

// What IOConnectMapMemory64 asks the dext for (IOUserUserClient::clientMemoryForType): its memory
// of `type` (+1 in *memory) and whether the app's view is read-only.
IOReturn CopyMemoryToMap(Connection& c, uint32_t type, uint32_t options,
                         IOMemoryDescriptor** memory, bool* readOnly) {
  IOUserClient* userClient;
  {
    std::lock_guard guard(c.lock);
    if (IOReturn ended = EndedStatusLocked(c); ended != kIOReturnSuccess) return ended;
    userClient = c.userClient;
    userClient->retain();
  }
  uint64_t dextOptions = 0;
  IOReturn ret = kIOReturnError;
  userClient->EmulationQueue(nullptr)->EmulationSync(
      [&] { ret = userClient->CopyClientMemoryForType(type, &dextOptions, memory); });
  userClient->release();
  if (ret != kIOReturnSuccess || *memory == nullptr) {
    OSSafeReleaseNULL(*memory);
    return kIOReturnBadArgument;
  }
  *readOnly = (dextOptions & kUserClientMemoryReadOnly) || (options & kMapReadOnly);
  return kIOReturnSuccess;
}

}  // namespace

IOReturn MapMemoryShared(uint32_t connection, uint32_t type, uint32_t options, int* fd,
                         uint64_t* size, bool* readOnly, uint64_t* token) {
  std::shared_ptr<Connection> c = ConnectionFor(connection);
  if (c == nullptr) return WrongHandle(connection);
  IOMemoryDescriptor* memory = nullptr;
  if (IOReturn ret = CopyMemoryToMap(*c, type, options, &memory, readOnly);
      ret != kIOReturnSuccess) {
    return ret;
  }
  MemoryBacking* b = BackingOf(memory);
  if (b == nullptr || b->multi || b->kind != MemoryBacking::Kind::kBuffer || b->length == 0) {
    // Device memory (a trap mapping's accesses would have to travel to this process) and
    // concatenations are not handed to another process yet (docs/emulation.md).
    memory->release();
    return kIOReturnUnsupported;
  }
  *fd = fcntl(b->memfd, F_DUPFD_CLOEXEC, 0);
  if (*fd < 0) {
    memory->release();
    return kIOReturnNoResources;
  }
  // A name for the app's view that is never an address in this process.
  static std::atomic<uint64_t> nextToken{1};
  Mapping m{type, nextToken.fetch_add(1) << 20, b->length, memory, nullptr};
  {
    std::lock_guard guard(c->lock);
    if (c->dead) {  // ended meanwhile: as MapMemory
      UnmapLocked(m);
      close(*fd);
      *fd = -1;
      return kIOReturnNotAttached;
    }
    c->mappings.push_back(m);
    c->everMapped = true;
  }
  *size = m.size;
  *token = m.address;
  return kIOReturnSuccess;
}

void SetConnectionOfOtherProcess(uint32_t connection) {
  if (std::shared_ptr<Connection> c = ConnectionFor(connection)) {
    std::lock_guard guard(c->lock);
    c->otherProcess = true;
  }
}

bool UserClientOfOtherProcess(const ServiceNode* userClient) {
  HandleTable* t = Table();
  if (t == nullptr) return false;
  std::lock_guard guard(t->lock);
  for (auto& [name, h] : t->handles) {
    if (h.kind == Handle::Kind::kConnection && h.connection->node == userClient) {
      return h.connection->otherProcess;
    }
  }
  return false;
}

void EndAll(HandleTable& t) {
  std::vector<std::shared_ptr<Connection>> connections;
  {
    std::lock_guard guard(t.lock);
    for (auto& [name, h] : t.handles) {
      if (h.connection) connections.push_back(h.connection);
    }
    t.handles.clear();
    ForgetNotifiersLocked(t);
  }
  for (auto& c : connections) {
    EndConnection(c, false);
    ReleaseMappings(c);
  }
}

uint32_t NotificationPortCreate() {
  HandleTable* t = Table();
  if (t == nullptr) return 0;
  std::lock_guard guard(t->lock);
  uint32_t name = NewName(*t);
  Handle h;
  h.kind = Handle::Kind::kPort;
  h.port = std::make_shared<Port>();
  t->handles.emplace(name, std::move(h));
  return name;
}

void NotificationPortDestroy(uint32_t name) {
  HandleTable* t = Table();
  if (t == nullptr) return;
  std::shared_ptr<Port> port;
  {
    std::lock_guard guard(t->lock);
    Handle* h = Find(*t, name, Handle::Kind::kPort);
    if (h == nullptr) return;
    port = h->port;
    t->handles.erase(name);
  }
  // A PostAsync already past the name lookup delivers under this lock: wait for it, and make
  // any later one drop its message.
  std::lock_guard guard(port->lock);
  port->deliver = nullptr;
  port->context = nullptr;
  port->pending.clear();
}

void NotificationPortSetReceiver(uint32_t name, void (*deliver)(void*, const AsyncMessage&),
                                 void* context) {
  HandleTable* t = Table();
  if (t == nullptr) return;
  std::shared_ptr<Port> port;
  {
    std::lock_guard guard(t->lock);
    Handle* h = Find(*t, name, Handle::Kind::kPort);
    if (h == nullptr) return;
    port = h->port;
  }
  // Under the lock, so that messages posted meanwhile queue behind the pending ones.
  std::lock_guard guard(port->lock);
  port->deliver = deliver;
  port->context = context;
  for (const AsyncMessage& m : port->pending) deliver(context, m);
  port->pending.clear();
}

void PostAsync(uint32_t name, const AsyncMessage& message) {
  HandleTable* t = Table();
  if (t == nullptr) return;
  std::shared_ptr<Port> port;
  {
    std::lock_guard guard(t->lock);
    Handle* h = Find(*t, name, Handle::Kind::kPort);
    if (h == nullptr) return;  // the app destroyed its port: the message is dropped
    port = h->port;
  }
  // `deliver` only queues the callout, so it runs under the lock: the port cannot be destroyed
  // (and its context freed) in the middle of it.
  std::lock_guard guard(port->lock);
  if (port->deliver == nullptr) {
    port->pending.push_back(message);
    return;
  }
  port->deliver(port->context, message);
}

}  // namespace broker

void TerminateConnections(ServiceNode* node) {
  broker::HandleTable* t = broker::Table();
  if (t == nullptr) return;
  std::vector<std::shared_ptr<broker::Connection>> ended;
  {
    std::lock_guard guard(t->lock);
    for (auto& [name, h] : t->handles) {
      if (h.kind == broker::Handle::Kind::kConnection && h.connection->node == node) {
        ended.push_back(h.connection);
      }
    }
  }
  // The node is being terminated by the caller: only the connections end here; the app keeps
  // its mappings until it closes the connection.
  for (auto& c : ended) broker::EndConnection(c, false, true);
}

AsyncCompletionAction* AsyncCompletionAction::Create(
    OSObject* target, uint32_t port, const uint64_t reference[broker::kAsyncRefCount]) {
  auto* action = ::new AsyncCompletionAction;
  target->retain();
  action->target_ = target;
  action->typeID_ = IORPCMethodID("IOUserClient::KernelCompletion");
  action->port_ = port;
  std::copy(reference, reference + broker::kAsyncRefCount, action->reference_);
  return action;
}

void AsyncCompletionAction::Complete(IOReturn status, const uint64_t* arguments, uint32_t count) {
  broker::AsyncMessage message{};
  std::copy(reference_, reference_ + broker::kAsyncRefCount, message.reference);
  message.status = status;
  message.argumentCount = count;
  if (count) std::copy(arguments, arguments + count, message.arguments);
  broker::PostAsync(port_, message);
}

}  // namespace fpgadext::emu
