// The emulated machine for integration tests: an XDMA board model (or a BRAM board for the PIO
// engine) plugged in, the FpgaDext bundle loaded, and a fpgadext::Device open on it. One machine
// per test suite (SetUpTestSuite), so the suites stay fast; every test ends by checking that the
// IOMMU saw no violation and that what the test opened, mapped and allocated is gone again: IOMMU
// mappings, user clients, open devices and IOMalloc blocks back to what they were before it.
#pragma once

#include <IOKit/IOKitLib.h>
#include <fpgadext/emu/machine.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <fpgadext/fpgadext.hpp>

#include <sys/mman.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "models/bram/bram_model.h"
#include "models/xdma/xdma_model.h"

namespace fpgadext::integration {

// Replaces [address, address + length) with an inaccessible (PROT_NONE) reservation: app memory
// the dext refuses as it refuses a hole, without the risk of a hole being filled by another
// thread's allocation (sanitizer allocators map memory all the time) before the test uses it.
inline bool ReserveInaccessible(void* address, size_t length) {
  return mmap(address, length, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) ==
         address;
}

// Memory from mmap (page-aligned, lazily backed), so tests can also unmap or protect it.
class PageBuffer {
 public:
  explicit PageBuffer(size_t size);
  ~PageBuffer();
  PageBuffer(const PageBuffer&) = delete;
  PageBuffer& operator=(const PageBuffer&) = delete;
  std::byte* data() const { return data_; }
  size_t size() const { return size_; }
  std::span<std::byte> span(size_t offset, size_t length) const { return {data_ + offset, length}; }

 private:
  std::byte* data_;
  size_t size_;
};

// A pattern that differs for every byte position and seed (fast to make for 64 MiB).
void FillPattern(std::byte* bytes, size_t length, uint64_t seed);
// Index of the first byte that differs from the pattern, or `length`.
size_t CheckPattern(const std::byte* bytes, size_t length, uint64_t seed);

// A copy of the FpgaDext bundle in the temporary directory, named after `name` and this process,
// with its Info.plist changed by `edit` (the executable linked, the other files copied): how a
// test runs the product with another personality. `edit` returns false when the plist does not
// have what it changes; the copy is then not made and the result is empty.
std::string BundleCopy(const std::string& name, const std::function<bool(std::string&)>& edit);
// Adds the property `key` with `value` (a plist value element such as "<integer>100</integer>")
// to the dext's personality (the dictionary whose IOClass is IOUserService); false if not found.
bool AddPersonalityProperty(std::string& plist, const std::string& key, const std::string& value);

class BoardFixture : public ::testing::Test {
 public:
  // Card memory of the XDMA board: 8 GiB (sparse), so card addresses above 4 GiB are tested.
  static constexpr uint64_t kCardMemory = 8ull << 30;

 protected:
  // The board of the suite; override MakeBoard in a derived fixture for another one.
  // `bundle`: the dext to load (e.g. a copy of FpgaDext with a personality property changed).
  static void SetUpBoard(std::unique_ptr<emu::PciFunction> board,
                         const std::string& bundle = FPGADEXT_DEXT_BUNDLE,
                         const emu::Machine::Config& config = {});
  static void TearDownBoard();
  static void SetUpTestSuite();
  static void TearDownTestSuite() { TearDownBoard(); }

  ~BoardFixture() override;
  void SetUp() override;
  void TearDown() override;

  // For a test that leaves state behind on purpose: the end-of-test baseline check is skipped,
  // with `why` in the test's log. Keep it narrow (one test, one reason).
  void ExpectStateLeftBehind(const char* why);

  static emu::Machine& machine() { return *machine_; }
  static models::XdmaModel& xdma() { return *static_cast<models::XdmaModel*>(board_.get()); }
  static Device& device() { return *device_; }
  // Bytes the XDMA model moved per direction, all channels.
  static uint64_t H2cBytes();
  static uint64_t C2hBytes();
  // A raw connection for tests that bypass the library.
  static io_connect_t OpenRawConnection();
  // Whether `done` became true before `timeout` (polled every millisecond: no fixed sleep
  // before a check).
  static bool WaitFor(const std::function<bool()>& done,
                      std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // Writes `length` bytes of a fresh pattern at `card` through `d`, reads them back, checks
  // every byte.
  static ::testing::AssertionResult RoundTrip(Device& d, uint64_t card, size_t length,
                                              uint64_t seed);

  // What a test must give back (BoardFixture::TearDown).
  struct Baseline {
    size_t iommuMappings = 0;
    emu::Machine::OpenHandles handles;
    uint64_t iomallocBlocks = 0;
    bool operator==(const Baseline& other) const {
      return iommuMappings == other.iommuMappings &&
             handles.userClients == other.handles.userClients &&
             handles.openDevices == other.handles.openDevices &&
             iomallocBlocks == other.iomallocBlocks;
    }
  };
  static Baseline TakeBaseline();
  Baseline baseline_;
  bool baselineTaken_ = false;  // SetUp got that far (a test may skip before it)
  const char* stateLeftBehind_ = nullptr;

  static std::unique_ptr<emu::PciFunction> board_;
  static std::unique_ptr<emu::Machine> machine_;
  static std::unique_ptr<Device> device_;
};

// A machine of its own for every test, for tests that remove, reprogram or wedge the board.
class FreshBoardFixture : public BoardFixture {
 protected:
  static void SetUpTestSuite() {}
  static void TearDownTestSuite() {}
  // What each test starts with: by default an XDMA board with 64 MiB of card memory, the
  // product bundle, the profile's machine.
  virtual std::unique_ptr<emu::PciFunction> MakeBoard();
  virtual std::string Bundle() { return FPGADEXT_DEXT_BUNDLE; }
  virtual emu::Machine::Config MachineConfig() { return {}; }
  void SetUp() override;
  void TearDown() override;
};

}  // namespace fpgadext::integration
