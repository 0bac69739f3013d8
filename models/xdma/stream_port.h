// The user logic behind one pair of XDMA AXI4-Stream channels (H2C n and C2H n) of the board
// model: an H2C sink that records packets with their boundaries, and a C2H source fed by a
// loopback of the H2C packets and by a packet generator (docs/models.md "Streams").
//
// The source is a FIFO of byte chunks, each marked if it ends a packet (TLAST). H2C bytes enter
// it as the H2C engine moves them (a pass-through FIFO, not store-and-forward), so a packet
// sent in several pieces loops back as it goes. When the FIFO holds `fifoBytes` the H2C engine
// waits (AXI4-Stream back-pressure, counted as sink stalls). The generator adds whole packets
// when the FIFO is empty and no H2C packet is open, so packets never interleave.
//
// Locking: the port's own mutex guards its state. Engines change it with only that mutex held
// and then wake the channels under the board lock; engines that wait for the port check it under
// the board lock (board lock → port mutex), so no wake-up is lost.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>
#include <vector>

namespace fpgadext::models {

// The generator's data: byte `offset` of packet number `packet` (from 0 since the generator
// was started). Tests check every byte against it.
inline uint8_t StreamPatternByte(uint64_t packet, uint64_t offset) {
  return static_cast<uint8_t>((packet * 0x9Du + offset + (offset >> 8) * 0x3Bu) & 0xFF);
}

// Bytes [offset, offset + length) of packet `packet` into `dst`, at memcpy speed: within each
// 256-byte block the pattern counts up by one, so a block is a run of a 0..255 ramp. The
// generator fills the C2H engine's chunks with it as they are taken, so that making the data
// costs the model no more than a copy (user logic makes it at line rate).
void FillStreamPattern(uint64_t packet, uint64_t offset, uint8_t* dst, uint64_t length);

struct StreamGeneratorConfig {
  bool enabled = false;
  uint64_t packets = 0;  // how many; 0 = without end
  // Packet sizes in bytes (≥ 1: AXI4-Stream has no empty packet), used in turn.
  static constexpr unsigned kMaxSizes = 8;
  uint32_t sizes[kMaxSizes] = {4096};
  unsigned sizeCount = 1;
  // usr_irq_req lines the user logic asserts at the end of a burst (`packets` != 0): once the
  // C2H engine has closed the burst's last packet and written its writeback, so an app woken by
  // the interrupt finds every packet of the burst in host memory. 0: none.
  uint32_t burstEndLines = 0;
};

struct StreamPortConfig {
  bool loopback = true;       // H2C packets come back on the C2H channel of the same number
  bool recordPackets = true;  // the sink keeps H2C packets for tests (XdmaModel::StreamPackets)
  uint64_t recordLimitBytes = 64ull << 20;  // recording stops beyond this (counted)
  uint64_t fifoBytes = 4ull << 20;          // source FIFO capacity (loopback back-pressure)
  StreamGeneratorConfig generator{};
};

struct StreamPortCounters {
  uint64_t h2cPackets = 0;        // packets the sink saw end (EOP)
  uint64_t h2cBytes = 0;          // bytes the sink took
  uint64_t c2hPackets = 0;        // packets the C2H engine closed with EOP
  uint64_t c2hBytes = 0;          // bytes the C2H engine took from the source
  uint64_t generatedPackets = 0;  // packets the generator put in the FIFO
  // C2H: times the engine waited for a descriptor (no credit, stopped) while the source had
  // data: the source is back-pressured; nothing is dropped.
  uint64_t sourceStalls = 0;
  uint64_t sinkStalls = 0;         // H2C: times the engine waited for FIFO space
  uint64_t emptyPacketEnds = 0;    // EOP on a zero-byte descriptor with nothing to end: dropped
  uint64_t unrecordedPackets = 0;  // over recordLimitBytes
};

class StreamPort {
 public:
  explicit StreamPort(const StreamPortConfig& config);

  // ---- H2C sink (engine thread, port mutex taken inside) ----
  // Whether `bytes` more fit now (always true when the FIFO is empty or loopback is off).
  bool HasSpace(uint64_t bytes);
  // Takes bytes the H2C engine read from host memory; `last`: they end a packet (EOP).
  void Sink(std::vector<uint8_t>&& bytes, bool last);
  // An EOP descriptor of zero bytes: ends the open packet if it has bytes in the FIFO.
  void SinkEnd();

  // ---- C2H source ----
  // Whether Take would return something.
  bool Available();
  // Copies up to `max` bytes of the current packet to `dst`; *last when they end the packet
  // (possibly with 0 bytes: an end mark that came after the packet's bytes were taken).
  uint64_t Take(uint8_t* dst, uint64_t max, bool* last);

  // ---- Tests and tools ----
  void Push(const uint8_t* bytes, uint64_t length);  // one whole packet into the source
  void StartGenerator(const StreamGeneratorConfig& generator);
  std::vector<std::vector<uint8_t>> Packets();  // recorded H2C packets, oldest first
  void ClearPackets();
  StreamPortCounters Counters();
  // Engine-side counting.
  void CountSourceStall();
  void CountSinkStall();
  void CountC2hPacket();
  void CountEmptyPacketEnd();
  // The lines to raise because the packet the engine just closed ended a burst (then 0 again).
  uint32_t TakeBurstEnd();

 private:
  // Bytes of one packet or piece of one. A generated packet has no bytes: `size` of them
  // follow the pattern of packet `packet` and are made as they are taken.
  struct Chunk {
    std::vector<uint8_t> bytes;
    uint64_t taken = 0;
    bool last = false;
    bool generated = false;
    uint64_t packet = 0;
    uint64_t size = 0;        // generated only
    uint32_t linesAtEnd = 0;  // burstEndLines when this packet ends the generator's burst
    uint64_t Size() const { return generated ? size : bytes.size(); }
  };
  void Generate();   // mutex held
  void EndPacket();  // mutex held

  const StreamPortConfig config_;
  std::mutex mutex_;
  std::deque<Chunk> fifo_;
  uint64_t fifoBytes_ = 0;
  bool sinkOpen_ = false;  // an H2C packet has bytes and no EOP yet
  std::vector<uint8_t> current_;
  std::vector<std::vector<uint8_t>> packets_;
  uint64_t recordedBytes_ = 0;
  StreamGeneratorConfig generator_{};
  uint64_t generated_ = 0;
  uint32_t burstEnded_ = 0;  // lines of a burst end taken by the engine, not yet raised
  StreamPortCounters counters_{};
};

}  // namespace fpgadext::models
