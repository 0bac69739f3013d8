#include "board_fixture.h"

#include <fpgadext/emu/entitlements.h>
#include <fpgadext/emu/iolib_stats.h>
#include <fpgadext/protocol.h>
#include <sys/mman.h>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace fpgadext::integration {

PageBuffer::PageBuffer(size_t size) : size_(size) {
  void* p = mmap(nullptr, size == 0 ? 1 : size, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) std::abort();
  data_ = static_cast<std::byte*>(p);
}

PageBuffer::~PageBuffer() {
  munmap(data_, size_ == 0 ? 1 : size_);
}

namespace {

inline uint64_t Word(uint64_t index, uint64_t seed) {
  uint64_t x = (index + 1) * 0x9E3779B97F4A7C15ull ^ (seed * 0xD1B54A32D192ED03ull);
  x ^= x >> 29;
  return x * 0xBF58476D1CE4E5B9ull;
}

}  // namespace

// Byte i of the pattern is byte (i % 8) of Word(i / 8): position-dependent, so a shifted or
// misplaced copy is caught.
void FillPattern(std::byte* bytes, size_t length, uint64_t seed) {
  size_t i = 0;
  for (; i + 8 <= length; i += 8) {
    const uint64_t w = Word(i / 8, seed);
    std::memcpy(bytes + i, &w, 8);
  }
  if (i < length) {
    const uint64_t w = Word(i / 8, seed);
    std::memcpy(bytes + i, &w, length - i);
  }
}

size_t CheckPattern(const std::byte* bytes, size_t length, uint64_t seed) {
  size_t i = 0;
  for (; i + 8 <= length; i += 8) {
    const uint64_t w = Word(i / 8, seed);
    if (std::memcmp(bytes + i, &w, 8) != 0) break;
  }
  for (; i < length; ++i) {
    const uint64_t w = Word(i / 8, seed);
    if (bytes[i] != static_cast<std::byte>(w >> (8 * (i % 8)))) return i;
  }
  return length;
}

std::unique_ptr<emu::PciFunction> BoardFixture::board_;
std::unique_ptr<emu::Machine> BoardFixture::machine_;
std::unique_ptr<Device> BoardFixture::device_;

void BoardFixture::SetUpBoard(std::unique_ptr<emu::PciFunction> board, const std::string& bundle,
                              const emu::Machine::Config& config) {
  board_ = std::move(board);
  emu::GrantUserClientAccess("org.fpgadext.driver");  // as a signed app would be (the dext's ID)
  machine_ = std::make_unique<emu::Machine>(config);
  ASSERT_EQ(machine_->AttachPciFunction(board_.get(), "fpga0"), kIOReturnSuccess);
  ASSERT_EQ(machine_->LoadDext(bundle), kIOReturnSuccess);
  device_ = std::make_unique<Device>();
  Status s = Device::Open(0, device_.get());
  ASSERT_TRUE(s) << s.message();
}

void BoardFixture::SetUpTestSuite() {
  models::XdmaModel::Config config;
  config.cardMemorySize = kCardMemory;
  SetUpBoard(std::make_unique<models::XdmaModel>(config));
}

void BoardFixture::TearDownBoard() {
  device_.reset();
  machine_.reset();  // before the board: the machine stops the driver that uses it
  board_.reset();
}

void BoardFixture::SetUp() {
  ASSERT_NE(device_, nullptr);
  ASSERT_TRUE(device_->isOpen()) << "the suite's board did not come up";
  baseline_ = TakeBaseline();
  baselineTaken_ = true;
}

BoardFixture::Baseline BoardFixture::TakeBaseline() {
  Baseline b;
  b.iommuMappings = machine_->iommu().LiveMappings();
  b.handles = machine_->CountOpenHandles();
  b.iomallocBlocks = emu::iolib::LiveAllocations().blocks;
  return b;
}

void BoardFixture::ExpectStateLeftBehind(const char* why) {
  stateLeftBehind_ = why;
}

void BoardFixture::TearDown() {
  if (machine_ == nullptr) return;
  EXPECT_EQ(machine_->iommu().ViolationCount(), 0u);
  for (const emu::IommuViolation& v : machine_->iommu().Violations()) {
    ADD_FAILURE() << "IOMMU violation: " << v.reason << " at bus address 0x" << std::hex
                  << v.busAddress << " length 0x" << v.length;
  }
  machine_->iommu().ClearViolations();
}

// In the destructor rather than TearDown: a derived fixture's own connections (members such as
// a second Device) are closed by then.
BoardFixture::~BoardFixture() {
  if (!baselineTaken_ || machine_ == nullptr || device_ == nullptr || !device_->isOpen()) return;
  if (stateLeftBehind_ != nullptr) {
    std::printf("[ baseline ] not checked: %s\n", stateLeftBehind_);
    return;
  }
  // Work a test ended (a closed connection, an aborted async call) is let go on the dext's
  // queues shortly after the call that ended it returns: wait for it, with a deadline.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  Baseline now = TakeBaseline();
  while (!(now == baseline_) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    now = TakeBaseline();
  }
  EXPECT_EQ(now.iommuMappings, baseline_.iommuMappings) << "IOMMU mappings left by the test";
  EXPECT_EQ(now.handles.userClients, baseline_.handles.userClients)
      << "user clients left open by the test";
  EXPECT_EQ(now.handles.openDevices, baseline_.handles.openDevices)
      << "PCI devices left open (or closed) by the test";
  EXPECT_EQ(now.iomallocBlocks, baseline_.iomallocBlocks) << "IOMalloc blocks left by the test";
}

uint64_t BoardFixture::H2cBytes() {
  const models::XdmaModel::Counters c = xdma().counters();
  uint64_t sum = 0;
  for (uint64_t b : c.h2cBytes) sum += b;
  return sum;
}

uint64_t BoardFixture::C2hBytes() {
  const models::XdmaModel::Counters c = xdma().counters();
  uint64_t sum = 0;
  for (uint64_t b : c.c2hBytes) sum += b;
  return sum;
}

bool BoardFixture::WaitFor(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return done();
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

::testing::AssertionResult BoardFixture::RoundTrip(Device& d, uint64_t card, size_t length,
                                                   uint64_t seed) {
  PageBuffer out(length), back(length);
  FillPattern(out.data(), length, seed);
  if (Status s = d.Write(card, out.span(0, length)); !s) {
    return ::testing::AssertionFailure() << "write of " << length << " bytes: " << s.message();
  }
  if (Status s = d.Read(card, back.span(0, length)); !s) {
    return ::testing::AssertionFailure() << "read of " << length << " bytes: " << s.message();
  }
  const size_t bad = CheckPattern(back.data(), length, seed);
  if (bad != length) return ::testing::AssertionFailure() << "byte " << bad << " differs";
  return ::testing::AssertionSuccess();
}

io_connect_t BoardFixture::OpenRawConnection() {
  io_service_t service =
      IOServiceGetMatchingService(kIOMainPortDefault, IOServiceNameMatching("FpgaDriver"));
  if (service == IO_OBJECT_NULL) return IO_OBJECT_NULL;
  io_connect_t connection = IO_OBJECT_NULL;
  IOServiceOpen(service, mach_task_self(), protocol::kProtocolVersion, &connection);
  IOObjectRelease(service);
  return connection;
}

std::string BundleCopy(const std::string& name, const std::function<bool(std::string&)>& edit) {
  namespace fs = std::filesystem;
  const fs::path built = FPGADEXT_DEXT_BUNDLE;
  std::ifstream in(built / "Info.plist");
  std::stringstream text;
  text << in.rdbuf();
  std::string plist = text.str();
  if (!edit(plist)) return {};
  const fs::path bundle =
      fs::temp_directory_path() / (name + "-" + std::to_string(getpid()) + ".dext");
  fs::remove_all(bundle);
  fs::create_directories(bundle);
  for (const auto& entry : fs::directory_iterator(built)) {
    if (entry.path().filename() == "Info.plist") continue;
    // The executable is linked: the process loads the module it was built with.
    if (entry.is_regular_file() &&
        (entry.status().permissions() & fs::perms::owner_exec) == fs::perms::none) {
      fs::copy_file(entry.path(), bundle / entry.path().filename());
    } else {
      fs::create_symlink(entry.path(), bundle / entry.path().filename());
    }
  }
  std::ofstream(bundle / "Info.plist") << plist;
  return bundle.string();
}

bool AddPersonalityProperty(std::string& plist, const std::string& key, const std::string& value) {
  const std::string anchor = "<string>IOUserService</string>";
  const size_t at = plist.find(anchor);
  if (at == std::string::npos) return false;
  plist.insert(at + anchor.size(), "\n<key>" + key + "</key>" + value);
  return true;
}

std::unique_ptr<emu::PciFunction> FreshBoardFixture::MakeBoard() {
  models::XdmaModel::Config config;
  config.cardMemorySize = 64ull << 20;
  return std::make_unique<models::XdmaModel>(config);
}

void FreshBoardFixture::SetUp() {
  SetUpBoard(MakeBoard(), Bundle(), MachineConfig());
  if (HasFatalFailure()) return;
  BoardFixture::SetUp();
}

void FreshBoardFixture::TearDown() {
  BoardFixture::TearDown();
  TearDownBoard();
}

}  // namespace fpgadext::integration
