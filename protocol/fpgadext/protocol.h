// The contract between the fpgadext library (lib/) and the dext (dext/): user-client type,
// selectors, the scalar layout of each, memory types for IOConnectMapMemory64, capability bits.
// Both sides include this one header; nothing else crosses the boundary.
//
// Versioning: IOServiceOpen's `type` argument carries kProtocolVersion. The dext refuses other
// major versions with kIOReturnUnsupported, so a library and a dext that disagree fail at open,
// never in the middle of a transfer. Minor versions only add selectors or capability bits.
//
// Plain C++ with fixed-width types only: it builds in the dext (DriverKit), in the app (macOS and
// Linux) and in C++ tests alike.
#pragma once

#include <stdint.h>

namespace fpgadext::protocol {

inline constexpr uint32_t kVersionMajor = 1;
inline constexpr uint32_t kVersionMinor = 1;
inline constexpr uint32_t kProtocolVersion = (kVersionMajor << 16) | kVersionMinor;
constexpr uint32_t MajorOf(uint32_t version) { return version >> 16; }

// The dext's class name, for IOServiceNameMatching.
inline constexpr const char* kDriverClassName = "FpgaDriver";

// Largest structure IOConnectCallMethod moves in-band (io_struct_inband_t).
inline constexpr uint64_t kInbandMax = 4096;

enum Selector : uint32_t {
  // in: —                      out: DeviceInfoScalar[kDeviceInfoCount]
  kSelectorGetDeviceInfo = 0,
  // in: card address, length (≤ 4096)   out struct: the bytes (OSData)
  kSelectorReadInband = 1,
  // in: card address; struct in: the bytes (≤ 4096)
  kSelectorWriteInband = 2,
  // in: card address; struct out: an app buffer > 4096 bytes (its descriptor)
  kSelectorReadOutOfLine = 3,
  // in: card address; struct in: an app buffer > 4096 bytes (its descriptor)
  kSelectorWriteOutOfLine = 4,
  // in: card address, app address, length: any size, any alignment
  kSelectorReadClientMemory = 5,
  kSelectorWriteClientMemory = 6,
  // in: BAR, offset, width (1, 2, 4, 8)   out: value
  kSelectorRegisterRead = 7,
  // in: BAR, offset, width, value
  kSelectorRegisterWrite = 8,
  // in: app address, length, BufferDirection   out: buffer id
  kSelectorRegisterBuffer = 9,
  // in: buffer id
  kSelectorUnregisterBuffer = 10,
  // in: buffer id, offset in buffer, card address, length
  kSelectorReadRegistered = 11,
  kSelectorWriteRegistered = 12,
  // in: —  out: —  Does nothing: the cost of a driver call, for benchmarks.
  kSelectorNop = 13,
  kSelectorCount
};

enum DeviceInfoScalar : uint32_t {
  kInfoProtocolVersion = 0,
  kInfoCapabilities,      // Capability bits
  kInfoVendorDevice,      // device << 16 | vendor
  kInfoCardMemorySize,    // bytes addressable by read/write
  kInfoH2cChannels,
  kInfoC2hChannels,
  kInfoBarSizes0,         // sizes of BAR0..BAR5 follow (0 = absent)
  kInfoBarSizes5 = kInfoBarSizes0 + 5,
  kInfoDmaBar,            // the BAR the DMA engine lives in, or kNoBar
  kInfoMaxTransfer,       // largest length one call accepts
  kDeviceInfoCount
};
inline constexpr uint64_t kNoBar = 0xff;

enum Capability : uint64_t {
  kCapabilityDmaEngine = 1u << 0,   // an XDMA engine moves data (else PIO through a BAR)
  kCapabilityMappedBars = 1u << 1,  // BARs can be mapped into the app (kMemoryTypeBar0 + i)
  kCapabilityRegisteredBuffers = 1u << 2,
};

enum BufferDirection : uint64_t {
  kBufferToCard = 1,    // the buffer is read by the card (writes)
  kBufferFromCard = 2,  // the buffer is written by the card (reads)
  kBufferBoth = 3,
};

// IOConnectMapMemory64 memory types: BAR i is kMemoryTypeBar0 + i.
enum MemoryType : uint32_t {
  kMemoryTypeBar0 = 0,
  kMemoryTypeBarLast = 5,
};

// Limits the dext enforces (bad input is an error, never a crash).
inline constexpr uint32_t kMaxRegisteredBuffers = 64;
inline constexpr uint64_t kMaxTransferLength = 1ull << 40;  // 1 TiB per call

}  // namespace fpgadext::protocol
