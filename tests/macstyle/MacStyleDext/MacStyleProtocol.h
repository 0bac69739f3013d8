// What the MacStyle test dext and its app agree on: the user client's selectors and the layout
// of their arguments. Plain C types only, so both sides can include it.
#ifndef MacStyleProtocol_h
#define MacStyleProtocol_h

#include <stdint.h>

enum MacStyleMethod : uint32_t {
  // out: kMacStyleInfoCount scalars, indexed by MacStyleInfo.
  kMacStyleMethodGetInfo = 0,
  // in: user BAR offset, value. MemoryWrite32 then MemoryRead32; out[0] = the value read back.
  kMacStyleMethodWriteRead32 = 1,
  // in: a 64-bit value. MemoryWrite64 at scratch 0 (options overload), MemoryRead64 back;
  // out[0] = the 64-bit read, out[1] = MemoryRead32 of scratch 1.
  kMacStyleMethodAccess64 = 2,
  // in: number of firings, period in microseconds. The timer fires that many times; each
  // firing writes the running count to scratch 3.
  kMacStyleMethodStartTimer = 3,
  // Raises user interrupt line 0 of the board; the driver's handler acknowledges it.
  kMacStyleMethodRaiseInterrupt = 4,
  // structure in: MacStyleCardRange; structure out: the bytes, moved card → host by the
  // board's DMA engine into an IOBufferMemoryDescriptor.
  kMacStyleMethodCardToHost = 5,
  // in: card address, length, seed. The driver fills a buffer with MacStylePattern(seed, i)
  // and the board's DMA engine moves it host → card.
  kMacStyleMethodHostToCard = 6,
  // in: bypass BAR offset (8-aligned), a 64-bit value. The value is written in 8- and 16-bit
  // pieces (MemoryWrite8/16, with and without options) through the bypass BAR, a window on card
  // memory; out[0] = MemoryRead64 of it, out[1] = MemoryRead8 of byte 1, out[2] =
  // MemoryRead16 of bytes 6..7.
  kMacStyleMethodNarrowWrites = 7,
  kMacStyleMethodCount = 8,
};

enum MacStyleInfo : uint32_t {
  kMacStyleInfoUserId = 0,        // MemoryRead32 of the user block ID register
  kMacStyleInfoCommand = 1,       // ConfigurationRead16 of the Command register
  kMacStyleInfoVendorDevice = 2,  // ConfigurationRead32 at offset 0
  kMacStyleInfoBus = 3,           // GetBusDeviceFunction
  kMacStyleInfoDevice = 4,
  kMacStyleInfoFunction = 5,
  kMacStyleInfoMsiOffset = 6,      // FindPCICapability(kIOPCICapabilityIDMSI)
  kMacStyleInfoExpressOffset = 7,  // FindPCICapability(kIOPCICapabilityIDPCIExpress)
  kMacStyleInfoUserBarSize = 8,    // GetBARInfo(kPCIMemoryRangeBAR0)
  kMacStyleInfoUserBarType = 9,
  kMacStyleInfoDmaBarSize = 10,          // GetBARInfo(kPCIMemoryRangeBAR1)
  kMacStyleInfoInterrupts = 11,          // interrupts the handler counted
  kMacStyleInfoTimerFirings = 12,        // timer firings the handler counted
  kMacStyleInfoIdLow16 = 13,             // MemoryRead16 of the ID register (options overload)
  kMacStyleInfoIdTopByte = 14,           // MemoryRead8 of the ID register's byte 3
  kMacStyleInfoFunctionOnlyStatus = 15,  // GetBusDeviceFunction(NULL, NULL, &f), as Apple's
                                         // PEX8733 sample calls it
  kMacStyleInfoCount = 16,
};

struct MacStyleCardRange {
  uint64_t cardAddress;
  uint32_t length;  // 1 … kMacStyleMaxTransfer
  uint32_t reserved;
};

enum : uint32_t { kMacStyleMaxTransfer = 4096 };

// The bytes kMacStyleMethodHostToCard sends.
static inline uint8_t MacStylePattern(uint64_t seed, uint64_t i) {
  return (uint8_t)(seed * 13u + i * 3u + (i >> 7));
}

#endif /* MacStyleProtocol_h */
