#include "board_fixture.h"

#include <fpgadext/emu/entitlements.h>
#include <fpgadext/emu/iolib_stats.h>
#include <fpgadext/protocol.h>
#include <sys/mman.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
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

void BoardFixture::SetUpBoard(std::unique_ptr<emu::PciFunction> board, const std::string& bundle) {
  board_ = std::move(board);
  emu::GrantUserClientAccess("org.fpgadext.driver");  // as a signed app would be (the dext's ID)
  machine_ = std::make_unique<emu::Machine>();
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

io_connect_t BoardFixture::OpenRawConnection() {
  io_service_t service =
      IOServiceGetMatchingService(kIOMainPortDefault, IOServiceNameMatching("FpgaDriver"));
  if (service == IO_OBJECT_NULL) return IO_OBJECT_NULL;
  io_connect_t connection = IO_OBJECT_NULL;
  IOServiceOpen(service, mach_task_self(), protocol::kProtocolVersion, &connection);
  IOObjectRelease(service);
  return connection;
}

}  // namespace fpgadext::integration
