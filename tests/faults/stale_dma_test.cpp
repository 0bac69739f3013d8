// Issue 12 item 2: after a hang, the late chunk of a timed-out transfer must never land in
// memory the IOMMU has since handed to someone else. A real IOMMU has a finite aperture and its
// allocator hands freed IOVAs out again (emu/hw/iommu.cpp); this machine's aperture is 64 MiB so
// the reuse comes at once.
#include <cstring>
#include <thread>
#include <vector>

#include "faults_fixture.h"

namespace fpgadext::faults {
namespace {

class StaleDma : public FaultFixture {
 protected:
  emu::Machine::Config MachineConfig() override {
    emu::Machine::Config config;
    config.iommu.apertureSize = 64ull << 20;
    return config;
  }
};

// PrepareForDMA in a full aperture fails with kIOReturnNoResources (IOPCIFamily AppleVTD.cpp
// iovmMapMemory; passed up by xnu's prepare and PrepareForDMA_Impl); the app sees it when it
// registers a buffer, and room comes back when a buffer goes.
TEST_F(StaleDma, RegisteringIntoAFullApertureIsNoResources) {
  constexpr size_t kBuffer = 4ull << 20;
  std::vector<std::unique_ptr<PageBuffer>> memories;
  std::vector<RegisteredBuffer> buffers;
  Status r;
  while (buffers.size() < 32) {
    memories.push_back(std::make_unique<PageBuffer>(kBuffer));
    RegisteredBuffer buffer;
    r = device().Register(memories.back()->span(0, kBuffer), BufferDirection::kBoth, &buffer);
    if (!r) break;
    buffers.push_back(std::move(buffer));
  }
  ASSERT_EQ(r.code(), kIOReturnNoResources) << r.message();
  EXPECT_GE(buffers.size(), 10u);  // 64 MiB: most of it is the app's to use
  ASSERT_TRUE(buffers.front().Release());
  RegisteredBuffer again;
  EXPECT_TRUE(device().Register(memories.back()->span(0, kBuffer), BufferDirection::kBoth, &again));
  // Transfers go on in what is mapped.
  FillPattern(memories[1]->data(), kBuffer, 31);
  ASSERT_TRUE(device().Write(0, buffers[1], 0, kBuffer));
  std::memset(memories[1]->data(), 0, kBuffer);
  ASSERT_TRUE(device().Read(0, buffers[1], 0, kBuffer));
  EXPECT_EQ(CheckPattern(memories[1]->data(), kBuffer, 31), kBuffer);
}

// A's read hangs and times out; B fills the aperture with registered buffers (so it holds every
// IOVA the IOMMU can give, A's old ones included if A's window was unmapped); the engine then
// resumes. B asked for no transfer, so its buffers must still hold what B put there.
TEST_F(StaleDma, LateChunkOfATimedOutReadNeverLandsInAnotherClientsBuffer) {
  constexpr size_t kRead = 8ull << 20;
  {
    PageBuffer cardData(kRead);
    FillPattern(cardData.data(), kRead, 0xA);
    ASSERT_TRUE(device().Write(0, cardData.span(0, kRead)));
  }
  Device b;
  ASSERT_TRUE(Device::Open(0, &b));

  const DeviceInfo& info = device().info();
  for (unsigned ch = 0; ch < info.c2hChannels; ++ch) xdma().InjectHang(xdma::Direction::kC2h, ch);
  PageBuffer aMemory(kRead);
  Status s = device().Read(0, aMemory.span(0, kRead));
  ASSERT_EQ(s.code(), kIOReturnTimeout) << s.message();

  // B takes what the aperture has left, 1 MiB at a time, each buffer zero-filled.
  constexpr size_t kBuffer = 1ull << 20;
  std::vector<std::unique_ptr<PageBuffer>> memories;
  std::vector<RegisteredBuffer> buffers;
  for (;;) {
    auto memory = std::make_unique<PageBuffer>(kBuffer);
    std::memset(memory->data(), 0, kBuffer);
    RegisteredBuffer buffer;
    const Status r = b.Register(memory->span(0, kBuffer), BufferDirection::kFromCard, &buffer);
    if (!r) {
      EXPECT_EQ(r.code(), kIOReturnNoResources) << r.message();
      break;
    }
    memories.push_back(std::move(memory));
    buffers.push_back(std::move(buffer));
    ASSERT_LT(buffers.size(), 64u) << "a 64 MiB aperture never filled";
  }
  ASSERT_FALSE(buffers.empty());

  // The engine comes back and finishes the chunk it was holding.
  const uint64_t before = C2hBytes();
  xdma().ClearFaults();
  WaitFor([&] { return C2hBytes() > before; }, std::chrono::seconds(2));
  for (size_t i = 0; i < memories.size(); ++i) {
    const std::byte* bytes = memories[i]->data();
    size_t dirty = 0;
    while (dirty < kBuffer && bytes[dirty] == std::byte{0}) ++dirty;
    EXPECT_EQ(dirty, kBuffer) << "B's buffer " << i << " was written at byte " << dirty
                              << " by a transfer B never asked for";
  }
  buffers.clear();
  b.Close();
  // The device still works for A.
  PageBuffer again(kRead);
  EXPECT_TRUE(WaitFor([&] { return static_cast<bool>(device().Read(0, again.span(0, kRead))); },
                      std::chrono::seconds(20)));
  EXPECT_EQ(CheckPattern(again.data(), kRead, 0xA), kRead);
}

}  // namespace
}  // namespace fpgadext::faults
