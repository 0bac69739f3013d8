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

#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

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
    return DriverStarted();
  }

  static bool DriverStarted() {
    io_service_t driver =
        IOServiceGetMatchingService(kIOMainPortDefault, IOServiceNameMatching("ConformanceDriver"));
    if (driver == IO_OBJECT_NULL) return false;
    IOObjectRelease(driver);
    return true;
  }

  // The conformance dext's Info.plist, with a fresh scratch directory for a variant of it.
  std::string BuiltInfoPlist() {
    machine_.reset();
    scratch_ = fs::temp_directory_path() / ("dext-matching-" + std::to_string(getpid()));
    fs::remove_all(scratch_);
    std::stringstream text;
    text << std::ifstream(fs::path(CONFORMANCE_DEXT_BUNDLE) / "Info.plist").rdbuf();
    return text.str();
  }

  IOReturn Load(const std::string& keys) {
    std::string info = BuiltInfoPlist();
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

// A binary property list (bplist00: objects, an offset table, a 32-byte trailer) built object by
// object, so that a dictionary may repeat a key, which XML parsers fold before the kernel's
// conversion sees it.
class BinaryPlist {
 public:
  int String(const std::string& text) {  // ASCII
    std::string object = Marker(0x50, text.size());
    return Add(object + text);
  }
  int Real(double value) { return Add(std::string(1, '\x23') + BigEndian(value)); }
  int Date(double secondsSince2001) {
    return Add(std::string(1, '\x33') + BigEndian(secondsSince2001));
  }
  int Dict(const std::vector<std::pair<int, int>>& entries) {
    std::string object = Marker(0xD0, entries.size());
    for (const auto& [key, value] : entries) object += static_cast<char>(key);
    for (const auto& [key, value] : entries) object += static_cast<char>(value);
    return Add(object);
  }
  std::string Bytes(int top) const {  // one-byte object references, two-byte offsets
    std::string out = "bplist00";
    std::string offsets;
    for (const std::string& object : objects_) {
      offsets += static_cast<char>(out.size() >> 8);
      offsets += static_cast<char>(out.size() & 0xff);
      out += object;
    }
    const uint64_t table = out.size();
    out += offsets;
    out += std::string(6, '\0') + '\x02' + '\x01';
    for (uint64_t field : {uint64_t{objects_.size()}, uint64_t(top), table}) {
      for (int shift = 56; shift >= 0; shift -= 8) out += static_cast<char>(field >> shift);
    }
    return out;
  }

 private:
  int Add(const std::string& object) {
    objects_.push_back(object);
    return static_cast<int>(objects_.size() - 1);
  }
  static std::string Marker(uint8_t type, size_t count) {  // counts below 256
    if (count < 15) return std::string(1, static_cast<char>(type | count));
    return std::string{static_cast<char>(type | 0xf), '\x10', static_cast<char>(count)};
  }
  static std::string BigEndian(double value) {
    uint64_t bits;
    std::memcpy(&bits, &value, sizeof bits);
    std::string out;
    for (int shift = 56; shift >= 0; shift -= 8) out += static_cast<char>(bits >> shift);
    return out;
  }
  std::vector<std::string> objects_;
};

// A key repeated in a personality keeps its last value, whatever its type: the personalities
// reach the kernel serialized from CF objects (IOKitUser IOCFSerialize.c writes a real as an
// <integer> and has no case for a date) and each later key replaces the one before (xnu
// OSUnserializeXML.y). A class name followed by a real or a date names no class, so no driver
// starts. The emulated kernel used to drop such values and keep the class (found by the
// plist_match fuzz target in a binary Info.plist repeating IOUserClass).
TEST_F(DextMatching, ALaterValueOfAnyTypeReplacesAnEarlierOneOfItsKey) {
  const auto startsWithSecondClass = [this](auto makeValue) {
    BinaryPlist plist;
    const int identifier = plist.String("org.fpgadext.conformance");
    const int userClass = plist.String("IOUserClass");
    const int driver = plist.String("ConformanceDriver");
    const int second = makeValue(plist);
    const int personality = plist.Dict({
        {plist.String("CFBundleIdentifier"), identifier},
        {plist.String("IOClass"), plist.String("IOUserService")},
        {plist.String("IOProviderClass"), plist.String("IOPCIDevice")},
        {userClass, driver},
        {plist.String("IOUserServerName"), identifier},
        {userClass, second},
    });
    const int top = plist.Dict({
        {plist.String("CFBundleIdentifier"), identifier},
        {plist.String("CFBundleExecutable"), plist.String("ConformanceDext")},
        {plist.String("CFBundlePackageType"), plist.String("DEXT")},
        {plist.String("IOKitPersonalities"), plist.Dict({{driver, personality}})},
    });
    BuiltInfoPlist();  // a fresh scratch directory
    EXPECT_EQ(LoadInfoPlist(plist.Bytes(top)), kIOReturnSuccess);
    return DriverStarted();
  };
  EXPECT_TRUE(startsWithSecondClass([](BinaryPlist& p) { return p.String("ConformanceDriver"); }));
  EXPECT_FALSE(startsWithSecondClass([](BinaryPlist& p) { return p.Real(-2.5e87); }));
  EXPECT_FALSE(startsWithSecondClass([](BinaryPlist& p) { return p.Date(817'000'000.0); }));
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
