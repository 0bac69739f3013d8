// Rules of IODMACommand over the emulated IOMMU (driverkit-semantics.md §4, §7.2 pitfall 8):
// argument checks, 32-segment windows with partial success, one preparation per command, IOVAs,
// maxAddressBits, wiring errors, and device access that the IOMMU allows or refuses and records.
#include <mach/kern_return.h>
#include <sys/mman.h>

#include <cstring>
#include <vector>

#include "dext/mempci_protocol.h"
#include "harness.h"
#include "process_memory.h"

namespace fpgadext::conformance {
namespace {

using namespace ::conformance;

class DmaRules : public ConformanceTest {
 protected:
  // PrepareForDMA through kSelPrepareEx; returns the kPrepare* outputs.
  std::vector<uint64_t> Prepare(const void* address, uint64_t length, uint64_t clientOptions,
                                uint64_t capacity = 32, uint64_t prepareOptions = 0,
                                uint64_t mode = kPrepareModeNew, uint64_t maxAddressBits = 0) {
    std::vector<uint64_t> out(kPrepareExCount);
    EXPECT_EQ(Call(kSelPrepareEx,
                   {reinterpret_cast<uint64_t>(address), length, clientOptions, capacity,
                    prepareOptions, mode, maxAddressBits},
                   &out),
              kIOReturnSuccess);
    return out;
  }
  IOReturn DeviceDma(uint32_t command, uint64_t segment, uint64_t length) {
    std::vector<uint64_t> out(1);
    EXPECT_EQ(Call(kSelDeviceDma, {command, segment, length}, &out), kIOReturnSuccess);
    return static_cast<IOReturn>(out[0]);
  }
  IOReturn DeviceDmaAt(uint32_t command, uint64_t busAddress, uint64_t length) {
    std::vector<uint64_t> out(1);
    EXPECT_EQ(Call(kSelDeviceDmaAt, {command, busAddress, length}, &out), kIOReturnSuccess);
    return static_cast<IOReturn>(out[0]);
  }
  IOReturn CompleteDma() {
    std::vector<uint64_t> out(1);
    EXPECT_EQ(Call(kSelCompleteDma, {}, &out), kIOReturnSuccess);
    return static_cast<IOReturn>(out[0]);
  }
  IOReturn CreateCommand(uint64_t options, uint64_t maxAddressBits) {
    std::vector<uint64_t> out(1);
    EXPECT_EQ(Call(kSelDmaCreate, {options, maxAddressBits}, &out), kIOReturnSuccess);
    return static_cast<IOReturn>(out[0]);
  }
};

// An IOMMU that gives at most one 4 KiB page per segment.
class FragmentingDmaRules : public DmaRules {
 protected:
  emu::Machine::Config MachineConfig() override {
    emu::Machine::Config config;
    config.iommu.maxSegmentLength = 4096;
    return config;
  }
};

// IOVAs start just below 4 GiB, so a limit of 32 address bits decides where they may go.
class HighIovaDmaRules : public DmaRules {
 protected:
  emu::Machine::Config MachineConfig() override {
    emu::Machine::Config config;
    config.iommu.iovaBase = 0xFFF0'0000ull;
    return config;
  }
};

// The intel profile: VT-d refuses a stray device access and records it (on DART an unmapped IOVA
// stops the machine and a write to read-only memory lands: tests/emu/iommu_test.cpp).
class VtdDmaRules : public DmaRules {
 protected:
  emu::Machine::Config MachineConfig() override {
    emu::Machine::Config config;
    config.profile = emu::HardwareProfile::kIntel;
    return config;
  }
};

// ---- Create ----------------------------------------------------------------------------------

TEST_F(DmaRules, CreateWithOptionsIsBadArgument) {
  EXPECT_EQ(CreateCommand(1, 64), kIOReturnBadArgument);
  EXPECT_EQ(CreateCommand(0, 64), kIOReturnSuccess);
}

TEST_F(DmaRules, CreateWithMaxAddressBitsBeyond255IsBadArgument) {
  EXPECT_EQ(CreateCommand(0, 256), kIOReturnBadArgument);
  EXPECT_EQ(CreateCommand(0, 255), kIOReturnSuccess);
  EXPECT_EQ(CreateCommand(0, 32), kIOReturnSuccess);
}

// ---- PrepareForDMA arguments -----------------------------------------------------------------

TEST_F(DmaRules, PrepareForDMAWithOptionsIsBadArgument) {
  std::vector<uint8_t> app(8192);
  EXPECT_EQ(
      static_cast<IOReturn>(Prepare(app.data(), app.size(), kClientInOut, 32, 1)[kPrepareStatus]),
      kIOReturnBadArgument);
  EXPECT_EQ(machine_->iommu().LiveMappings(), 0u);
}

TEST_F(DmaRules, PrepareForDMAWithNullDescriptorIsBadArgument) {
  EXPECT_EQ(static_cast<IOReturn>(
                Prepare(nullptr, 0, kClientInOut, 32, 0, kPrepareModeNull)[kPrepareStatus]),
            kIOReturnBadArgument);
}

TEST_F(DmaRules, PrepareForDMAWithZeroSegmentsIsBadArgument) {
  std::vector<uint8_t> app(8192);
  EXPECT_EQ(static_cast<IOReturn>(Prepare(app.data(), app.size(), kClientInOut, 0)[kPrepareStatus]),
            kIOReturnBadArgument);
  EXPECT_EQ(machine_->iommu().LiveMappings(), 0u);
}

TEST_F(DmaRules, PrepareForDMAWithMoreThan32SegmentsIsOverrun) {
  std::vector<uint8_t> app(8192);
  EXPECT_EQ(
      static_cast<IOReturn>(Prepare(app.data(), app.size(), kClientInOut, 33)[kPrepareStatus]),
      kIOReturnOverrun);
  EXPECT_EQ(machine_->iommu().LiveMappings(), 0u);
}

// ---- Segments --------------------------------------------------------------------------------

TEST_F(FragmentingDmaRules, PrepareForDMANeedingMoreThan32SegmentsSucceedsPartially) {
  std::vector<uint8_t> app(1 << 20);  // 256+ pages: 256+ segments
  std::vector<uint64_t> out = Prepare(app.data(), app.size(), kClientInOut, 32);
  ASSERT_EQ(static_cast<IOReturn>(out[kPrepareStatus]), kIOReturnSuccess);
  EXPECT_EQ(out[kPrepareSegments], 32u);
  EXPECT_LT(out[kPrepareBytes], app.size());  // callers must sum the lengths
  EXPECT_GT(out[kPrepareBytes], 31u * 4096);
  // Fewer asked, fewer given.
  ASSERT_EQ(CompleteDma(), kIOReturnSuccess);
  out = Prepare(app.data(), app.size(), kClientInOut, 5);
  ASSERT_EQ(static_cast<IOReturn>(out[kPrepareStatus]), kIOReturnSuccess);
  EXPECT_EQ(out[kPrepareSegments], 5u);
  EXPECT_LE(out[kPrepareBytes], 5u * 4096);
}

TEST_F(DmaRules, PrepareForDMAWithAnIommuGivesOneSegment) {
  std::vector<uint8_t> app(1 << 20);
  std::vector<uint64_t> out = Prepare(app.data() + 3, app.size() - 3, kClientInOut, 32);
  ASSERT_EQ(static_cast<IOReturn>(out[kPrepareStatus]), kIOReturnSuccess);
  EXPECT_EQ(out[kPrepareSegments], 1u);
  EXPECT_EQ(out[kPrepareBytes], app.size() - 3);
}

TEST_F(DmaRules, PrepareForDMAGivesBusAddressesNotHostAddresses) {
  std::vector<uint8_t> app(65536);
  std::vector<uint64_t> out = Prepare(app.data(), app.size(), kClientInOut);
  ASSERT_EQ(static_cast<IOReturn>(out[kPrepareStatus]), kIOReturnSuccess);
  EXPECT_NE(out[kPrepareFirstAddress], reinterpret_cast<uint64_t>(app.data()));
  EXPECT_NE(out[kPrepareFirstAddress], 0u);
}

TEST_F(DmaRules, PrepareForDMAFlagsAreTheDirection) {
  std::vector<uint8_t> app(8192);
  for (uint64_t direction : {uint64_t{kClientIn}, uint64_t{kClientOut}, uint64_t{kClientInOut}}) {
    SCOPED_TRACE(direction);
    CompleteDma();  // one preparation per command: end the previous one
    std::vector<uint64_t> out = Prepare(app.data(), app.size(), direction);
    ASSERT_EQ(static_cast<IOReturn>(out[kPrepareStatus]), kIOReturnSuccess);
    EXPECT_EQ(out[kPrepareFlags], direction);
  }
}

TEST_F(HighIovaDmaRules, PrepareForDMAHonoursMaxAddressBits) {
  std::vector<uint8_t> big(2 << 20), small(512 << 10);
  // Without a limit, this IOMMU hands out addresses past 4 GiB.
  std::vector<uint64_t> out =
      Prepare(big.data(), big.size(), kClientInOut, 32, 0, kPrepareModeNew, 64);
  ASSERT_EQ(static_cast<IOReturn>(out[kPrepareStatus]), kIOReturnSuccess);
  EXPECT_GT(out[kPrepareMaxEnd], 1ull << 32);
  // A 32-bit command gets addresses below 4 GiB, whatever the previous placement.
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE(i);
    out = Prepare(small.data(), small.size(), kClientInOut, 32, 0, kPrepareModeNew, 32);
    ASSERT_EQ(static_cast<IOReturn>(out[kPrepareStatus]), kIOReturnSuccess);
    EXPECT_LE(out[kPrepareMaxEnd], 1ull << 32);
  }
  // What cannot be placed below the limit is not prepared (emulation: kIOReturnNoResources).
  out = Prepare(big.data(), big.size(), kClientInOut, 32, 0, kPrepareModeNew, 32);
  EXPECT_EQ(static_cast<IOReturn>(out[kPrepareStatus]), kIOReturnNoResources);
}

// ---- One preparation per command --------------------------------------------------------------

TEST_F(DmaRules, PrepareForDMAOfADifferentDescriptorWhilePreparedIsBusy) {
  std::vector<uint8_t> a(8192, 0x3c), b(8192);
  std::vector<uint64_t> first = Prepare(a.data(), a.size(), kClientInOut);
  ASSERT_EQ(static_cast<IOReturn>(first[kPrepareStatus]), kIOReturnSuccess);
  EXPECT_EQ(static_cast<IOReturn>(Prepare(b.data(), b.size(), kClientInOut)[kPrepareStatus]),
            kIOReturnBusy);
  // The first preparation is untouched.
  EXPECT_EQ(machine_->iommu().LiveMappings(), 1u);
  EXPECT_EQ(DeviceDmaAt(probe::kDmaToDevice, first[kPrepareFirstAddress], a.size()),
            kIOReturnSuccess);
  EXPECT_EQ(device_->buffer()[8191], 0x3c);
}

TEST_F(DmaRules, PrepareForDMAOfTheSameDescriptorIsSilentlyRedone) {
  std::vector<uint8_t> a(8192);
  std::vector<uint64_t> first = Prepare(a.data(), a.size(), kClientInOut);
  ASSERT_EQ(static_cast<IOReturn>(first[kPrepareStatus]), kIOReturnSuccess);
  std::vector<uint64_t> again = Prepare(nullptr, 0, 0, 32, 0, kPrepareModeSame);
  ASSERT_EQ(static_cast<IOReturn>(again[kPrepareStatus]), kIOReturnSuccess);
  EXPECT_EQ(again[kPrepareBytes], a.size());
  EXPECT_EQ(machine_->iommu().LiveMappings(), 1u);  // the old mapping went
  EXPECT_EQ(CompleteDma(), kIOReturnSuccess);
  EXPECT_EQ(machine_->iommu().LiveMappings(), 0u);
}

TEST_F(VtdDmaRules, CompleteDMAUnmapsAndASecondIsNotReady) {
  expectIommuViolations_ = true;
  std::vector<uint8_t> app(8192, 0x77);
  std::vector<uint64_t> out = Prepare(app.data(), app.size(), kClientInOut);
  ASSERT_EQ(static_cast<IOReturn>(out[kPrepareStatus]), kIOReturnSuccess);
  const uint64_t iova = out[kPrepareFirstAddress];
  EXPECT_EQ(DeviceDmaAt(probe::kDmaToDevice, iova, app.size()), kIOReturnSuccess);
  EXPECT_EQ(CompleteDma(), kIOReturnSuccess);
  EXPECT_EQ(machine_->iommu().LiveMappings(), 0u);
  EXPECT_EQ(CompleteDma(), kIOReturnNotReady);
  // The device still holds the old bus address: its access is refused and recorded.
  EXPECT_EQ(DeviceDmaAt(probe::kDmaToHost, iova, app.size()), kIOReturnNotPermitted);
  EXPECT_EQ(app[0], 0x77);
  const std::vector<emu::IommuViolation> violations = machine_->iommu().Violations();
  ASSERT_EQ(violations.size(), 1u);
  EXPECT_EQ(violations[0].reason, "unmapped");
  EXPECT_EQ(violations[0].busAddress, iova);
}

TEST_F(DmaRules, CompleteDMAWithoutPreparationIsNotReady) {
  EXPECT_EQ(CompleteDma(), kIOReturnNotReady);
}

// ---- Wiring ----------------------------------------------------------------------------------

TEST_F(DmaRules, PrepareForDMAOfUnmappedClientMemoryIsCannotWire) {
  // A hole: 64 KiB just above Linux's lowest mappable address, which nothing maps unless asked
  // to with MAP_FIXED (a range unmapped by the test could be refilled by another thread).
  const uint64_t hole = 0x10000;
  EXPECT_EQ(static_cast<IOReturn>(
                Prepare(reinterpret_cast<void*>(hole), 65536, kClientInOut)[kPrepareStatus]),
            kIOReturnCannotWire);  // xnu wireVirtual: KERN_FAILURE from vm_map_create_upl
  EXPECT_EQ(machine_->iommu().LiveMappings(), 0u);
}

TEST_F(DmaRules, PrepareForDMAOfInaccessibleClientMemoryIsProtectionFailure) {
  AppPages pages(65536);
  const uint64_t address = pages.address();
  pages.Unmap();  // an inaccessible reservation: mapped, with no access
  EXPECT_EQ(static_cast<IOReturn>(
                Prepare(reinterpret_cast<void*>(address), 65536, kClientInOut)[kPrepareStatus]),
            KERN_PROTECTION_FAILURE);  // xnu vm_map_create_upl, passed through
  EXPECT_EQ(machine_->iommu().LiveMappings(), 0u);
}

TEST_F(DmaRules, PrepareForDMAOfReadOnlyAppMemoryForDeviceWritesIsProtectionFailure) {
  AppPages pages(65536, PROT_READ);
  ASSERT_NE(pages.data(), nullptr);
  // xnu vm_map_create_upl: KERN_PROTECTION_FAILURE, passed through to the dext.
  EXPECT_EQ(static_cast<IOReturn>(Prepare(pages.data(), pages.length(), kClientIn)[kPrepareStatus]),
            KERN_PROTECTION_FAILURE);
  EXPECT_EQ(
      static_cast<IOReturn>(Prepare(pages.data(), pages.length(), kClientInOut)[kPrepareStatus]),
      KERN_PROTECTION_FAILURE);
  // The device may still read it.
  EXPECT_EQ(
      static_cast<IOReturn>(Prepare(pages.data(), pages.length(), kClientOut)[kPrepareStatus]),
      kIOReturnSuccess);
}

// ---- Device access through the IOMMU ---------------------------------------------------------

TEST_F(DmaRules, DeviceDmaMovesAppBytesThroughThePreparedSegment) {
  constexpr size_t kLength = 65536 + 5;
  std::vector<uint8_t> app(kLength + 8, 0xee);
  uint8_t* start = app.data() + 3;  // misaligned on purpose
  for (size_t i = 0; i < kLength; ++i) start[i] = Pattern(11, i);
  std::vector<uint64_t> out = Prepare(start, kLength, kClientInOut);
  ASSERT_EQ(static_cast<IOReturn>(out[kPrepareStatus]), kIOReturnSuccess);
  ASSERT_EQ(out[kPrepareSegments], 1u);

  ASSERT_EQ(DeviceDma(probe::kDmaToDevice, 0, kLength), kIOReturnSuccess);
  for (size_t i = 0; i < kLength; ++i) ASSERT_EQ(device_->buffer()[i], Pattern(11, i)) << i;

  for (size_t i = 0; i < kLength; ++i) device_->buffer()[i] = Pattern(12, i);
  ASSERT_EQ(DeviceDma(probe::kDmaToHost, 0, kLength), kIOReturnSuccess);
  for (size_t i = 0; i < kLength; ++i) ASSERT_EQ(start[i], Pattern(12, i)) << i;
  EXPECT_EQ(app[2], 0xee);  // nothing outside the range
  EXPECT_EQ(start[kLength], 0xee);
}

TEST_F(FragmentingDmaRules, DeviceDmaWorksSegmentBySegment) {
  std::vector<uint8_t> app(3 * 4096 + 100);
  for (size_t i = 0; i < app.size(); ++i) app[i] = Pattern(13, i);
  std::vector<uint64_t> out = Prepare(app.data(), app.size(), kClientOut);
  ASSERT_EQ(static_cast<IOReturn>(out[kPrepareStatus]), kIOReturnSuccess);
  ASSERT_EQ(out[kPrepareBytes], app.size());
  ASSERT_GE(out[kPrepareSegments], 4u);
  // Read the first segment; its length is what is left of the first page.
  const uint64_t first = 4096 - (reinterpret_cast<uintptr_t>(app.data()) % 4096);
  ASSERT_EQ(DeviceDma(probe::kDmaToDevice, 0, first), kIOReturnSuccess);
  for (size_t i = 0; i < first; ++i) ASSERT_EQ(device_->buffer()[i], Pattern(13, i)) << i;
}

TEST_F(VtdDmaRules, DeviceWriteIntoMemoryPreparedOutIsRefusedAndRecorded) {
  expectIommuViolations_ = true;
  std::vector<uint8_t> app(8192, 0x42);
  std::vector<uint64_t> out = Prepare(app.data(), app.size(), kClientOut);
  ASSERT_EQ(static_cast<IOReturn>(out[kPrepareStatus]), kIOReturnSuccess);
  ASSERT_EQ(out[kPrepareFlags], uint64_t{kClientOut});
  std::memset(device_->buffer().data(), 0x99, app.size());
  EXPECT_EQ(DeviceDma(probe::kDmaToHost, 0, app.size()), kIOReturnNotPermitted);
  for (uint8_t b : app) ASSERT_EQ(b, 0x42);  // nothing written
  const std::vector<emu::IommuViolation> violations = machine_->iommu().Violations();
  ASSERT_EQ(violations.size(), 1u);
  EXPECT_EQ(violations[0].reason, "direction");
  EXPECT_EQ(violations[0].attempted, emu::DmaAccess::kDeviceWrite);
  EXPECT_EQ(violations[0].busAddress, out[kPrepareFirstAddress]);
}

TEST_F(VtdDmaRules, DeviceReadOfMemoryPreparedInIsRefusedAndRecorded) {
  expectIommuViolations_ = true;
  std::vector<uint8_t> app(8192);
  std::vector<uint64_t> out = Prepare(app.data(), app.size(), kClientIn);
  ASSERT_EQ(static_cast<IOReturn>(out[kPrepareStatus]), kIOReturnSuccess);
  EXPECT_EQ(DeviceDma(probe::kDmaToDevice, 0, app.size()), kIOReturnNotPermitted);
  const std::vector<emu::IommuViolation> violations = machine_->iommu().Violations();
  ASSERT_EQ(violations.size(), 1u);
  EXPECT_EQ(violations[0].reason, "direction");
  EXPECT_EQ(violations[0].attempted, emu::DmaAccess::kDeviceRead);
}

TEST_F(VtdDmaRules, DeviceAccessPastTheSegmentEndIsRefusedAndRecorded) {
  expectIommuViolations_ = true;
  std::vector<uint8_t> app(4096 + 8, 0x24);
  std::vector<uint64_t> out = Prepare(app.data(), 4096, kClientInOut);
  ASSERT_EQ(static_cast<IOReturn>(out[kPrepareStatus]), kIOReturnSuccess);
  const uint64_t iova = out[kPrepareFirstAddress];
  // Longer than the segment.
  EXPECT_EQ(DeviceDma(probe::kDmaToHost, 0, 4097), kIOReturnNotPermitted);
  // Just past it.
  EXPECT_EQ(DeviceDmaAt(probe::kDmaToDevice, iova + 4096, 1), kIOReturnNotPermitted);
  EXPECT_EQ(app[4096], 0x24);
  const std::vector<emu::IommuViolation> violations = machine_->iommu().Violations();
  ASSERT_EQ(violations.size(), 2u);
  EXPECT_EQ(violations[0].reason, "range crosses mapping end");
  EXPECT_EQ(violations[0].length, 4097u);
  // VT-d maps 4 KiB pages: the byte after the segment is in its last page unless the segment
  // ends on a page boundary (then it is in the unmapped guard page).
  EXPECT_EQ(violations[1].reason,
            (iova + 4096) % 4096 == 0 ? "unmapped" : "outside the prepared bytes");
  // The whole segment is fine.
  EXPECT_EQ(DeviceDma(probe::kDmaToHost, 0, 4096), kIOReturnSuccess);
}

// ---- IODMACommand::PerformOperation and GetPreparation (xnu IODMACommand.iig) -----------
// kSelPerformOperation: buffer A (byte i = i & 0xff) prepared for DMA, buffer B all 0x5A.

// kIODMACommandPerformOperationOption{Read,Write,Zero} as Apple's header has them.
constexpr uint64_t kPerformRead = 0x1, kPerformWrite = 0x2, kPerformZero = 0x4;
constexpr uint64_t kAInitial = 0x0706050403020100ull;
constexpr uint64_t kBInitial = 0x5A5A5A5A5A5A5A5Aull;

class PerformOperationRules : public DmaRules {
 protected:
  std::vector<uint64_t> Perform(uint64_t options, uint64_t dmaOffset, uint64_t length,
                                uint64_t dataOffset, bool withData) {
    std::vector<uint64_t> out(kPerformCount);
    EXPECT_EQ(Call(kSelPerformOperation, {options, dmaOffset, length, dataOffset, withData}, &out),
              kIOReturnSuccess);
    return out;
  }
};

TEST_F(PerformOperationRules, PerformOperationZeroIsOptionFour) {
  std::vector<uint64_t> p = Perform(kPerformZero, 2, 4, 0, false);
  EXPECT_EQ(static_cast<IOReturn>(p[kPerformStatus]), kIOReturnSuccess);
  EXPECT_EQ(p[kPerformA], 0x0706000000000100ull);  // bytes 2..5 cleared
  EXPECT_EQ(p[kPerformB], kBInitial);
}

TEST_F(PerformOperationRules, PerformOperationReadCopiesFromTheMappingIntoData) {
  std::vector<uint64_t> p = Perform(kPerformRead, 0, 8, 0, true);
  EXPECT_EQ(static_cast<IOReturn>(p[kPerformStatus]), kIOReturnSuccess);
  EXPECT_EQ(p[kPerformA], kAInitial);
  EXPECT_EQ(p[kPerformB], kAInitial);
}

TEST_F(PerformOperationRules, PerformOperationWriteCopiesDataIntoTheMapping) {
  std::vector<uint64_t> p = Perform(kPerformWrite, 4, 4, 0, true);
  EXPECT_EQ(static_cast<IOReturn>(p[kPerformStatus]), kIOReturnSuccess);
  EXPECT_EQ(p[kPerformA], 0x5A5A5A5A03020100ull);
  EXPECT_EQ(p[kPerformB], kBInitial);
}

TEST_F(PerformOperationRules, PerformOperationRefusesAnyOtherOptionValue) {
  // Combinations, undefined bits, none: refused, nothing copied (xnu checks the defined bits
  // first, then takes exactly one operation).
  for (uint64_t options : std::initializer_list<uint64_t>{0x0ull, kPerformRead | kPerformWrite,
                                                          kPerformRead | kPerformZero, 0x8ull,
                                                          0x100ull, kPerformZero | 0x10}) {
    SCOPED_TRACE(options);
    std::vector<uint64_t> p = Perform(options, 0, 8, 0, true);
    EXPECT_EQ(static_cast<IOReturn>(p[kPerformStatus]), kIOReturnBadArgument);
    EXPECT_EQ(p[kPerformA], kAInitial);
    EXPECT_EQ(p[kPerformB], kBInitial);
  }
}

TEST_F(PerformOperationRules, GetPreparationReturnsTheMemoryRetained) {
  std::vector<uint64_t> p = Perform(kPerformZero, 0, 1, 0, false);
  EXPECT_EQ(p[kPerformPreparationMatch], 1u);
  EXPECT_EQ(static_cast<int64_t>(p[kPerformRetainDelta]), 1);  // +1, the caller releases it
}

}  // namespace
}  // namespace fpgadext::conformance
