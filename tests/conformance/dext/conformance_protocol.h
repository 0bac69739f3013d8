// The contract between the conformance tests and their test dext: selectors and scalar layouts.
#pragma once

#include <stdint.h>

namespace conformance {

enum Selector : uint32_t {
  kSelInspect = 0,               // out: kInspect* below
  kSelNaiveOutput = 1,           // the kext-style handler; fails with NotReady on NULL/NULL
  kSelCorrectedOutput = 2,       // in[0] = bytes to produce; OSData ≤ capacity, else descriptor
  kSelOSDataOfLength = 3,        // sets structureOutput to in[0] bytes, whatever the capacity
  kSelFillClientMemory = 4,      // in: address, length, seed, options → fills through a mapping
  kSelScalarEcho = 5,            // out = in; scalarOutputCount = in[0]
  kSelFailAfterOutput = 6,       // sets outputs, then fails with kIOReturnNotPermitted
  kSelTableChecked = 7,          // dispatch: 2 scalars in, 8 B in, 1 scalar out, 16 B out
  kSelTableNullFunction = 8,     // dispatch entry without a function
  kSelTableNeedsCompletion = 9,  // dispatch entry requiring a completion
  kSelAsyncComplete = 10,        // in[0] = argument count; completes later from the dext queue
  kSelMapInput = 11,             // maps structureInputDescriptor and keeps it; out: address, byte0
  kSelPrepareClient = 12,        // in: address, length, options, capacity; out: kPrepare* below
  kSelDeviceDma = 13,            // in: command, segment, length; out: device status
  kSelCompleteDma = 14,          // out[0] = CompleteDMA status
  kSelInterruptSetup = 15,       // in: source index, enable; out[0] = status
  kSelInterruptCount = 16,       // out: deliveries, interrupts counted, deliveries off the queue
  kSelRaise = 17,                // in: vector → the device raises it
  kSelPciState = 18,             // out: kPci* below
  kSelReleaseHeld = 19,          // drops held maps, preparations, sources
  kSelBufferRetainCount = 20,    // out[0] = retain count of the shared buffer
  kSelSuperNoDispatch = 21,      // super::ExternalMethod with dispatch == NULL
  kSelConfigureInterrupts = 22,  // in: type, required, requested; out[0] = status
  // User-client rules (40..59).
  kSelTableLargeInput = 40,  // dispatch: struct input of exactly 8192 B, rest don't care;
                             // out[0] = input length
  kSelTableOutputSize = 41,  // dispatch: no completion, 16 B output capacity; produces 4 B
  kSelClientMemory = 42,     // in: address, length, options, segments (split evenly);
                             // out: kClientMemory* below
  kSelCount
};

enum InspectOutput : uint32_t {
  kInspectFlags = 0,  // kHas* bits
  kInspectOutputMaximumSize,
  kInspectScalarInputCount,
  kInspectScalarOutputCount,
  kInspectInputLength,
  kInspectVersion,
  kInspectOnDefaultQueue,
  kInspectCount
};
enum InspectFlags : uint64_t {
  kHasStructureInput = 1,
  kHasStructureInputDescriptor = 2,
  kHasStructureOutputDescriptor = 4,
  kHasStructureOutput = 8,
  kHasCompletion = 16,
};

enum PrepareOutput : uint32_t {
  kPrepareStatus = 0,
  kPrepareSegments,
  kPrepareFlags,
  kPrepareBytes,  // sum of the segment lengths returned
  kPrepareFirstAddress,
  kPrepareCount
};

enum PciOutput : uint32_t {
  kPciCommandAtOpen = 0,  // Command register right after Open()
  kPciCommandNow,
  kPciBar0MemoryIndex,
  kPciBar0Size,
  kPciBar0Type,
  kPciIdRegister,  // MemoryRead32 of the probe's ID register
  kPciMsiCapability,
  kPciCount
};

enum ClientMemoryOutput : uint32_t {
  kClientMemoryCreateStatus = 0,  // CreateMemoryDescriptorFromClient
  kClientMemoryMapStatus,         // CreateMapping of the whole descriptor (if created)
  kClientMemoryFirstByte,         // byte 0 through the mapping (if mapped)
  kClientMemoryCount
};

// The arguments kSelAsyncComplete sends back: all 8 bytes of each differ.
inline constexpr uint64_t AsyncArgument(uint32_t i) {
  return 0xF0E1D2C3B4A59687ull ^ (0x0101010101010101ull * (i + 1));
}

// CopyClientMemoryForType types.
enum MemoryType : uint64_t {
  kMemShared = 0,       // 64 KiB buffer, writable by the app
  kMemReadOnly = 1,     // the same buffer, kIOUserClientMemoryReadOnly
  kMemBar0 = 2,         // the device's BAR0 registers
  kMemNoSetLength = 3,  // a buffer whose length was never set
};
inline constexpr uint64_t kSharedBufferSize = 65536;

// CreateMemoryDescriptorFromClient options as the app passes them (DriverKit's values).
enum ClientMemoryOptions : uint64_t {
  kClientIn = 1,
  kClientOut = 2,
  kClientInOut = 3,
  kClientNoCopyOnWrite = 0x10,
};

// Memory, DMA, PCI and interrupt rules (reference §3–§5): selectors 60..79.
enum MemoryPciSelector : uint32_t {
  kSelMapClient = 60,        // in: address, length, client options, map options, offset,
                             //     map length, alignment; holds the map. out: status, address,
                             //     length
  kSelMapBuffer = 61,        // in: buffer options, capacity, map options, offset, map length,
                             //     alignment; holds the map. out: status, address, length
  kSelMapKeepsMemory = 62,   // out: buffer retain count with a map, map address, map length
                             //      (the dext drops its own reference; the map stays held)
  kSelBufferCreate = 63,     // in: options, capacity, SetLength value (kNoSetLength = none)
                             // out: kBuffer* below
  kSelSubDescriptor = 64,    // in: options, offset, length of the shared buffer[, keep map]
                             // out: status, length, first byte, last byte (through a mapping),
                             //      map address
  kSelConcatenate = 65,      // in: addrA, lenA, addrB, lenB, options, NULL entry between them
                             // out: status, length, FNV-1a 64 of a read-only mapping
  kSelDmaCreate = 66,        // in: options, maxAddressBits; out: status
  kSelPrepareEx = 67,        // in: address, length, client options, capacity, prepare options,
                             //     kPrepareMode*, maxAddressBits (0 = keep the command)
                             // out: kPrepare* and kPrepareMaxEnd; state kept only on success
  kSelDeviceDmaAt = 68,      // in: command, bus address, length; out: device status
  kSelInterruptCancel = 69,  // cancels the source (kept); out: status
  kSelInterruptType = 70,    // in: source index; out: status, type
  kSelRaiseMany = 71,        // in: vector, n → n raises inside one call
  kSelMemoryRead32 = 72,     // in: memory index, offset; out: value
  kSelSetCommand = 73,       // in: Command register value; out: value read back
  kSelBarInfo = 74,          // in: BAR index; out: status, memory index, size, type
  kSelSharedByte = 75,       // in: offset[, value]: out: the shared buffer's byte there,
                             //     then writes value if given (the dext's own view)
};

enum BufferOutput : uint32_t {
  kBufferCreateStatus = 0,
  kBufferLengthAtCreate,
  kBufferSetLengthStatus,
  kBufferLengthAfterSet,
  kBufferRangeAddress,
  kBufferRangeLength,
  kBufferCount
};
inline constexpr uint64_t kNoSetLength = ~0ull;

enum PrepareMode : uint64_t {
  kPrepareModeNew = 0,   // a new descriptor for the range given
  kPrepareModeSame = 1,  // the descriptor of the last successful preparation again
  kPrepareModeNull = 2,  // a NULL descriptor
};
inline constexpr uint32_t kPrepareMaxEnd = kPrepareCount;  // highest segment end returned
inline constexpr uint32_t kPrepareExCount = kPrepareCount + 1;

// CopyClientMemoryForType types for these rules.
enum MemoryPciType : uint64_t {
  kMemDirectBar = 60,          // the probe's BAR2: RAM without side effects (DirectMemory)
  kMemDirectBarReadOnly = 61,  // the same, with kIOUserClientMemoryReadOnly
};

// Interrupt-source rules of the dispatch headers (interrupt_test.cpp, DispatchInterrupt*).
enum DispatchSelector : uint32_t {
  kSelRaiseGetLast = 90,  // in: vector, n → n raises inside the call, then GetLastInterrupt;
                          // out: status, count, time, clock before raising, clock after
  kSelGetLast = 91,       // out: GetLastInterrupt status, count, time; completion ran,
                          // interrupts counted when it ran
  kSelRaiseDisable = 92,  // in: vector, n → n raises, then SetEnableWithCompletion(false,
                          // block); out: status
};

}  // namespace conformance
