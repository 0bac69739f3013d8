// Emulation-only: the entitlements of the emulated app process, i.e. what the app's code
// signature would carry on a Mac. The emulated kernel reads them when the app opens a dext's
// user client (IOServiceOpen), as xnu's IOUserServer::serviceNewUserClient reads the task's
// entitlements. A process starts with none, as an unsigned app does.
//
// A dext's own entitlements are not set here: they are a file in its bundle, <bundle>/
// Entitlements.plist (emu/cmake/Dext.cmake, docs/emulation-user-client.md).
//
// Not part of DriverKit or IOKit; never include from dext, engine or library code.
#pragma once

#include <map>
#include <string>
#include <variant>
#include <vector>

namespace fpgadext::emu {

// The entitlement an app needs to open the user client of a dext whose entitlements do not
// allow any client: its value lists the bundle IDs (CFBundleIdentifier) of the dexts it may open.
inline constexpr char kUserClientAccessEntitlement[] =
    "com.apple.developer.driverkit.userclient-access";
// The dext entitlement that lets every app open its user clients.
inline constexpr char kAllowAnyUserClientAccessEntitlement[] =
    "com.apple.developer.driverkit.allow-any-userclient-access";

// A set of entitlements: key → boolean, string or array of strings (the value types
// entitlements files use).
class Entitlements {
 public:
  using Value = std::variant<bool, std::string, std::vector<std::string>>;

  Entitlements& Set(const std::string& key, Value value);
  Entitlements& Remove(const std::string& key);
  // nullptr when the key is absent.
  const Value* Find(const std::string& key) const;
  bool empty() const { return values_.empty(); }
  const std::map<std::string, Value>& values() const { return values_; }

  // Adds `dextBundleID` to the userclient-access array (created if absent; a non-array value is
  // replaced by the array).
  Entitlements& AllowUserClientAccess(const std::string& dextBundleID);

 private:
  std::map<std::string, Value> values_;
};

// Reads an entitlements file (an XML or binary property list whose top level is a dictionary,
// such as an app's .entitlements) into *result. Values other than booleans, strings and arrays
// of strings are skipped (entitlements that matter here have none). Returns false with a reason
// in *error when the file cannot be read or is not a dictionary.
bool LoadEntitlementsFile(const std::string& path, Entitlements* result, std::string* error);

// The current process's entitlements (a copy). Thread-safe.
Entitlements ProcessEntitlements();
// Replaces them; takes effect at the next IOServiceOpen.
void SetProcessEntitlements(const Entitlements& entitlements);
// Back to none: an unsigned app.
void ClearProcessEntitlements();
// Adds `dextBundleID` to the process's userclient-access entitlement: what a test harness or
// emulated host does so that the app may open that dext, as a signed app would.
void GrantUserClientAccess(const std::string& dextBundleID);

// Restores the process's entitlements when it goes out of scope (tests that change them).
class ScopedProcessEntitlements {
 public:
  ScopedProcessEntitlements() : saved_(ProcessEntitlements()) {}
  explicit ScopedProcessEntitlements(const Entitlements& replacement)
      : saved_(ProcessEntitlements()) {
    SetProcessEntitlements(replacement);
  }
  ~ScopedProcessEntitlements() { SetProcessEntitlements(saved_); }
  ScopedProcessEntitlements(const ScopedProcessEntitlements&) = delete;
  ScopedProcessEntitlements& operator=(const ScopedProcessEntitlements&) = delete;

 private:
  Entitlements saved_;
};

}  // namespace fpgadext::emu
