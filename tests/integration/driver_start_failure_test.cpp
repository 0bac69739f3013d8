// FpgaDriver's Start failing at each step leaves nothing behind. A Mac does not call Stop after a
// failed Start and keeps the service until the dext ends (xnu IOService::startCandidate,
// IOUserServer::serviceStarted; tests/conformance/failed_start_test.cpp), so whatever Start did
// before failing must be undone by Start itself: no IOMMU mapping (rings and writeback words
// prepared for DMA), no open device (Close clears Memory Space and Bus Lead, IOPCIFamily
// IOPCIDevice::handleClose), no IOMalloc block beyond the service's own. Then a good board
// attached later to the same machine works.
#include <IOKit/IOKitLib.h>
#include <fpgadext/emu/entitlements.h>
#include <fpgadext/emu/iolib_stats.h>
#include <fpgadext/emu/machine.h>
#include <gtest/gtest.h>
#include <fpgadext/fpgadext.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "board_fixture.h"
#include "models/xdma/xdma_model.h"

namespace fpgadext::integration {
namespace {

// A DMA BAR whose channel identifier registers read 0: the engine's probe finds no channel
// (XdmaEngine::Probe, kIOReturnNotFound) after the driver has prepared every ring.
class NoChannelsRegion : public emu::MmioRegion {
 public:
  explicit NoChannelsRegion(emu::MmioRegion* inner) : inner_(inner) {}
  uint64_t Size() const override { return inner_->Size(); }
  uint64_t Read(uint64_t offset, unsigned width) override {
    // H2C and C2H channel blocks: target in bits 12..15 (0 and 1), channel in bits 8..11, the
    // identifier at +0.
    if (offset < 0x2000 && (offset & 0xff) == 0) return 0;
    return inner_->Read(offset, width);
  }
  void Write(uint64_t offset, unsigned width, uint64_t value) override {
    inner_->Write(offset, width, value);
  }

 private:
  emu::MmioRegion* inner_;
};

// An XDMA board with one fault the driver meets during Start.
class FaultyBoard : public emu::PciFunction {
 public:
  enum class Fault { kNoBars, kProbeFails, kNone };
  explicit FaultyBoard(Fault fault) : fault_(fault) {}

  uint32_t ConfigRead(uint32_t offset, unsigned width) override {
    // No BAR register answers: firmware sizes every BAR as absent.
    if (fault_ == Fault::kNoBars && offset >= 0x10 && offset < 0x28) return 0;
    return model_.ConfigRead(offset, width);
  }
  void ConfigWrite(uint32_t offset, unsigned width, uint32_t value) override {
    if (fault_ == Fault::kNoBars && offset >= 0x10 && offset < 0x28) return;
    model_.ConfigWrite(offset, width, value);
  }
  emu::MmioRegion* Bar(unsigned index) override {
    if (fault_ == Fault::kNoBars) return nullptr;
    emu::MmioRegion* region = model_.Bar(index);
    if (fault_ == Fault::kProbeFails && static_cast<int>(index) == model_.dmaBarIndex()) {
      if (noChannels_ == nullptr) noChannels_ = std::make_unique<NoChannelsRegion>(region);
      return noChannels_.get();
    }
    return region;
  }
  void Connect(emu::DmaPort* port) override { model_.Connect(port); }

  // Memory Space or Bus Lead still on: the device was opened and not closed.
  bool LeftOpen() {
    return model_.configSpace().MemorySpaceEnabled() || model_.configSpace().BusMasterEnabled();
  }

 private:
  Fault fault_;
  models::XdmaModel model_;
  std::unique_ptr<NoChannelsRegion> noChannels_;
};

class DriverStartFailure : public ::testing::Test {
 protected:
  void SetUp() override { emu::GrantUserClientAccess("org.fpgadext.driver"); }

  // Makes a machine, plugs `board` in, then loads the dext, whose driver matches the board and
  // fails its Start. Returns the IOMalloc blocks and bytes the load and the failed Start left.
  // The machine stays (machine_) for more checks.
  emu::iolib::Allocations LoadAndFail(emu::PciFunction* board,
                                      const emu::Machine::Config& config = {}) {
    machine_.reset();
    machine_ = std::make_unique<emu::Machine>(config);
    EXPECT_EQ(machine_->AttachPciFunction(board, "fpga0"), kIOReturnSuccess);
    const emu::iolib::Allocations before = emu::iolib::LiveAllocations();
    EXPECT_EQ(machine_->LoadDext(FPGADEXT_DEXT_BUNDLE), kIOReturnSuccess);
    const emu::iolib::Allocations after = emu::iolib::LiveAllocations();
    io_service_t service =
        IOServiceGetMatchingService(kIOMainPortDefault, IOServiceNameMatching("FpgaDriver"));
    EXPECT_EQ(service, IO_OBJECT_NULL) << "the driver's Start did not fail";
    if (service != IO_OBJECT_NULL) IOObjectRelease(service);
    return {after.blocks - before.blocks, after.bytes - before.bytes};
  }

  // What the same load leaves when Start fails before the data mover is built (no BAR): the
  // dext's own objects and the failed service with its ivars, nothing of the board's resources.
  // Measured on a second machine, after a first one took the process's one-time costs.
  emu::iolib::Allocations Reference() {
    LoadAndFail(NewBoard(FaultyBoard::Fault::kNoBars));
    machine_.reset();
    const emu::iolib::Allocations reference = LoadAndFail(NewBoard(FaultyBoard::Fault::kNoBars));
    machine_.reset();
    return reference;
  }

  // A good board plugged in after the failure comes up and moves data.
  void ExpectAGoodBoardWorks() {
    models::XdmaModel good;
    ASSERT_EQ(machine_->AttachPciFunction(&good, "good"), kIOReturnSuccess);
    {
      Device device;
      Status s = Device::Open(0, &device);
      ASSERT_TRUE(s) << s.message();
      std::vector<std::byte> out(64 * 1024, std::byte{0x5a}), in(out.size());
      ASSERT_TRUE(device.Write(0x1000, out));
      ASSERT_TRUE(device.Read(0x1000, in));
      EXPECT_EQ(in, out);
    }
    machine_->DetachPciFunction(&good);
  }

  // Boards outlive the machines they are plugged into (emu::Machine::AttachPciFunction).
  FaultyBoard* NewBoard(FaultyBoard::Fault fault) {
    boards_.push_back(std::make_unique<FaultyBoard>(fault));
    return boards_.back().get();
  }

  void TearDown() override { machine_.reset(); }

  std::vector<std::unique_ptr<FaultyBoard>> boards_;
  std::unique_ptr<emu::Machine> machine_;  // declared last: goes first
};

TEST_F(DriverStartFailure, NoBarLeavesTheDeviceClosed) {
  FaultyBoard& board = *NewBoard(FaultyBoard::Fault::kNoBars);
  LoadAndFail(&board);
  EXPECT_EQ(machine_->iommu().LiveMappings(), 0u);
  EXPECT_FALSE(board.LeftOpen()) << "the driver left the device open (Memory Space/Bus Lead on)";
  ExpectAGoodBoardWorks();
}

TEST_F(DriverStartFailure, ProbeFailureUnmapsEveryRingAndClosesTheDevice) {
  const emu::iolib::Allocations reference = Reference();
  FaultyBoard& board = *NewBoard(FaultyBoard::Fault::kProbeFails);
  const emu::iolib::Allocations left = LoadAndFail(&board);
  EXPECT_EQ(machine_->iommu().LiveMappings(), 0u) << "rings or writeback still prepared";
  EXPECT_FALSE(board.LeftOpen()) << "the driver left the device open (Memory Space/Bus Lead on)";
  EXPECT_EQ(left.blocks, reference.blocks) << "IOMalloc blocks left by the failed Start";
  EXPECT_EQ(left.bytes, reference.bytes) << "IOMalloc bytes left by the failed Start";
  ExpectAGoodBoardWorks();
}

TEST_F(DriverStartFailure, IovaExhaustionMidwayUnmapsWhatWasPrepared) {
  const emu::iolib::Allocations reference = Reference();
  // Room for the writeback page and a few rings, not for all eight: preparing fails midway.
  emu::Machine::Config config;
  config.iommu.iovaBase = 0ull - 0x40000;  // the top 256 KiB of the IOVA space
  FaultyBoard& board = *NewBoard(FaultyBoard::Fault::kNone);
  const emu::iolib::Allocations left = LoadAndFail(&board, config);
  EXPECT_EQ(machine_->iommu().LiveMappings(), 0u) << "rings or writeback still prepared";
  EXPECT_FALSE(board.LeftOpen()) << "the driver left the device open (Memory Space/Bus Lead on)";
  EXPECT_EQ(left.blocks, reference.blocks) << "IOMalloc blocks left by the failed Start";
  EXPECT_EQ(left.bytes, reference.bytes) << "IOMalloc bytes left by the failed Start";
}

}  // namespace
}  // namespace fpgadext::integration
