// Trap mappings of device memory cover whole pages of the emulated Mac; past the region's end in
// its last page no register answers (docs/emulation-memory-pci.md, hardware profile rows).
#include <DriverKit/IOLib.h>
#include <fpgadext/emu/pci_function.h>
#include <gtest/gtest.h>

#include <cstdint>

#include "../../emu/kernel/mmio_trap.h"

namespace fpgadext::emu {
namespace {

class Registers final : public MmioRegion {
 public:
  uint64_t Size() const override { return 256; }
  uint64_t Read(uint64_t offset, unsigned width) override { return 0x11223344u + offset; }
  void Write(uint64_t offset, unsigned width, uint64_t value) override { ++writes; }
  int writes = 0;
};

void ExpectPastTheEndAnswersNothing(uint64_t page) {
  const uint64_t saved = IOVMPageSize;
  IOVMPageSize = page;
  Registers registers;
  void* base = MmioTrapMap(&registers, registers.Size(), false);
  ASSERT_NE(base, nullptr);
  const auto address = reinterpret_cast<uintptr_t>(base);
  EXPECT_EQ(address % page, 0u);
  auto* bar = static_cast<volatile uint8_t*>(base);
  EXPECT_EQ(*reinterpret_cast<volatile uint32_t*>(bar + 4), 0x11223348u);  // a register
  EXPECT_EQ(*reinterpret_cast<volatile uint32_t*>(bar + 256), 0xffffffffu);
  EXPECT_EQ(*reinterpret_cast<volatile uint32_t*>(bar + page - 4), 0xffffffffu);
  *reinterpret_cast<volatile uint32_t*>(bar + 1024) = 7;  // dropped
  EXPECT_EQ(registers.writes, 0);
  *reinterpret_cast<volatile uint32_t*>(bar) = 7;
  EXPECT_EQ(registers.writes, 1);
  MmioTrapUnmap(base);
  IOVMPageSize = saved;
}

TEST(Profile, AppleSiliconBarMappingIsWhole16KiBPagesPastTheBarNothingAnswers) {
  if (!MmioTrapsSupported()) GTEST_SKIP() << "no trap mappings on this host";
  ExpectPastTheEndAnswersNothing(16384);
}

TEST(Profile, IntelBarMappingIsWhole4KiBPagesPastTheBarNothingAnswers) {
  if (!MmioTrapsSupported()) GTEST_SKIP() << "no trap mappings on this host";
  ExpectPastTheEndAnswersNothing(4096);
}

}  // namespace
}  // namespace fpgadext::emu
