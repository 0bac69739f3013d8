// Rules of IOConnectCallMethod between an app and a dext user client
// (driverkit-semantics.md §1, §2), and the scenario that started the project.
#include <cstring>
#include <vector>

#include "harness.h"

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

// The seed problem: output ≤ 4096 arrives with both output fields NULL; > 4096 with a
// descriptor (§2.5).
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
    ASSERT_EQ(Call(kSelFillClientMemory,
                   {reinterpret_cast<uint64_t>(start), length, 9,
                    kClientInOut | kClientNoCopyOnWrite}),
              kIOReturnSuccess);
    for (size_t i = 0; i < length; ++i) ASSERT_EQ(start[i], Pattern(9, i)) << i;
  }
}

}  // namespace
}  // namespace fpgadext::conformance
