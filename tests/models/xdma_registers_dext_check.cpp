// Compiled with -fno-exceptions -fno-rtti: the register header is dext-safe on its own.
#include "xdma/xdma_registers.h"

namespace {
struct NullIo {
  uint32_t Read32(uint32_t) { return 0; }
  void Write32(uint32_t, uint32_t) {}
};
}  // namespace

uint32_t FpgadextXdmaRegistersDextCheck() {
  using namespace fpgadext::xdma;
  NullIo io;
  auto ctrl = ChannelControl::Get(Direction::kC2h, 3).FromValue(0);
  ctrl.set_run(1).set_ie_desc_error(0x1F).WriteTo(io);
  constexpr Descriptor d = Descriptor::Make(1, 2, 3, 4, 5, Descriptor::kCompleted);
  static_assert(d.Control().completed() == 1 && d.Control().nxt_adj() == 5);
  return ChannelStatus::GetReadClear(Direction::kH2c, 0).ReadFrom(io).reg_value() + ctrl.reg_addr();
}
