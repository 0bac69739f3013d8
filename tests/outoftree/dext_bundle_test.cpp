// Machine::LoadDext loads a dext bundle whose Info.plist was written for Xcode (SampleDextInTree,
// built from tests/outoftree/project), and refuses a bundle with no driver to run: no
// CFBundleExecutable, an unsubstituted one, or one naming a file that is not there. A refused
// bundle's personalities match nothing.
#include <IOKit/IOKitLib.h>
#include <fpgadext/emu/machine.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "models/bram/bram_model.h"

namespace fs = std::filesystem;

namespace {

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

class DextBundle : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("dext_bundle_test." + std::to_string(::getpid()) + "." +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    ASSERT_EQ(machine_.AttachPciFunction(&board_, "board"), kIOReturnSuccess);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A copy of the sample bundle whose Info.plist has `from` replaced by `to`.
  fs::path BundleWith(const std::string& from, const std::string& to, bool withExecutable) {
    fs::path bundle = dir_ / "Sample.dext";
    fs::create_directories(bundle);
    std::string plist = ReadFile(fs::path(SAMPLE_DEXT_BUNDLE) / "Info.plist");
    size_t at = plist.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) plist.replace(at, from.size(), to);
    std::ofstream(bundle / "Info.plist") << plist;
    if (withExecutable) {
      fs::copy_file(fs::path(SAMPLE_DEXT_BUNDLE) / "SampleDextInTree", bundle / "SampleDextInTree");
    }
    return bundle;
  }

  bool DriverStarted() {
    io_service_t s =
        IOServiceGetMatchingService(kIOMainPortDefault, IOServiceNameMatching("SampleDriver"));
    if (s == IO_OBJECT_NULL) return false;
    IOObjectRelease(s);
    return true;
  }

  fs::path dir_;
  fpgadext::emu::Machine machine_;
  fpgadext::models::BramModel board_;
};

const std::string kExecutableKey = "<key>CFBundleExecutable</key>";
const std::string kExecutableEntry = kExecutableKey + "\n\t<string>SampleDextInTree</string>";

TEST_F(DextBundle, XcodeStylePlistGetsTheKeysXcodeFills) {
  std::string plist = ReadFile(fs::path(SAMPLE_DEXT_BUNDLE) / "Info.plist");
  EXPECT_NE(plist.find(kExecutableEntry), std::string::npos) << plist;
  EXPECT_NE(plist.find("<string>com.example.sampledriver</string>"), std::string::npos);
  EXPECT_NE(plist.find("<key>CFBundlePackageType</key>\n\t<string>DEXT</string>"),
            std::string::npos);
  EXPECT_EQ(plist.find("$("), std::string::npos) << "an Xcode setting left unsubstituted";
}

TEST_F(DextBundle, LoadDextLoadsTheBundleBuiltFromAnXcodeStylePlist) {
  ASSERT_EQ(machine_.LoadDext(BundleWith(kExecutableEntry, kExecutableEntry, true)),
            kIOReturnSuccess);
  EXPECT_TRUE(DriverStarted());
}

TEST_F(DextBundle, LoadDextRefusesABundleWhosePlistNamesNoExecutable) {
  fs::path bundle = BundleWith(kExecutableEntry, "", true);
  EXPECT_EQ(machine_.LoadDext(bundle), kIOReturnBadArgument);
  EXPECT_FALSE(DriverStarted());
}

TEST_F(DextBundle, LoadDextRefusesABundleWhoseExecutableIsMissing) {
  fs::path bundle = BundleWith(kExecutableEntry, kExecutableEntry, false);
  EXPECT_EQ(machine_.LoadDext(bundle), kIOReturnNotFound);
  EXPECT_FALSE(DriverStarted());
}

TEST_F(DextBundle, LoadDextRefusesAnExecutableNameWithAnUnsubstitutedXcodeSetting) {
  fs::path bundle = BundleWith(kExecutableEntry,
                               kExecutableKey + "\n\t<string>$(EXECUTABLE_NAME)</string>", true);
  EXPECT_EQ(machine_.LoadDext(bundle), kIOReturnBadArgument);
  EXPECT_FALSE(DriverStarted());
}

TEST_F(DextBundle, LoadDextFindsTheExecutableInContentsMacOS) {
  fs::path bundle = BundleWith(kExecutableEntry, kExecutableEntry, false);
  fs::create_directories(bundle / "Contents" / "MacOS");
  fs::copy_file(fs::path(SAMPLE_DEXT_BUNDLE) / "SampleDextInTree",
                bundle / "Contents" / "MacOS" / "SampleDextInTree");
  ASSERT_EQ(machine_.LoadDext(bundle), kIOReturnSuccess);
  EXPECT_TRUE(DriverStarted());
}

}  // namespace
