// Status decoding of the XDMA engine driver: what a channel's Status register (0x40/0x44) says
// when the channel stopped on an error, as an IOReturn. The table, with its sources, is in
// docs/engine.md ("Errors"); tests/engine/xdma_status_test.cpp walks it row by row.
//
// Dext-safe: header-only, constexpr, no allocation.
#pragma once

#include <DriverKit/IOReturn.h>

#include "xdma/xdma_registers.h"

namespace fpgadext::engine {

// All ones: every read of a removed board (or a link that went down) returns this.
inline constexpr uint32_t kXdmaAllOnes = 0xFFFF'FFFFu;

// Maps a channel's Status value (error stop) to an IOReturn; the first matching row wins.
constexpr IOReturn XdmaStatusToIOReturn(xdma::Direction dir, uint32_t status) {
  using S = xdma::ChannelStatus;
  if (status == kXdmaAllOnes) return kIOReturnNoDevice;                 // surprise removal
  if (S::desc_error_field::Get(status) != 0) return kIOReturnDMAError;  // descriptor fetch
  if (status & S::kMagicStopped) return kIOReturnInternalError;         // our descriptors
  if (status & S::kAlignMismatch) return kIOReturnNotAligned;
  if (status & S::kInvalidLength) return kIOReturnInternalError;
  if (dir == xdma::Direction::kH2c) {
    // read_error: completions of host memory reads. UR/CA = the IOMMU (or host) refused.
    if (status & (S::kReadErrorUnsupportedRequest | S::kReadErrorCompleterAbort)) {
      return kIOReturnNotPermitted;
    }
    if (S::read_error_field::Get(status) != 0) return kIOReturnIOError;   // parity, poisoned…
    if (S::write_error_field::Get(status) != 0) return kIOReturnIOError;  // card AXI decode/slave
  } else {
    // write_error is unused by the IP for C2H; models/xdma reports a refused host write there.
    if (S::write_error_field::Get(status) != 0) return kIOReturnNotPermitted;
    if (S::read_error_field::Get(status) != 0) return kIOReturnIOError;  // card AXI decode/slave
  }
  return kIOReturnIOError;  // stopped with an error the status does not name
}

}  // namespace fpgadext::engine
