// What the library tells an app that macOS does not let open the dext: the FpgaDext bundle
// without its entitlements file (so without allow-any-userclient-access), opened by an app with
// no userclient-access entitlement, then by one entitled for it.
#include <fpgadext/emu/entitlements.h>
#include <fpgadext/emu/machine.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "fpgadext/fpgadext.hpp"
#include "models/xdma/xdma_model.h"

namespace fpgadext::integration {
namespace {

namespace fs = std::filesystem;

constexpr char kDextBundleID[] = "org.fpgadext.driver";

class UnentitledApp : public ::testing::Test {
 protected:
  void SetUp() override {
    // The product bundle, minus the entitlements its signature would carry: the Info.plist
    // copied, the executable linked (the process loads the same module).
    bundle_ = fs::temp_directory_path() / ("unentitled-" + std::to_string(getpid()) + ".dext");
    fs::remove_all(bundle_);
    fs::create_directories(bundle_);
    const fs::path built = FPGADEXT_DEXT_BUNDLE;
    fs::copy_file(built / "Info.plist", bundle_ / "Info.plist");
    fs::create_symlink(built / "FpgaDext", bundle_ / "FpgaDext");

    models::XdmaModel::Config config;
    config.cardMemorySize = 1 << 20;
    board_ = std::make_unique<models::XdmaModel>(config);
    machine_ = std::make_unique<emu::Machine>();
    ASSERT_EQ(machine_->AttachPciFunction(board_.get(), "fpga0"), kIOReturnSuccess);
    ASSERT_EQ(machine_->LoadDext(bundle_.string()), kIOReturnSuccess);
  }

  void TearDown() override {
    device_.Close();
    machine_.reset();
    board_.reset();
    fs::remove_all(bundle_);
  }

  emu::ScopedProcessEntitlements restore_{emu::Entitlements()};  // an unsigned app
  fs::path bundle_;
  std::unique_ptr<models::XdmaModel> board_;  // outlives the machine
  std::unique_ptr<emu::Machine> machine_;
  Device device_;
};

TEST_F(UnentitledApp, OpenNamesTheMissingEntitlementAndTheDextsBundleID) {
  Status s = Device::Open(0, &device_);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.code(), kIOReturnNotPermitted);
  const std::string m = s.message();
  EXPECT_NE(m.find("com.apple.developer.driverkit.userclient-access"), std::string::npos) << m;
  EXPECT_NE(m.find(std::string("\"") + kDextBundleID + "\""), std::string::npos) << m;
  EXPECT_NE(m.find("allow-any-userclient-access"), std::string::npos) << m;
  EXPECT_NE(m.find("kIOReturnNotPermitted"), std::string::npos) << m;
}

TEST_F(UnentitledApp, OpensOnceEntitledForTheDext) {
  ASSERT_FALSE(Device::Open(0, &device_));
  emu::GrantUserClientAccess(kDextBundleID);
  Status s = Device::Open(0, &device_);
  EXPECT_TRUE(s) << s.message();
}

}  // namespace
}  // namespace fpgadext::integration
