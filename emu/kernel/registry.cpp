// The registry as IOKitLib reaches it (xnu iokit/Kernel/IOUserClient.cpp is_io_* routines,
// IOService.cpp matching): matching dictionaries, property reads, the service plane, and the
// app's matching and interest notifications (IOServiceUserNotification /
// IOServiceMessageUserNotification semantics).
#include <DriverKit/OSArray.h>
#include <DriverKit/OSBoolean.h>
#include <DriverKit/OSData.h>
#include <DriverKit/OSDictionary.h>
#include <DriverKit/OSNumber.h>
#include <DriverKit/OSString.h>

#include <algorithm>
#include <cstring>

#include "../iokit/os_iterate.h"
#include "broker_internal.h"

namespace fpgadext::emu {
namespace broker {

// One app notification: a matching notification's iterator, or an interest notification.
struct Notifier {
  enum class Type { kPublish, kTerminate, kInterest };
  Type type = Type::kPublish;
  OSDictionary* matching = nullptr;  // retained; matching notifications
  uint64_t registryID = 0;           // interest: the service watched
  uint32_t service = 0;              // interest: the app's name for it (+1 held here)
  uint32_t port = 0;
  uint64_t reference[kAsyncRefCount] = {};
  uint32_t referenceCount = 0;
  uint32_t name = 0;  // the notification's own handle
  // Matching: services waiting to be taken with IOIteratorNext (handles, +1 each). Like
  // IOServiceUserNotification, a message goes out only when the set was empty and the app had
  // emptied the iterator since the last one ("armed"); the iterator hands out the newest first.
  std::vector<uint32_t> waiting;
  bool armed = false;
  bool active = true;
  ~Notifier() { OSSafeReleaseNULL(matching); }
};

namespace {

constexpr size_t kMaxOutstanding = 1024;                        // IOServiceUserNotification's limit
constexpr uint32_t kIOMessageServiceIsTerminated = 0xe0000010;  // iokit_common_msg(0x010)

bool NameIn(OSObject* names, const std::string& name) {
  if (auto* s = OSDynamicCast(OSString, names)) return name == s->getCStringNoCopy();
  auto* a = OSDynamicCast(OSArray, names);
  for (uint32_t i = 0; a != nullptr && i < a->getCount(); ++i) {
    auto* s = OSDynamicCast(OSString, a->getObject(i));
    if (s != nullptr && s->getCStringNoCopy() != nullptr && name == s->getCStringNoCopy()) {
      return true;
    }
  }
  return false;
}

// Every key of `want` is in `have` with an equal value.
bool PropertiesInclude(OSDictionary* have, OSDictionary* want) {
  bool all = true;
  ForEachEntry(want, [&all, have](OSObject* key, OSObject* value) {
    auto* k = OSDynamicCast(OSString, key);
    OSObject* mine = k && have ? have->getObject(k->getCStringNoCopy()) : nullptr;
    if (mine == nullptr || !mine->isEqualTo(value)) all = false;
  });
  return all;
}

bool AnyDictionary(OSObject* value, bool (^test)(OSDictionary*)) {
  if (auto* d = OSDynamicCast(OSDictionary, value)) return test(d);
  auto* a = OSDynamicCast(OSArray, value);
  for (uint32_t i = 0; a != nullptr && i < a->getCount(); ++i) {
    if (auto* d = OSDynamicCast(OSDictionary, a->getObject(i)); d && test(d)) return true;
  }
  return false;
}

PciSlot* SlotOf(const ServiceNode* node) {
  Kernel* kernel = Kernel::Current();
  if (kernel == nullptr) return nullptr;
  for (PciSlot* slot : kernel->Slots()) {
    if (slot->node == node) return slot;
  }
  return nullptr;
}

// IOPCIDevice::matchPropertyTable's keys; false on any other entry.
bool MatchPci(const ServiceNode* node, OSDictionary* m) {
  auto str = [m](const char* key) {
    auto* s = OSDynamicCast(OSString, m->getObject(key));
    return s ? s->getCStringNoCopy() : nullptr;
  };
  const char* primary = str("IOPCIPrimaryMatch");
  const char* secondary = str("IOPCISecondaryMatch");
  const char* any = str("IOPCIMatch");
  const char* cls = str("IOPCIClassMatch");
  if (!primary && !secondary && !any && !cls) return true;
  PciSlot* slot = node->className == "IOPCIDevice" ? SlotOf(node) : nullptr;
  if (slot == nullptr) return false;
  const uint32_t ids = slot->ConfigRead(0x00, 4);
  const uint32_t subsystem = slot->ConfigRead(0x2c, 4);
  const uint32_t classCode = slot->ConfigRead(0x08, 4);
  if (primary && !PciIdListMatches(primary, ids, 0xffffffff)) return false;
  if (secondary && !PciIdListMatches(secondary, subsystem, 0xffffffff)) return false;
  if (any && !PciIdListMatches(any, ids, 0xffffffff) &&
      !PciIdListMatches(any, subsystem, 0xffffffff)) {
    return false;
  }
  if (cls && !PciIdListMatches(cls, classCode, 0xffffff00)) return false;
  return true;
}

// IOService::matchInternal for the keys an app's matching dictionary uses. Keys it does not
// know are ignored, as IOService's default matchPropertyTable ignores them.
bool MatchNode(const ServiceNode* node, OSDictionary* m) {
  if (auto* cls = OSDynamicCast(OSString, m->getObject("IOProviderClass"))) {
    const auto classes = KernelClasses(node);
    const char* want = cls->getCStringNoCopy();
    if (want == nullptr || std::find(classes.begin(), classes.end(), want) == classes.end()) {
      return false;
    }
  }
  if (OSObject* names = m->getObject("IONameMatch"); names && !NameIn(names, node->name)) {
    return false;
  }
  if (auto* id = OSDynamicCast(OSNumber, m->getObject("IORegistryEntryID"));
      id && id->unsigned64BitValue() != node->registryID) {
    return false;
  }
  OSDictionary* props = node->properties;
  if (OSObject* want = m->getObject("IOPropertyMatch");
      want && !AnyDictionary(want, ^bool(OSDictionary* d) {
        return PropertiesInclude(props, d);
      })) {
    return false;
  }
  if (OSObject* keys = m->getObject("IOPropertyExistsMatch")) {
    bool found = false;
    if (auto* s = OSDynamicCast(OSString, keys)) {
      found = props && props->getObject(s->getCStringNoCopy()) != nullptr;
    } else if (auto* a = OSDynamicCast(OSArray, keys)) {
      for (uint32_t i = 0; !found && i < a->getCount(); ++i) {
        auto* k = OSDynamicCast(OSString, a->getObject(i));
        found = k && props && props->getObject(k->getCStringNoCopy()) != nullptr;
      }
    }
    if (!found) return false;
  }
  if (auto* parent = OSDynamicCast(OSDictionary, m->getObject("IOParentMatch"))) {
    bool found = false;
    for (const ServiceNode* p = node->provider; p != nullptr && !found; p = p->provider) {
      found = MatchNode(p, parent);
    }
    if (!found) return false;
  }
  return MatchPci(node, m);
}

AsyncMessage MessageFor(const Notifier& n) {
  AsyncMessage m{};
  std::copy(n.reference, n.reference + kAsyncRefCount, m.reference);
  m.notification = n.name;
  return m;
}

// The active notifications of `type`. Under the table's lock.
std::vector<std::shared_ptr<Notifier>> CandidatesLocked(HandleTable& t, Notifier::Type type) {
  std::vector<std::shared_ptr<Notifier>> candidates;
  for (auto& n : t.notifiers) {
    if (n->active && n->type == type) candidates.push_back(n);
  }
  return candidates;
}

// Adds a service to each of `candidates` it matches; the messages to send.
std::vector<std::pair<uint32_t, AsyncMessage>> Deliver(
    HandleTable* t, ServiceNode* node, const std::vector<std::shared_ptr<Notifier>>& candidates) {
  std::vector<std::pair<uint32_t, AsyncMessage>> messages;
  for (auto& n : candidates) {
    if (!MatchNode(node, n->matching)) continue;
    std::lock_guard guard(t->lock);
    if (!n->active || n->waiting.size() >= kMaxOutstanding) continue;
    const bool ping = n->armed && n->waiting.empty();
    n->waiting.push_back(ServiceHandle(*t, node));
    if (!ping) continue;
    n->armed = false;
    AsyncMessage m = MessageFor(*n);
    m.kind = AsyncMessage::Kind::kMatching;
    messages.emplace_back(n->port, m);
  }
  return messages;
}

void Send(const std::vector<std::pair<uint32_t, AsyncMessage>>& messages) {
  for (auto& [port, m] : messages) PostAsync(port, m);
}

}  // namespace

uint32_t NotifierNextLocked(Notifier& n) {
  if (n.waiting.empty()) {
    n.armed = true;  // the next service to arrive sends a message
    return 0;
  }
  const uint32_t item = n.waiting.back();  // its reference passes to the caller
  n.waiting.pop_back();
  return item;
}

void NotifierReleasedLocked(HandleTable& t, const std::shared_ptr<Notifier>& n) {
  n->active = false;
  for (uint32_t item : n->waiting) ReleaseLocked(t, item);
  n->waiting.clear();
  if (n->service != 0) ReleaseLocked(t, n->service);
  n->service = 0;
  t.notifiers.erase(std::remove(t.notifiers.begin(), t.notifiers.end(), n), t.notifiers.end());
}

void ForgetNotifiersLocked(HandleTable& t) {
  for (auto& n : t.notifiers) {
    n->active = false;
    n->waiting.clear();  // their handles went with the table
    n->service = 0;
  }
  t.notifiers.clear();
}

bool NotificationIsLive(uint32_t notification) {
  HandleTable* t = Table();
  if (t == nullptr) return false;
  std::lock_guard guard(t->lock);
  return Find(*t, notification, Handle::Kind::kNotifier) != nullptr;
}

IOReturn GetMatchingServices(OSDictionary* matching, std::vector<uint32_t>* handles) {
  Kernel* kernel = Kernel::Current();
  if (kernel == nullptr) return kIOReturnNotReady;
  HandleTable* t = &kernel->handles();
  if (matching == nullptr) return kIOReturnBadArgument;
  for (ServiceNode* node : kernel->Nodes()) {
    if (!node->registered || !MatchNode(node, matching)) continue;
    std::lock_guard guard(t->lock);
    handles->push_back(ServiceHandle(*t, node));
  }
  return kIOReturnSuccess;
}

IOReturn MatchPropertyTable(uint32_t service, OSDictionary* matching, bool* matches) {
  ServiceNode* node = NodeFor(service);
  if (node == nullptr) return kMachSendInvalidDest;
  if (matching == nullptr) return kIOReturnBadArgument;
  *matches = MatchNode(node, matching);
  return kIOReturnSuccess;
}

IOReturn CopyProperties(uint32_t entry, OSDictionary** properties) {
  ServiceNode* node = NodeFor(entry);
  if (node == nullptr) return kMachSendInvalidDest;
  *properties = OSDictionary::withDictionary(node->properties, 0);
  return *properties ? kIOReturnSuccess : kIOReturnNoMemory;
}

IOReturn CopyProperty(uint32_t entry, const char* key, bool parents, OSObject** value) {
  ServiceNode* node = NodeFor(entry);
  if (node == nullptr) return kMachSendInvalidDest;
  for (; node != nullptr; node = parents ? node->provider : nullptr) {
    if (OSObject* v = node->properties ? node->properties->getObject(key) : nullptr) {
      v->retain();
      *value = v;
      return kIOReturnSuccess;
    }
  }
  return kIOReturnNotFound;
}

IOReturn GetParents(uint32_t entry, std::vector<uint32_t>* handles) {
  HandleTable* t = Table();
  if (t == nullptr) return kMachSendInvalidDest;
  ServiceNode* node = NodeFor(entry);
  if (node == nullptr) return kMachSendInvalidDest;
  std::lock_guard guard(t->lock);
  if (node->provider != nullptr) handles->push_back(ServiceHandle(*t, node->provider));
  return kIOReturnSuccess;
}

IOReturn GetChildren(uint32_t entry, std::vector<uint32_t>* handles) {
  HandleTable* t = Table();
  if (t == nullptr) return kMachSendInvalidDest;
  ServiceNode* node = NodeFor(entry);
  Kernel* kernel = Kernel::Current();
  if (node == nullptr || kernel == nullptr) return kMachSendInvalidDest;
  for (ServiceNode* child : kernel->Nodes()) {
    if (child->provider != node) continue;
    std::lock_guard guard(t->lock);
    handles->push_back(ServiceHandle(*t, child));
  }
  return kIOReturnSuccess;
}

IOReturn AddMatchingNotification(const char* type, OSDictionary* matching, uint32_t port,
                                 const uint64_t* reference, uint32_t referenceCount,
                                 uint32_t* notification) {
  Kernel* kernel = Kernel::Current();
  if (kernel == nullptr) return kIOReturnNotReady;
  HandleTable* table = &kernel->handles();
  if (matching == nullptr || type == nullptr) return kIOReturnBadArgument;
  if (referenceCount > kAsyncRefCount) return kIOReturnNoResources;
  auto n = std::make_shared<Notifier>();
  const std::string t = type;
  if (t == "IOServicePublish" || t == "IOServiceFirstPublish" || t == "IOServiceMatched" ||
      t == "IOServiceFirstMatch") {
    n->type = Notifier::Type::kPublish;
  } else if (t == "IOServiceTerminate" || t == "IOServiceWillTerminate") {
    n->type = Notifier::Type::kTerminate;
  } else {
    return kIOReturnUnsupported;  // IOService::addMatchingNotification knows no such type
  }
  matching->retain();
  n->matching = matching;
  n->port = port;
  n->referenceCount = referenceCount;
  std::copy(reference, reference + referenceCount, n->reference);
  // Services already published are waiting in the iterator; no message is sent for them. Under
  // the table's lock with the registration, so that a service published meanwhile is counted once:
  // before (found here) or after (delivered by ServicePublished).
  std::lock_guard guard(table->lock);
  if (n->type == Notifier::Type::kPublish) {
    for (ServiceNode* node : kernel->Nodes()) {
      if (node->registered && node->published && MatchNode(node, matching)) {
        n->waiting.push_back(ServiceHandle(*table, node));
      }
    }
  }
  n->name = NewName(*table);
  Handle h;
  h.kind = Handle::Kind::kNotifier;
  h.notifier = n;
  table->handles.emplace(n->name, std::move(h));
  table->notifiers.push_back(n);
  *notification = n->name;
  return kIOReturnSuccess;
}

IOReturn AddInterestNotification(uint32_t service, const char* type, uint32_t port,
                                 const uint64_t* reference, uint32_t referenceCount,
                                 uint32_t* notification) {
  HandleTable* table = Table();
  if (table == nullptr) return kMachSendInvalidDest;
  ServiceNode* node = NodeFor(service);
  if (node == nullptr) {
    std::lock_guard guard(table->lock);
    return table->handles.count(service) ? kIOReturnBadArgument : kMachSendInvalidDest;
  }
  if (type == nullptr) return kIOReturnBadArgument;
  const std::string t = type;
  // IOService::registerInterest's interest types; messages of the general interest are the
  // only ones the emulated kernel sends.
  if (t != "IOGeneralInterest" && t != "IOBusyInterest" && t != "IOAppPowerStateInterest" &&
      t != "IOPriorityPowerStateInterest" && t != "IOConsoleSecurityInterest") {
    return kIOReturnUnsupported;
  }
  if (referenceCount > kAsyncRefCount) return kIOReturnNoResources;
  auto n = std::make_shared<Notifier>();
  n->type = Notifier::Type::kInterest;
  n->active = t == "IOGeneralInterest";  // other interests: nothing ever arrives
  n->registryID = node->registryID;
  n->port = port;
  n->referenceCount = referenceCount;
  std::copy(reference, reference + referenceCount, n->reference);
  std::lock_guard guard(table->lock);
  n->service = ServiceHandle(*table, node);
  n->name = NewName(*table);
  Handle h;
  h.kind = Handle::Kind::kNotifier;
  h.notifier = n;
  table->handles.emplace(n->name, std::move(h));
  if (n->active) table->notifiers.push_back(n);
  *notification = n->name;
  return kIOReturnSuccess;
}

}  // namespace broker

void SetPciNubProperties(PciSlot* slot) {
  // IOPCIConfigurator's property table: 32-bit values as 4-byte data.
  auto put = [slot](const char* key, uint32_t value) {
    OSData* data = OSData::withBytes(&value, sizeof value);
    if (data == nullptr) return;
    slot->node->properties->setObject(key, data);
    data->release();
  };
  const uint32_t ids = slot->ConfigRead(0x00, 4);
  const uint32_t revisionClass = slot->ConfigRead(0x08, 4);
  const uint32_t subsystem = slot->ConfigRead(0x2c, 4);
  put("vendor-id", ids & 0xffff);
  put("device-id", ids >> 16);
  put("revision-id", revisionClass & 0xff);
  put("class-code", revisionClass >> 8);
  if (subsystem != 0) {
    put("subsystem-vendor-id", subsystem & 0xffff);
    put("subsystem-id", subsystem >> 16);
  }
}

void ServicePublished(ServiceNode* node) {
  broker::HandleTable* t = broker::Table();
  if (t == nullptr) return;
  std::vector<std::shared_ptr<broker::Notifier>> candidates;
  {
    std::lock_guard guard(t->lock);
    if (node->published) return;
    node->published = true;
    candidates = broker::CandidatesLocked(*t, broker::Notifier::Type::kPublish);
  }
  broker::Send(broker::Deliver(t, node, candidates));
}

void ServiceTerminating(ServiceNode* node) {
  broker::HandleTable* t = broker::Table();
  if (t == nullptr) return;
  std::vector<std::pair<uint32_t, broker::AsyncMessage>> messages;
  {
    std::lock_guard guard(t->lock);
    for (auto& n : t->notifiers) {
      if (!n->active || n->type != broker::Notifier::Type::kInterest ||
          n->registryID != node->registryID) {
        continue;
      }
      broker::AsyncMessage m = broker::MessageFor(*n);
      m.kind = broker::AsyncMessage::Kind::kInterest;
      m.service = n->service;
      m.messageType = broker::kIOMessageServiceIsTerminated;
      m.messageArgument = 0;  // the termination options
      messages.emplace_back(n->port, m);
    }
  }
  broker::Send(messages);
}

void ServiceTerminated(ServiceNode* node) {
  broker::HandleTable* t = broker::Table();
  if (t == nullptr) return;
  std::vector<std::shared_ptr<broker::Notifier>> candidates;
  {
    std::lock_guard guard(t->lock);
    if (!node->published) return;  // never seen by a matching notification
    candidates = broker::CandidatesLocked(*t, broker::Notifier::Type::kTerminate);
  }
  broker::Send(broker::Deliver(t, node, candidates));
}

}  // namespace fpgadext::emu
