// Who may open a dext's user client: the app's entitlements against the dext's, checked when
// IOServiceOpen makes the user client (xnu iokit/Kernel/IOUserServer.cpp
// IOUserServer::serviceNewUserClient; iokit/Kernel/IOUserClient.cpp is_io_service_open_extended).
// The conformance dext as built has no entitlements file; the tests that need a dext with
// entitlements (or with extra user-client properties) load a copy of its bundle that has them.
#include <IOKit/IOKitLib.h>
#include <fpgadext/emu/entitlements.h>
#include <fpgadext/emu/log_capture.h>
#include <fpgadext/emu/machine.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>

#include "harness.h"
#include "probe_device.h"

namespace fpgadext::conformance {
namespace {

namespace fs = std::filesystem;

constexpr const char* kBundleID = kConformanceDextBundleID;

class UserClientAccess : public ::testing::Test {
 protected:
  void TearDown() override {
    Stop();
    if (!scratch_.empty()) fs::remove_all(scratch_);
  }

  // A fresh machine with the probe device and the dext from `bundle`; service_ is its driver.
  void Start(const std::string& bundle) {
    Stop();
    machine_ = std::make_unique<emu::Machine>();
    device_ = std::make_unique<ProbeDevice>();
    ASSERT_EQ(machine_->AttachPciFunction(device_.get(), "probe"), kIOReturnSuccess);
    ASSERT_EQ(machine_->LoadDext(bundle), kIOReturnSuccess);
    service_ =
        IOServiceGetMatchingService(kIOMainPortDefault, IOServiceNameMatching("ConformanceDriver"));
    ASSERT_NE(service_, IO_OBJECT_NULL);
  }

  void Stop() {
    if (connection_ != IO_OBJECT_NULL) IOServiceClose(connection_);
    connection_ = IO_OBJECT_NULL;
    if (service_ != IO_OBJECT_NULL) IOObjectRelease(service_);
    service_ = IO_OBJECT_NULL;
    machine_.reset();
    device_.reset();
  }

  // A copy of the conformance bundle whose code signature carries the entitlements in
  // `entitlements` (the body of a plist <dict>), and whose user-client properties also hold
  // `userClientProperties` (plist <dict> entries). The executable is linked, not copied, so the
  // process loads the same module.
  std::string BundleWith(const std::string& entitlements,
                         const std::string& userClientProperties = "") {
    static std::atomic<int> counter{0};
    if (scratch_.empty()) {
      scratch_ = fs::temp_directory_path() /
                 ("uca-" + std::to_string(getpid()) + "-" + std::to_string(counter++));
    }
    const fs::path bundle = scratch_ / ("variant" + std::to_string(counter++) + ".dext");
    fs::create_directories(bundle);
    const fs::path built = CONFORMANCE_DEXT_BUNDLE;
    fs::create_symlink(built / "ConformanceDext", bundle / "ConformanceDext");
    std::ifstream in(built / "Info.plist");
    std::stringstream text;
    text << in.rdbuf();
    std::string info = text.str();
    if (!userClientProperties.empty()) {
      const size_t key = info.find("<key>UserClientProperties</key>");
      const size_t dict = info.find("<dict>", key);
      EXPECT_NE(key, std::string::npos);
      EXPECT_NE(dict, std::string::npos);
      info.insert(dict + 6, userClientProperties);
    }
    std::ofstream(bundle / "Info.plist") << info;
    std::ofstream(bundle / "Entitlements.plist")
        << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<plist version=\"1.0\">\n<dict>\n"
        << "<key>com.apple.developer.driverkit</key><true/>\n"
        << entitlements << "</dict>\n</plist>\n";
    return bundle.string();
  }

  kern_return_t Open() { return IOServiceOpen(service_, mach_task_self(), 0, &connection_); }

  // The user clients attached to the driver (children in the service plane).
  size_t UserClients() {
    io_iterator_t it = IO_OBJECT_NULL;
    if (IORegistryEntryGetChildIterator(service_, kIOServicePlane, &it) != KERN_SUCCESS) return 0;
    size_t n = 0;
    while (io_object_t child = IOIteratorNext(it)) {
      ++n;
      IOObjectRelease(child);
    }
    IOObjectRelease(it);
    return n;
  }

  static bool Logged(const emu::LogCapture& capture, const std::string& text) {
    const std::vector<std::string> messages = capture.messages();
    return std::any_of(messages.begin(), messages.end(),
                       [&](const std::string& m) { return m.find(text) != std::string::npos; });
  }

  // Every test starts as an unsigned app and leaves the process's entitlements as it found them.
  emu::ScopedProcessEntitlements restore_{emu::Entitlements()};
  fs::path scratch_;
  std::unique_ptr<emu::Machine> machine_;
  std::unique_ptr<ProbeDevice> device_;
  io_service_t service_ = IO_OBJECT_NULL;
  io_connect_t connection_ = IO_OBJECT_NULL;
};

TEST_F(UserClientAccess, UnentitledAppIsRefused) {
  Start(CONFORMANCE_DEXT_BUNDLE);
  EXPECT_EQ(Open(), kIOReturnNotPermitted);
}

// The kernel's reply carries the connection it made, NULL after a refusal, so the app's
// io_connect_t is IO_OBJECT_NULL and never a stale value (xnu is_io_service_open_extended).
TEST_F(UserClientAccess, RefusedOpenSetsTheConnectionToNull) {
  Start(CONFORMANCE_DEXT_BUNDLE);
  connection_ = 0x1234;  // what an app's uninitialised variable might hold
  EXPECT_EQ(Open(), kIOReturnNotPermitted);
  EXPECT_EQ(connection_, IO_OBJECT_NULL);
}

TEST_F(UserClientAccess, AppEntitledForAnotherDextIsRefused) {
  emu::SetProcessEntitlements(emu::Entitlements().AllowUserClientAccess("org.example.other"));
  Start(CONFORMANCE_DEXT_BUNDLE);
  EXPECT_EQ(Open(), kIOReturnNotPermitted);
}

TEST_F(UserClientAccess, EntitledAppIsAccepted) {
  Start(CONFORMANCE_DEXT_BUNDLE);
  ASSERT_EQ(Open(), kIOReturnNotPermitted);  // the same app before it is entitled
  emu::SetProcessEntitlements(emu::Entitlements()
                                  .AllowUserClientAccess("org.example.other")
                                  .AllowUserClientAccess(kBundleID));
  EXPECT_EQ(Open(), kIOReturnSuccess);
}

// xnu iterates the value: a single string is visited as itself (OSObject::iterateObjects).
TEST_F(UserClientAccess, AUserClientAccessStringNamingTheDextIsAccepted) {
  Start(CONFORMANCE_DEXT_BUNDLE);
  emu::SetProcessEntitlements(
      emu::Entitlements().Set(emu::kUserClientAccessEntitlement, std::string("org.example.other")));
  ASSERT_EQ(Open(), kIOReturnNotPermitted);
  emu::SetProcessEntitlements(
      emu::Entitlements().Set(emu::kUserClientAccessEntitlement, std::string(kBundleID)));
  EXPECT_EQ(Open(), kIOReturnSuccess);
}

// A boolean is no bundle ID: `true` does not mean "every dext".
TEST_F(UserClientAccess, ABooleanUserClientAccessIsRefused) {
  emu::SetProcessEntitlements(emu::Entitlements().Set(emu::kUserClientAccessEntitlement, true));
  Start(CONFORMANCE_DEXT_BUNDLE);
  EXPECT_EQ(Open(), kIOReturnNotPermitted);
}

TEST_F(UserClientAccess, DextAllowingAnyClientAcceptsUnentitledApp) {
  Start(BundleWith(""));  // entitlements, but not allow-any
  ASSERT_EQ(Open(), kIOReturnNotPermitted);
  Start(BundleWith("<key>com.apple.developer.driverkit.allow-any-userclient-access</key><true/>"));
  EXPECT_EQ(Open(), kIOReturnSuccess);
}

// xnu looks the key up and does not read its value.
TEST_F(UserClientAccess, DextAllowAnyUserClientAccessCountsByPresence) {
  Start(BundleWith("<key>com.apple.developer.driverkit.allow-any-userclient-access</key><false/>"));
  EXPECT_EQ(Open(), kIOReturnSuccess);
  Start(BundleWith("<key>com.apple.developer.driverkit.allow-any</key><true/>"));  // another key
  EXPECT_EQ(Open(), kIOReturnNotPermitted);
}

// The dext made the user client before the check; a refusal terminates it, and the kernel logs
// the bundle ID the app would have needed.
TEST_F(UserClientAccess, RefusedOpenTerminatesTheUserClientAndLogsTheBundleID) {
  Start(CONFORMANCE_DEXT_BUNDLE);
  emu::LogCapture capture;
  ASSERT_EQ(Open(), kIOReturnNotPermitted);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (UserClients() != 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  EXPECT_EQ(UserClients(), 0u);
  EXPECT_TRUE(Logged(capture, emu::kUserClientAccessEntitlement));
  EXPECT_TRUE(Logged(capture, kBundleID));
}

// IOServiceDEXTEntitlements among the user client's properties: the app must hold all the
// entitlements of one alternative (IOUserServer::checkEntitlements); any value counts.
TEST_F(UserClientAccess, UserClientDextEntitlementsAreRequiredOfTheApp) {
  Start(
      BundleWith("<key>com.apple.developer.driverkit.allow-any-userclient-access</key><true/>",
                 "<key>IOServiceDEXTEntitlements</key><array><array><string>com.example.a</string>"
                 "<string>com.example.b</string></array><string>com.example.c</string></array>"));
  EXPECT_EQ(Open(), kIOReturnNotPermitted);
  emu::SetProcessEntitlements(emu::Entitlements().Set("com.example.a", true));
  EXPECT_EQ(Open(), kIOReturnNotPermitted);  // b is missing from that alternative
  emu::SetProcessEntitlements(emu::Entitlements().Set("com.example.c", false));
  EXPECT_EQ(Open(), kIOReturnSuccess);
}

// IOUserClientEntitlements names an entitlement the app must hold as boolean true
// (is_io_service_open_extended → IOTaskHasEntitlement); the refusal is kIOReturnNotPrivileged.
TEST_F(UserClientAccess, UserClientEntitlementsPropertyNeedsABooleanTrueEntitlement) {
  Start(BundleWith("<key>com.apple.developer.driverkit.allow-any-userclient-access</key><true/>",
                   "<key>IOUserClientEntitlements</key><string>com.example.flag</string>"));
  EXPECT_EQ(Open(), kIOReturnNotPrivileged);
  emu::SetProcessEntitlements(emu::Entitlements().Set("com.example.flag", std::string("yes")));
  EXPECT_EQ(Open(), kIOReturnNotPrivileged);
  emu::SetProcessEntitlements(emu::Entitlements().Set("com.example.flag", true));
  EXPECT_EQ(Open(), kIOReturnSuccess);
}

TEST_F(UserClientAccess, UserClientEntitlementsPropertyFalseRequiresNothing) {
  const std::string allowAny =
      "<key>com.apple.developer.driverkit.allow-any-userclient-access</key><true/>";
  Start(BundleWith(allowAny, "<key>IOUserClientEntitlements</key><string>com.example.x</string>"));
  EXPECT_EQ(Open(), kIOReturnNotPrivileged);  // the same dext requiring an entitlement
  Start(BundleWith(allowAny, "<key>IOUserClientEntitlements</key><false/>"));
  EXPECT_EQ(Open(), kIOReturnSuccess);
}

// A dext's entitlements file that is no dictionary would not have been signed: LoadDext refuses.
TEST_F(UserClientAccess, MalformedDextEntitlementsRefuseTheBundle) {
  const std::string bundle = BundleWith("");
  std::ofstream(fs::path(bundle) / "Entitlements.plist") << "<plist><array/></plist>";
  emu::Machine machine;
  EXPECT_EQ(machine.LoadDext(bundle), kIOReturnBadArgument);
}

}  // namespace
}  // namespace fpgadext::conformance
