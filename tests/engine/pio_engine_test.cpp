// PioEngine + TransferPlanner against models/bram: CPU copies through the mapped BAR window.
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "engine_harness.h"
#include "models/bram/bram_model.h"
#include "models/pci/config_space.h"
#include "pio/pio_engine.h"

namespace fpgadext::engine::test {
namespace {

using emu::DmaAccess;
constexpr Direction kH2c = Direction::kHostToCard;
constexpr Direction kC2h = Direction::kCardToHost;

struct PioBench {
  PioBench() {
    model.ConfigWrite(models::pci::kCommand, 2, models::pci::kCommandMemorySpace);
    window = model.Bar(0)->DirectMemory();
    size = model.Bar(0)->Size();
  }
  static models::BramModel::Config Config() {
    models::BramModel::Config c;
    c.memorySize = 256 * 1024;
    return c;
  }
  // Unused by PIO: HostMemory still needs one for its windows.
  emu::Iommu iommu{emu::HardwareProfileIommu(emu::HardwareProfileFromEnvironment())};
  models::BramModel model{Config()};
  uint8_t* window = nullptr;
  uint64_t size = 0;
  Platform platform = TestPlatform();
};

TEST(PioEngine, SizesAlignmentsDirections) {
  PioBench b;
  ASSERT_NE(b.window, nullptr);
  PioEngine engine(b.window, b.size, 4096);
  EXPECT_EQ(engine.Limits().cardMemorySize, 256u * 1024);
  ChannelPool pool(engine.Limits().channels[0], engine.Limits().channels[1]);
  TransferPlanner planner(engine, pool, b.platform);
  const uint64_t sizes[] = {0, 1, 3, 4095, 4096, 4097, 65536, 65536 * 2 + 7};
  for (Direction d : {kH2c, kC2h}) {
    for (uint64_t size : sizes) {
      for (size_t ho : {size_t{0}, size_t{1}, size_t{4093}}) {
        for (uint64_t card : {uint64_t{0}, uint64_t{3}, uint64_t{0x1FFF}}) {
          SCOPED_TRACE(std::string(d == kH2c ? "H2C" : "C2H") + " size " + std::to_string(size) +
                       " host+" + std::to_string(ho) + " card " + std::to_string(card));
          HostBytes host(size, ho);
          const uint32_t seed = static_cast<uint32_t>(size + ho * 3 + card);
          if (card > 0) b.window[card - 1] = 0xA5;
          if (card + size < b.size) b.window[card + size] = 0x5A;
          if (d == kH2c) {
            FillPattern(host.data(), size, seed);
          } else {
            FillPattern(b.window + card, size, seed);
          }
          IommuHostMemory memory(b.iommu, host.data(), size, DmaAccess::kDeviceReadWrite, 1);
          ASSERT_EQ(planner.Execute(d, card, memory, size), kIOReturnSuccess);
          EXPECT_EQ(FirstMismatch(host.data(), b.window + card, size), -1);
          if (card > 0) EXPECT_EQ(b.window[card - 1], 0xA5);
          if (card + size < b.size) EXPECT_EQ(b.window[card + size], 0x5A);
        }
      }
    }
  }
  // Through the BAR's own accessors: the same bytes.
  EXPECT_EQ(b.model.Bar(0)->Read(3, 1), b.window[3]);
}

TEST(PioEngine, Errors) {
  PioBench b;
  PioEngine engine(b.window, b.size);
  ChannelPool pool(1, 1);
  TransferPlanner planner(engine, pool, b.platform);
  HostBytes host(8192, 0);
  IommuHostMemory memory(b.iommu, host.data(), 8192, DmaAccess::kDeviceReadWrite, 1);
  EXPECT_EQ(planner.Execute(kH2c, b.size - 1, memory, 2), kIOReturnOverrun);
  EXPECT_EQ(planner.Execute(kC2h, ~uint64_t{0}, memory, 2), kIOReturnBadArgument);
  EXPECT_EQ(planner.Execute(kC2h, 0, memory, 8193), kIOReturnBadArgument);
  EXPECT_EQ(engine.Start(kH2c, 1, 0, memory, 0, 0, 1), kIOReturnBadArgument);
  EXPECT_EQ(engine.Poll(kH2c, 0, nullptr), kIOReturnNotOpen);

  // Memory without a CPU mapping cannot be moved by the CPU.
  struct BusOnly final : HostMemory {
    uint64_t Length() const override { return 100; }
    IOReturn PrepareWindow(uint32_t, uint64_t, uint64_t, BusSegment*, uint32_t*,
                           uint64_t*) override {
      return kIOReturnUnsupported;
    }
    void CompleteWindow(uint32_t) override {}
    uint32_t Slots() const override { return 1; }
  } busOnly;
  EXPECT_EQ(planner.Execute(kH2c, 0, busOnly, 100), kIOReturnUnsupported);
  // And the channel is free again.
  EXPECT_EQ(planner.Execute(kH2c, 0, memory, 100), kIOReturnSuccess);
}

}  // namespace
}  // namespace fpgadext::engine::test
