// Issue 12 item 9: app memory under DMA is wired on a Mac (PrepareForDMA → xnu
// IOGeneralMemoryDescriptor::wireVirtual): the app may unmap or re-protect its range while the
// transfer runs and the device still reaches the pages; nothing in the app faults. The
// emulation reaches wired app pages as a debugger would (emu/hw/iommu.cpp); pages the app
// unmapped cannot be reached, so their bytes are skipped and counted (docs/emulation-memory-pci.md,
// "Wiring"). Each variant holds the engine before its first chunk (an injected hang), changes the
// app's mapping, then lets the engine go.
#include <sys/mman.h>
#include <unistd.h>

#include <thread>

#include "faults_fixture.h"

namespace fpgadext::faults {
namespace {

enum class Change { kUnmap, kProtectNone, kProtectRead };
enum class Transfer { kRead, kWrite };  // the app's call: Read = device writes app memory

struct Variant {
  Change change;
  Transfer transfer;
};

std::string Name(const ::testing::TestParamInfo<Variant>& info) {
  const char* change = info.param.change == Change::kUnmap         ? "Munmap"
                       : info.param.change == Change::kProtectNone ? "MprotectNone"
                                                                   : "MprotectRead";
  return std::string(change) +
         (info.param.transfer == Transfer::kRead ? "DuringRead" : "DuringWrite");
}

// One channel each way, so the whole transfer is one window, prepared (wired) before the engine
// picks it up.
class AppMemoryUnderDma : public FaultFixture, public ::testing::WithParamInterface<Variant> {
 protected:
  models::XdmaModel::Config BoardConfig() override {
    models::XdmaModel::Config board = FaultFixture::BoardConfig();
    board.h2cChannels = 1;
    board.c2hChannels = 1;
    return board;
  }
};

// Gives up the app's pages at [address, address + length) and keeps the addresses from being
// handed to anyone else while the test runs: an atomic replacement (MAP_FIXED) by a mapping of an
// empty file, which neither the CPU nor the device can reach (every access is past the file's
// end). A plain munmap would free the addresses: the next mapping any thread of the process
// makes (an allocator, a sanitizer's runtime) may land there, get the device's writes (the
// emulation reaches app pages by address; docs/emulation-memory-pci.md, "Wiring") and then be
// unmapped again by the buffer's destructor. Under ThreadSanitizer that is what happened: its
// runtime's memory took the freed range and the process faulted inside the runtime.
bool UnmapKeepingTheAddresses(std::byte* address, size_t length) {
  const int empty = memfd_create("fpgadext-unmapped", MFD_CLOEXEC);
  if (empty < 0) return false;
  void* p = mmap(address, length, PROT_NONE, MAP_SHARED | MAP_FIXED, empty, 0);
  close(empty);
  return p == address;
}

TEST_P(AppMemoryUnderDma, TransferGoesOnAsIntoWiredPages) {
  const Variant v = GetParam();
  constexpr size_t kSize = 8ull << 20;
  constexpr uint64_t kCardAt = 16ull << 20;
  const bool read = v.transfer == Transfer::kRead;
  const xdma::Direction dir = read ? xdma::Direction::kC2h : xdma::Direction::kH2c;
  {
    PageBuffer cardData(kSize);
    FillPattern(cardData.data(), kSize, read ? 21 : 22);
    ASSERT_TRUE(device().Write(kCardAt, cardData.span(0, kSize)));
  }
  PageBuffer app(kSize);
  FillPattern(app.data(), kSize, read ? 0 : 23);

  const DeviceInfo& info = device().info();
  const unsigned channels = read ? info.c2hChannels : info.h2cChannels;
  for (unsigned ch = 0; ch < channels; ++ch) xdma().InjectHang(dir, ch);

  Status result;
  std::thread transfer([&] {
    // Client memory: the path that wires the app's pages for the call (kAuto copies through
    // the bounce buffer).
    result = read ? device().Read(kCardAt, app.span(0, kSize), TransferPath::kClientMemory)
                  : device().Write(kCardAt, app.span(0, kSize), TransferPath::kClientMemory);
  });
  // The app memory is prepared for DMA (wired); the engine, once started, holds the job before
  // its first chunk.
  const bool held =
      WaitFor([&] { return machine().iommu().LiveAppMappings() > 0; }, std::chrono::seconds(10));
  // The second half of the range changes under the transfer.
  std::byte* half = app.data() + kSize / 2;
  switch (v.change) {
    case Change::kUnmap:
      ASSERT_TRUE(UnmapKeepingTheAddresses(half, kSize / 2));
      break;
    case Change::kProtectNone:
      ASSERT_EQ(mprotect(half, kSize / 2, PROT_NONE), 0);
      break;
    case Change::kProtectRead:
      ASSERT_EQ(mprotect(half, kSize / 2, PROT_READ), 0);
      break;
  }
  xdma().ClearFaults();
  transfer.join();
  ASSERT_TRUE(held) << "the app memory was never prepared for DMA";
  ASSERT_TRUE(result) << result.message();

  if (v.change == Change::kUnmap) {
    // Bytes for pages the app no longer has: a Mac moves them to or from the wired pages,
    // which the app cannot see; here they are skipped and counted.
    EXPECT_EQ(machine().iommu().BytesOfUnmappedAppPages(), kSize / 2);
    if (read) EXPECT_EQ(CheckPattern(app.data(), kSize / 2, 21), kSize / 2);
  } else if (read) {
    ASSERT_EQ(mprotect(half, kSize / 2, PROT_READ), 0);
    EXPECT_EQ(CheckPattern(app.data(), kSize, 21), kSize);  // every byte landed
    EXPECT_EQ(machine().iommu().BytesOfUnmappedAppPages(), 0u);
  } else {
    PageBuffer back(kSize);
    ASSERT_TRUE(device().Read(kCardAt, back.span(0, kSize)));
    EXPECT_EQ(CheckPattern(back.data(), kSize, 23), kSize);  // the card got every byte
    EXPECT_EQ(machine().iommu().BytesOfUnmappedAppPages(), 0u);
  }
  if (v.change != Change::kUnmap) ASSERT_EQ(mprotect(half, kSize / 2, PROT_READ | PROT_WRITE), 0);
  EXPECT_TRUE(RoundTrip64MiB(device(), 0, 24));
}

INSTANTIATE_TEST_SUITE_P(Wiring, AppMemoryUnderDma,
                         ::testing::Values(Variant{Change::kUnmap, Transfer::kRead},
                                           Variant{Change::kUnmap, Transfer::kWrite},
                                           Variant{Change::kProtectNone, Transfer::kRead},
                                           Variant{Change::kProtectNone, Transfer::kWrite},
                                           Variant{Change::kProtectRead, Transfer::kRead},
                                           Variant{Change::kProtectRead, Transfer::kWrite}),
                         Name);

}  // namespace
}  // namespace fpgadext::faults
