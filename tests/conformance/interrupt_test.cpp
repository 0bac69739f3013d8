// Rules of IOInterruptDispatchSource on an IOPCIDevice (driverkit-semantics.md §5.2, §7.2
// pitfall 14): sources start disabled, deliveries run on the source's queue and coalesce,
// cancelled sources cannot be enabled, only message-signalled indexes exist, and MSI-X vectors
// can be configured.
#include <vector>

#include "harness.h"
#include "process_memory.h"

namespace fpgadext::conformance {
namespace {

using namespace ::conformance;

constexpr uint64_t kTypeLevel = 0x1;     // kIOInterruptDispatchSourceTypeLevel
constexpr uint64_t kTypeMsi = 0x10000;   // kIOInterruptTypePCIMessaged
constexpr uint64_t kTypeMsix = 0x20000;  // kIOInterruptTypePCIMessagedX

class InterruptRules : public ConformanceTest {
 protected:
  struct Counts {
    uint64_t deliveries = 0;
    uint64_t interrupts = 0;
    uint64_t offQueue = 0;
  };
  // Creates the dext's source for `index` (once) and enables or disables it.
  IOReturn SetupSource(uint64_t index, bool enable) {
    std::vector<uint64_t> out(1);
    EXPECT_EQ(Call(kSelInterruptSetup, {index, enable ? 1u : 0u}, &out), kIOReturnSuccess);
    return static_cast<IOReturn>(out[0]);
  }
  void Raise(uint32_t vector, uint64_t times = 1) {
    EXPECT_EQ(Call(kSelRaiseMany, {vector, times}), kIOReturnSuccess);
  }
  Counts Count() {
    std::vector<uint64_t> out(3);
    EXPECT_EQ(Call(kSelInterruptCount, {}, &out), kIOReturnSuccess);
    return {out[0], out[1], out[2]};
  }
  // Waits until the handler has seen `interrupts` interrupts.
  Counts WaitForInterrupts(uint64_t interrupts) {
    Counts counts;
    WaitFor([&] {
      counts = Count();
      return counts.interrupts >= interrupts;
    });
    return counts;
  }
  std::vector<uint64_t> InterruptType(uint64_t index) {
    std::vector<uint64_t> out(2);
    EXPECT_EQ(Call(kSelInterruptType, {index}, &out), kIOReturnSuccess);
    return out;
  }
  IOReturn Configure(uint64_t type, uint64_t required, uint64_t requested) {
    std::vector<uint64_t> out(1);
    EXPECT_EQ(Call(kSelConfigureInterrupts, {type, required, requested}, &out), kIOReturnSuccess);
    return static_cast<IOReturn>(out[0]);
  }
  bool ExternalMethodRunsOnTheDefaultQueue() {
    std::vector<uint64_t> out(kInspectCount);
    EXPECT_EQ(Call(kSelInspect, {}, &out), kIOReturnSuccess);
    return out[kInspectOnDefaultQueue] != 0;
  }
};

TEST_F(InterruptRules, InterruptSourcesStartDisabled) {
  ASSERT_EQ(SetupSource(1, false), kIOReturnSuccess);  // created, handler set, not enabled
  Raise(0);
  // Give a (wrong) delivery every chance to arrive before looking.
  WaitFor([&] { return Count().deliveries != 0; }, std::chrono::milliseconds(50));
  EXPECT_EQ(Count().deliveries, 0u);
  EXPECT_EQ(device_->messagesSent(), 1u);  // the device did signal
  ASSERT_EQ(SetupSource(1, true), kIOReturnSuccess);
  Raise(0);
  Counts counts = WaitForInterrupts(1);
  EXPECT_EQ(counts.deliveries, 1u);
  EXPECT_EQ(counts.interrupts, 1u);  // the one raised while disabled was not kept
}

TEST_F(InterruptRules, EnabledSourceDeliversToInterruptOccurredOnItsQueue) {
  ASSERT_EQ(SetupSource(1, true), kIOReturnSuccess);
  Raise(0);
  Counts counts = WaitForInterrupts(1);
  EXPECT_EQ(counts.interrupts, 1u);
  EXPECT_EQ(counts.deliveries, 1u);
  EXPECT_EQ(counts.offQueue, 0u);
}

TEST_F(InterruptRules, InterruptsCoalesce) {
  ASSERT_EQ(SetupSource(1, true), kIOReturnSuccess);
  constexpr uint64_t kRaises = 10;
  Raise(0, kRaises);  // all raised inside one call on the dext's queue
  Counts counts = WaitForInterrupts(kRaises);
  EXPECT_EQ(counts.interrupts, kRaises);  // none lost, none invented
  EXPECT_GE(counts.deliveries, 1u);
  EXPECT_LE(counts.deliveries, kRaises);
  if (ExternalMethodRunsOnTheDefaultQueue()) {
    // The queue was busy with the raising call: one delivery carries them all.
    EXPECT_EQ(counts.deliveries, 1u);
  }
}

TEST_F(InterruptRules, CancelledSourceCannotBeEnabled) {
  ASSERT_EQ(SetupSource(1, true), kIOReturnSuccess);
  std::vector<uint64_t> out(1);
  ASSERT_EQ(Call(kSelInterruptCancel, {}, &out), kIOReturnSuccess);
  EXPECT_EQ(static_cast<IOReturn>(out[0]), kIOReturnSuccess);
  EXPECT_EQ(SetupSource(1, true), kIOReturnUnsupported);  // SetEnable on the cancelled source
  Raise(0);
  WaitFor([&] { return Count().deliveries != 0; }, std::chrono::milliseconds(50));
  EXPECT_EQ(Count().deliveries, 0u);
}

TEST_F(InterruptRules, LegacyIndexZeroIsUnsupported) {
  EXPECT_EQ(SetupSource(0, true), kIOReturnUnsupported);
}

TEST_F(InterruptRules, IndexBeyondConfiguredVectorsIsNoInterrupt) {
  // Firmware leaves one MSI vector configured: index 1 only.
  EXPECT_EQ(SetupSource(2, true), kIOReturnNoInterrupt);
  EXPECT_EQ(SetupSource(1, true), kIOReturnSuccess);
}

TEST_F(InterruptRules, GetInterruptTypeNamesTheConfiguredType) {
  std::vector<uint64_t> type = InterruptType(1);
  EXPECT_EQ(static_cast<IOReturn>(type[0]), kIOReturnSuccess);
  EXPECT_EQ(type[1], kTypeMsi);
  EXPECT_EQ(static_cast<IOReturn>(InterruptType(2)[0]), kIOReturnNoInterrupt);
  type = InterruptType(0);
  EXPECT_EQ(static_cast<IOReturn>(type[0]), kIOReturnSuccess);
  EXPECT_EQ(type[1], kTypeLevel);  // the legacy pin, which a dext cannot use
}

TEST_F(InterruptRules, MsiVectorsWorkAfterConfigureInterrupts) {
  ASSERT_EQ(Configure(kTypeMsi, 1, 4), kIOReturnSuccess);
  EXPECT_EQ(InterruptType(4)[1], kTypeMsi);
  EXPECT_EQ(static_cast<IOReturn>(InterruptType(5)[0]), kIOReturnNoInterrupt);
  ASSERT_EQ(SetupSource(4, true), kIOReturnSuccess);
  Raise(3);
  EXPECT_EQ(WaitForInterrupts(1).interrupts, 1u);
}

TEST_F(InterruptRules, MsixVectorsWorkAfterConfigureInterrupts) {
  ASSERT_EQ(Configure(kTypeMsix, 1, 8), kIOReturnSuccess);
  EXPECT_TRUE(device_->config().Msix().enabled);
  EXPECT_FALSE(device_->config().Msi().enabled);
  for (uint64_t index = 1; index <= 8; ++index) {
    SCOPED_TRACE(index);
    std::vector<uint64_t> type = InterruptType(index);
    EXPECT_EQ(static_cast<IOReturn>(type[0]), kIOReturnSuccess);
    EXPECT_EQ(type[1], kTypeMsix);
  }
  EXPECT_EQ(static_cast<IOReturn>(InterruptType(9)[0]), kIOReturnNoInterrupt);
  ASSERT_EQ(SetupSource(6, true), kIOReturnSuccess);
  Raise(5);
  Raise(4);  // another vector: no source, lost
  Counts counts = WaitForInterrupts(1);
  EXPECT_EQ(counts.interrupts, 1u);
  EXPECT_EQ(device_->messagesSent(), 2u);
}

TEST_F(InterruptRules, ConfigureInterruptsBeyondTheCapabilityIsNoResources) {
  EXPECT_EQ(Configure(kTypeMsix, 9, 16), kIOReturnNoResources);
  EXPECT_EQ(Configure(kTypeMsi, 8, 8), kIOReturnNoResources);
  EXPECT_EQ(Configure(kTypeLevel, 1, 1), kIOReturnUnsupported);  // legacy INTx: not emulated
}

// GetLastInterrupt (xnu IOInterruptDispatchSource::GetLastInterrupt_Impl): the count of
// interrupts not yet delivered and the time of the last one.
TEST_F(InterruptRules, GetLastInterruptCountsUndeliveredInterruptsAndTheLastTime) {
  ASSERT_EQ(SetupSource(1, true), kIOReturnSuccess);
  // Raised inside one call, which holds the queue InterruptOccurred runs on.
  std::vector<uint64_t> out(5);
  ASSERT_EQ(Call(kSelRaiseGetLast, {0, 3}, &out), kIOReturnSuccess);
  EXPECT_EQ(static_cast<IOReturn>(out[0]), kIOReturnSuccess);
  EXPECT_EQ(out[1], 3u);
  EXPECT_GE(out[2], out[3]);  // the last interrupt's mach_absolute_time, while raising
  EXPECT_LE(out[2], out[4]);
  const uint64_t lastTime = out[2];
  EXPECT_EQ(WaitForInterrupts(3).deliveries, 1u);  // coalesced
  out.assign(5, 0);
  ASSERT_EQ(Call(kSelGetLast, {}, &out), kIOReturnSuccess);
  EXPECT_EQ(out[1], 0u);  // delivered: nothing left to count
  EXPECT_EQ(out[2], lastTime);
}

// SetEnableWithCompletion's block runs once the deliveries already queued have run.
TEST_F(InterruptRules, SetEnableWithCompletionRunsAfterQueuedDeliveries) {
  ASSERT_EQ(SetupSource(1, true), kIOReturnSuccess);
  std::vector<uint64_t> out(1);
  ASSERT_EQ(Call(kSelRaiseDisable, {0, 2}, &out), kIOReturnSuccess);
  EXPECT_EQ(static_cast<IOReturn>(out[0]), kIOReturnSuccess);
  out.assign(5, 0);
  ASSERT_TRUE(WaitFor([&] {
    EXPECT_EQ(Call(kSelGetLast, {}, &out), kIOReturnSuccess);
    return out[3] != 0;
  }));
  EXPECT_EQ(out[4], 2u);  // the completion saw both interrupts delivered
  Raise(0);               // disabled now: lost
  WaitFor([&] { return Count().interrupts != 2; }, std::chrono::milliseconds(50));
  EXPECT_EQ(Count().interrupts, 2u);
}

}  // namespace
}  // namespace fpgadext::conformance
