// Which PCI functions a dext personality matches: IOPCIFamily's IOPCIBridge::pciMatchNub
// (IOPCIBridge.cpp) looks at IOPCIMatch, IOPCIPrimaryMatch, IOPCISecondaryMatch and
// IOPCIClassMatch in turn and stops at the first present key that does not match: every key the
// personality has must match, and a personality with none of them matches any function. Each
// test loads a copy of the conformance bundle whose personality has other PCI keys (found by the
// plist_match fuzz target, tests/fuzz/).
#include <IOKit/IOKitLib.h>
#include <fpgadext/emu/machine.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "probe_device.h"

namespace fpgadext::conformance {
namespace {

namespace fs = std::filesystem;

// The probe: IDs 0xF00D1234, subsystem 0x00011234, class code 0x118000, revision 1.
constexpr const char* kProbeIds = "0xF00D1234";
constexpr const char* kProbeClass = "0x11800000";
constexpr const char* kOtherClass = "0x02000000";

class DextMatching : public ::testing::Test {
 protected:
  void TearDown() override {
    machine_.reset();
    device_.reset();
    if (!scratch_.empty()) fs::remove_all(scratch_);
  }

  // Loads a copy of the conformance dext whose personality's PCI keys are `keys` (plist <key>
  // and <string> pairs, in place of its IOPCIPrimaryMatch) and says whether its driver started
  // on the probe.
  bool Matches(const std::string& keys) {
    EXPECT_EQ(Load(keys), kIOReturnSuccess);
    io_service_t driver =
        IOServiceGetMatchingService(kIOMainPortDefault, IOServiceNameMatching("ConformanceDriver"));
    if (driver == IO_OBJECT_NULL) return false;
    IOObjectRelease(driver);
    return true;
  }

  IOReturn Load(const std::string& keys) {
    machine_.reset();
    scratch_ = fs::temp_directory_path() / ("dext-matching-" + std::to_string(getpid()));
    fs::remove_all(scratch_);
    const fs::path built = CONFORMANCE_DEXT_BUNDLE;
    std::stringstream text;
    text << std::ifstream(built / "Info.plist").rdbuf();
    std::string info = text.str();
    const size_t key = info.find("<key>IOPCIPrimaryMatch</key>");
    const size_t end = info.find("</string>", key);
    EXPECT_NE(key, std::string::npos);
    EXPECT_NE(end, std::string::npos);
    info.replace(key, end + 9 - key, keys);
    return LoadInfoPlist(info);
  }

  // Loads a copy of the conformance dext whose Info.plist is `info`.
  IOReturn LoadInfoPlist(const std::string& info) {
    machine_.reset();
    const fs::path bundle = scratch_ / "Variant.dext";
    fs::create_directories(bundle);
    if (!fs::exists(bundle / "ConformanceDext", ignored_)) {
      fs::create_symlink(fs::path(CONFORMANCE_DEXT_BUNDLE) / "ConformanceDext",
                         bundle / "ConformanceDext");
    }
    std::ofstream(bundle / "Info.plist", std::ios::binary | std::ios::trunc) << info;
    device_ = std::make_unique<ProbeDevice>();
    machine_ = std::make_unique<emu::Machine>();
    EXPECT_EQ(machine_->AttachPciFunction(device_.get(), "probe"), kIOReturnSuccess);
    return machine_->LoadDext(bundle.string());
  }

  static std::string Key(const char* name, const char* value) {
    return std::string("<key>") + name + "</key><string>" + value + "</string>";
  }

  fs::path scratch_;
  std::error_code ignored_;
  std::unique_ptr<ProbeDevice> device_;
  std::unique_ptr<emu::Machine> machine_;
};

TEST_F(DextMatching, EveryPciKeyOfAPersonalityMustMatch) {
  EXPECT_TRUE(Matches(Key("IOPCIPrimaryMatch", kProbeIds) + Key("IOPCIClassMatch", kProbeClass)));
  // The IDs match, the class does not: no match (the first key alone used to decide).
  EXPECT_FALSE(Matches(Key("IOPCIPrimaryMatch", kProbeIds) + Key("IOPCIClassMatch", kOtherClass)));
  EXPECT_FALSE(
      Matches(Key("IOPCISecondaryMatch", "0x00011234") + Key("IOPCIClassMatch", kOtherClass)));
  EXPECT_FALSE(Matches(Key("IOPCIMatch", kProbeIds) + Key("IOPCIPrimaryMatch", "0x00001234")));
  EXPECT_TRUE(Matches(Key("IOPCIMatch", "0x00011234") + Key("IOPCIPrimaryMatch", kProbeIds)));
}

TEST_F(DextMatching, APersonalityWithNoPciKeyMatchesAnyFunction) {
  EXPECT_TRUE(Matches(""));
}

// A string holding a NUL cannot reach the kernel whole: it unserializes the personalities' XML
// as a NUL-terminated C string (xnu libkern/c++/OSUnserializeXML.y). The emulated kernel refuses
// the bundle (libplist would have stopped the process on it; found by the plist_match fuzz
// target).
TEST_F(DextMatching, AnInfoPlistStringHoldingANulIsRefused) {
  const std::string withNul = std::string("<key>IOPCIPrimaryMatch</key><string>0xF00D") +
                              std::string(1, '\0') + "1234</string>";
  EXPECT_EQ(Load(withNul), kIOReturnBadArgument);
  io_service_t driver =
      IOServiceGetMatchingService(kIOMainPortDefault, IOServiceNameMatching("ConformanceDriver"));
  EXPECT_EQ(driver, IO_OBJECT_NULL);
  if (driver != IO_OBJECT_NULL) IOObjectRelease(driver);
}

// The same NUL in a key of a binary Info.plist (libplist hands keys out only through
// plist_get_key_val, which asserts on it): refused too.
TEST_F(DextMatching, ABinaryInfoPlistKeyHoldingANulIsRefused) {
  // {CFBundleExecutable: ConformanceDext, IOKitPersonalities: {"\u00e9\0x": "v"}} as a bplist00
  // (a UTF-16 key: libplist cuts an ASCII one at the NUL, silently).
  static const unsigned char kBinary[] = {
      0x62, 0x70, 0x6c, 0x69, 0x73, 0x74, 0x30, 0x30, 0xd2, 0x01, 0x02, 0x03, 0x04, 0x5f,
      0x10, 0x12, 0x43, 0x46, 0x42, 0x75, 0x6e, 0x64, 0x6c, 0x65, 0x45, 0x78, 0x65, 0x63,
      0x75, 0x74, 0x61, 0x62, 0x6c, 0x65, 0x5f, 0x10, 0x12, 0x49, 0x4f, 0x4b, 0x69, 0x74,
      0x50, 0x65, 0x72, 0x73, 0x6f, 0x6e, 0x61, 0x6c, 0x69, 0x74, 0x69, 0x65, 0x73, 0x5f,
      0x10, 0x0f, 0x43, 0x6f, 0x6e, 0x66, 0x6f, 0x72, 0x6d, 0x61, 0x6e, 0x63, 0x65, 0x44,
      0x65, 0x78, 0x74, 0xd1, 0x05, 0x06, 0x63, 0x00, 0xe9, 0x00, 0x00, 0x00, 0x78, 0x51,
      0x76, 0x08, 0x0d, 0x22, 0x37, 0x49, 0x4c, 0x53, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x55};
  scratch_ = fs::temp_directory_path() / ("dext-matching-" + std::to_string(getpid()));
  fs::remove_all(scratch_);
  EXPECT_EQ(LoadInfoPlist(std::string(reinterpret_cast<const char*>(kBinary), sizeof kBinary)),
            kIOReturnBadArgument);
}

}  // namespace
}  // namespace fpgadext::conformance
