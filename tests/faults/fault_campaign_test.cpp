// The fault campaign (issue 12, "A fault campaign as tests"): each fault of the board or of a
// client strikes a victim client in the middle of its work — one synchronous 64 MiB write, a
// batch of async writes, or ring traffic — while a bystander client (the fixture's Device) has
// data on the card. After each: every pending request of the victim completed, with an error,
// exactly once; the bystander's data is intact; the IOMMU is back to its baseline; and the
// device (or, after a removal, a freshly plugged board) moves a fresh 64 MiB round trip.
#include <atomic>
#include <thread>
#include <vector>

#include "faults_fixture.h"

namespace fpgadext::faults {
namespace {

enum class Fault { kHang, kDmaError, kLinkDown, kSurpriseRemoval, kClientClose };
enum class Work { kSync64MiB, kAsyncBatch, kRing };

struct Scenario {
  Fault fault;
  Work work;
};

const char* FaultName(Fault f) {
  switch (f) {
    case Fault::kHang:
      return "Hang";
    case Fault::kDmaError:
      return "DmaError";
    case Fault::kLinkDown:
      return "LinkDown";
    case Fault::kSurpriseRemoval:
      return "SurpriseRemoval";
    case Fault::kClientClose:
      return "ClientClose";
  }
  return "?";
}

std::string Name(const ::testing::TestParamInfo<Scenario>& info) {
  const char* work = info.param.work == Work::kSync64MiB    ? "Sync64MiB"
                     : info.param.work == Work::kAsyncBatch ? "AsyncBatch"
                                                            : "Ring";
  return std::string(FaultName(info.param.fault)) + "During" + work;
}

constexpr uint64_t kBystanderCard = 256ull << 20;  // the bystander's data
constexpr size_t kBystanderBytes = 4ull << 20;
constexpr uint64_t kVictimCard = 0;
constexpr size_t kSync = 64ull << 20;
constexpr int kAsyncOps = 4;
constexpr size_t kAsyncBytes = 4ull << 20;
constexpr int kRingEntries = 8;
constexpr size_t kRingBytes = 1ull << 20;

class FaultCampaign : public FaultFixture, public ::testing::WithParamInterface<Scenario> {
 protected:
  // The victim's work, started on its own thread or queue; Finish waits for all of it.
  void Start(Device& victim);
  // Whether every request of the work completed (each once) before the deadline; failures and
  // successes counted.
  bool Finish(std::chrono::seconds timeout);
  void Strike(Device& victim);

  PageBuffer source_{kSync};
  std::thread sync_;
  Status syncResult_;
  std::atomic<bool> syncDone_{false};
  std::vector<AsyncOperation> ops_;
  std::atomic<int> callbacks_{0};
  Ring ring_;
  RegisteredBuffer ringBuffer_;
  std::vector<int> ringCompletions_ = std::vector<int>(kRingEntries, 0);
  int failed_ = 0;
  int succeeded_ = 0;
};

void FaultCampaign::Start(Device& victim) {
  FillPattern(source_.data(), kSync, 7);
  switch (GetParam().work) {
    case Work::kSync64MiB:
      sync_ = std::thread([this, &victim] {
        syncResult_ = victim.Write(kVictimCard, source_.span(0, kSync));
        syncDone_ = true;
      });
      break;
    case Work::kAsyncBatch:
      for (int i = 0; i < kAsyncOps; ++i) {
        ops_.push_back(victim.WriteAsync(kVictimCard + i * kAsyncBytes,
                                         source_.span(i * kAsyncBytes, kAsyncBytes),
                                         [this](const Status&, uint64_t) { ++callbacks_; }));
      }
      break;
    case Work::kRing:
      for (int i = 0; i < kRingEntries; ++i) {
        ASSERT_TRUE(ring_.SubmitWrite(kVictimCard + i * kRingBytes, ringBuffer_, i * kRingBytes,
                                      kRingBytes, i));
      }
      break;
  }
}

bool FaultCampaign::Finish(std::chrono::seconds timeout) {
  switch (GetParam().work) {
    case Work::kSync64MiB: {
      const bool done = WaitFor([&] { return syncDone_.load(); }, timeout);
      if (!done) return false;
      sync_.join();
      (syncResult_ ? succeeded_ : failed_)++;
      return true;
    }
    case Work::kAsyncBatch: {
      for (AsyncOperation& op : ops_) {
        const Status s = op.Wait(timeout);
        if (s.code() == kIOReturnTimeout && !op.done()) return false;
        (s ? succeeded_ : failed_)++;
      }
      return WaitFor([&] { return callbacks_.load() == kAsyncOps; }, std::chrono::seconds(5));
    }
    case Work::kRing: {
      if (!ring_.valid()) {  // closed with its client: its requests went with it
        failed_ += kRingEntries;
        return true;
      }
      int seen = 0;
      const bool done = WaitFor(
          [&] {
            RingCompletion batch[kRingEntries];
            const size_t n = ring_.PollCompletions(batch);
            for (size_t i = 0; i < n; ++i) {
              if (batch[i].tag < kRingEntries) ++ringCompletions_[batch[i].tag];
              (batch[i].status == kIOReturnSuccess ? succeeded_ : failed_)++;
              ++seen;
            }
            return seen >= kRingEntries;
          },
          timeout);
      for (int c : ringCompletions_) EXPECT_LE(c, 1) << "a ring request completed twice";
      return done;
    }
  }
  return false;
}

void FaultCampaign::Strike(Device& victim) {
  const DeviceInfo& info = device().info();
  switch (GetParam().fault) {
    case Fault::kHang:
      for (unsigned ch = 0; ch < info.h2cChannels; ++ch)
        xdma().InjectHang(xdma::Direction::kH2c, ch);
      break;
    case Fault::kDmaError:
      for (unsigned ch = 0; ch < info.h2cChannels; ++ch) {
        xdma().InjectErrorAfterBytes(xdma::Direction::kH2c, ch, 1 << 20);
      }
      break;
    case Fault::kLinkDown:
      xdma().SurpriseRemove();
      break;
    case Fault::kSurpriseRemoval:
      machine().SurpriseRemovePciFunction(board_.get());
      break;
    case Fault::kClientClose:
      victim.Close();
      break;
  }
}

TEST_P(FaultCampaign, PendingWorkFailsAndTheDeviceRecovers) {
  const Scenario sc = GetParam();
  // The bystander's data.
  PageBuffer bystanderData(kBystanderBytes);
  FillPattern(bystanderData.data(), kBystanderBytes, 99);
  ASSERT_TRUE(device().Write(kBystanderCard, bystanderData.span(0, kBystanderBytes)));
  const size_t baseline = machine().iommu().LiveMappings();

  Device victim;
  ASSERT_TRUE(Device::Open(0, &victim));
  if (sc.work == Work::kRing) {
    ASSERT_TRUE(victim.CreateRing(kRingEntries * 2, RingDirections::kToCard, &ring_));
    ASSERT_TRUE(victim.Register(source_.span(0, kRingEntries * kRingBytes),
                                BufferDirection::kToCard, &ringBuffer_));
  }
  const bool strikeFirst = sc.fault == Fault::kHang || sc.fault == Fault::kDmaError;
  if (strikeFirst) {
    Strike(victim);
  } else {
    xdma().SetSlowLink(64.0 * (1 << 20));  // the work lasts long enough to be cut short
  }
  const uint64_t moved = H2cBytes();
  Start(victim);
  if (HasFatalFailure()) return;
  if (!strikeFirst) {
    ASSERT_TRUE(WaitFor([&] { return H2cBytes() > moved; }, std::chrono::seconds(10)))
        << "the work never started";
    Strike(victim);
  }
  ASSERT_TRUE(Finish(std::chrono::seconds(90))) << "pending work never completed";
  if (sc.fault == Fault::kClientClose && sc.work == Work::kSync64MiB) {
    // IOServiceClose waits for a synchronous transfer in flight, which has no abort path
    // (issue 12 item 6): it ends, either way, before the close does.
    EXPECT_EQ(failed_ + succeeded_, 1);
  } else {
    EXPECT_GT(failed_, 0) << "the fault failed nothing (" << succeeded_ << " succeeded)";
  }
  xdma().ClearFaults();
  const bool removed = sc.fault == Fault::kLinkDown || sc.fault == Fault::kSurpriseRemoval;
  // The victim lets go of everything at once, while a hung engine may still be finishing the
  // descriptor it held when the fault cleared (Run cleared stops it only at the descriptor's
  // end) and reading the victim's memory: the dext keeps that memory mapped until the channel
  // is seen idle (PreparationHold, docs/reliability.md), so the late read is no IOMMU fault and
  // the mappings still go back to the baseline below.
  ring_ = Ring();
  ringBuffer_ = RegisteredBuffer();
  victim.Close();
  if (removed) {
    // The board is gone for the bystander too: a clean error, nothing faults.
    PageBuffer back(kBystanderBytes);
    EXPECT_FALSE(device().Read(kBystanderCard, back.span(0, kBystanderBytes)));
    if (sc.fault == Fault::kSurpriseRemoval) {
      EXPECT_TRUE(WaitFor([&] { return machine().iommu().LiveMappings() == 0; }))
          << machine().iommu().LiveMappings() << " IOMMU mappings left after the driver stopped";
      // A fresh board in the slot works.
      device().Close();
      auto fresh = std::make_unique<models::XdmaModel>(BoardConfig());
      ASSERT_EQ(machine().AttachPciFunction(fresh.get(), "fpga1"), kIOReturnSuccess);
      Device again;
      ASSERT_TRUE(WaitFor([&] { return static_cast<bool>(Device::Open(0, &again)); }));
      EXPECT_TRUE(RoundTrip64MiB(again, 0, 5));
      again.Close();
      machine().DetachPciFunction(fresh.get());
    } else {
      EXPECT_TRUE(WaitFor([&] { return machine().iommu().LiveMappings() == baseline; }))
          << machine().iommu().LiveMappings() << " IOMMU mappings, " << baseline << " before";
    }
    return;
  }
  // The device works: a fresh 64 MiB round trip (the dext may need a transfer or two to set a
  // stopped channel right), and the bystander's data is as it wrote it.
  Device fresh;
  ASSERT_TRUE(Device::Open(0, &fresh));
  ::testing::AssertionResult trip = ::testing::AssertionFailure();
  for (int attempt = 0; attempt < 5 && !trip; ++attempt) trip = RoundTrip64MiB(fresh, 0, 6);
  EXPECT_TRUE(trip);
  PageBuffer back(kBystanderBytes);
  ASSERT_TRUE(device().Read(kBystanderCard, back.span(0, kBystanderBytes)));
  EXPECT_EQ(CheckPattern(back.data(), kBystanderBytes, 99), kBystanderBytes);
  fresh.Close();
  EXPECT_TRUE(WaitFor([&] { return machine().iommu().LiveMappings() == baseline; }))
      << machine().iommu().LiveMappings() << " IOMMU mappings, " << baseline << " before";
}

std::vector<Scenario> AllScenarios() {
  std::vector<Scenario> all;
  for (Fault f : {Fault::kHang, Fault::kDmaError, Fault::kLinkDown, Fault::kSurpriseRemoval,
                  Fault::kClientClose}) {
    for (Work w : {Work::kSync64MiB, Work::kAsyncBatch, Work::kRing}) all.push_back({f, w});
  }
  return all;
}

INSTANTIATE_TEST_SUITE_P(Faults, FaultCampaign, ::testing::ValuesIn(AllScenarios()), Name);

}  // namespace
}  // namespace fpgadext::faults
