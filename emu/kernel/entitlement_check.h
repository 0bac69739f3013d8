// The kernel's entitlement checks when an app opens a dext's user client (emu/kernel/
// entitlements.cpp; the app's entitlements are set through <fpgadext/emu/entitlements.h>).
#pragma once

#include <DriverKit/IOReturn.h>

#include <string>

class OSDictionary;

namespace fpgadext::emu {

struct ServiceNode;

// Reads a dext's entitlements from <bundle>/Entitlements.plist (or <bundle>/Contents/
// Entitlements.plist): what its code signature would carry on a Mac. A bundle without the file
// has none (*result stays nullptr). kIOReturnBadArgument for a file that is not a dictionary.
IOReturn LoadDextEntitlements(const std::string& bundlePath, OSDictionary** result);

// After the dext made the user client `userClient` for an IOServiceOpen of `service`, decides
// whether the app process may have it, as xnu's IOUserServer::serviceNewUserClient and
// is_io_service_open_extended do: kIOReturnNotPermitted when the dext's entitlements and the
// app's userclient-access (or the user client's IOServiceDEXTEntitlements) refuse,
// kIOReturnNotPrivileged when the user client's IOUserClientEntitlements names an entitlement
// the app does not have. Logs why it refused.
IOReturn CheckUserClientAccess(const ServiceNode& service, const ServiceNode& userClient);

}  // namespace fpgadext::emu
