// The emulated kernel: registry, service start/stop, PCI attach/detach, dext matching.
#include "kernel.h"

#include "broker_internal.h"
#include "entitlement_check.h"

#include <DriverKit/OSCollections.h>
#include <dlfcn.h>
#include <os/log.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace fpgadext::emu {
namespace {

std::atomic<Kernel*> gCurrentKernel{nullptr};

bool FileExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

// IOPCIPrimaryMatch and friends: space-separated "0xVALUE" or "0xVALUE&0xMASK" entries.
bool MatchesIdList(const char* list, uint32_t id, uint32_t defaultMask) {
  const char* p = list;
  while (*p) {
    while (*p == ' ') ++p;
    if (!*p) break;
    char* end = nullptr;
    uint32_t value = static_cast<uint32_t>(std::strtoul(p, &end, 16));
    uint32_t mask = defaultMask;
    if (end == p) return false;
    p = end;
    if (*p == '&') {
      ++p;
      mask = static_cast<uint32_t>(std::strtoul(p, &end, 16));
      p = end;
    }
    if ((id & mask) == (value & mask)) return true;
    while (*p && *p != ' ') ++p;
  }
  return false;
}

const char* StringProperty(OSDictionary* dict, const char* key) {
  auto* s = dict ? OSDynamicCast(OSString, dict->getObject(key)) : nullptr;
  return s ? s->getCStringNoCopy() : nullptr;
}

}  // namespace

bool PciIdListMatches(const char* list, uint32_t id, uint32_t defaultMask) {
  return MatchesIdList(list, id, defaultMask);
}

Kernel::Kernel(const Machine::Config& config)
    : handles_(std::make_unique<broker::HandleTable>()), iommu_(config.iommu) {}

Kernel::~Kernel() {
  // Every app connection ends and every name goes; the user clients stop below with their
  // drivers.
  broker::EndAll(*handles_);
  // The dexts end: services whose Start failed go, then every driver (and its user clients)
  // stops, while the functions are still there.
  ReleaseFailedServices(nullptr);
  for (auto& slot : slots_) {
    if (slot->node != nullptr) TerminateNode(slot->node);
  }
  for (auto& slot : slots_) {
    slot->function()->Connect(nullptr);
    OSSafeReleaseNULL(slot->nub);
  }
  {
    std::lock_guard guard(registryLock_);
    for (auto& node : nodes_) {
      OSSafeReleaseNULL(node->service);
      OSSafeReleaseNULL(node->properties);
    }
    nodes_.clear();
  }
  slots_.clear();
  for (auto& dext : dexts_) {
    OSSafeReleaseNULL(dext->infoPlist);
    OSSafeReleaseNULL(dext->entitlements);
    // The executable stays loaded: its classes registered themselves in the process-wide class
    // list, which is never unwound.
  }
  // No kernel answers from here on: a late IOKitLib call finds no table rather than this one
  // going away (the machine then makes the previous kernel current again).
  if (gCurrentKernel == this) gCurrentKernel = nullptr;
}

Kernel* Kernel::Current() {
  return gCurrentKernel;
}

void SetCurrentKernel(Kernel* kernel) {
  gCurrentKernel = kernel;
}

ServiceNode* Kernel::AddNode(IOService* service, ServiceNode* provider,
                             const std::string& className, const std::string& name,
                             OSDictionary* properties, Dext* dext) {
  auto node = std::make_unique<ServiceNode>();
  node->registryID = NextRegistryID();
  node->className = className;
  node->name = name;
  node->service = service;
  node->provider = provider;
  node->properties =
      properties ? OSDictionary::withDictionary(properties, 0) : OSDictionary::withCapacity(4);
  node->dext = dext;
  service->EmulationSetNode(node.get());
  std::lock_guard guard(registryLock_);
  nodes_.push_back(std::move(node));
  return nodes_.back().get();
}

ServiceNode* Kernel::FindNode(uint64_t registryID) {
  std::lock_guard guard(registryLock_);
  for (auto& node : nodes_) {
    if (node->registryID == registryID && !node->terminated) return node.get();
  }
  return nullptr;
}

std::vector<ServiceNode*> Kernel::Nodes() {
  std::lock_guard guard(registryLock_);
  std::vector<ServiceNode*> result;
  for (auto& node : nodes_) {
    if (!node->terminated) result.push_back(node.get());
  }
  return result;
}

void Kernel::RemoveNode(ServiceNode* node) {
  IOService* service = nullptr;
  OSDictionary* properties = nullptr;
  {
    std::lock_guard guard(registryLock_);
    auto it = std::find_if(nodes_.begin(), nodes_.end(),
                           [node](const auto& n) { return n.get() == node; });
    if (it == nodes_.end()) return;
    service = node->service;
    properties = node->properties;
    service->EmulationSetNode(nullptr);
    nodes_.erase(it);
  }
  // Released outside the registry lock: free() may tear down queues and call back in.
  OSSafeReleaseNULL(properties);
  OSSafeReleaseNULL(service);
}

IOReturn Kernel::StartService(ServiceNode* node) {
  IOService* provider = node->provider ? node->provider->service : nullptr;
  IOReturn ret = kIOReturnError;
  IOService* service = node->service;
  IOReturn queued =
      service->EmulationQueue(nullptr)->EmulationSync([&] { ret = service->Start(provider); });
  if (queued != kIOReturnSuccess) ret = queued;
  if (ret != kIOReturnSuccess) {
    os_log_error(OS_LOG_DEFAULT, "%{public}s::Start failed: 0x%x", node->name.c_str(), ret);
    // xnu IOService::startCandidate answers a failed start() with detach() alone: no Stop
    // (IOUserServer::serviceStarted ignores the failure, so a RegisterService made in Start is
    // never carried out), and the service leaves the registry. Its IOUserServer keeps it
    // (serviceAttach; only serviceStop removes it) while the dext process runs, and a provider
    // the driver opened stays open: only Stop closes it (IOUserServer::serviceDidStop).
    service->retain();
    if (provider != nullptr) provider->retain();
    {
      std::lock_guard guard(registryLock_);
      failedServices_.emplace_back(service, provider);
    }
    node->terminated = true;
    RemoveNode(node);
    return ret;
  }
  // A service that called RegisterService in Start is published now; one that calls it later is
  // published by RegisterService itself. Both flags change under the kernel lock, so exactly one
  // side (or both: ServicePublished is idempotent) sees them both set.
  bool publish = false;
  {
    std::lock_guard guard(lock());
    node->started = true;
    publish = node->registered;
  }
  if (publish) ServicePublished(node);
  return ret;
}

void Kernel::ReleaseFailedServices(IOService* provider) {
  std::vector<std::pair<IOService*, IOService*>> released;
  {
    std::lock_guard guard(registryLock_);
    std::vector<std::pair<IOService*, IOService*>> kept;
    for (const auto& f : failedServices_) {
      (provider == nullptr || f.second == provider ? released : kept).push_back(f);
    }
    failedServices_ = std::move(kept);
  }
  for (auto& [service, from] : released) {
    if (auto* pci = OSDynamicCast(IOPCIDevice, from)) pci->EmulationCloseFor(service);
    OSSafeReleaseNULL(service);
    OSSafeReleaseNULL(from);
  }
}

// The kernel's terminate thread for a scope: BeginTerminateWork .. EndTerminateWork.
class Kernel::TerminateWork {
 public:
  explicit TerminateWork(Kernel* kernel) : kernel_(kernel) { kernel_->BeginTerminateWork(); }
  ~TerminateWork() { kernel_->EndTerminateWork(); }
  TerminateWork(const TerminateWork&) = delete;
  TerminateWork& operator=(const TerminateWork&) = delete;

 private:
  Kernel* kernel_;
};

void Kernel::BeginTerminateWork() {
  std::unique_lock guard(terminateLock_);
  const std::thread::id self = std::this_thread::get_id();
  if (terminateThread_ != self) {
    terminateIdle_.wait(guard, [this] { return terminateDepth_ == 0; });
    terminateThread_ = self;
  }
  ++terminateDepth_;
}

void Kernel::EndTerminateWork() {
  std::lock_guard guard(terminateLock_);
  if (--terminateDepth_ == 0) {
    terminateThread_ = std::thread::id();
    terminateIdle_.notify_all();
  }
}

// xnu does a termination's phase 2 and 3 (willTerminate, which sends a dext service its Stop,
// didTerminate, stop, detach) on one terminate thread at a time (iokit/Kernel/IOService.cpp:
// scheduleTerminatePhase2, waitToBecomeTerminateThread, terminateWorker), and sends the Stop
// synchronously while the service's provider is still active (iokit/Kernel/IOUserServer.cpp:
// serviceWillTerminate). So when an app's IOServiceClose is stopping its user client, the
// termination of the client's provider waits for that Stop to return before the provider's Stop
// is sent. The emulation does the same: a termination started on another thread waits for the
// one in progress, and then finds a node that one stopped gone.
void Kernel::TerminateNode(ServiceNode* node) {
  // Nodes made from here on are not the caller's, even at a freed node's address.
  const uint64_t newest = nextRegistryID_.load();
  TerminateWork work(this);
  std::vector<ServiceNode*> children;
  {
    std::lock_guard guard(registryLock_);
    const bool present = std::any_of(nodes_.begin(), nodes_.end(), [&](const auto& n) {
      return n.get() == node && n->registryID < newest;
    });
    if (!present || node->terminated) return;
    node->terminated = true;
    for (auto& n : nodes_) {
      if (n->provider == node) children.push_back(n.get());
    }
  }
  ServiceTerminating(node);
  // Children (user clients, nested services) go first, newest first.
  for (auto it = children.rbegin(); it != children.rend(); ++it) TerminateNode(*it);
  TerminateConnections(node);
  if (node->dext != nullptr) {
    IOService* provider = node->provider ? node->provider->service : nullptr;
    IOService* service = node->service;
    service->EmulationQueue(nullptr)->EmulationSync([&] { service->Stop(provider); });
    // A driver that left its provider open gets it closed, as after a dext crash.
    if (auto* pci = OSDynamicCast(IOPCIDevice, provider)) pci->EmulationCloseFor(service);
  }
  ServiceTerminated(node);
  if (node->dext != nullptr) RemoveNode(node);
}

IOReturn Kernel::AttachPciFunction(PciFunction* function, const std::string& name) {
  return AttachPciDevice({function}, name);
}

// As IOPCIConfigurator scans a device: function 0 first; functions 1..7 only when function 0
// answers and its Header Type has the multi-function bit; a function is there when its vendor ID
// does not read all ones.
IOReturn Kernel::AttachPciDevice(const std::vector<PciFunction*>& functions,
                                 const std::string& name) {
  if (functions.empty() || functions.size() > 8) return kIOReturnBadArgument;
  std::vector<PciSlot*> found;
  {
    std::lock_guard guard(registryLock_);
    for (PciFunction* f : functions) {
      if (f == nullptr) continue;
      for (auto& s : slots_) {
        if (s->function() == f) return kIOReturnExclusiveAccess;
      }
    }
    auto answers = [](PciFunction* f) {
      return f != nullptr &&
             (f->ConfigRead(kIOPCIConfigurationOffsetVendorID, 2) & 0xffff) != 0xffff;
    };
    if (!answers(functions[0])) return kIOReturnNoDevice;  // no function 0: nothing is scanned
    const bool multiFunction =
        functions[0]->ConfigRead(kIOPCIConfigurationOffsetHeaderType, 1) & 0x80;
    const uint8_t device = nextDevice_;
    nextDevice_ = static_cast<uint8_t>((nextDevice_ + 1) % 32);
    for (size_t f = 0; f < (multiFunction ? functions.size() : 1); ++f) {
      if (!answers(functions[f])) continue;
      slots_.push_back(
          std::make_unique<PciSlot>(this, functions[f], device, static_cast<uint8_t>(f)));
      found.push_back(slots_.back().get());
    }
  }
  for (PciSlot* slot : found) {
    PciFunction* function = slot->function();
    slot->Enumerate();
    function->Connect(slot);
    auto* nub = OSTypeAllocInitEmulated<IOPCIDevice>();
    if (nub == nullptr) return kIOReturnNoMemory;
    nub->EmulationSetSlot(slot);
    slot->nub = nub;
    nub->retain();  // one reference for the registry node, one for the slot
    char defaultName[32];
    std::snprintf(defaultName, sizeof defaultName, "pci%04x,%04x",
                  slot->ConfigRead(kIOPCIConfigurationOffsetVendorID, 2),
                  slot->ConfigRead(kIOPCIConfigurationOffsetDeviceID, 2));
    slot->node =
        AddNode(nub, nullptr, "IOPCIDevice", name.empty() ? defaultName : name, nullptr, nullptr);
    SetPciNubProperties(slot);
    slot->node->registered = true;
    ServicePublished(slot->node);
    MatchSlot(slot);
  }
  return kIOReturnSuccess;
}

void Kernel::DetachPciFunction(PciFunction* function, bool surprise) {
  auto find = [this, function] {
    std::lock_guard guard(registryLock_);
    for (auto& s : slots_) {
      if (s->function() == function) return s.get();
    }
    return static_cast<PciSlot*>(nullptr);
  };
  PciSlot* slot = find();
  if (slot == nullptr) return;
  if (surprise) slot->Remove();  // the link is down now, whatever is terminating
  // Terminate work, as in TerminateNode: after the termination in progress, if any, which may
  // have detached the function already.
  TerminateWork work(this);
  slot = find();
  if (slot == nullptr) return;
  // The emulation lets go of a failed driver of this function now, while its nub still exists.
  ReleaseFailedServices(slot->nub);
  ServiceTerminating(slot->node);
  // The nub's children (the driver and its user clients) stop; then the nub goes.
  std::vector<ServiceNode*> children;
  {
    std::lock_guard guard(registryLock_);
    for (auto& n : nodes_) {
      if (n->provider == slot->node) children.push_back(n.get());
    }
  }
  for (ServiceNode* child : children) TerminateNode(child);
  slot->Remove();
  function->Connect(nullptr);
  {
    // Under the lock that Nodes() and FindNode() read it with: an app thread may be looking.
    std::lock_guard guard(registryLock_);
    slot->node->terminated = true;
  }
  ServiceTerminated(slot->node);
  RemoveNode(slot->node);
  std::lock_guard guard(registryLock_);
  for (auto it = slots_.begin(); it != slots_.end(); ++it) {
    if (it->get() == slot) {
      OSSafeReleaseNULL(slot->nub);
      slots_.erase(it);
      break;
    }
  }
}

std::vector<PciSlot*> Kernel::Slots() {
  std::lock_guard guard(registryLock_);
  std::vector<PciSlot*> result;
  for (auto& s : slots_) result.push_back(s.get());
  return result;
}

IOReturn Kernel::LoadDext(const std::string& bundlePath) {
  std::string plist = bundlePath + "/Info.plist";
  if (!FileExists(plist)) plist = bundlePath + "/Contents/Info.plist";
  OSDictionary* info = nullptr;
  IOReturn ret = LoadPropertyList(plist, &info);
  if (ret != kIOReturnSuccess) {
    os_log_error(OS_LOG_DEFAULT, "LoadDext: cannot read %{public}s: 0x%x", plist.c_str(), ret);
    return ret;
  }
  auto dext = std::make_unique<Dext>();
  dext->bundlePath = bundlePath;
  dext->infoPlist = info;
  // A refused bundle leaves nothing behind.
  auto refuse = [&dext](IOReturn error) {
    if (dext->handle != nullptr) dlclose(dext->handle);
    OSSafeReleaseNULL(dext->infoPlist);
    OSSafeReleaseNULL(dext->entitlements);
    return error;
  };
  if (const char* id = StringProperty(info, "CFBundleIdentifier")) dext->bundleID = id;
  // A malformed entitlements file would not have been signed into the dext on a Mac.
  if (IOReturn bad = LoadDextEntitlements(bundlePath, &dext->entitlements);
      bad != kIOReturnSuccess) {
    return refuse(bad);
  }
  // A dext is its executable: a bundle without one has no driver to run, and is refused rather
  // than "loaded" with personalities that would match and start nothing.
  const char* exe = StringProperty(info, "CFBundleExecutable");
  if (exe == nullptr || *exe == '\0') {
    os_log_error(OS_LOG_DEFAULT, "LoadDext: %{public}s names no CFBundleExecutable", plist.c_str());
    return refuse(kIOReturnBadArgument);
  }
  if (strchr(exe, '$') != nullptr) {
    os_log_error(OS_LOG_DEFAULT,
                 "LoadDext: %{public}s: CFBundleExecutable '%{public}s' has an Xcode build "
                 "setting left unsubstituted",
                 plist.c_str(), exe);
    return refuse(kIOReturnBadArgument);
  }
  for (const std::string& candidate :
       {bundlePath + "/" + exe, bundlePath + "/Contents/MacOS/" + exe}) {
    if (!FileExists(candidate)) continue;
    dext->handle = dlopen(candidate.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (dext->handle == nullptr) {
      os_log_error(OS_LOG_DEFAULT, "LoadDext: %{public}s", dlerror());
      return refuse(kIOReturnNotFound);
    }
    break;
  }
  if (dext->handle == nullptr) {
    os_log_error(OS_LOG_DEFAULT,
                 "LoadDext: %{public}s: the executable '%{public}s' named by CFBundleExecutable "
                 "is neither in the bundle nor in its Contents/MacOS",
                 bundlePath.c_str(), exe);
    return refuse(kIOReturnNotFound);
  }
  if (!OSDynamicCast(OSDictionary, info->getObject("IOKitPersonalities"))) {
    os_log_error(OS_LOG_DEFAULT, "LoadDext: %{public}s has no IOKitPersonalities", plist.c_str());
    return refuse(kIOReturnBadArgument);
  }
  {
    std::lock_guard guard(registryLock_);
    dexts_.push_back(std::move(dext));
  }
  MatchAll();
  return kIOReturnSuccess;
}

void Kernel::MatchAll() {
  for (PciSlot* slot : Slots()) MatchSlot(slot);
}

void Kernel::MatchSlot(PciSlot* slot) {
  {
    std::lock_guard guard(registryLock_);
    for (auto& n : nodes_) {
      if (n->provider == slot->node && !n->terminated) return;  // already has a driver
    }
  }
  const uint32_t ids = slot->ConfigRead(0x00, 4);
  const uint32_t subsystem = slot->ConfigRead(kIOPCIConfigurationOffsetSubSystemVendorID, 4);
  const uint32_t classCode = slot->ConfigRead(0x08, 4);

  struct Candidate {
    Dext* dext;
    OSDictionary* personality;
    int64_t score;
    size_t order;  // first found wins among equal scores
  };
  std::vector<Candidate> candidates;
  std::vector<Candidate>* list = &candidates;  // blocks capture by copy
  for (auto& owned : dexts_) {
    Dext* dext = owned.get();
    auto* personalities =
        OSDynamicCast(OSDictionary, dext->infoPlist->getObject("IOKitPersonalities"));
    personalities->iterateObjects(^bool(OSObject* key, OSObject* value) {
      auto* p = OSDynamicCast(OSDictionary, value);
      if (p == nullptr) return true;
      const char* providerClass = StringProperty(p, "IOProviderClass");
      if (providerClass == nullptr || std::strcmp(providerClass, "IOPCIDevice") != 0) return true;
      // IOPCIFamily IOPCIBridge::pciMatchNub: every PCI key the personality has must match
      // (IOPCIMatch, IOPCIPrimaryMatch, IOPCISecondaryMatch, IOPCIClassMatch); one with none of
      // them matches any function.
      bool matched = true;
      if (const char* m = StringProperty(p, "IOPCIMatch")) {
        matched = MatchesIdList(m, ids, 0xffffffff) || MatchesIdList(m, subsystem, 0xffffffff);
      }
      if (const char* m = StringProperty(p, "IOPCIPrimaryMatch"); matched && m) {
        matched = MatchesIdList(m, ids, 0xffffffff);
      }
      if (const char* m = StringProperty(p, "IOPCISecondaryMatch"); matched && m) {
        matched = MatchesIdList(m, subsystem, 0xffffffff);
      }
      if (const char* m = StringProperty(p, "IOPCIClassMatch"); matched && m) {
        matched = MatchesIdList(m, classCode, 0xffffff00);
      }
      if (!matched) return true;
      auto* score = OSDynamicCast(OSNumber, p->getObject("IOProbeScore"));
      const int64_t rank = score ? static_cast<int64_t>(score->unsigned64BitValue()) : 0;
      list->push_back({dext, p, rank, list->size()});
      return true;
    });
  }
  std::sort(candidates.begin(), candidates.end(), [](const Candidate& a, const Candidate& b) {
    return a.score != b.score ? a.score > b.score : a.order < b.order;
  });
  for (const Candidate& c : candidates) {
    const char* userClass = StringProperty(c.personality, "IOUserClass");
    const OSMetaClass* meta = OSMetaClass::lookup(userClass);
    if (meta == nullptr || !meta->isSubclassOf(OSTypeID(IOService))) {
      os_log_error(OS_LOG_DEFAULT, "matching: IOUserClass %{public}s of %{public}s not found",
                   userClass ? userClass : "(missing)", c.dext->bundleID.c_str());
      continue;
    }
    OSObject* object = meta->alloc();
    auto* service = OSDynamicCast(IOService, object);
    if (service == nullptr || !service->init()) {
      OSSafeReleaseNULL(object);
      continue;
    }
    ServiceNode* node =
        AddNode(service, slot->node, "IOUserService", userClass, c.personality, c.dext);
    if (StartService(node) == kIOReturnSuccess) return;
  }
}

}  // namespace fpgadext::emu
