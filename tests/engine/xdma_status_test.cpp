// Status decoding (xdma/xdma_status.h), table-driven: every row of docs/engine.md's "Errors"
// table in both directions, and which row wins when several bits are set.
#include <gtest/gtest.h>

#include "xdma/xdma_registers.h"
#include "xdma/xdma_status.h"

namespace fpgadext::engine::test {
namespace {

using S = xdma::ChannelStatus;

struct Row {
  const char* meaning;
  uint32_t status;
  IOReturn h2c;
  IOReturn c2h;
};

const Row kRows[] = {
    {"all ones: removed", 0xFFFF'FFFFu, kIOReturnNoDevice, kIOReturnNoDevice},
    {"desc_error UR", S::kDescErrorUnsupportedRequest, kIOReturnDMAError, kIOReturnDMAError},
    {"desc_error CA", S::kDescErrorCompleterAbort, kIOReturnDMAError, kIOReturnDMAError},
    {"desc_error parity", S::kDescErrorParity, kIOReturnDMAError, kIOReturnDMAError},
    {"desc_error poisoned", S::kDescErrorPoisoned, kIOReturnDMAError, kIOReturnDMAError},
    {"desc_error unexpected", S::kDescErrorUnexpectedCompletion, kIOReturnDMAError,
     kIOReturnDMAError},
    {"magic_stopped", S::kMagicStopped, kIOReturnInternalError, kIOReturnInternalError},
    {"align_mismatch", S::kAlignMismatch, kIOReturnNotAligned, kIOReturnNotAligned},
    {"invalid_length", S::kInvalidLength, kIOReturnInternalError, kIOReturnInternalError},
    // bits 9/10: H2C PCIe read completion UR/CA; C2H AXI read DECERR/SLVERR
    {"read_error bit 9", 1u << 9, kIOReturnNotPermitted, kIOReturnIOError},
    {"read_error bit 10", 1u << 10, kIOReturnNotPermitted, kIOReturnIOError},
    {"read_error parity", S::kReadErrorParity, kIOReturnIOError, kIOReturnIOError},
    {"read_error poisoned", S::kReadErrorPoisoned, kIOReturnIOError, kIOReturnIOError},
    {"read_error unexpected", S::kReadErrorUnexpectedCompletion, kIOReturnIOError,
     kIOReturnIOError},
    // bits 14/15: H2C AXI write DECERR/SLVERR; C2H unused by the IP, the model's host refusal
    {"write_error bit 14", 1u << 14, kIOReturnIOError, kIOReturnNotPermitted},
    {"write_error bit 15", 1u << 15, kIOReturnIOError, kIOReturnNotPermitted},
    {"write_error bit 18", 1u << 18, kIOReturnIOError, kIOReturnNotPermitted},
    {"stopped, no named error", S::kDescriptorStopped, kIOReturnIOError, kIOReturnIOError},
    {"nothing set", 0, kIOReturnIOError, kIOReturnIOError},
    // first match wins
    {"desc_error before magic", S::kDescErrorParity | S::kMagicStopped, kIOReturnDMAError,
     kIOReturnDMAError},
    {"magic before align", S::kMagicStopped | S::kAlignMismatch, kIOReturnInternalError,
     kIOReturnInternalError},
    {"align before invalid length", S::kAlignMismatch | S::kInvalidLength, kIOReturnNotAligned,
     kIOReturnNotAligned},
    {"invalid length before read_error", S::kInvalidLength | (1u << 9), kIOReturnInternalError,
     kIOReturnInternalError},
    {"H2C refusal before poisoned; C2H AXI", (1u << 9) | S::kReadErrorPoisoned,
     kIOReturnNotPermitted, kIOReturnIOError},
    {"read and write error", (1u << 10) | (1u << 14), kIOReturnNotPermitted, kIOReturnNotPermitted},
    {"busy does not matter", S::kBusy | S::kMagicStopped, kIOReturnInternalError,
     kIOReturnInternalError},
};

TEST(XdmaStatus, TableRows) {
  for (const Row& row : kRows) {
    SCOPED_TRACE(row.meaning);
    EXPECT_EQ(XdmaStatusToIOReturn(xdma::Direction::kH2c, row.status), row.h2c);
    EXPECT_EQ(XdmaStatusToIOReturn(xdma::Direction::kC2h, row.status), row.c2h);
  }
}

// Decoding is constexpr: the table can be checked at compile time too.
static_assert(XdmaStatusToIOReturn(xdma::Direction::kH2c, S::kReadErrorCompleterAbort) ==
              kIOReturnNotPermitted);

}  // namespace
}  // namespace fpgadext::engine::test
