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
inline constexpr uint32_t kVersionMinor = 2;  // 2: async selectors, submission rings
inline constexpr uint32_t kProtocolVersion = (kVersionMajor << 16) | kVersionMinor;
constexpr uint32_t MajorOf(uint32_t version) {
  return version >> 16;
}

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
  // Async (IOConnectCallAsyncMethod only; minor 2). in: card address, app address, length, tag.
  // Returns once the transfer is checked and queued; completes with AsyncCompletion(status,
  // {bytes moved, tag}). Errors found before queueing are returned by the call (no completion).
  kSelectorReadAsync = 14,
  kSelectorWriteAsync = 15,
  // in: entry count (power of two, kRingMinEntries..kRingMaxEntries), RingDirection mask
  // out: the ring's size in bytes (map it with kMemoryTypeRing). One ring per client; it takes
  // one channel per direction from the driver for itself (kIOReturnExclusiveAccess if none is
  // free, kIOReturnBusy if this client has a ring already). docs/ring.md.
  kSelectorRingCreate = 16,
  // in: —  Stops the ring (in-flight entry finished), gives its channels back.
  kSelectorRingDestroy = 17,
  // Async only. in: completion index to wait past. Completes (status, {completion index}) as
  // soon as the ring's completion index differs from it (at once if it does already).
  kSelectorRingWait = 18,
  // AXI-Stream channels (kCapabilityStreams, docs/streams.md). A client has at most one stream
  // per direction, each on a stream channel of its own.
  // in: StreamOpenScalar  out: StreamOpenResult. From card: the receive ring's size in bytes
  // (map it with kMemoryTypeStreamReceive); the dext keeps the buffer's slots posted.
  kSelectorStreamOpen = 19,
  // in: StreamDirection. Stops the stream (a send or receive in flight ends), gives its channel
  // back; a pending kSelectorStreamWait completes with kIOReturnAborted.
  kSelectorStreamClose = 20,
  // in: StreamSendScalar (app address, length, StreamFlags)  out: bytes sent. Synchronous; the
  // bytes of one call go out as one piece of a packet; kStreamEndOfPacket ends the packet.
  kSelectorStreamSend = 21,
  // Async only. in: completion index to wait past. Completes (status, {completion index}) as
  // soon as the receive ring's completion index differs from it (at once if it does already).
  kSelectorStreamWait = 22,
  // in: StreamDirection  out: StreamCounter[kStreamCounterCount]
  kSelectorStreamCounters = 23,
  // in: —  out: StreamChannelsScalar (the board's stream channels, per direction, as masks)
  kSelectorStreamChannels = 24,
  // Reserved for work in progress (issue 13 events 25-27; issue 14 ring doorbell 28; issue 13
  // recovery 29): until a selector is given a name and a layout here, the dext answers it with
  // kIOReturnUnsupported.
  // User interrupts (issue 13, capability kCapabilityEvents; docs/library.md "Events").
  // in: line mask (bit i = usr_irq_req[i]; 0 ends the subscription)   out: the board's line count
  // Subscribes this client to those lines: the dext enables them in the IRQ block while any
  // client wants them. kIOReturnUnsupported when the board has no user interrupts.
  kSelectorEventsSubscribe = 25,
  // Async only. in: the EventCounters::sequence the app last read. Completes (status,
  // {sequence now, lines with events after `seen`}) as soon as a subscribed line has an event
  // numbered after `seen` (at once if one has already). One wait per client (kIOReturnBusy).
  kSelectorEventsWait = 26,
  // in: —  Ends the subscription; a wait in progress completes with kIOReturnAborted.
  kSelectorEventsUnsubscribe = 27,
  // in: —  The ring doorbell (docs/ring.md, "Wake-up"): the app makes this call once after
  // creating the ring (then the poller may sleep when idle) and after posting only when
  // RingHeader::pollerSleeping is set; it restarts the dext's poller if it sleeps, and does
  // nothing otherwise (kIOReturnNotFound without a ring). kCapabilityRingDoorbell.
  kSelectorRingDoorbell = 28,
  kSelectorReserved29 = 29,
  // in: BounceScalar  A transfer between the card and the client's bounce buffer (memory type
  // kMemoryTypeBounce, prepared for DMA once, when the client opens): the app copies its bytes
  // in before a write and out after a read (docs/library.md "Transfer paths"). kCapabilityBounce.
  kSelectorBounceTransfer = 30,
  // in: CompletionPolicy  out: the policy this client's synchronous transfers get from now on
  // (never kCompletionDefault: the device's choice resolved, kCompletionPoll when the board
  // cannot interrupt). How a transfer waits for its DMA (docs/engine.md "Completion policy"):
  // kCompletionDefault goes back to the device's choice (the personality's
  // FPGACompletionPolicy); another value is kIOReturnBadArgument. kCapabilityCompletionPolicy.
  kSelectorCompletionPolicy = 31,
  kSelectorCount
};

// Where each scalar of a call sits. The library fills these slots and the dext reads them, so
// the two sides name a position instead of repeating a number.
enum InbandScalar : uint32_t { kInbandCard = 0, kInbandLength = 1 };  // length: reads only
enum OutOfLineScalar : uint32_t { kOutOfLineCard = 0 };
enum ClientMemoryScalar : uint32_t {
  kClientMemoryCard = 0,
  kClientMemoryAddress = 1,
  kClientMemoryLength = 2,
};
// Register calls: the value is scalar in kRegisterValue of a write, scalar out 0 of a read.
enum RegisterScalar : uint32_t {
  kRegisterBar = 0,
  kRegisterOffset = 1,
  kRegisterWidth = 2,
  kRegisterValue = 3,
};
// kSelectorRegisterBuffer; its scalar out 0 is the buffer id.
enum RegisterBufferScalar : uint32_t {
  kRegisterBufferAddress = 0,
  kRegisterBufferLength = 1,
  kRegisterBufferDirection = 2,
};
enum UnregisterBufferScalar : uint32_t { kUnregisterBufferId = 0 };
// kSelectorBounceTransfer; direction is kBufferToCard or kBufferFromCard (one of them).
enum BounceScalar : uint32_t {
  kBounceDirection = 0,
  kBounceCard = 1,
  kBounceOffset = 2,  // in the bounce buffer
  kBounceLength = 3,
};
enum RegisteredScalar : uint32_t {
  kRegisteredId = 0,
  kRegisteredOffset = 1,
  kRegisteredCard = 2,
  kRegisteredLength = 3,
};
enum AsyncScalar : uint32_t {
  kAsyncScalarCard = 0,
  kAsyncScalarAddress = 1,
  kAsyncScalarLength = 2,
  kAsyncScalarTag = 3,
};
// kSelectorRingCreate; its scalar out 0 is the ring's size in bytes.
enum RingCreateScalar : uint32_t { kRingCreateEntries = 0, kRingCreateDirections = 1 };
enum RingWaitScalar : uint32_t { kRingWaitSeen = 0 };
// kSelectorStreamOpen. To card: only kStreamOpenDirection and kStreamOpenChannel count. From
// card: the registered buffer (BufferDirection from card) whose first slots × slotSize bytes
// become the receive slots.
enum StreamOpenScalar : uint32_t {
  kStreamOpenDirection = 0,  // StreamDirection
  kStreamOpenChannel = 1,    // a stream channel index of that direction, or kStreamAnyChannel
  kStreamOpenBuffer = 2,     // buffer id (from card)
  kStreamOpenSlotSize = 3,   // bytes per slot: a multiple of kStreamSlotGranularity
  kStreamOpenSlots = 4,      // a power of two, kStreamMinSlots..kStreamMaxSlots
};
enum StreamOpenResult : uint32_t { kStreamOpenedChannel = 0, kStreamOpenedRingBytes = 1 };
enum StreamCloseScalar : uint32_t { kStreamCloseDirection = 0 };
enum StreamSendScalar : uint32_t {
  kStreamSendAddress = 0,
  kStreamSendLength = 1,
  kStreamSendFlags = 2,
};
enum StreamWaitScalar : uint32_t { kStreamWaitSeen = 0 };
enum StreamCountersScalar : uint32_t { kStreamCountersDirection = 0 };
enum StreamChannelsScalar : uint32_t { kStreamChannelsToCard = 0, kStreamChannelsFromCard = 1 };
enum EventsSubscribeScalar : uint32_t { kEventsSubscribeMask = 0 };
enum EventsWaitScalar : uint32_t { kEventsWaitSeen = 0 };
enum CompletionPolicyScalar : uint32_t { kCompletionPolicyValue = 0 };
// kSelectorCompletionPolicy's values (engine::CompletionPolicy has the same numbers).
enum CompletionPolicy : uint64_t {
  kCompletionDefault = 0,    // the device's choice
  kCompletionPoll = 1,       // spin on the writeback word
  kCompletionInterrupt = 2,  // sleep until the channel's completion interrupt
  kCompletionAdaptive = 3,   // spin for a bounded time, then sleep
};

// How many scalars and structure bytes each selector's call carries, and whether it must be
// an async call: the dext's dispatch table checks exactly these (IOUserClientMethodDispatch)
// and the library sizes its arguments from them.
inline constexpr uint32_t kAnyStructureSize = 0xffffffffu;  // kIOUserClientVariableStructureSize
struct CallLayout {
  uint32_t scalarInputs;
  uint32_t structureInput;  // bytes; kAnyStructureSize: any size (in-band or a descriptor)
  uint32_t scalarOutputs;
  uint32_t structureOutput;
  bool async;  // needs IOConnectCallAsync* (a completion)
};

enum DeviceInfoScalar : uint32_t {
  kInfoProtocolVersion = 0,
  kInfoCapabilities,    // Capability bits
  kInfoVendorDevice,    // device << 16 | vendor
  kInfoCardMemorySize,  // bytes addressable by read/write
  kInfoH2cChannels,
  kInfoC2hChannels,
  kInfoBarSizes0,  // sizes of BAR0..BAR5 follow (0 = absent)
  kInfoBarSizes5 = kInfoBarSizes0 + 5,
  kInfoDmaBar,       // the BAR the DMA engine lives in, or kNoBar
  kInfoMaxTransfer,  // largest length one call accepts
  kDeviceInfoCount
};

inline constexpr CallLayout kCallLayouts[kSelectorCount] = {
    /* GetDeviceInfo    */ {0, 0, kDeviceInfoCount, 0, false},
    /* ReadInband       */ {2, 0, 0, kAnyStructureSize, false},
    /* WriteInband      */ {1, kAnyStructureSize, 0, 0, false},
    /* ReadOutOfLine    */ {1, 0, 0, kAnyStructureSize, false},
    /* WriteOutOfLine   */ {1, kAnyStructureSize, 0, 0, false},
    /* ReadClientMemory */ {3, 0, 0, 0, false},
    /* WriteClientMemory*/ {3, 0, 0, 0, false},
    /* RegisterRead     */ {3, 0, 1, 0, false},
    /* RegisterWrite    */ {4, 0, 0, 0, false},
    /* RegisterBuffer   */ {3, 0, 1, 0, false},
    /* UnregisterBuffer */ {1, 0, 0, 0, false},
    /* ReadRegistered   */ {4, 0, 0, 0, false},
    /* WriteRegistered  */ {4, 0, 0, 0, false},
    /* Nop              */ {0, 0, 0, 0, false},
    /* ReadAsync        */ {4, 0, 0, 0, true},
    /* WriteAsync       */ {4, 0, 0, 0, true},
    /* RingCreate       */ {2, 0, 1, 0, false},
    /* RingDestroy      */ {0, 0, 0, 0, false},
    /* RingWait         */ {1, 0, 0, 0, true},
    /* StreamOpen       */ {5, 0, 2, 0, false},
    /* StreamClose      */ {1, 0, 0, 0, false},
    /* StreamSend       */ {3, 0, 1, 0, false},
    /* StreamWait       */ {1, 0, 0, 0, true},
    /* StreamCounters   */ {1, 0, 6, 0, false},
    /* StreamChannels   */ {0, 0, 2, 0, false},
    /* EventsSubscribe  */ {1, 0, 1, 0, false},
    /* EventsWait       */ {1, 0, 0, 0, true},
    /* EventsUnsubscribe*/ {0, 0, 0, 0, false},
    /* RingDoorbell     */ {0, 0, 0, 0, false},
    /* Reserved29       */ {0, 0, 0, 0, false},
    /* BounceTransfer   */ {4, 0, 0, 0, false},
    /* CompletionPolicy */ {1, 0, 1, 0, false},
};
constexpr const CallLayout& LayoutOf(Selector selector) {
  return kCallLayouts[selector];
}
// Scalar input counts of the selectors whose slots are named above.
static_assert(kCallLayouts[kSelectorReadClientMemory].scalarInputs == kClientMemoryLength + 1);
static_assert(kCallLayouts[kSelectorRegisterWrite].scalarInputs == kRegisterValue + 1);
static_assert(kCallLayouts[kSelectorRegisterRead].scalarInputs == kRegisterWidth + 1);
static_assert(kCallLayouts[kSelectorRegisterBuffer].scalarInputs == kRegisterBufferDirection + 1);
static_assert(kCallLayouts[kSelectorReadRegistered].scalarInputs == kRegisteredLength + 1);
static_assert(kCallLayouts[kSelectorReadAsync].scalarInputs == kAsyncScalarTag + 1);
static_assert(kCallLayouts[kSelectorRingCreate].scalarInputs == kRingCreateDirections + 1);
static_assert(kCallLayouts[kSelectorReadInband].scalarInputs == kInbandLength + 1);
static_assert(kCallLayouts[kSelectorStreamOpen].scalarInputs == kStreamOpenSlots + 1);
static_assert(kCallLayouts[kSelectorStreamOpen].scalarOutputs == kStreamOpenedRingBytes + 1);
static_assert(kCallLayouts[kSelectorStreamSend].scalarInputs == kStreamSendFlags + 1);
static_assert(kCallLayouts[kSelectorStreamChannels].scalarOutputs == kStreamChannelsFromCard + 1);
static_assert(kCallLayouts[kSelectorEventsSubscribe].scalarInputs == kEventsSubscribeMask + 1);
static_assert(kCallLayouts[kSelectorEventsWait].scalarInputs == kEventsWaitSeen + 1);
static_assert(kCallLayouts[kSelectorBounceTransfer].scalarInputs == kBounceLength + 1);
static_assert(kCallLayouts[kSelectorCompletionPolicy].scalarInputs == kCompletionPolicyValue + 1);
inline constexpr uint64_t kNoBar = 0xff;

enum Capability : uint64_t {
  kCapabilityDmaEngine = 1u << 0,   // an XDMA engine moves data (else PIO through a BAR)
  kCapabilityMappedBars = 1u << 1,  // BARs can be mapped into the app (kMemoryTypeBar0 + i)
  kCapabilityRegisteredBuffers = 1u << 2,
  kCapabilityAsync = 1u << 3,  // kSelectorReadAsync / kSelectorWriteAsync
  kCapabilityRing = 1u << 4,   // kSelectorRingCreate and kMemoryTypeRing
  // kSelectorStreamOpen..kSelectorStreamChannels and kMemoryTypeStreamReceive; set when the
  // board reports at least one stream channel.
  kCapabilityStreams = 1u << 5,
  // User interrupts: kSelectorEvents* and kMemoryTypeEventCounters (docs/library.md "Events").
  kCapabilityEvents = 1u << 6,
  // The ring's poller sleeps when idle and is woken by kSelectorRingDoorbell (docs/ring.md).
  kCapabilityRingDoorbell = 1u << 7,
  // kSelectorBounceTransfer and kMemoryTypeBounce: the client's bounce buffer.
  kCapabilityBounce = 1u << 9,
  // kSelectorCompletionPolicy: a client chooses how its synchronous transfers wait.
  kCapabilityCompletionPolicy = 1u << 10,
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
  kMemoryTypeRing = 16,           // the client's submission ring (after kSelectorRingCreate)
  kMemoryTypeStreamReceive = 17,  // the client's stream receive ring (after kSelectorStreamOpen)
  // Reserved for work in progress: 18 event counters (issue 13).
  kMemoryTypeEventCounters = 18,  // EventCounters, read-only, one per board (kCapabilityEvents)
  kMemoryTypeBounce = 19,         // the client's bounce buffer, read-write (kCapabilityBounce)
};

// ---- User interrupts (events) -----------------------------------------------------------------
// One page per board, mapped read-only into every client that asks. For each event the dext
// adds 1 to count[line], then stores sequence + 1 (release): an app that loads `sequence`
// (acquire) sees every count of the events numbered up to it. Counts start at 0 when the driver
// starts and only grow; an event is one usr_irq_req assertion the dext acknowledged.
inline constexpr uint32_t kEventCountersMagic = 0x46455654;  // 'FEVT'
inline constexpr uint32_t kMaxEventLines = 16;               // usr_irq_req[15:0] (PG195)
struct EventCounters {
  uint32_t magic;
  uint32_t lines;     // user interrupt lines the board has
  uint64_t sequence;  // events so far, all lines together
  uint8_t pad0[48];
  uint64_t count[kMaxEventLines];  // events per line
};
static_assert(sizeof(EventCounters) == 192, "EventCounters layout");
// kSelectorEventsWait completion arguments.
enum EventsWaitArgument : uint32_t {
  kEventsWaitSequence = 0,
  kEventsWaitLines = 1,
  kEventsWaitArgumentCount = 2,
};

// Async completion arguments (AsyncCompletion's asyncData) of kSelectorReadAsync/WriteAsync.
enum AsyncArgument : uint32_t { kAsyncBytes = 0, kAsyncTag = 1, kAsyncArgumentCount = 2 };
inline constexpr uint32_t kMaxAsyncInFlight = 32;  // per client; more → kIOReturnNoResources

// ---- Submission ring (docs/ring.md) ----------------------------------------------------------
// Shared memory the dext allocates: a header, `entries` submissions, `entries` completions.
// Indices are free-running uint32_t; slot = index & (entries - 1). The app writes submissions
// and then publishes sqTail (release); the dext reads sqTail (acquire), consumes entries, writes
// completions, then publishes cqTail (release): cqTail is the completion writeback word the app
// polls. The dext treats every byte of this memory as hostile.
enum RingDirection : uint64_t { kRingToCard = 1, kRingFromCard = 2 };
inline constexpr uint32_t kRingMagic = 0x46524E47;  // 'FRNG'
inline constexpr uint32_t kRingMinEntries = 2;
inline constexpr uint32_t kRingMaxEntries = 4096;

struct RingHeader {
  // Written by the dext at creation (the dext never reads them back).
  uint32_t magic;
  uint32_t entries;
  uint32_t submissionOffset;  // bytes from the start of the ring
  uint32_t completionOffset;
  uint64_t sanitizerToken;  // TSan builds only (docs/ring.md), else 0; the dext keeps its own copy
  uint8_t pad0[40];
  // Written by the app: submissions published.
  uint32_t sqTail;
  uint8_t pad1[60];
  // Written by the dext: submissions consumed; protocol errors seen (RingError bits).
  uint32_t sqHead;
  uint32_t errors;
  // Written by the dext: nonzero while its poller sleeps (the app then rings
  // kSelectorRingDoorbell after posting); the dext never reads it back.
  uint32_t pollerSleeping;
  uint8_t pad2[52];
  // Written by the dext: completions published (the writeback word).
  uint32_t cqTail;
  uint8_t pad3[60];
  // Written by the app: completions consumed.
  uint32_t cqHead;
  uint8_t pad4[60];
};
static_assert(sizeof(RingHeader) == 320, "RingHeader layout");

// The app's half of the wake-up (docs/ring.md, "Wake-up"), after it stored sqTail (or cqHead
// with requests still to run): a full fence, then the poller's flag. True: make one
// kSelectorRingDoorbell call. The dext stores the flag, fences, then re-loads sqTail, so at
// least one side sees the other's store and no request is left to a sleeping poller.
inline bool RingDoorbellNeeded(const RingHeader* header) {
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
  return __atomic_load_n(&header->pollerSleeping, __ATOMIC_RELAXED) != 0;
}

enum RingError : uint32_t {
  kRingErrorSubmissionIndex = 1u << 0,  // sqTail - sqHead > entries: ignored until sane
  kRingErrorCompletionIndex = 1u << 1,  // cqTail - cqHead > entries: ring stalls until sane
};

struct RingSubmission {
  uint64_t bufferId;      // a buffer this client registered
  uint64_t bufferOffset;  // bytes into it
  uint64_t cardAddress;
  uint64_t length;
  uint32_t direction;  // kRingToCard (write) or kRingFromCard (read)
  uint32_t reserved;
  uint64_t tag;  // returned in the completion
};
static_assert(sizeof(RingSubmission) == 48, "RingSubmission layout");

struct RingCompletion {
  uint64_t tag;
  int32_t status;  // IOReturn
  uint32_t reserved;
  uint64_t bytes;
};
static_assert(sizeof(RingCompletion) == 24, "RingCompletion layout");

inline constexpr uint64_t RingBytes(uint32_t entries) {
  return sizeof(RingHeader) + uint64_t{entries} * (sizeof(RingSubmission) + sizeof(RingCompletion));
}

// ---- Streams (docs/streams.md) ----------------------------------------------------------------
enum StreamDirection : uint64_t { kStreamToCard = 1, kStreamFromCard = 2 };
inline constexpr uint64_t kStreamAnyChannel = 0xff;
// StreamSend flags and StreamCompletion flags.
enum StreamFlags : uint32_t {
  kStreamEndOfPacket = 1u << 0,  // TLAST: this piece ends a packet
};
// Counters, per stream; also in StreamRingHeader::counters for a receive stream.
enum StreamCounter : uint32_t {
  kStreamPackets = 0,      // packets ended (EOP) — sent, or received and published
  kStreamBytes = 1,        // bytes sent, or received and published
  kStreamOverruns = 2,     // times the card had data and no slot was posted (back-pressure)
  kStreamDropped = 3,      // bytes the card discarded (0 on XDMA: it back-pressures instead)
  kStreamErrors = 4,       // completions with a status other than success
  kStreamDescriptors = 5,  // receive slots handed to the engine
  kStreamCounterCount
};
static_assert(kCallLayouts[kSelectorStreamCounters].scalarOutputs == kStreamCounterCount);

// Receive slot lengths are multiples of 64 bytes: PG195 "Length Granularity" for C2H stream
// descriptors. A slot is one descriptor (at most 2^28 - 64 bytes: the 28-bit length field).
inline constexpr uint64_t kStreamSlotGranularity = 64;
inline constexpr uint64_t kStreamMaxSlotSize = (1ull << 28) - 64;
inline constexpr uint32_t kStreamMinSlots = 2;
inline constexpr uint32_t kStreamMaxSlots = 512;      // the XDMA receiver posts at most 1023
inline constexpr uint32_t kStreamMagic = 0x4653544D;  // 'FSTM'

// The receive ring: a header and `slots` completions, mapped with kMemoryTypeStreamReceive.
// Completion n (free-running uint32_t) describes slot n & (slots − 1): slots fill in order. The
// dext publishes cqTail (release); the app reads completions up to it and hands their slots back
// in order by storing cqHead (release). The dext keeps a slot posted to the card only while
// n − cqHead < slots, so a slot the app holds is never written. The dext treats every byte the
// app can write as hostile (docs/streams.md).
struct StreamRingHeader {
  // Written by the dext at open (never read back).
  uint32_t magic;
  uint32_t slots;
  uint64_t slotSize;
  uint32_t completionOffset;  // bytes from the start of the ring
  uint32_t reserved;
  uint64_t sanitizerToken;  // TSan builds only, as RingHeader's
  uint8_t pad0[32];
  // Written by the dext: completions published (the writeback word); StreamRingError bits.
  uint32_t cqTail;
  uint32_t errors;
  uint8_t pad1[56];
  // Written by the app: completions consumed, their slots handed back.
  uint32_t cqHead;
  uint8_t pad2[60];
  // Written by the dext: StreamCounter values (relaxed; read with kSelectorStreamCounters for a
  // consistent set).
  uint64_t counters[8];
};
static_assert(sizeof(StreamRingHeader) == 256, "StreamRingHeader layout");

enum StreamRingError : uint32_t {
  kStreamErrorConsumerIndex = 1u << 0,  // cqHead outside what was published: ignored until sane
  kStreamErrorChannel = 1u << 1,        // the engine stopped the channel: close and reopen
};

struct StreamCompletion {
  uint32_t slot;    // completion index & (slots − 1), for the app's convenience
  uint32_t flags;   // StreamFlags
  uint64_t length;  // bytes from the slot's start
  int32_t status;   // IOReturn
  uint32_t reserved;
};
static_assert(sizeof(StreamCompletion) == 24, "StreamCompletion layout");

inline constexpr uint64_t StreamRingBytes(uint32_t slots) {
  return sizeof(StreamRingHeader) + uint64_t{slots} * sizeof(StreamCompletion);
}

// Limits the dext enforces (bad input is an error, never a crash).
inline constexpr uint32_t kMaxRegisteredBuffers = 64;
inline constexpr uint64_t kMaxTransferLength = 1ull << 40;  // 1 TiB per call
// The client's bounce buffer (kMemoryTypeBounce): 1 MiB. Over Thunderbolt 3 a full buffer spends
// ≈ 375 µs on the link, so the driver call per buffer (≈ 15 µs on a Mac, estimate) costs ≈ 4 %,
// and it stays under the dext's parallel threshold (one channel per call).
inline constexpr uint64_t kBounceSize = 1ull << 20;

// Sanitizer builds only: the emulation runs app and dext in one process, where the ring is two
// mappings of the same pages. ThreadSanitizer cannot see that a release store through one is
// acquired through the other, so both sides also annotate an address both know: the token the
// dext writes into RingHeader::sanitizerToken (0 in every other build; a dext never runs under
// a sanitizer on a Mac).
inline void RingSanitizerAcquire(uint64_t token);
inline void RingSanitizerRelease(uint64_t token);

}  // namespace fpgadext::protocol

#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define FPGADEXT_RING_SANITIZER_TOKENS 1
#endif
#endif

#ifdef FPGADEXT_RING_SANITIZER_TOKENS
extern "C" void __tsan_acquire(void* address);
extern "C" void __tsan_release(void* address);
inline void fpgadext::protocol::RingSanitizerAcquire(uint64_t token) {
  if (token != 0) __tsan_acquire(reinterpret_cast<void*>(static_cast<uintptr_t>(token)));
}
inline void fpgadext::protocol::RingSanitizerRelease(uint64_t token) {
  if (token != 0) __tsan_release(reinterpret_cast<void*>(static_cast<uintptr_t>(token)));
}
#else
inline void fpgadext::protocol::RingSanitizerAcquire(uint64_t) {}
inline void fpgadext::protocol::RingSanitizerRelease(uint64_t) {}
#endif
