// What the dext asks of an AXI4-Stream engine (docs/engine.md "Streams"): an H2C sender that
// moves packets from host memory to the card's stream interface, with packet boundaries (EOP /
// TLAST), and a C2H receiver that keeps a ring of pre-mapped host buffers posted to the card and
// hands back what landed in them, one completion per buffer (length, end of packet).
//
// Dext-safe (DESIGN.md decision 4): plain data and IOReturn, no allocation, no threads. The
// engine polls on the caller's thread, like DataMover. XdmaStream (engine/xdma/xdma_stream.h)
// implements it for the XDMA IP's stream channels.
#pragma once

#include <fpgadext/engine/host_memory.h>
#include <fpgadext/engine/types.h>

namespace fpgadext::engine {

// One receive buffer: a range of bus addresses (an IOVA range the dext prepared once, e.g. a
// piece of an app's registered memory). Contiguous on the bus; the XDMA IP wants its length to
// be a multiple of kStreamBufferGranularity (PG195 "Length Granularity").
struct StreamBuffer {
  uint64_t bus;
  uint32_t length;
};

// C2H descriptor lengths must be multiples of this (PG195 "Length Granularity", note 1).
inline constexpr uint32_t kStreamBufferGranularity = 64;

// What the card wrote into one receive buffer: `length` bytes from the buffer's start.
struct StreamCompletion {
  uint32_t buffer;  // index in the array given to StartReceive
  uint32_t length;  // bytes written (≤ the buffer's length; 0 never happens on XDMA)
  uint32_t flags;   // kStreamEndOfPacket
};
// The buffer holds the last bytes of a packet (TLAST). A packet longer than one buffer is the
// buffers of consecutive completions up to and including the one with this flag.
inline constexpr uint32_t kStreamEndOfPacket = 1u << 0;

// Per channel and direction; each field is monotonic from the engine's Probe (Stop and a new
// Send or StartReceive keep counting).
struct StreamCounters {
  uint64_t packets;      // H2C: Sends with endOfPacket completed; C2H: completions with EOP
  uint64_t bytes;        // bytes moved
  uint64_t descriptors;  // descriptors completed
  // C2H: times every buffer was with the consumer: no descriptor posted, so the card's stream
  // interface is back-pressured (XDMA accepts data only into posted descriptors: PG195 "DMA C2H
  // Stream"). Nothing is lost in the engine; what the card's logic does meanwhile is its own.
  uint64_t starvations;
  uint64_t errors;  // error stops (status error bits, writebacks that break the rules)
};

// Which channels a board has, and which of them are AXI4-Stream (identifier bit 15; PG195
// "H2C Channel Identifier" / "C2H Channel Identifier"). Bit c of a mask = channel c.
struct StreamChannelMap {
  uint32_t present[2];  // channels found, indexed by Direction (found in order from 0)
  uint32_t stream[2];   // of those, the stream ones
};

class StreamMover {
 public:
  // Usable stream channels (those the board reports as stream and that have memory), per
  // Direction, as a bit mask. Valid after the implementation's Probe.
  virtual uint32_t StreamChannels(Direction direction) const = 0;

  // ---- H2C sender -----------------------------------------------------------------------------
  // Begins sending the bytes [offset, offset + length) of `host` (window slot `slot`) on H2C
  // stream channel `channel`: any length ≥ 1 and any alignment. `endOfPacket`: the last
  // descriptor carries EOP, so the card sees TLAST after the last byte; otherwise the next Send
  // continues the same packet. One Send per channel at a time. Errors: kIOReturnBadArgument
  // (channel, length 0, range), kIOReturnBusy (a Send in flight or an error not yet stopped),
  // kIOReturnNoDevice, HostMemory::PrepareWindow's.
  [[nodiscard]] virtual IOReturn Send(uint32_t channel, HostMemory& host, uint32_t slot,
                                      uint64_t offset, uint64_t length, bool endOfPacket) = 0;
  // Advances the Send without blocking: kIOReturnNotReady while it runs, kIOReturnSuccess once
  // every byte went to the card (windows completed), or the error that stopped it (then Stop
  // the channel before the next Send). *done: bytes known to have gone. kIOReturnNotOpen when
  // no Send was started.
  [[nodiscard]] virtual IOReturn PollSend(uint32_t channel, uint64_t* done) = 0;

  // ---- C2H receiver ---------------------------------------------------------------------------
  // Posts `count` buffers (1 ≤ count ≤ the channel's ring capacity) and starts the channel. The
  // array is not copied and must stay valid until Stop; the buffers belong to the device until
  // Stop or until a completion hands them to the caller. Errors: kIOReturnBadArgument (channel,
  // count, a buffer of length 0, not a multiple of kStreamBufferGranularity, or longer than one
  // descriptor moves), kIOReturnBusy (already receiving, or an error not yet stopped),
  // kIOReturnNoDevice.
  [[nodiscard]] virtual IOReturn StartReceive(uint32_t channel, const StreamBuffer* buffers,
                                              uint32_t count) = 0;
  // Takes up to `max` completions, in the order the card filled the buffers: kIOReturnSuccess
  // with *collected ≥ 1, kIOReturnNotReady with *collected = 0, or the error that stopped the
  // channel (*collected completions before it are still valid; Stop next). Each completed
  // buffer is the caller's until it gives it back with Repost.
  [[nodiscard]] virtual IOReturn Collect(uint32_t channel, StreamCompletion* out, uint32_t max,
                                         uint32_t* collected) = 0;
  // Gives a completed buffer back. Buffers may come back in any order; the card refills them in
  // ring order, so a buffer is posted again once every buffer before it in the ring is back.
  // kIOReturnBadArgument: not a buffer the caller holds.
  [[nodiscard]] virtual IOReturn Repost(uint32_t channel, uint32_t buffer) = 0;

  // ---- Both -----------------------------------------------------------------------------------
  // Stops the channel (Run cleared, waits until the engine is idle), completes what is prepared
  // and clears errors: afterwards every buffer and window is the caller's again. The card's
  // bytes of a packet not yet received stay in the card (C2H) or are cut short (H2C, no TLAST).
  // kIOReturnNotResponding: the engine did not stop (its memory must stay mapped: the caller
  // keeps the buffers prepared; a window is handed over as DataMover::Recover does).
  [[nodiscard]] virtual IOReturn Stop(Direction direction, uint32_t channel) = 0;
  virtual StreamCounters Counters(Direction direction, uint32_t channel) const = 0;

 protected:
  ~StreamMover() = default;
};

}  // namespace fpgadext::engine
