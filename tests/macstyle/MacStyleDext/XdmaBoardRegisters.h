// The board this dext drives: an FPGA with an AMD/Xilinx XDMA engine (DMA/Bridge Subsystem for
// PCIe, PG195) in AXI memory-mapped mode, and a small register block behind its user BAR.
// Written from the board's documentation (docs/models.md, "User BAR" and "Registers"), the way
// Apple's PEX8733 sample keeps its chip's registers in PEX8733Definitions.h.
#ifndef XdmaBoardRegisters_h
#define XdmaBoardRegisters_h

#include <stdint.h>

// BAR0: the user register block (32-bit registers).
enum : uint32_t {
  kUserRegId = 0x00,        // reads kUserBlockIdValue
  kUserRegScratch0 = 0x10,  // scratch 0..3, read/write
  kUserRegScratch1 = 0x14,
  kUserRegScratch3 = 0x1C,
  kUserRegIrqRaise = 0x30,  // write 1s: raise usr_irq_req lines
  kUserRegIrqClear = 0x34,  // write 1s: drop them (the acknowledge)
  kUserRegIrqLines = 0x38,  // lines raised now
};
enum : uint32_t { kUserBlockIdValue = 0xFD0E0001 };

// BAR1: the XDMA engine's registers. [15:12] block, [11:8] channel, [7:0] register.
enum : uint32_t {
  kXdmaC2HChannel0 = 0x1000,  // card-to-host engine, channel 0
  kXdmaH2CChannel0 = 0x0000,  // host-to-card engine, channel 0
  kXdmaIrqBlock = 0x2000,
  kXdmaC2HSgdma0 = 0x5000,  // descriptor fetch of C2H channel 0
  kXdmaH2CSgdma0 = 0x4000,

  // Engine channel registers.
  kXdmaChannelControl = 0x04,
  kXdmaChannelControlW1C = 0x0C,
  kXdmaChannelStatus = 0x40,
  kXdmaChannelStatusRC = 0x44,   // reading clears the status bits
  kXdmaChannelCompleted = 0x48,  // descriptors completed since Run was set

  // SGDMA registers.
  kXdmaSgdmaDescLo = 0x80,
  kXdmaSgdmaDescHi = 0x84,
  kXdmaSgdmaDescAdjacent = 0x88,

  // IRQ block registers.
  kXdmaIrqUserEnableW1S = 0x08,
  kXdmaIrqUserEnableW1C = 0x0C,
  kXdmaIrqUserVector0 = 0x80,  // vectors of user lines 0..3, one byte each
};

// Channel control and status bits.
enum : uint32_t {
  kXdmaRun = 1u << 0,
  kXdmaDescriptorStopped = 1u << 1,
  kXdmaDescriptorCompleted = 1u << 2,
  kXdmaAlignMismatch = 1u << 3,
  kXdmaMagicStopped = 1u << 4,
  kXdmaInvalidLength = 1u << 5,
  kXdmaReadErrors = 0x1Fu << 9,
  kXdmaWriteErrors = 0x1Fu << 14,
  kXdmaDescriptorErrors = 0x1Fu << 19,
  kXdmaBusy = 1u << 0,  // status register
};

// A descriptor in host memory: 32 bytes, little-endian, 32-byte aligned.
struct XdmaDescriptor {
  uint32_t control;  // [31:16] magic, [13:8] adjacent count, [1] completed, [0] stop
  uint32_t length;
  uint32_t sourceLo;
  uint32_t sourceHi;
  uint32_t destinationLo;
  uint32_t destinationHi;
  uint32_t nextLo;
  uint32_t nextHi;
};
static_assert(sizeof(XdmaDescriptor) == 32, "XDMA descriptors are 32 bytes");

enum : uint32_t {
  kXdmaDescriptorMagic = 0xAD4Bu << 16,
  kXdmaDescriptorStop = 1u << 0,
  kXdmaDescriptorInterrupt = 1u << 1,
};

#endif /* XdmaBoardRegisters_h */
