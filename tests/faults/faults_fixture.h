// A fresh emulated machine per test for the fault campaign (label faults): an XDMA board with
// 512 MiB of card memory, the FpgaDext bundle loaded and the suite's Device open, in the
// profile FPGADEXT_EMU_PROFILE names. Tests that need a smaller IOMMU aperture say so through
// MachineConfig(). Helpers wait on conditions with deadlines; nothing sleeps before a check.
#pragma once

#include <fpgadext/emu/machine.h>
#include <gtest/gtest.h>
#include <fpgadext/fpgadext.hpp>

#include <chrono>
#include <functional>
#include <memory>

#include "board_fixture.h"

namespace fpgadext::faults {

using integration::BoardFixture;
using integration::CheckPattern;
using integration::FillPattern;
using integration::PageBuffer;

class FaultFixture : public integration::FreshBoardFixture {
 protected:
  static constexpr uint64_t kCard = 512ull << 20;
  virtual models::XdmaModel::Config BoardConfig() {
    models::XdmaModel::Config board;
    board.cardMemorySize = kCard;
    return board;
  }
  std::unique_ptr<emu::PciFunction> MakeBoard() override {
    return std::make_unique<models::XdmaModel>(BoardConfig());
  }

  // A 64 MiB write and read back of a fresh pattern at `card` through `device`.
  static ::testing::AssertionResult RoundTrip64MiB(Device& device, uint64_t card, uint64_t seed) {
    return RoundTrip(device, card, 64ull << 20, seed);
  }
};

}  // namespace fpgadext::faults
