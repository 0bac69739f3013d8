// Entitlements: the app process's (set by tests and emulated hosts through
// <fpgadext/emu/entitlements.h>), a dext's (a file in its bundle), and the checks xnu makes
// with them when an app opens a dext's user client:
// - IOUserServer::serviceNewUserClient (xnu iokit/Kernel/IOUserServer.cpp), macOS branch: the
//   dext's entitlements holding allow-any-userclient-access (any value: xnu only looks the key
//   up) accept every app; otherwise the app's userclient-access value must contain the opened
//   service's CFBundleIdentifier (an array of strings; a single string also works because
//   OSObject::iterateObjects visits a non-collection as itself, libkern/c++/OSObject.cpp; a
//   boolean never equals a bundle ID). Then the user client's IOServiceDEXTEntitlements, when
//   present, must be satisfied by the app's entitlements (IOUserServer::checkEntitlements: a
//   string, an array of alternatives, each a string or an array whose strings must all be
//   present). A refusal terminates the user client and returns kIOReturnNotPermitted.
// - is_io_service_open_extended (iokit/Kernel/IOUserClient.cpp): a user client whose
//   IOUserClientEntitlements is a string needs the app to hold that entitlement as boolean true
//   (IOTaskHasEntitlement, iokit/bsddev/IOKitBSDInit.cpp); false means no requirement. A refusal
//   returns kIOReturnNotPrivileged.
#include "fpgadext/emu/entitlements.h"

#include <DriverKit/IOKitKeys.h>
#include <DriverKit/OSCollections.h>
#include <os/log.h>
#include <sys/stat.h>

#include <mutex>

#include "entitlement_check.h"
#include "kernel.h"

namespace fpgadext::emu {
namespace {

std::mutex gLock;
Entitlements gProcess;  // guarded by gLock; empty: an unsigned app

// The property key xnu compares userclient-access against (gIOModuleIdentifierKey).
constexpr char kBundleIdentifierKey[] = "CFBundleIdentifier";

bool IsPresent(const Entitlements& app, const OSString* key) {
  return key != nullptr && app.Find(key->getCStringNoCopy()) != nullptr;
}

// IOUserServer::checkEntitlements over the app's entitlements: true when `required` is absent.
bool SatisfiesRequired(const Entitlements& app, OSObject* required) {
  if (required == nullptr) return true;
  auto allOf = [&app](OSObject* alternative) {
    if (auto* key = OSDynamicCast(OSString, alternative)) return IsPresent(app, key);
    auto* keys = OSDynamicCast(OSArray, alternative);
    if (keys == nullptr) return false;
    bool all = false;  // an empty list satisfies nothing, as in xnu
    for (unsigned i = 0; i < keys->getCount(); ++i) {
      all = IsPresent(app, OSDynamicCast(OSString, keys->getObject(i)));
      if (!all) break;
    }
    return all;
  };
  auto* alternatives = OSDynamicCast(OSArray, required);
  if (alternatives == nullptr) return allOf(required);
  for (unsigned i = 0; i < alternatives->getCount(); ++i) {
    if (allOf(alternatives->getObject(i))) return true;
  }
  return false;
}

bool NamesBundle(const Entitlements::Value& value, const std::string& bundleID) {
  if (const auto* one = std::get_if<std::string>(&value)) return *one == bundleID;
  if (const auto* many = std::get_if<std::vector<std::string>>(&value)) {
    for (const std::string& id : *many) {
      if (id == bundleID) return true;
    }
  }
  return false;  // a boolean is no bundle ID
}

std::string ServiceBundleID(const ServiceNode& service) {
  if (service.properties != nullptr) {
    if (auto* id = OSDynamicCast(OSString, service.properties->getObject(kBundleIdentifierKey))) {
      return id->getCStringNoCopy();
    }
  }
  // OSKext gives a personality without CFBundleIdentifier its bundle's (libkern/c++/OSKext.cpp).
  return service.dext != nullptr ? service.dext->bundleID : std::string();
}

}  // namespace

Entitlements& Entitlements::Set(const std::string& key, Value value) {
  values_[key] = std::move(value);
  return *this;
}

Entitlements& Entitlements::Remove(const std::string& key) {
  values_.erase(key);
  return *this;
}

const Entitlements::Value* Entitlements::Find(const std::string& key) const {
  auto it = values_.find(key);
  return it == values_.end() ? nullptr : &it->second;
}

Entitlements& Entitlements::AllowUserClientAccess(const std::string& dextBundleID) {
  Value& value = values_[kUserClientAccessEntitlement];
  auto* ids = std::get_if<std::vector<std::string>>(&value);
  if (ids == nullptr) {
    value = std::vector<std::string>();
    ids = std::get_if<std::vector<std::string>>(&value);
  }
  for (const std::string& id : *ids) {
    if (id == dextBundleID) return *this;
  }
  ids->push_back(dextBundleID);
  return *this;
}

bool LoadEntitlementsFile(const std::string& path, Entitlements* result, std::string* error) {
  OSDictionary* dict = nullptr;
  IOReturn ret = LoadPropertyList(path, &dict);
  if (ret != kIOReturnSuccess) {
    if (error != nullptr) {
      *error = ret == kIOReturnNotFound
                   ? path + ": cannot be read"
                   : path + ": not a property list with a dictionary at the top";
    }
    return false;
  }
  Entitlements loaded;
  Entitlements* into = &loaded;  // blocks capture by copy
  dict->iterateObjects(^bool(OSObject* key, OSObject* value) {
    const std::string name = OSDynamicCast(OSString, key)->getCStringNoCopy();
    if (auto* b = OSDynamicCast(OSBoolean, value)) {
      into->Set(name, b == kOSBooleanTrue);
    } else if (auto* str = OSDynamicCast(OSString, value)) {
      into->Set(name, std::string(str->getCStringNoCopy()));
    } else if (auto* array = OSDynamicCast(OSArray, value)) {
      std::vector<std::string> strings;
      for (unsigned i = 0; i < array->getCount(); ++i) {
        if (auto* item = OSDynamicCast(OSString, array->getObject(i))) {
          strings.emplace_back(item->getCStringNoCopy());
        }
      }
      into->Set(name, std::move(strings));
    }
    return true;
  });
  OSSafeReleaseNULL(dict);
  *result = std::move(loaded);
  return true;
}

Entitlements ProcessEntitlements() {
  std::lock_guard guard(gLock);
  return gProcess;
}

void SetProcessEntitlements(const Entitlements& entitlements) {
  std::lock_guard guard(gLock);
  gProcess = entitlements;
}

void ClearProcessEntitlements() {
  SetProcessEntitlements(Entitlements());
}

void GrantUserClientAccess(const std::string& dextBundleID) {
  std::lock_guard guard(gLock);
  gProcess.AllowUserClientAccess(dextBundleID);
}

IOReturn LoadDextEntitlements(const std::string& bundlePath, OSDictionary** result) {
  *result = nullptr;
  for (const std::string& path :
       {bundlePath + "/Entitlements.plist", bundlePath + "/Contents/Entitlements.plist"}) {
    struct stat st;
    if (stat(path.c_str(), &st) != 0) continue;
    IOReturn ret = LoadPropertyList(path, result);
    if (ret != kIOReturnSuccess) {
      os_log_error(OS_LOG_DEFAULT, "LoadDext: %{public}s is not a dictionary of entitlements",
                   path.c_str());
    }
    return ret;
  }
  return kIOReturnSuccess;  // no entitlements: the checks find none
}

IOReturn CheckUserClientAccess(const ServiceNode& service, const ServiceNode& userClient) {
  const Entitlements app = ProcessEntitlements();
  const OSDictionary* dext = service.dext != nullptr ? service.dext->entitlements : nullptr;
  const std::string bundleID = ServiceBundleID(service);
  const char* userClass = userClient.name.c_str();

  bool ok = dext != nullptr && dext->getObject(kAllowAnyUserClientAccessEntitlement) != nullptr;
  if (!ok) {
    const Entitlements::Value* access = app.Find(kUserClientAccessEntitlement);
    ok = access != nullptr && NamesBundle(*access, bundleID);
    if (!ok) {
      os_log_error(OS_LOG_DEFAULT,
                   "IOServiceOpen: %{public}s refused: the app's %{public}s entitlement %{public}s "
                   "%{public}s, and the dext's entitlements lack %{public}s",
                   userClass, kUserClientAccessEntitlement,
                   access != nullptr ? "does not contain" : "is missing; it must contain",
                   bundleID.empty() ? "(no bundle ID)" : bundleID.c_str(),
                   kAllowAnyUserClientAccessEntitlement);
    }
  }
  OSDictionary* ucProperties = userClient.properties;
  if (ok && ucProperties != nullptr) {
    ok = SatisfiesRequired(app, ucProperties->getObject(kIOServiceDEXTEntitlementsKey));
    if (!ok) {
      os_log_error(OS_LOG_DEFAULT,
                   "IOServiceOpen: %{public}s refused: the app lacks the entitlements its "
                   "%{public}s property requires",
                   userClass, kIOServiceDEXTEntitlementsKey);
    }
  }
  if (!ok) return kIOReturnNotPermitted;

  OSObject* required =
      ucProperties != nullptr ? ucProperties->getObject(kIOUserClientEntitlementsKey) : nullptr;
  if (required == nullptr || required == kOSBooleanFalse) return kIOReturnSuccess;
  auto* name = OSDynamicCast(OSString, required);
  if (name == nullptr) {
    // xnu reads the value as a string without checking: on a Mac this is a kernel fault.
    os_log_fault(OS_LOG_DEFAULT,
                 "IOServiceOpen: %{public}s: %{public}s is neither false nor a string", userClass,
                 kIOUserClientEntitlementsKey);
    return kIOReturnNotPrivileged;
  }
  const Entitlements::Value* held = app.Find(name->getCStringNoCopy());
  const bool* flag = held != nullptr ? std::get_if<bool>(held) : nullptr;
  if (flag != nullptr && *flag) return kIOReturnSuccess;
  os_log_error(OS_LOG_DEFAULT,
               "IOServiceOpen: %{public}s refused: the app lacks the entitlement %{public}s "
               "(boolean true) named by %{public}s",
               userClass, name->getCStringNoCopy(), kIOUserClientEntitlementsKey);
  return kIOReturnNotPrivileged;
}

}  // namespace fpgadext::emu
