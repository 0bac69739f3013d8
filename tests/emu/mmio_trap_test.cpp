// Trap mappings of device memory cover whole pages of the emulated Mac; past the region's end in
// its last page no register answers (docs/emulation-memory-pci.md, hardware profile rows).
#include <DriverKit/IOLib.h>
#include <fpgadext/emu/pci_function.h>
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

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

// The handler sees every SIGSEGV of the process. One that is not an access to a trap mapping
// ends the process as it would without the emulation (the previous handler — a sanitizer's
// report — or the default action), from code that takes no lock and calls no sanitizer
// (docs/emulation-memory-pci.md, mmio_trap.cpp).
TEST(MmioTrapFaults, AFaultOutsideEveryTrapMappingEndsTheProcessAsWithoutTheEmulation) {
  if (!MmioTrapsSupported()) GTEST_SKIP() << "no trap mappings on this host";
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  Registers registers;
  void* base = MmioTrapMap(&registers, registers.Size(), false);  // the handler is installed
  ASSERT_NE(base, nullptr);
  void* guard = mmap(nullptr, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(guard, MAP_FAILED);
  EXPECT_DEATH(*static_cast<volatile uint32_t*>(guard) = 1, "");
  EXPECT_DEATH(kill(getpid(), SIGSEGV), "");  // sent, not a fault
  // The trap mapping still works in this process.
  EXPECT_EQ(*static_cast<volatile uint32_t*>(base), 0x11223344u);
  munmap(guard, 4096);
  MmioTrapUnmap(base);
}

}  // namespace
}  // namespace fpgadext::emu
