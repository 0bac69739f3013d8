// Completion policy (docs/engine.md "Completion policy"): the planner polls, sleeps until a
// channel interrupt, or polls for a bounded time and then sleeps. The interrupts are the model's
// MSI-X messages (PG195 IRQ block, xdma-facts §3.5, §3.8, §7), delivered through a seam that
// does what the dext's channel interrupts do: enable the channel in the IRQ block, sleep until
// its vector fires, disable it again.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>

#include "engine_harness.h"
#include "models/pci/config_space.h"

namespace fpgadext::engine::test {
namespace {

using emu::DmaAccess;
using namespace xdma;
constexpr Direction kH2c = Direction::kHostToCard;
constexpr Direction kC2h = Direction::kCardToHost;

// IommuPort's DMA, and MSI-X messages counted per vector (data = vector).
class InterruptPort final : public IommuPort {
 public:
  using IommuPort::IommuPort;
  void SignalMessage(uint64_t, uint32_t data) override {
    {
      std::lock_guard lock(mutex_);
      if (data < kMaxVectors) ++messages_[data];
    }
    changed_.notify_all();
  }
  uint64_t Messages(uint32_t vectorMask) {
    std::lock_guard lock(mutex_);
    return SumLocked(vectorMask);
  }
  void WaitForChange(uint32_t vectorMask, uint64_t seen, std::chrono::nanoseconds timeout) {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, timeout, [&] { return SumLocked(vectorMask) != seen || woken_; });
    woken_ = false;
  }
  void Wake() {
    {
      std::lock_guard lock(mutex_);
      woken_ = true;
    }
    changed_.notify_all();
  }

 private:
  uint64_t SumLocked(uint32_t vectorMask) const {
    uint64_t sum = 0;
    for (uint32_t v = 0; v < kMaxVectors; ++v) {
      if ((vectorMask >> v) & 1u) sum += messages_[v];
    }
    return sum;
  }

  std::mutex mutex_;
  std::condition_variable changed_;
  uint64_t messages_[kMaxVectors] = {};
  bool woken_ = false;
};

// The bench with MSI-X on, vector v = channel bit v (channels first, Xilinx's layout), the
// channels' interrupts unmasked by the engine, and the seam installed.
struct InterruptBench {
  explicit InterruptBench(CompletionPolicy policy, uint64_t adaptiveSpinNs = 40'000)
      : b(Options(policy, adaptiveSpinNs)), port(b.iommu) {
    b.model.Connect(&port);
    uint32_t cap = b.model.ConfigRead(models::pci::kCapabilitiesPointer, 1);
    while (cap != 0 && b.model.ConfigRead(cap, 1) != models::pci::kCapIdMsix) {
      cap = b.model.ConfigRead(cap + 1, 1);
    }
    b.model.ConfigWrite(cap + 2, 2, 1u << 15);  // MSI-X enable
    for (unsigned v = 0; v < kMsixTableEntries; ++v) {
      b.io.Write32(MsixEntryOffset(v) + msix_entry::kAddrLo, 0xFEE0'0000u);
      b.io.Write32(MsixEntryOffset(v) + msix_entry::kAddrHi, 0);
      b.io.Write32(MsixEntryOffset(v) + msix_entry::kData, v);
      b.io.Write32(MsixEntryOffset(v) + msix_entry::kVectorControl, 0);
    }
    const unsigned channels = b.model.config().h2cChannels + b.model.config().c2hChannels;
    uint32_t vectors[2] = {};
    for (unsigned i = 0; i < channels; ++i) vectors[i / 4] |= i << IrqVectorShift(i);
    b.io.Write32(kIrqBlockBase + irq_reg::kChannelVectorBase, vectors[0]);
    b.io.Write32(kIrqBlockBase + irq_reg::kChannelVectorBase + 4, vectors[1]);
    b.io.Write32(kIrqBlockBase + irq_reg::kChannelIntEnableW1C, ~0u);
    b.planner->SetCompletionWait(Seam());
  }
  // The model signals into `port`: disconnect it before `port` goes.
  ~InterruptBench() { b.model.Connect(nullptr); }

  static BenchOptions Options(CompletionPolicy policy, uint64_t adaptiveSpinNs) {
    BenchOptions o;
    // Each window's writeback (and interrupt) comes 1 ms after its data, so that a poll usually
    // finds the window still running.
    o.model.timing.enabled = true;
    o.model.timing.writebackNs = 1'000'000;
    o.planner.completion = policy;
    o.planner.adaptiveSpinNs = adaptiveSpinNs;
    o.interrupts = true;
    return o;
  }
  uint32_t Bits(Direction d, uint32_t channels) const {
    uint32_t bits = 0;
    for (uint32_t c = 0; c < kMaxChannels; ++c) {
      if ((channels >> c) & 1u) {
        bits |= 1u << IrqChannelBit(d == kH2c ? xdma::Direction::kH2c : xdma::Direction::kC2h, c,
                                    b.model.config().h2cChannels);
      }
    }
    return bits;
  }
  CompletionWaitSeam Seam() {
    CompletionWaitSeam seam;
    seam.context = this;
    seam.events = [](void* context, Direction d, uint32_t channels) {
      auto* self = static_cast<InterruptBench*>(context);
      return self->port.Messages(self->Bits(d, channels));
    };
    seam.wait = [](void* context, Direction d, uint32_t channels, uint64_t seen,
                   uint64_t deadlineNs) {
      auto* self = static_cast<InterruptBench*>(context);
      const uint32_t bits = self->Bits(d, channels);
      ++self->waits;
      self->b.io.Write32(kIrqBlockBase + irq_reg::kChannelIntEnableW1S, bits);
      const uint64_t now = self->b.platform.nowNs();
      self->port.WaitForChange(bits, seen,
                               std::chrono::nanoseconds(deadlineNs > now ? deadlineNs - now : 0));
      // The handler's acknowledgement: the channel's enable off until the next wait.
      self->b.io.Write32(kIrqBlockBase + irq_reg::kChannelIntEnableW1C, bits);
    };
    seam.wake = [](void* context) { static_cast<InterruptBench*>(context)->port.Wake(); };
    return seam;
  }

  Bench b;
  InterruptPort port;
  std::atomic<uint64_t> waits{0};
};

// Writes then reads back `size` bytes at card address 0, every byte checked.
void RoundTrip(Bench& b, uint64_t size, ChannelClient* client = nullptr) {
  HostBytes out(size, 0), in(size, 0);
  FillPattern(out.data(), size, static_cast<uint32_t>(size));
  std::memset(in.data(), 0xEE, size);
  IommuHostMemory src(b.iommu, out.data(), size, DmaAccess::kDeviceRead);
  IommuHostMemory dst(b.iommu, in.data(), size, DmaAccess::kDeviceWrite);
  ASSERT_EQ(b.planner->Execute(kH2c, 0, src, size, client), kIOReturnSuccess);
  ASSERT_EQ(b.planner->Execute(kC2h, 0, dst, size, client), kIOReturnSuccess);
  EXPECT_EQ(FirstMismatch(out.data(), in.data(), size), -1);
  EXPECT_EQ(b.iommu.ViolationCount(), 0u);
}

// Round trips of `size` bytes until the planner has slept on an interrupt at least once (a
// poll that finds the window already done does not sleep: how often that happens is the
// scheduler's). Whether it slept within 20 round trips.
bool RoundTripsUntilASleep(InterruptBench& ib, uint64_t size, ChannelClient* client = nullptr) {
  for (int i = 0; i < 20 && ib.waits.load() == 0; ++i) {
    RoundTrip(ib.b, size, client);
    if (::testing::Test::HasFailure()) return false;
  }
  return ib.waits.load() > 0;
}

TEST(CompletionPolicy, InterruptSleepsUntilTheChannelInterruptsAndMovesEveryByte) {
  InterruptBench ib(CompletionPolicy::kInterrupt);
  ASSERT_EQ(ib.b.probeResult, kIOReturnSuccess);
  RoundTrip(ib.b, 8u << 20);  // several windows and both channels of each direction
  EXPECT_TRUE(RoundTripsUntilASleep(ib, 1u << 20));
  // The wake-ups came from the channels' vectors: the engine unmasked their interrupts.
  const uint32_t all = ib.Bits(kH2c, 0xF) | ib.Bits(kC2h, 0xF);
  EXPECT_GT(ib.port.Messages(all), 0u);
}

TEST(CompletionPolicy, EngineWithoutCompletionInterruptsLeavesTheChannelsMasked) {
  BenchOptions o;
  Bench b(o);  // completionInterrupts off: today's poll-only engine
  ASSERT_EQ(b.probeResult, kIOReturnSuccess);
  for (Direction d : {kH2c, kC2h}) {
    for (uint32_t c = 0; c < b.engine->Limits().channels[static_cast<int>(d)]; ++c) {
      EXPECT_EQ(
          b.io.Read32(ChannelBase(d == kH2c ? xdma::Direction::kH2c : xdma::Direction::kC2h, c) +
                      channel_reg::kIntEnableMask),
          0u);
    }
  }
  BenchOptions on;
  on.interrupts = true;
  Bench withInterrupts(on);
  ASSERT_EQ(withInterrupts.probeResult, kIOReturnSuccess);
  const uint32_t mask =
      withInterrupts.io.Read32(ChannelBase(xdma::Direction::kC2h, 0) + channel_reg::kIntEnableMask);
  EXPECT_NE(mask & ChannelIntEnable::im_descriptor_completed_field::kMask, 0u);
  EXPECT_NE(mask & ChannelIntEnable::im_descriptor_stopped_field::kMask, 0u);
  EXPECT_EQ(mask & ChannelIntEnable::im_idle_stopped_field::kMask, 0u);
}

TEST(CompletionPolicy, PollNeverSleepsEvenWithTheSeam) {
  InterruptBench ib(CompletionPolicy::kPoll);
  RoundTrip(ib.b, 1u << 20);
  EXPECT_EQ(ib.waits.load(), 0u);
}

TEST(CompletionPolicy, TheClientsChoiceOverridesTheDevices) {
  InterruptBench ib(CompletionPolicy::kInterrupt);
  ChannelClient polling;
  polling.completion = CompletionPolicy::kPoll;
  RoundTrip(ib.b, 1u << 20, &polling);
  EXPECT_EQ(ib.waits.load(), 0u);
  ChannelClient sleeping;
  sleeping.completion = CompletionPolicy::kInterrupt;
  EXPECT_TRUE(RoundTripsUntilASleep(ib, 1u << 20, &sleeping));
}

TEST(CompletionPolicy, AdaptivePollsWithinItsSpinAndSleepsAfterIt) {
  // A spin longer than any transfer here: never sleeps.
  InterruptBench spinning(CompletionPolicy::kAdaptive, 60'000'000'000ull);
  RoundTrip(spinning.b, 1u << 20);
  EXPECT_EQ(spinning.waits.load(), 0u);
  // No spin at all: sleeps as kInterrupt does.
  InterruptBench sleeping(CompletionPolicy::kAdaptive, 0);
  EXPECT_TRUE(RoundTripsUntilASleep(sleeping, 1u << 20));
}

}  // namespace
}  // namespace fpgadext::engine::test
