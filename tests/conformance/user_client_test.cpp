// Rules of IOConnectCallMethod between an app and a dext user client
// (driverkit-semantics.md §1, §2), and the scenario that started the project.
#include <mach/mach.h>  // MIG_ARRAY_TOO_LARGE, vm_deallocate
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "harness.h"
#include "process_memory.h"

namespace fpgadext::conformance {
namespace {

using namespace ::conformance;

class UserClientRules : public ConformanceTest {
 protected:
  // What the dext saw for a call with an input struct of `inSize` bytes and an output
  // capacity of `outCapacity` bytes.
  std::vector<uint64_t> Inspect(size_t inSize, size_t outCapacity) {
    std::vector<uint8_t> input(inSize + 1, 0x5a), output(outCapacity + 1);
    std::vector<uint64_t> out(kInspectCount);
    size_t capacity = outCapacity;
    EXPECT_EQ(Call(kSelInspect, {}, &out, inSize ? input.data() : nullptr, inSize,
                   outCapacity ? output.data() : nullptr, outCapacity ? &capacity : nullptr),
              kIOReturnSuccess);
    return out;
  }
};

// The ≤ 4096-byte output case of the IOKit→DriverKit question (docs/porting-from-iokit.md):
// output ≤ 4096 arrives with both output fields NULL; > 4096 with a descriptor (§2.5).
TEST_F(UserClientRules, InbandOutputOf4096ReachesTheDextWithBothOutputFieldsNull) {
  std::vector<uint64_t> seen = Inspect(0, 4096);
  EXPECT_EQ(seen[kInspectFlags] & (kHasStructureOutput | kHasStructureOutputDescriptor), 0u);
  EXPECT_EQ(seen[kInspectOutputMaximumSize], 4096u);
}

TEST_F(UserClientRules, OutputOf4097ReachesTheDextAsADescriptor) {
  std::vector<uint64_t> seen = Inspect(0, 4097);
  EXPECT_EQ(seen[kInspectFlags] & (kHasStructureOutput | kHasStructureOutputDescriptor),
            kHasStructureOutputDescriptor);
  EXPECT_EQ(seen[kInspectOutputMaximumSize], 4097u);
}

TEST_F(UserClientRules, NaiveHandlerFindsNothingToWriteForInbandOutput) {
  std::vector<uint8_t> buffer(4096, 0xee);
  size_t size = buffer.size();
  EXPECT_EQ(Call(kSelNaiveOutput, {}, nullptr, nullptr, 0, buffer.data(), &size),
            kIOReturnNotReady);
  EXPECT_EQ(buffer[0], 0xee);  // untouched
  std::vector<uint8_t> big(4097, 0xee);
  size = big.size();
  ASSERT_EQ(Call(kSelNaiveOutput, {}, nullptr, nullptr, 0, big.data(), &size), kIOReturnSuccess);
  EXPECT_EQ(big[4096], Pattern(1, 4096));
}

TEST_F(UserClientRules, CorrectedHandlerReturnsTheRightBytesForEverySize) {
  for (size_t length : {0ul, 1ul, 4095ul, 4096ul, 4097ul, 1ul << 20}) {
    SCOPED_TRACE(length);
    std::vector<uint8_t> buffer(length + 16, 0xee);
    size_t size = length;
    ASSERT_EQ(Call(kSelCorrectedOutput, {length}, nullptr, nullptr, 0,
                   length ? buffer.data() : nullptr, &size),
              kIOReturnSuccess);
    EXPECT_EQ(size, length);
    for (size_t i = 0; i < length; ++i) ASSERT_EQ(buffer[i], Pattern(2, i)) << i;
    EXPECT_EQ(buffer[length], 0xee);  // nothing past the end
  }
}

TEST_F(UserClientRules, CreateMemoryDescriptorFromClientReachesAppMemoryOfAnySize) {
  for (size_t length : {0ul, 1ul, 4095ul, 4096ul, 4097ul, 1ul << 20}) {
    SCOPED_TRACE(length);
    std::vector<uint8_t> buffer(length + 3, 0xee);
    uint8_t* start = buffer.data() + 3;  // misaligned on purpose
    ASSERT_EQ(Call(kSelFillClientMemory, {reinterpret_cast<uint64_t>(start), length, 9,
                                          kClientInOut | kClientNoCopyOnWrite}),
              kIOReturnSuccess);
    for (size_t i = 0; i < length; ++i) ASSERT_EQ(start[i], Pattern(9, i)) << i;
  }
}

// ---------------------------------------------------------------------------------------------
// §1.1–1.3: IOUserClientMethodArguments and the dispatch-table checks of
// IOUserClient::ExternalMethod. kSelTableChecked's entry: no completion, 2 scalars in, 8 B in,
// 1 scalar out, 16 B out.

class DispatchRules : public UserClientRules {
 protected:
  kern_return_t Checked(uint32_t scalarsIn, size_t structIn, uint32_t scalarsOut, size_t structOut,
                        uint64_t* sum = nullptr) {
    uint64_t in[16] = {2, 3}, out[16] = {};
    std::vector<uint8_t> input(structIn + 1), output(structOut + 1);
    uint32_t outCount = scalarsOut;
    size_t outSize = structOut;
    kern_return_t ret =
        IOConnectCallMethod(connection_, kSelTableChecked, in, scalarsIn, input.data(), structIn,
                            out, &outCount, output.data(), &outSize);
    if (sum) *sum = out[0];
    return ret;
  }
};

TEST_F(DispatchRules, DispatchChecksAllMatchingRunsTheFunction) {
  uint64_t sum = 0;
  ASSERT_EQ(Checked(2, 8, 1, 16, &sum), kIOReturnSuccess);
  EXPECT_EQ(sum, 5u);
}

TEST_F(DispatchRules, DispatchCheckScalarInputCountMismatchIsBadArgument) {
  EXPECT_EQ(Checked(1, 8, 1, 16), kIOReturnBadArgument);
  EXPECT_EQ(Checked(3, 8, 1, 16), kIOReturnBadArgument);
}

TEST_F(DispatchRules, DispatchCheckStructureInputSizeMismatchIsBadArgumentForInbandOSData) {
  EXPECT_EQ(Checked(2, 7, 1, 16), kIOReturnBadArgument);
  EXPECT_EQ(Checked(2, 9, 1, 16), kIOReturnBadArgument);
  EXPECT_EQ(Checked(2, 0, 1, 16), kIOReturnBadArgument);  // no input: length 0
}

TEST_F(DispatchRules, DispatchCheckStructureInputSizeComparesTheDescriptorLengthForOOLInput) {
  // kSelTableLargeInput checks only the input size: exactly 8192, which arrives as a descriptor.
  std::vector<uint8_t> input(8193, 7);
  for (size_t size : {8191ul, 8193ul, 4096ul, 0ul}) {
    SCOPED_TRACE(size);
    std::vector<uint64_t> out(1);
    EXPECT_EQ(Call(kSelTableLargeInput, {}, &out, size ? input.data() : nullptr, size),
              kIOReturnBadArgument);
  }
  std::vector<uint64_t> out(1);
  ASSERT_EQ(Call(kSelTableLargeInput, {}, &out, input.data(), 8192), kIOReturnSuccess);
  EXPECT_EQ(out[0], 8192u);
}

TEST_F(DispatchRules, DispatchCheckScalarOutputCountComparesTheCallersCapacity) {
  EXPECT_EQ(Checked(2, 8, 0, 16), kIOReturnBadArgument);
  EXPECT_EQ(Checked(2, 8, 2, 16), kIOReturnBadArgument);  // the function writes only 1
  EXPECT_EQ(Checked(2, 8, 1, 16), kIOReturnSuccess);
}

TEST_F(DispatchRules, DispatchCheckStructureOutputSizeComparesTheCallersCapacity) {
  EXPECT_EQ(Checked(2, 8, 1, 15), kIOReturnBadArgument);
  EXPECT_EQ(Checked(2, 8, 1, 17), kIOReturnBadArgument);
  EXPECT_EQ(Checked(2, 8, 1, 0), kIOReturnBadArgument);
}

TEST_F(DispatchRules, DispatchCheckStructureOutputSizeIsNotTheProducedSize) {
  // kSelTableOutputSize: checkStructureOutputSize 16, the function returns 4 bytes.
  uint8_t buffer[16] = {};
  size_t size = 4;  // exactly what it produces: still a mismatch with 16
  EXPECT_EQ(Call(kSelTableOutputSize, {}, nullptr, nullptr, 0, buffer, &size),
            kIOReturnBadArgument);
  EXPECT_EQ(size, 4u);
  size = sizeof buffer;
  ASSERT_EQ(Call(kSelTableOutputSize, {}, nullptr, nullptr, 0, buffer, &size), kIOReturnSuccess);
  EXPECT_EQ(size, 4u);
  EXPECT_EQ(std::memcmp(buffer, "abcd", 4), 0);
}

TEST_F(DispatchRules, DispatchCheckMinusOneIsDontCare) {
  // kSelTableNullFunction: completion must be absent, everything else is -1U; every shape of
  // call passes the checks and reaches the NULL function.
  std::vector<uint8_t> big(8192);
  uint8_t small[16];
  size_t size = sizeof small;
  std::vector<uint64_t> out(5);
  EXPECT_EQ(Call(kSelTableNullFunction, {}, nullptr), kIOReturnNoCompletion);
  EXPECT_EQ(Call(kSelTableNullFunction, {1, 2, 3}, &out, small, 3, small, &size),
            kIOReturnNoCompletion);
  size = big.size();
  EXPECT_EQ(Call(kSelTableNullFunction, {1}, nullptr, big.data(), big.size(), big.data(), &size),
            kIOReturnNoCompletion);
}

TEST_F(DispatchRules, DispatchEntryWithNullFunctionReturnsNoCompletion) {
  EXPECT_EQ(Call(kSelTableNullFunction, {}), kIOReturnNoCompletion);
}

TEST_F(DispatchRules, SuperExternalMethodWithoutDispatchIsUnsupported) {
  EXPECT_EQ(Call(kSelSuperNoDispatch, {}), kIOReturnUnsupported);
}

TEST_F(DispatchRules, UnknownSelectorIsBadArgument) {
  for (uint32_t selector : {23u, 39u, 1000u, 0xffffffffu}) {
    SCOPED_TRACE(selector);
    EXPECT_EQ(Call(selector, {}), kIOReturnBadArgument);
  }
}

TEST_F(DispatchRules, ExternalMethodRunsOnTheUserClientsDefaultQueue) {
  EXPECT_EQ(Inspect(0, 0)[kInspectOnDefaultQueue], 1u);
}

TEST_F(DispatchRules, ExternalMethodArgumentsVersionIs2) {
  EXPECT_EQ(Inspect(0, 0)[kInspectVersion], 2u);
}

// ---------------------------------------------------------------------------------------------
// §2.1: IOKitLib's marshalling.

TEST_F(UserClientRules, InputOf4096IsInbandAsOSData) {
  std::vector<uint64_t> seen = Inspect(4096, 0);
  EXPECT_EQ(seen[kInspectFlags] & (kHasStructureInput | kHasStructureInputDescriptor),
            kHasStructureInput);
  EXPECT_EQ(seen[kInspectInputLength], 4096u);
}

TEST_F(UserClientRules, InputOf4097IsOutOfLineAsADescriptor) {
  std::vector<uint64_t> seen = Inspect(4097, 0);
  EXPECT_EQ(seen[kInspectFlags] & (kHasStructureInput | kHasStructureInputDescriptor),
            kHasStructureInputDescriptor);
  EXPECT_EQ(seen[kInspectInputLength], 4097u);
}

TEST_F(UserClientRules, NoInputStructGivesNeitherOSDataNorDescriptor) {
  std::vector<uint64_t> seen = Inspect(0, 0);
  EXPECT_EQ(seen[kInspectFlags] & (kHasStructureInput | kHasStructureInputDescriptor), 0u);
  EXPECT_EQ(seen[kInspectInputLength], 0u);
}

TEST_F(UserClientRules, InputAndOutputPathsAreDecidedIndependently) {
  constexpr uint64_t kMask = kHasStructureInput | kHasStructureInputDescriptor |
                             kHasStructureOutputDescriptor | kHasStructureOutput;
  EXPECT_EQ(Inspect(4097, 16)[kInspectFlags] & kMask, kHasStructureInputDescriptor);
  EXPECT_EQ(Inspect(16, 4097)[kInspectFlags] & kMask,
            kHasStructureInput | kHasStructureOutputDescriptor);
  EXPECT_EQ(Inspect(4097, 4097)[kInspectFlags] & kMask,
            kHasStructureInputDescriptor | kHasStructureOutputDescriptor);
  EXPECT_EQ(Inspect(16, 16)[kInspectFlags] & kMask, kHasStructureInput);
}

TEST_F(UserClientRules, MoreThan16ScalarInputsIsMigArrayTooLargeFromTheAppSide) {
  std::vector<uint64_t> in(17, 1), out(kInspectCount);
  EXPECT_EQ(Call(kSelInspect, in, &out), MIG_ARRAY_TOO_LARGE);
  in.resize(16);
  ASSERT_EQ(Call(kSelInspect, in, &out), kIOReturnSuccess);
  EXPECT_EQ(out[kInspectScalarInputCount], 16u);
}

TEST_F(UserClientRules, ScalarOutputCapacityOver16IsClampedTo16) {
  uint64_t out[20];
  std::memset(out, 0xab, sizeof out);
  uint32_t count = 20;
  ASSERT_EQ(IOConnectCallMethod(connection_, kSelInspect, nullptr, 0, nullptr, 0, out, &count,
                                nullptr, nullptr),
            kIOReturnSuccess);
  EXPECT_EQ(out[kInspectScalarOutputCount], 16u);
  EXPECT_EQ(count, static_cast<uint32_t>(kInspectCount));
  for (int i = 16; i < 20; ++i) EXPECT_EQ(out[i], 0xababababababababull) << i;
}

TEST_F(UserClientRules, DextCanShrinkButNeverGrowTheScalarOutputCount) {
  // kSelScalarEcho: out = in, scalarOutputCount = in[0].
  std::vector<uint64_t> out(4);
  ASSERT_EQ(Call(kSelScalarEcho, {2, 11, 12, 13}, &out), kIOReturnSuccess);
  EXPECT_EQ(out, (std::vector<uint64_t>{2, 11}));
  out.assign(4, 0);
  ASSERT_EQ(Call(kSelScalarEcho, {9, 11, 12, 13, 14, 15}, &out), kIOReturnSuccess);
  EXPECT_EQ(out, (std::vector<uint64_t>{9, 11, 12, 13}));
}

TEST_F(UserClientRules, InbandOutputCountIsWrittenBackWithTheOSDataLength) {
  std::vector<uint8_t> buffer(100, 0xee);
  size_t size = buffer.size();
  ASSERT_EQ(Call(kSelCorrectedOutput, {10}, nullptr, nullptr, 0, buffer.data(), &size),
            kIOReturnSuccess);
  EXPECT_EQ(size, 10u);
  for (size_t i = 0; i < 10; ++i) EXPECT_EQ(buffer[i], Pattern(2, i)) << i;
  EXPECT_EQ(buffer[10], 0xee);
}

TEST_F(UserClientRules, OutOfLineOutputCountKeepsTheCallersValue) {
  std::vector<uint8_t> buffer(8000, 0xee);
  size_t size = buffer.size();
  ASSERT_EQ(Call(kSelCorrectedOutput, {5000}, nullptr, nullptr, 0, buffer.data(), &size),
            kIOReturnSuccess);
  EXPECT_EQ(size, 8000u);  // not the 5000 bytes written
  EXPECT_EQ(buffer[4999], Pattern(2, 4999));
  EXPECT_EQ(buffer[5000], 0xee);
}

TEST_F(UserClientRules, VariableSizeOutputHandsBackAPointerAndSizeFreedWithVmDeallocate) {
  void* result = nullptr;
  size_t size = kIOConnectMethodVarOutputSize;
  std::vector<uint64_t> seen(kInspectCount);
  ASSERT_EQ(Call(kSelInspect, {}, &seen, nullptr, 0, &result, &size), kIOReturnSuccess);
  EXPECT_EQ(seen[kInspectOutputMaximumSize], 0xffffffffu);
  EXPECT_EQ(seen[kInspectFlags] & (kHasStructureOutput | kHasStructureOutputDescriptor), 0u);
  EXPECT_EQ(size, 0u);  // the dext set no structureOutput

  size = kIOConnectMethodVarOutputSize;
  ASSERT_EQ(Call(kSelCorrectedOutput, {10000}, nullptr, nullptr, 0, &result, &size),
            kIOReturnSuccess);
  ASSERT_NE(result, nullptr);
  ASSERT_EQ(size, 10000u);
  const auto* bytes = static_cast<const uint8_t*>(result);
  for (size_t i = 0; i < size; ++i) ASSERT_EQ(bytes[i], Pattern(2, i)) << i;
  EXPECT_EQ(vm_deallocate(mach_task_self(), reinterpret_cast<vm_address_t>(result), size),
            KERN_SUCCESS);
}

// ---------------------------------------------------------------------------------------------
// §2.3: what the kernel does with the dext's outputs.

TEST_F(UserClientRules, OSDataLongerThanTheInbandCapacityIsBadArgumentAndNothingIsCopied) {
  std::vector<uint8_t> buffer(32, 0xee);
  size_t size = 16;
  std::vector<uint64_t> out{0x77};
  EXPECT_EQ(Call(kSelOSDataOfLength, {17}, &out, nullptr, 0, buffer.data(), &size),
            kIOReturnBadArgument);
  EXPECT_EQ(size, 16u);
  EXPECT_EQ(out, (std::vector<uint64_t>{0x77}));
  for (uint8_t b : buffer) ASSERT_EQ(b, 0xee);
  // Exactly the capacity fits.
  ASSERT_EQ(Call(kSelOSDataOfLength, {16}, nullptr, nullptr, 0, buffer.data(), &size),
            kIOReturnSuccess);
  EXPECT_EQ(size, 16u);
  for (size_t i = 0; i < 16; ++i) EXPECT_EQ(buffer[i], Pattern(3, i)) << i;
  EXPECT_EQ(buffer[16], 0xee);
}

TEST_F(UserClientRules, StructureOutputSetWhileADescriptorWasPassedIsBadArgument) {
  std::vector<uint8_t> buffer(5000, 0xee);
  size_t size = buffer.size();
  EXPECT_EQ(Call(kSelOSDataOfLength, {4}, nullptr, nullptr, 0, buffer.data(), &size),
            kIOReturnBadArgument);
  EXPECT_EQ(size, 5000u);
  for (uint8_t b : buffer) ASSERT_EQ(b, 0xee);
}

TEST_F(UserClientRules, OnErrorNoOutputIsDeliveredAndCountsKeepTheCallersValues) {
  // kSelFailAfterOutput writes every scalar output and an OSData, then fails.
  uint64_t out[4] = {0x11, 0x11, 0x11, 0x11};
  uint32_t count = 3;
  uint8_t buffer[16];
  std::memset(buffer, 0xee, sizeof buffer);
  size_t size = sizeof buffer;
  EXPECT_EQ(IOConnectCallMethod(connection_, kSelFailAfterOutput, nullptr, 0, nullptr, 0, out,
                                &count, buffer, &size),
            kIOReturnNotPermitted);
  EXPECT_EQ(count, 3u);
  EXPECT_EQ(size, sizeof buffer);
  for (uint64_t v : out) EXPECT_EQ(v, 0x11u);
  for (uint8_t b : buffer) EXPECT_EQ(b, 0xee);
}

TEST_F(UserClientRules, StructureOutputMaximumSizeFollowsTheOutputPath) {
  EXPECT_EQ(Inspect(0, 100)[kInspectOutputMaximumSize], 100u);    // in-band: the capacity
  EXPECT_EQ(Inspect(0, 4096)[kInspectOutputMaximumSize], 4096u);  // still in-band
  EXPECT_EQ(Inspect(0, 9000)[kInspectOutputMaximumSize], 9000u);  // the descriptor's length
  EXPECT_EQ(Inspect(0, 0)[kInspectOutputMaximumSize], 0u);        // NULL count
  std::vector<uint64_t> seen(kInspectCount);
  uint8_t buffer[1];
  size_t zero = 0;  // a zero capacity is in-band too
  ASSERT_EQ(Call(kSelInspect, {}, &seen, nullptr, 0, buffer, &zero), kIOReturnSuccess);
  EXPECT_EQ(seen[kInspectOutputMaximumSize], 0u);
  // Variable-size output: 0xffffffff (VariableSizeOutputHandsBackAPointerAndSize...).
}

TEST_F(UserClientRules, ScalarOutputsArriveZeroedToTheCallersCount) {
  // The echo copies one input and reports 5 outputs: the other 4 are what the dext found.
  uint64_t out[5] = {~0ull, ~0ull, ~0ull, ~0ull, ~0ull};
  uint32_t count = 5;
  const uint64_t in[1] = {5};
  ASSERT_EQ(IOConnectCallScalarMethod(connection_, kSelScalarEcho, in, 1, out, &count),
            kIOReturnSuccess);
  ASSERT_EQ(count, 5u);
  EXPECT_EQ(out[0], 5u);
  for (int i = 1; i < 5; ++i) EXPECT_EQ(out[i], 0u) << i;
}

// ---------------------------------------------------------------------------------------------
// §3.1: CreateMemoryDescriptorFromClient called by the user client.

class ClientMemoryRules : public UserClientRules {
 protected:
  std::vector<uint64_t> ClientMemory(const void* address, uint64_t length, uint64_t options,
                                     uint64_t segments) {
    std::vector<uint64_t> out(kClientMemoryCount);
    EXPECT_EQ(Call(kSelClientMemory,
                   {reinterpret_cast<uint64_t>(address), length, options, segments}, &out),
              kIOReturnSuccess);
    return out;
  }
};

TEST_F(ClientMemoryRules, CreateMemoryDescriptorFromClientWithMoreThan32SegmentsIsOverrun) {
  std::vector<uint8_t> buffer(33 * 64, 0x42);
  std::vector<uint64_t> out = ClientMemory(buffer.data(), buffer.size(), kClientInOut, 33);
  EXPECT_EQ(static_cast<IOReturn>(out[kClientMemoryCreateStatus]), kIOReturnOverrun);
  out = ClientMemory(buffer.data(), buffer.size(), kClientOut, 32);
  EXPECT_EQ(static_cast<IOReturn>(out[kClientMemoryCreateStatus]), kIOReturnSuccess);
  EXPECT_EQ(static_cast<IOReturn>(out[kClientMemoryMapStatus]), kIOReturnSuccess);
  EXPECT_EQ(out[kClientMemoryFirstByte], 0x42u);
}

TEST_F(ClientMemoryRules, CreateMemoryDescriptorFromClientWithUnknownOptionBitsIsBadArgument) {
  uint8_t buffer[64] = {};
  for (uint64_t options : {0x4ull, 0x8ull, 0x20ull, 0x100ull, kClientInOut | 0x10000ull}) {
    SCOPED_TRACE(options);
    EXPECT_EQ(static_cast<IOReturn>(
                  ClientMemory(buffer, sizeof buffer, options, 1)[kClientMemoryCreateStatus]),
              kIOReturnBadArgument);
  }
  EXPECT_EQ(
      static_cast<IOReturn>(ClientMemory(buffer, sizeof buffer, kClientInOut | kClientNoCopyOnWrite,
                                         1)[kClientMemoryCreateStatus]),
      kIOReturnSuccess);
}

TEST_F(ClientMemoryRules, CreateMemoryDescriptorFromClientValidatesRangesOnlyWhenMapping) {
  const long page = sysconf(_SC_PAGESIZE);
  void* hole = mmap(nullptr, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(hole, MAP_FAILED);
  ASSERT_TRUE(ReserveInaccessible(hole, 2 * page));  // nothing the dext may use is there now
  for (uint64_t options : {uint64_t{kClientOut}, uint64_t{kClientInOut | kClientNoCopyOnWrite}}) {
    SCOPED_TRACE(options);
    std::vector<uint64_t> out = ClientMemory(hole, 2 * page, options, 1);
    EXPECT_EQ(static_cast<IOReturn>(out[kClientMemoryCreateStatus]), kIOReturnSuccess);
    EXPECT_EQ(static_cast<IOReturn>(out[kClientMemoryMapStatus]), kIOReturnError);
  }
}

TEST_F(ClientMemoryRules, ClientMemoryIsCopyOnWriteByDefault) {
  // A writable mapping of copy-on-write client memory is a snapshot: the dext's writes stay in
  // it. kIOMemoryDisableCopyOnWrite gives a live view
  // (CreateMemoryDescriptorFromClientReachesAppMemoryOfAnySize).
  std::vector<uint8_t> buffer(8192, 0xee);
  ASSERT_EQ(Call(kSelFillClientMemory,
                 {reinterpret_cast<uint64_t>(buffer.data()), buffer.size(), 4, kClientInOut}),
            kIOReturnSuccess);
  for (uint8_t b : buffer) ASSERT_EQ(b, 0xee);
  ASSERT_EQ(Call(kSelFillClientMemory, {reinterpret_cast<uint64_t>(buffer.data()), buffer.size(), 4,
                                        kClientInOut | kClientNoCopyOnWrite}),
            kIOReturnSuccess);
  for (size_t i = 0; i < buffer.size(); ++i) ASSERT_EQ(buffer[i], Pattern(4, i)) << i;
}

// ---------------------------------------------------------------------------------------------
// §2.2, §3.2, §7.2.6: the structure input descriptor is read-only to the dext and a snapshot.

// The permissions /proc/self/maps lists for the mapping holding `address` ("" if none).
std::string Protection(uint64_t address) {
  FILE* maps = std::fopen("/proc/self/maps", "r");
  if (maps == nullptr) return "";
  char line[512];
  std::string perms;
  while (std::fgets(line, sizeof line, maps) != nullptr) {
    unsigned long long lo = 0, hi = 0;
    char p[8] = {};
    if (std::sscanf(line, "%llx-%llx %7s", &lo, &hi, p) == 3 && lo <= address && address < hi) {
      perms = p;
      break;
    }
  }
  std::fclose(maps);
  return perms;
}

TEST_F(UserClientRules, InputDescriptorMappingIsReadOnlyToTheDext) {
  std::vector<uint8_t> input(8192, 0x3c);
  std::vector<uint64_t> out(2);
  ASSERT_EQ(Call(kSelMapInput, {}, &out, input.data(), input.size()), kIOReturnSuccess);
  EXPECT_EQ(out[1], 0x3cu);
  const std::string perms = Protection(out[0]);
  ASSERT_FALSE(perms.empty()) << "the dext's mapping is not in /proc/self/maps";
  EXPECT_EQ(perms[0], 'r');
  EXPECT_EQ(perms[1], '-') << "writable: " << perms;
  EXPECT_EQ(Call(kSelReleaseHeld, {}), kIOReturnSuccess);
}

TEST_F(UserClientRules, InputDescriptorMappingIsASnapshot) {
  std::vector<uint8_t> input(8192, 0x3c);
  std::vector<uint64_t> out(2);
  ASSERT_EQ(Call(kSelMapInput, {}, &out, input.data(), input.size()), kIOReturnSuccess);
  // The dext holds the map until kSelReleaseHeld; the app changes its buffer meanwhile.
  std::memset(input.data(), 0x99, input.size());
  const auto* mapped = reinterpret_cast<const uint8_t*>(out[0]);
  EXPECT_EQ(mapped[0], 0x3c);
  EXPECT_EQ(mapped[8191], 0x3c);
  EXPECT_EQ(Call(kSelReleaseHeld, {}), kIOReturnSuccess);
}

// ---------------------------------------------------------------------------------------------
// Connections and bad input: errors, never crashes.

TEST_F(UserClientRules, IOServiceOpenOnAReleasedHandleIsInvalidDest) {
  io_service_t gone = service_;
  ASSERT_EQ(IOObjectRelease(service_), kIOReturnSuccess);  // its last reference
  service_ = IO_OBJECT_NULL;
  io_connect_t connection = IO_OBJECT_NULL;
  EXPECT_EQ(IOServiceOpen(gone, mach_task_self(), 0, &connection), MACH_SEND_INVALID_DEST);
  EXPECT_EQ(connection, IO_OBJECT_NULL);
  EXPECT_EQ(IOServiceOpen(0xdead0, mach_task_self(), 0, &connection), MACH_SEND_INVALID_DEST);
}

TEST_F(UserClientRules, IOServiceOpenOnANonServiceHandleIsBadArgument) {
  // A live port of another kind fails is_io_service_open_extended's CHECK(IOService, ...).
  io_iterator_t iterator = IO_OBJECT_NULL;
  ASSERT_EQ(IOServiceGetMatchingServices(kIOMainPortDefault,
                                         IOServiceNameMatching("ConformanceDriver"), &iterator),
            kIOReturnSuccess);
  io_connect_t connection = IO_OBJECT_NULL;
  EXPECT_EQ(IOServiceOpen(iterator, mach_task_self(), 0, &connection), kIOReturnBadArgument);
  EXPECT_EQ(IOServiceOpen(connection_, mach_task_self(), 0, &connection), kIOReturnBadArgument);
  EXPECT_EQ(connection, IO_OBJECT_NULL);
  IOObjectRelease(iterator);
}

TEST_F(UserClientRules, IOServiceOpenOfThePciNubIsUnsupported) {
  io_service_t nub =
      IOServiceGetMatchingService(kIOMainPortDefault, IOServiceMatching("IOPCIDevice"));
  ASSERT_NE(nub, IO_OBJECT_NULL);
  io_connect_t connection = IO_OBJECT_NULL;
  EXPECT_EQ(IOServiceOpen(nub, mach_task_self(), 0, &connection), kIOReturnUnsupported);
  IOObjectRelease(nub);
}

TEST_F(UserClientRules, CallsOnAClosedConnectionAreInvalidDest) {
  ASSERT_EQ(IOServiceClose(connection_), kIOReturnSuccess);
  const io_connect_t closed = connection_;
  connection_ = IO_OBJECT_NULL;
  uint64_t out[kInspectCount];
  uint32_t count = kInspectCount;
  EXPECT_EQ(IOConnectCallScalarMethod(closed, kSelInspect, nullptr, 0, out, &count),
            MACH_SEND_INVALID_DEST);
  EXPECT_EQ(IOServiceClose(closed), MACH_SEND_INVALID_DEST);
}

TEST_F(UserClientRules, CallOnANonConnectionHandleIsBadArgument) {
  uint64_t out[kInspectCount];
  uint32_t count = kInspectCount;
  EXPECT_EQ(IOConnectCallScalarMethod(service_, kSelInspect, nullptr, 0, out, &count),
            kIOReturnBadArgument);
}

TEST_F(UserClientRules, NullPointersWithNonZeroCountsAreBadArgument) {
  uint64_t scalars[4] = {};
  uint32_t count = 4;
  uint8_t bytes[16] = {};
  size_t size = 16;
  EXPECT_EQ(IOConnectCallMethod(connection_, kSelScalarEcho, nullptr, 2, nullptr, 0, nullptr,
                                nullptr, nullptr, nullptr),
            kIOReturnBadArgument);
  EXPECT_EQ(IOConnectCallMethod(connection_, kSelInspect, nullptr, 0, nullptr, 8, nullptr, nullptr,
                                nullptr, nullptr),
            kIOReturnBadArgument);
  EXPECT_EQ(IOConnectCallMethod(connection_, kSelInspect, nullptr, 0, nullptr, 8192, nullptr,
                                nullptr, nullptr, nullptr),
            kIOReturnBadArgument);
  EXPECT_EQ(IOConnectCallMethod(connection_, kSelScalarEcho, scalars, 1, nullptr, 0, nullptr,
                                &count, nullptr, nullptr),
            kIOReturnBadArgument);
  EXPECT_EQ(count, 4u);
  EXPECT_EQ(IOConnectCallMethod(connection_, kSelCorrectedOutput, scalars, 1, nullptr, 0, nullptr,
                                nullptr, nullptr, &size),
            kIOReturnBadArgument);
  size = 8192;
  EXPECT_EQ(IOConnectCallMethod(connection_, kSelCorrectedOutput, scalars, 1, nullptr, 0, nullptr,
                                nullptr, nullptr, &size),
            kIOReturnBadArgument);
  size = kIOConnectMethodVarOutputSize;
  EXPECT_EQ(IOConnectCallMethod(connection_, kSelCorrectedOutput, scalars, 1, nullptr, 0, nullptr,
                                nullptr, nullptr, &size),
            kIOReturnBadArgument);
  EXPECT_EQ(IOServiceOpen(service_, mach_task_self(), 0, nullptr), kIOReturnBadArgument);
  // NULL with a zero count is fine.
  size = 0;
  EXPECT_EQ(IOConnectCallMethod(connection_, kSelCorrectedOutput, scalars, 1, nullptr, 0, nullptr,
                                nullptr, nullptr, &size),
            kIOReturnSuccess);
  (void)bytes;
}

TEST_F(UserClientRules, ASecondConnectionWorksIndependentlyOfTheFirst) {
  io_connect_t second = IO_OBJECT_NULL;
  ASSERT_EQ(IOServiceOpen(service_, mach_task_self(), 0, &second), kIOReturnSuccess);
  ASSERT_NE(second, connection_);
  uint64_t in[2] = {2, 3}, out[1] = {};
  uint32_t count = 1;
  // An error on the second connection leaves the first alone, and the other way round.
  EXPECT_EQ(IOConnectCallScalarMethod(second, 1000, nullptr, 0, nullptr, nullptr),
            kIOReturnBadArgument);
  std::vector<uint64_t> sum(1);
  uint8_t input[8] = {}, output[16];
  size_t size = sizeof output;
  ASSERT_EQ(Call(kSelTableChecked, {2, 3}, &sum, input, sizeof input, output, &size),
            kIOReturnSuccess);
  EXPECT_EQ(sum[0], 5u);
  EXPECT_EQ(Call(kSelTableChecked, {2}, &sum), kIOReturnBadArgument);
  size = sizeof output;
  ASSERT_EQ(IOConnectCallMethod(second, kSelTableChecked, in, 2, input, sizeof input, out, &count,
                                output, &size),
            kIOReturnSuccess);
  EXPECT_EQ(out[0], 5u);
  // Closing the second does not close the first.
  ASSERT_EQ(IOServiceClose(second), kIOReturnSuccess);
  EXPECT_EQ(Inspect(0, 0)[kInspectVersion], 2u);
}

}  // namespace
}  // namespace fpgadext::conformance
