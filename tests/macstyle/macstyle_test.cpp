// Runs the MacStyle test dext — written only from Apple's DriverKit/PCIDriverKit headers and the
// idioms of Apple's PEX8733 sample, with an Info.plist as Xcode has it — unchanged on the
// emulated machine with the XDMA board model, and checks from the app side (IOKitLib only) that
// it really ran: values it read from the board, writes the board saw, its timer and interrupt
// handlers, DMA in both directions.
#include <CoreFoundation/CoreFoundation.h>
#include <IOKit/IOKitLib.h>
#include <fpgadext/emu/entitlements.h>
#include <fpgadext/emu/machine.h>
#include <gtest/gtest.h>
#include <reference_design/user_block_registers.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "MacStyleDext/MacStyleProtocol.h"
#include "MacStyleDext/XdmaBoardRegisters.h"
#include "models/xdma/xdma_model.h"

namespace {

using fpgadext::models::XdmaModel;
namespace reference = fpgadext::reference_design;

// The dext keeps its own copy of the board's registers, written from the documentation as a
// third party would; it must agree with the reference design's map.
static_assert(kUserBlockIdValue == reference::kUserBlockId);
static_assert(kUserRegId == reference::user_reg::kId);
static_assert(kUserRegScratch0 == reference::user_reg::Scratch(0));
static_assert(kUserRegScratch1 == reference::user_reg::Scratch(1));
static_assert(kUserRegScratch3 == reference::user_reg::Scratch(3));
static_assert(kUserRegIrqRaise == reference::user_reg::kIrqRaise);
static_assert(kUserRegIrqClear == reference::user_reg::kIrqClear);
static_assert(kUserRegIrqLines == reference::user_reg::kIrqStatus);

constexpr uint32_t kPciCapabilitiesPointer = 0x34;
constexpr uint8_t kCapabilityMsi = 0x05;
constexpr uint8_t kCapabilityExpress = 0x10;
constexpr uint16_t kCommandMemorySpace = 0x0002;
constexpr uint16_t kCommandBusLead = 0x0004;

// Polls `done` until it holds or `timeout` passes.
bool WaitFor(const std::function<bool()>& done,
             std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

class MacStyleDextTest : public ::testing::Test {
 protected:
  void SetUp() override {
    XdmaModel::Config config;
    config.cardMemorySize = 16ull << 20;
    config.bypassBar = true;  // BAR2: a window on card memory from AXI address 0
    config.bypassBarSize = 64 * 1024;
    board_ = std::make_unique<XdmaModel>(config);
    // The test app is entitled to open the dext, which allows no unentitled client.
    fpgadext::emu::GrantUserClientAccess("org.fpgadext.macstyle");
    machine_ = std::make_unique<fpgadext::emu::Machine>();
    ASSERT_EQ(machine_->AttachPciFunction(board_.get(), "fpga0"), kIOReturnSuccess);
    ASSERT_EQ(machine_->LoadDext(MACSTYLE_DEXT_BUNDLE), kIOReturnSuccess);

    io_iterator_t iterator = IO_OBJECT_NULL;
    ASSERT_EQ(IOServiceGetMatchingServices(kIOMainPortDefault,
                                           IOServiceNameMatching("MacStyleDriver"), &iterator),
              kIOReturnSuccess);
    service_ = IOIteratorNext(iterator);
    IOObjectRelease(iterator);
    ASSERT_NE(service_, IO_OBJECT_NULL) << "the dext did not match the XDMA board";
    ASSERT_EQ(IOServiceOpen(service_, mach_task_self(), 0, &connection_), kIOReturnSuccess);
  }

  void TearDown() override {
    // The board reached host memory only where the dext had prepared it for DMA.
    if (machine_ != nullptr) {
      for (const fpgadext::emu::IommuViolation& v : machine_->iommu().Violations()) {
        ADD_FAILURE() << "IOMMU violation: " << v.reason << " at bus address 0x" << std::hex
                      << v.busAddress << " length 0x" << v.length;
      }
    }
    if (connection_ != IO_OBJECT_NULL) IOServiceClose(connection_);
    if (service_ != IO_OBJECT_NULL) IOObjectRelease(service_);
    machine_.reset();
    board_.reset();
  }

  std::vector<uint64_t> Info() {
    std::vector<uint64_t> info(kMacStyleInfoCount);
    uint32_t count = kMacStyleInfoCount;
    EXPECT_EQ(IOConnectCallScalarMethod(connection_, kMacStyleMethodGetInfo, nullptr, 0,
                                        info.data(), &count),
              kIOReturnSuccess);
    EXPECT_EQ(count, kMacStyleInfoCount);
    return info;
  }

  // A user BAR register as the board sees it (not through the dext).
  uint32_t BoardUserRegister(uint32_t offset) {
    return static_cast<uint32_t>(board_->Bar(board_->userBarIndex())->Read(offset, 4));
  }

  // The configuration-space offset of capability `id`, walking the board's list.
  uint32_t BoardCapability(uint8_t id) {
    uint32_t offset = board_->ConfigRead(kPciCapabilitiesPointer, 1) & 0xFC;
    for (int guard = 0; offset != 0 && guard < 48; ++guard) {
      if ((board_->ConfigRead(offset, 1) & 0xFF) == id) return offset;
      offset = board_->ConfigRead(offset + 1, 1) & 0xFC;
    }
    return 0;
  }

  std::unique_ptr<XdmaModel> board_;
  std::unique_ptr<fpgadext::emu::Machine> machine_;
  io_service_t service_ = IO_OBJECT_NULL;
  io_connect_t connection_ = IO_OBJECT_NULL;
};

// The bundle's Info.plist was written for Xcode; the build filled every $(SETTING) it uses.
TEST(MacStyleBundle, InfoPlistHasXcodeSettingsFilledIn) {
  std::ifstream file(std::string(MACSTYLE_DEXT_BUNDLE) + "/Info.plist");
  ASSERT_TRUE(file.good());
  std::stringstream text;
  text << file.rdbuf();
  const std::string plist = text.str();
  EXPECT_EQ(plist.find("$("), std::string::npos) << plist;
  EXPECT_NE(plist.find("<string>DEXT</string>"), std::string::npos);
  EXPECT_NE(plist.find("<string>MacStyleDext</string>"), std::string::npos);
  EXPECT_NE(plist.find("<string>org.fpgadext.macstyle</string>"), std::string::npos);
}

TEST_F(MacStyleDextTest, ReadsTheBoardThroughConfigurationAndMemoryReads) {
  const std::vector<uint64_t> info = Info();
  EXPECT_EQ(info[kMacStyleInfoUserId], reference::kUserBlockId);
  EXPECT_EQ(info[kMacStyleInfoVendorDevice], 0x903410EEu);
  EXPECT_EQ(info[kMacStyleInfoIdLow16], reference::kUserBlockId & 0xFFFF);
  EXPECT_EQ(info[kMacStyleInfoIdTopByte], reference::kUserBlockId >> 24);
  EXPECT_EQ(info[kMacStyleInfoFunction], 0u);
}

// The way an app that does not know the service's name finds it: class matching, then the
// registry properties the kernel gives a dext's service (its IOUserClass, its name).
TEST_F(MacStyleDextTest, FoundByClassMatchingAndRegistryProperties) {
  io_iterator_t iterator = IO_OBJECT_NULL;
  ASSERT_EQ(IOServiceGetMatchingServices(kIOMainPortDefault, IOServiceMatching("IOUserService"),
                                         &iterator),
            kIOReturnSuccess);
  int found = 0;
  while (io_service_t service = IOIteratorNext(iterator)) {
    CFTypeRef userClass =
        IORegistryEntryCreateCFProperty(service, CFSTR("IOUserClass"), kCFAllocatorDefault, 0);
    char text[128] = {};
    if (userClass != nullptr && CFGetTypeID(userClass) == CFStringGetTypeID() &&
        CFStringGetCString(static_cast<CFStringRef>(userClass), text, sizeof(text),
                           kCFStringEncodingUTF8) &&
        std::strcmp(text, "MacStyleDriver") == 0) {
      ++found;
      io_name_t name = {};
      io_name_t className = {};
      EXPECT_EQ(IORegistryEntryGetName(service, name), kIOReturnSuccess);
      EXPECT_STREQ(name, "MacStyleDriver");
      EXPECT_EQ(IOObjectGetClass(service, className), kIOReturnSuccess);
      EXPECT_STREQ(className, "IOUserService");
    }
    if (userClass != nullptr) CFRelease(userClass);
    IOObjectRelease(service);
  }
  IOObjectRelease(iterator);
  EXPECT_EQ(found, 1);
}

TEST_F(MacStyleDextTest, StartEnablesBusLeadAndMemorySpace) {
  const std::vector<uint64_t> info = Info();
  const uint16_t expected = kCommandBusLead | kCommandMemorySpace;
  EXPECT_EQ(info[kMacStyleInfoCommand] & expected, expected);
  EXPECT_EQ(board_->ConfigRead(0x04, 2) & expected, expected);
}

TEST_F(MacStyleDextTest, FindsCapabilitiesAndBars) {
  const std::vector<uint64_t> info = Info();
  EXPECT_NE(info[kMacStyleInfoMsiOffset], 0u);
  EXPECT_EQ(info[kMacStyleInfoMsiOffset], BoardCapability(kCapabilityMsi));
  EXPECT_NE(info[kMacStyleInfoExpressOffset], 0u);
  EXPECT_EQ(info[kMacStyleInfoExpressOffset], BoardCapability(kCapabilityExpress));
  EXPECT_EQ(info[kMacStyleInfoUserBarSize], board_->config().userBarSize);
  EXPECT_EQ(info[kMacStyleInfoUserBarType], 0u);  // kPCIBARTypeM32
  EXPECT_EQ(info[kMacStyleInfoDmaBarSize], 64u * 1024);
}

// Apple's generated wrappers store an out parameter only when its pointer is not NULL, and the
// PEX8733 sample calls GetBusDeviceFunction(NULL, NULL, &function).
TEST_F(MacStyleDextTest, GetBusDeviceFunctionTakesNullOutputs) {
  EXPECT_EQ(static_cast<kern_return_t>(Info()[kMacStyleInfoFunctionOnlyStatus]), kIOReturnSuccess);
}

TEST_F(MacStyleDextTest, RegisterWriteReachesTheBoard) {
  const uint64_t in[2] = {kUserRegScratch0 + 8, 0xA5C3'5A3Cu};
  uint64_t out[1] = {};
  uint32_t outCount = 1;
  ASSERT_EQ(
      IOConnectCallScalarMethod(connection_, kMacStyleMethodWriteRead32, in, 2, out, &outCount),
      kIOReturnSuccess);
  EXPECT_EQ(out[0], 0xA5C3'5A3Cu);
  EXPECT_EQ(BoardUserRegister(kUserRegScratch0 + 8), 0xA5C3'5A3Cu);
}

TEST_F(MacStyleDextTest, SixtyFourBitAccessesWithOptions) {
  const uint64_t in[1] = {0x1122'3344'5566'7788ull};
  uint64_t out[2] = {};
  uint32_t outCount = 2;
  ASSERT_EQ(IOConnectCallScalarMethod(connection_, kMacStyleMethodAccess64, in, 1, out, &outCount),
            kIOReturnSuccess);
  EXPECT_EQ(out[0], 0x1122'3344'5566'7788ull);
  EXPECT_EQ(out[1], 0x1122'3344u);
  EXPECT_EQ(BoardUserRegister(kUserRegScratch0), 0x5566'7788u);
  EXPECT_EQ(BoardUserRegister(kUserRegScratch1), 0x1122'3344u);
}

TEST_F(MacStyleDextTest, EightAndSixteenBitAccessesThroughTheBypassBar) {
  constexpr uint64_t kOffset = 0x2468;
  const uint64_t in[2] = {kOffset, 0x0123'4567'89AB'CDEFull};
  uint64_t out[3] = {};
  uint32_t outCount = 3;
  ASSERT_EQ(
      IOConnectCallScalarMethod(connection_, kMacStyleMethodNarrowWrites, in, 2, out, &outCount),
      kIOReturnSuccess);
  EXPECT_EQ(out[0], 0x0123'4567'89AB'CDEFull);
  EXPECT_EQ(out[1], 0xCDu);
  EXPECT_EQ(out[2], 0x0123u);
  uint64_t card = 0;
  std::memcpy(&card, board_->cardMemory().data() + kOffset, sizeof(card));
  EXPECT_EQ(card, 0x0123'4567'89AB'CDEFull);  // little-endian, as the pieces were written
}

TEST_F(MacStyleDextTest, DispatchTableRejectsWrongArgumentCounts) {
  const uint64_t in[1] = {kUserRegScratch0};
  uint64_t out[1] = {};
  uint32_t outCount = 1;
  EXPECT_NE(
      IOConnectCallScalarMethod(connection_, kMacStyleMethodWriteRead32, in, 1, out, &outCount),
      kIOReturnSuccess);
  EXPECT_NE(
      IOConnectCallScalarMethod(connection_, kMacStyleMethodCount, nullptr, 0, nullptr, nullptr),
      kIOReturnSuccess);
}

TEST_F(MacStyleDextTest, TimerFiresTheRequestedNumberOfTimes) {
  const uint64_t in[2] = {3, 2000};  // three firings, 2 ms apart
  ASSERT_EQ(
      IOConnectCallScalarMethod(connection_, kMacStyleMethodStartTimer, in, 2, nullptr, nullptr),
      kIOReturnSuccess);
  ASSERT_TRUE(WaitFor([&] { return Info()[kMacStyleInfoTimerFirings] >= 3; }))
      << "timer firings: " << Info()[kMacStyleInfoTimerFirings];
  // Each firing wrote its count to scratch 3 from the handler.
  EXPECT_EQ(BoardUserRegister(kUserRegScratch3), 3u);
  EXPECT_EQ(Info()[kMacStyleInfoTimerFirings], 3u);
}

TEST_F(MacStyleDextTest, InterruptReachesTheHandler) {
  const uint64_t before = board_->counters().interruptsRaised;
  for (uint64_t n = 1; n <= 2; ++n) {
    ASSERT_EQ(IOConnectCallScalarMethod(connection_, kMacStyleMethodRaiseInterrupt, nullptr, 0,
                                        nullptr, nullptr),
              kIOReturnSuccess);
    ASSERT_TRUE(WaitFor([&] { return Info()[kMacStyleInfoInterrupts] >= n; }))
        << "interrupt " << n << " not delivered";
    // The handler acknowledged the line, so the next raise is a new edge.
    ASSERT_TRUE(WaitFor([&] { return BoardUserRegister(kUserRegIrqLines) == 0; }));
  }
  EXPECT_EQ(Info()[kMacStyleInfoInterrupts], 2u);
  EXPECT_EQ(board_->counters().interruptsRaised - before, 2u);
}

TEST_F(MacStyleDextTest, DmaCardToHostIntoABufferMemoryDescriptor) {
  constexpr uint64_t kCardAddress = 0x12'3400;
  constexpr uint32_t kLength = 3000;
  uint8_t* card = board_->cardMemory().data() + kCardAddress;
  for (uint32_t i = 0; i < kLength; ++i) card[i] = static_cast<uint8_t>(i * 7 + 1);

  const MacStyleCardRange range = {kCardAddress, kLength, 0};
  std::vector<uint8_t> bytes(kMacStyleMaxTransfer);
  size_t size = bytes.size();
  ASSERT_EQ(IOConnectCallStructMethod(connection_, kMacStyleMethodCardToHost, &range, sizeof(range),
                                      bytes.data(), &size),
            kIOReturnSuccess);
  ASSERT_EQ(size, kLength);
  EXPECT_EQ(std::memcmp(bytes.data(), card, kLength), 0);
  EXPECT_EQ(board_->counters().c2hBytes[0], kLength);
  EXPECT_EQ(board_->counters().c2hDescriptors[0], 1u);
}

TEST_F(MacStyleDextTest, DmaHostToCardFromABufferMemoryDescriptor) {
  constexpr uint64_t kCardAddress = 0x4'0010;
  constexpr uint64_t kLength = 4096;
  constexpr uint64_t kSeed = 41;
  const uint64_t in[3] = {kCardAddress, kLength, kSeed};
  ASSERT_EQ(
      IOConnectCallScalarMethod(connection_, kMacStyleMethodHostToCard, in, 3, nullptr, nullptr),
      kIOReturnSuccess);
  const uint8_t* card = board_->cardMemory().data() + kCardAddress;
  for (uint64_t i = 0; i < kLength; ++i) {
    ASSERT_EQ(card[i], MacStylePattern(kSeed, i)) << "byte " << i;
  }
  EXPECT_EQ(board_->counters().h2cBytes[0], kLength);
}

}  // namespace
