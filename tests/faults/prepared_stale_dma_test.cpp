// Issue 12 item 2, for memory the dext prepares once (PreparedHostMemory: the in-band staging
// buffer, registered buffers and the ring's entries, which use registered buffers). A transfer
// into it hangs and times out; its owner then drops it (the app unregisters the buffer, destroys
// the ring, or closes the connection) while the channel that was writing it is set aside. The
// preparation must stay mapped until that channel is seen idle (dext/prepared_buffer.h,
// PreparationHold): otherwise the IOMMU hands its IOVAs to the next client, and the engine's
// late chunk lands there. The aperture is 64 MiB, so B, filling it, gets every free IOVA.
#include <cstring>
#include <memory>
#include <vector>

#include "faults_fixture.h"

namespace fpgadext::faults {
namespace {

constexpr uint64_t kCardData = 0;
constexpr size_t kChunk = 1ull << 20;

class PreparedStaleDma : public FaultFixture {
 protected:
  emu::Machine::Config MachineConfig() override {
    emu::Machine::Config config;
    config.iommu.apertureSize = 64ull << 20;
    return config;
  }

  void SetUp() override {
    FaultFixture::SetUp();
    if (HasFatalFailure()) return;
    PageBuffer cardData(8 * kChunk);
    FillPattern(cardData.data(), cardData.size(), 0xA);
    ASSERT_TRUE(device().Write(kCardData, cardData.span(0, cardData.size())));
    mappings_ = machine().iommu().LiveMappings();  // what is left once B has closed
    ASSERT_TRUE(Device::Open(0, &b_));
  }

  void HangEveryReadChannel() {
    for (unsigned ch = 0; ch < device().info().c2hChannels; ++ch) {
      xdma().InjectHang(xdma::Direction::kC2h, ch);
    }
  }

  // B takes every IOVA the aperture has left: zeroed buffers of 1 MiB, then of one page (the
  // holes a small preparation leaves).
  void FillApertureAsB() {
    for (size_t size : {kChunk, size_t{16384}}) {
      for (;;) {
        auto memory = std::make_unique<PageBuffer>(size);
        std::memset(memory->data(), 0, size);
        RegisteredBuffer buffer;
        const Status r = b_.Register(memory->span(0, size), BufferDirection::kFromCard, &buffer);
        if (!r) {
          ASSERT_EQ(r.code(), kIOReturnNoResources) << r.message();
          break;
        }
        bMemories_.push_back(std::move(memory));
        bBuffers_.push_back(std::move(buffer));
        ASSERT_LT(bBuffers_.size(), 8192u) << "a 64 MiB aperture never filled";
      }
    }
  }

  // The engine comes back and finishes the chunks it was holding: none may land in B's buffers.
  // Then the device works again and every mapping of the test is gone.
  void ResumeAndCheckB() {
    const size_t mappings = mappings_;
    const uint64_t before = C2hBytes();
    xdma().ClearFaults();
    ASSERT_TRUE(WaitFor([&] { return C2hBytes() > before; }, std::chrono::seconds(30)))
        << "the stuck chunks never landed";
    for (size_t i = 0; i < bMemories_.size(); ++i) {
      const std::byte* bytes = bMemories_[i]->data();
      const size_t size = bMemories_[i]->size();
      size_t clean = 0;
      while (clean < size && bytes[clean] == std::byte{0}) ++clean;
      EXPECT_EQ(clean, size) << "B's buffer " << i << " was written at byte " << clean
                             << " by a transfer B never asked for";
    }
    EXPECT_EQ(machine().iommu().ViolationCount(), 0u);
    bBuffers_.clear();
    b_.Close();
    // A read that wants every channel reaps the ones set aside once they are idle.
    PageBuffer again(8 * kChunk);
    EXPECT_TRUE(WaitFor(
        [&] {
          return device().Read(kCardData, again.span(0, again.size())) &&
                 machine().iommu().LiveMappings() == mappings;
        },
        std::chrono::seconds(30)))
        << machine().iommu().LiveMappings() << " IOMMU mappings, " << mappings << " before";
    EXPECT_EQ(CheckPattern(again.data(), again.size(), 0xA), again.size());
  }

  size_t mappings_ = 0;
  Device b_;
  std::vector<std::unique_ptr<PageBuffer>> bMemories_;
  std::vector<RegisteredBuffer> bBuffers_;
};

// A's read into its registered buffer times out; A unregisters the buffer at once.
TEST_F(PreparedStaleDma, AnUnregisteredBufferStaysMappedWhileItsStuckChannelMayWriteIt) {
  PageBuffer memory(8 * kChunk);
  RegisteredBuffer buffer;
  ASSERT_TRUE(
      device().Register(memory.span(0, memory.size()), BufferDirection::kFromCard, &buffer));
  HangEveryReadChannel();
  const Status s = device().Read(kCardData, buffer, 0, memory.size());
  ASSERT_EQ(s.code(), kIOReturnTimeout) << s.message();
  ASSERT_TRUE(buffer.Release());
  FillApertureAsB();
  ResumeAndCheckB();
}

// A's in-band read (the client's staging buffer) times out; A closes its connection.
TEST_F(PreparedStaleDma, AClosedClientsStagingBufferStaysMappedWhileItsStuckChannelMayWriteIt) {
  {
    Device a;
    ASSERT_TRUE(Device::Open(0, &a));
    HangEveryReadChannel();
    std::byte bytes[4096];
    const Status s = a.Read(kCardData, std::span(bytes));
    ASSERT_EQ(s.code(), kIOReturnTimeout) << s.message();
    // The same client's next in-band transfer gets a new staging buffer (the stuck channel keeps
    // the old one); it fails too, on the other hung channel or at once with all set aside.
    EXPECT_FALSE(a.Read(kCardData, std::span(bytes)));
    a.Close();
  }
  FillApertureAsB();
  ResumeAndCheckB();
}

// A's ring entry times out on the ring's own channel; A destroys the ring, unregisters the
// buffer and closes.
TEST_F(PreparedStaleDma, ARingEntrysBufferStaysMappedWhileItsStuckChannelMayWriteIt) {
  if (device().info().c2hChannels < 2) GTEST_SKIP() << "a ring needs two C2H channels";
  PageBuffer memory(8 * kChunk);
  {
    Device a;
    ASSERT_TRUE(Device::Open(0, &a));
    RegisteredBuffer buffer;
    ASSERT_TRUE(a.Register(memory.span(0, memory.size()), BufferDirection::kFromCard, &buffer));
    Ring ring;
    ASSERT_TRUE(a.CreateRing(4, RingDirections::kFromCard, &ring));
    HangEveryReadChannel();
    ASSERT_TRUE(ring.SubmitRead(kCardData, buffer, 0, memory.size(), 1));
    fpgadext::RingCompletion c{};
    ASSERT_TRUE(WaitFor(
        [&] {
          (void)ring.Wait(std::chrono::milliseconds(100));
          return ring.PollCompletions(std::span(&c, 1)) == 1;
        },
        std::chrono::seconds(60)));
    ASSERT_EQ(c.status, kIOReturnTimeout);
    ASSERT_TRUE(ring.Destroy());
    ASSERT_TRUE(buffer.Release());
    a.Close();
  }
  FillApertureAsB();
  ResumeAndCheckB();
}

}  // namespace
}  // namespace fpgadext::faults
