// Issue 13 §3, quarantine: a function that stops answering on its BARs while its configuration
// space still answers (wedged) may still be mastering. The engine fails a window at once when
// its registers read all ones, without being able to stop the channel, and a registered buffer
// (like the rings, the bounce buffer and stream rings) stays mapped for the device until its
// client lets go. So when the dext quarantines the function it also turns bus mastering off:
// whatever the function still tries to write reaches no memory (docs/dext.md, "Recovery").
#include <algorithm>
#include <atomic>
#include <cstring>
#include <vector>

#include "faults_fixture.h"

namespace fpgadext::faults {
namespace {

// The XDMA model behind a DMA port that notes where the function last wrote data (not a
// writeback word), and lets the test write there as the function would.
class RecordingBoard final : public models::XdmaModel, private emu::DmaPort {
 public:
  explicit RecordingBoard(const Config& config) : XdmaModel(config) {}
  void Connect(emu::DmaPort* port) override {
    port_.store(port);
    XdmaModel::Connect(port != nullptr ? this : nullptr);
  }
  uint64_t lastWrite() const { return lastWrite_.load(); }
  uint64_t lastWriteLength() const { return lastWriteLength_.load(); }
  // A memory write by the function itself, through the bus (the Command register, the IOMMU).
  IOReturn StaleWrite(uint64_t busAddress, const void* src, uint64_t length) {
    emu::DmaPort* port = port_.load();
    return port != nullptr ? port->DmaWrite(busAddress, src, length) : kIOReturnNotAttached;
  }

 private:
  IOReturn DmaRead(uint64_t busAddress, void* dst, uint64_t length) override {
    return port_.load()->DmaRead(busAddress, dst, length);
  }
  IOReturn DmaWrite(uint64_t busAddress, const void* src, uint64_t length) override {
    if (length > kWritebackBytes) {
      lastWrite_.store(busAddress);
      lastWriteLength_.store(length);
    }
    return port_.load()->DmaWrite(busAddress, src, length);
  }
  void SignalMessage(uint64_t address, uint32_t data) override {
    port_.load()->SignalMessage(address, data);
  }

  std::atomic<emu::DmaPort*> port_{nullptr};
  static constexpr uint64_t kWritebackBytes = 64;  // status words and stream writebacks
  std::atomic<uint64_t> lastWrite_{0};
  std::atomic<uint64_t> lastWriteLength_{0};
};

class WedgedFunction : public FaultFixture {
 protected:
  std::unique_ptr<emu::PciFunction> MakeBoard() override {
    return std::make_unique<RecordingBoard>(BoardConfig());  // no Function Level Reset
  }
  static RecordingBoard& board() { return *static_cast<RecordingBoard*>(board_.get()); }
};

// A read into a registered buffer shows where the function writes the app's memory; the
// function then wedges, the next read fails (kIOReturnNoDevice) and the dext quarantines it. A
// write of the function's to that window afterwards is refused and the app's bytes stay.
TEST_F(WedgedFunction, ItsWritesAfterTheWindowFailedReachNoAppMemory) {
  constexpr size_t kSize = 64 * 1024;
  PageBuffer memory(kSize);
  RegisteredBuffer buffer;
  ASSERT_TRUE(device().Register(memory.span(0, kSize), BufferDirection::kBoth, &buffer));
  FillPattern(memory.data(), kSize, 41);
  ASSERT_TRUE(device().Write(0, buffer, 0, kSize));
  ASSERT_TRUE(device().Read(0, buffer, 0, kSize));
  const uint64_t window = board().lastWrite();
  ASSERT_NE(window, 0u) << "the read wrote no host memory";

  std::memset(memory.data(), 0x11, kSize);  // what the app holds from now on
  board().WedgeFunction();
  const Status failed = device().Read(0, buffer, 0, kSize);
  EXPECT_EQ(failed.code(), kIOReturnNoDevice) << failed.message();

  // The same bytes of the window the read used: a write the IOMMU would still take.
  const std::vector<uint8_t> late(std::min<uint64_t>(board().lastWriteLength(), 4096), 0xEE);
  EXPECT_NE(board().StaleWrite(window, late.data(), late.size()), kIOReturnSuccess)
      << "the quarantined function still reaches the registered buffer";
  size_t changed = 0;
  for (size_t i = 0; i < kSize; ++i) changed += memory.data()[i] != std::byte{0x11};
  EXPECT_EQ(changed, 0u) << "bytes of the app's buffer changed after the window failed";
  EXPECT_TRUE(buffer.Release());
}

}  // namespace
}  // namespace fpgadext::faults
