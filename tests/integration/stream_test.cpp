// AXI-Stream channels end to end (docs/streams.md): the library's Stream over
// the dext's stream selectors and receive ring, on an XDMA board model whose
// channel 1 streams in each direction (channel 0 stays memory-mapped). Every
// byte and every packet boundary is checked: packets sent in pieces, packets
// longer than a receive slot, a consumer that stops (overrun counted, nothing
// lost or corrupted, recovery when it resumes), hostile consumer indices, close
// while the card streams.
#include <fpgadext/protocol.h>

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>

#include "board_fixture.h"
#include "fpgadext/fpgadext.h"

namespace fpgadext::integration {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr unsigned kStreamChannel = 1;

class StreamTest : public BoardFixture {
 protected:
  static void SetUpTestSuite() {
    models::XdmaModel::Config config;
    config.cardMemorySize = kCardMemory;
    config.h2cStreamChannels = 1u << kStreamChannel;
    config.c2hStreamChannels = 1u << kStreamChannel;
    SetUpBoard(std::make_unique<models::XdmaModel>(config));
  }
  void SetUp() override {
    BoardFixture::SetUp();
    StopTheCardsSource();
  }
  void TearDown() override {
    // The board outlives the test: its user logic must not go on feeding the
    // next test's streams (a generator started here keeps making packets after
    // the stream closed, and a packet the closed stream took part of keeps its
    // tail in the source).
    StopTheCardsSource();
    BoardFixture::TearDown();
  }
  static void StopTheCardsSource() {
    models::StreamGeneratorConfig stop;
    stop.sizeCount = 0;  // stops the generator and empties the source FIFO
    xdma().StartStreamGenerator(kStreamChannel, stop);
    xdma().ClearStreamPackets(kStreamChannel);
  }

  static std::vector<std::byte> Packet(size_t length, uint64_t seed) {
    std::vector<std::byte> bytes(length);
    FillPattern(bytes.data(), length, seed);
    return bytes;
  }
  static bool IsGenerated(const std::vector<std::byte>& packet, uint64_t number) {
    for (size_t i = 0; i < packet.size(); ++i) {
      if (static_cast<uint8_t>(packet[i]) != models::StreamPatternByte(number, i)) return false;
    }
    return true;
  }
  // Waits until `done` holds (deadline 30 s).
  template <typename Condition>
  static bool WaitFor(Condition done) {
    const auto deadline = std::chrono::steady_clock::now() + seconds(30);
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(milliseconds(1));
    }
    return true;
  }
};

TEST_F(StreamTest, TheBoardsStreamChannelsAreReportedAndNeverAnMmChannel) {
  uint32_t toCard = 0, fromCard = 0;
  ASSERT_TRUE(device().StreamChannels(&toCard, &fromCard));
  EXPECT_EQ(toCard, 1u << kStreamChannel);
  EXPECT_EQ(fromCard, 1u << kStreamChannel);
  Stream stream;
  StreamOptions options;
  options.channel = 0;  // memory-mapped
  EXPECT_EQ(device().OpenStream(StreamDirection::kToCard, options, &stream).code(),
            kIOReturnNotFound);
  options.channel = -1;
  ASSERT_TRUE(device().OpenStream(StreamDirection::kToCard, options, &stream));
  EXPECT_EQ(stream.channel(), kStreamChannel);
  // One stream per direction per connection, and the channel belongs to one
  // client.
  Stream second;
  EXPECT_EQ(device().OpenStream(StreamDirection::kToCard, options, &second).code(), kIOReturnBusy);
  Device other;
  ASSERT_TRUE(Device::Open(0, &other));
  EXPECT_EQ(other.OpenStream(StreamDirection::kToCard, options, &second).code(),
            kIOReturnExclusiveAccess);
  // Memory-mapped transfers still work beside it, on channel 0.
  std::vector<std::byte> bytes = Packet(10000, 7), back(10000);
  ASSERT_TRUE(device().Write(0x1000, bytes));
  ASSERT_TRUE(device().Read(0x1000, back));
  EXPECT_EQ(bytes, back);
}

TEST_F(StreamTest, SentPacketsArriveWithEveryByteAndBoundaryAndLoopBack) {
  Stream tx, rx;
  ASSERT_TRUE(device().OpenStream(StreamDirection::kToCard, {}, &tx));
  StreamOptions receive;
  receive.slots = 16;
  receive.slotSize = 4096;
  ASSERT_TRUE(device().OpenStream(StreamDirection::kFromCard, receive, &rx));
  // Sizes around slot and page edges; some sent in pieces at odd offsets.
  const size_t sizes[] = {1, 63, 64, 65, 4095, 4096, 4097, 12345, 100000, 3};
  std::vector<std::vector<std::byte>> sent;
  for (size_t i = 0; i < std::size(sizes); ++i) {
    std::vector<std::byte> packet = Packet(sizes[i], 100 + i);
    if (i % 3 == 2 && packet.size() > 2) {  // three pieces, EOP on the last
      const size_t a = packet.size() / 3, b = packet.size() / 2;
      ASSERT_TRUE(tx.Send(std::span(packet).subspan(0, a), false));
      ASSERT_TRUE(tx.Send(std::span(packet).subspan(a, b - a), false));
      ASSERT_TRUE(tx.Send(std::span(packet).subspan(b), true));
    } else {
      ASSERT_TRUE(tx.Send(packet, true));
    }
    sent.push_back(std::move(packet));
    std::vector<std::byte> got;
    ASSERT_TRUE(rx.ReceivePacket(seconds(30), &got));
    ASSERT_EQ(got.size(), sent.back().size()) << "packet " << i;
    EXPECT_TRUE(got == sent.back()) << "packet " << i;
  }
  const auto recorded = xdma().StreamPackets(kStreamChannel);
  ASSERT_EQ(recorded.size(), sent.size());
  for (size_t i = 0; i < sent.size(); ++i) {
    ASSERT_EQ(recorded[i].size(), sent[i].size()) << "packet " << i;
    EXPECT_EQ(std::memcmp(recorded[i].data(), sent[i].data(), sent[i].size()), 0) << i;
  }
  StreamCounters c;
  ASSERT_TRUE(tx.Counters(&c));
  EXPECT_EQ(c.packets, sent.size());
  ASSERT_TRUE(rx.Counters(&c));
  EXPECT_EQ(c.packets, sent.size());
  EXPECT_EQ(c.errors, 0u);
}

TEST_F(StreamTest, EmptySendsAreRefusedBecauseXdmaHasNoEmptyPackets) {
  Stream tx;
  ASSERT_TRUE(device().OpenStream(StreamDirection::kToCard, {}, &tx));
  EXPECT_EQ(tx.Send({}, true).code(), kIOReturnBadArgument);
}

TEST_F(StreamTest, GeneratedPacketsSpanningSlotsAreReceivedZeroCopyInOrder) {
  Stream rx;
  StreamOptions receive;
  receive.slots = 8;
  receive.slotSize = 4096;
  ASSERT_TRUE(device().OpenStream(StreamDirection::kFromCard, receive, &rx));
  models::StreamGeneratorConfig generator;
  generator.enabled = true;
  generator.packets = 200;
  const uint32_t sizes[] = {100, 4096, 5000, 70000, 1};
  std::copy(std::begin(sizes), std::end(sizes), generator.sizes);
  generator.sizeCount = std::size(sizes);
  xdma().StartStreamGenerator(kStreamChannel, generator);
  for (uint64_t n = 0; n < generator.packets; ++n) {
    const uint32_t size = sizes[n % std::size(sizes)];
    std::vector<std::byte> packet;
    // Slot by slot: each full but the last, EOP only on the last.
    for (;;) {
      StreamBuffer slot;
      ASSERT_TRUE(rx.Receive(seconds(30), &slot)) << "packet " << n;
      ASSERT_EQ(slot.status(), kIOReturnSuccess);
      packet.insert(packet.end(), slot.data().begin(), slot.data().end());
      if (slot.endOfPacket()) break;
      ASSERT_EQ(slot.data().size(), receive.slotSize) << "a slot before the end is full";
    }
    ASSERT_EQ(packet.size(), size) << "packet " << n;
    ASSERT_TRUE(IsGenerated(packet, n)) << "packet " << n;
  }
  StreamCounters c;
  ASSERT_TRUE(rx.Counters(&c));
  EXPECT_EQ(c.packets, generator.packets);
}

TEST_F(StreamTest, AConsumerThatStopsIsOverrunWithoutLossAndRecovers) {
  Stream rx;
  StreamOptions receive;
  receive.slots = 4;
  receive.slotSize = 4096;
  ASSERT_TRUE(device().OpenStream(StreamDirection::kFromCard, receive, &rx));
  models::StreamGeneratorConfig generator;
  generator.enabled = true;
  generator.packets = 64;
  generator.sizes[0] = 3000;
  generator.sizeCount = 1;
  xdma().StartStreamGenerator(kStreamChannel, generator);
  // Hold every slot: the card runs out of descriptors and is held back.
  std::vector<StreamBuffer> held(receive.slots);
  for (auto& slot : held) ASSERT_TRUE(rx.Receive(seconds(30), &slot));
  StreamCounters c;
  ASSERT_TRUE(WaitFor([&] { return rx.Counters(&c).ok() && c.overruns > 0; }))
      << "no overrun counted";
  EXPECT_EQ(c.packets, receive.slots) << "nothing lands while every slot is held";
  for (uint32_t i = 0; i < receive.slots; ++i) {
    std::vector<std::byte> packet(held[i].data().begin(), held[i].data().end());
    EXPECT_TRUE(IsGenerated(packet, i)) << "a held slot was overwritten: packet " << i;
  }
  held.clear();  // hand them back: the stream resumes where it stopped
  for (uint64_t n = receive.slots; n < generator.packets; ++n) {
    std::vector<std::byte> packet;
    ASSERT_TRUE(rx.ReceivePacket(seconds(30), &packet)) << "packet " << n;
    ASSERT_EQ(packet.size(), 3000u);
    ASSERT_TRUE(IsGenerated(packet, n)) << "packet " << n;
  }
  ASSERT_TRUE(rx.Counters(&c));
  EXPECT_EQ(c.packets, generator.packets);
  EXPECT_EQ(c.dropped, 0u);
}

TEST_F(StreamTest, SlotsReleasedOutOfOrderGoBackInOrder) {
  Stream rx;
  StreamOptions receive;
  receive.slots = 4;
  receive.slotSize = 4096;
  ASSERT_TRUE(device().OpenStream(StreamDirection::kFromCard, receive, &rx));
  models::StreamGeneratorConfig generator;
  generator.enabled = true;
  generator.packets = 40;
  generator.sizes[0] = 64;
  generator.sizeCount = 1;
  xdma().StartStreamGenerator(kStreamChannel, generator);
  uint64_t n = 0;
  while (n < generator.packets) {
    StreamBuffer a, b;
    ASSERT_TRUE(rx.Receive(seconds(30), &a));
    ASSERT_TRUE(rx.Receive(seconds(30), &b));
    EXPECT_TRUE(IsGenerated({a.data().begin(), a.data().end()}, n));
    EXPECT_TRUE(IsGenerated({b.data().begin(), b.data().end()}, n + 1));
    b.Release();  // later one first: nothing goes back until `a` does
    a.Release();
    n += 2;
  }
}

TEST_F(StreamTest, TheReceiveBufferCannotBeUnregisteredUnderTheStream) {
  // A connection of its own: the refused unregistration leaves the registration
  // to the close.
  Device other;
  ASSERT_TRUE(Device::Open(0, &other));
  PageBuffer memory(64 * 1024);
  RegisteredBuffer buffer;
  ASSERT_TRUE(other.Register(memory.span(0, memory.size()), BufferDirection::kFromCard, &buffer));
  Stream rx;
  StreamOptions receive;
  receive.slots = 16;
  receive.slotSize = 4096;
  receive.buffer = &buffer;
  ASSERT_TRUE(other.OpenStream(StreamDirection::kFromCard, receive, &rx));
  // The card may write those pages while the stream runs: the dext keeps them
  // prepared.
  EXPECT_EQ(buffer.Release().code(), kIOReturnBusy);
  ASSERT_TRUE(rx.Close());
  // A buffer registered to the card only is refused.
  RegisteredBuffer toCard;
  ASSERT_TRUE(other.Register(memory.span(0, 4096), BufferDirection::kToCard, &toCard));
  receive.buffer = &toCard;
  receive.slots = 2;
  receive.slotSize = 64;
  EXPECT_EQ(other.OpenStream(StreamDirection::kFromCard, receive, &rx).code(),
            kIOReturnNotPermitted);
  // Slots that do not fit the buffer are refused.
  RegisteredBuffer small;
  ASSERT_TRUE(other.Register(memory.span(8192, 4096), BufferDirection::kFromCard, &small));
  receive.buffer = &small;
  receive.slotSize = 4096;
  EXPECT_EQ(other.OpenStream(StreamDirection::kFromCard, receive, &rx).code(),
            kIOReturnBadArgument);
}

TEST_F(StreamTest, HostileConsumerIndicesAreIgnoredAndFlagged) {
  // Raw selectors: the app writes any cqHead it likes.
  const io_connect_t connection = OpenRawConnection();
  ASSERT_NE(connection, 0u);
  PageBuffer memory(64 * 1024);
  uint64_t in[protocol::kStreamOpenSlots + 1] = {};
  uint64_t out[2] = {};
  uint32_t count = 1;
  const uint64_t reg[3] = {reinterpret_cast<uintptr_t>(memory.data()), memory.size(),
                           protocol::kBufferFromCard};
  ASSERT_EQ(
      IOConnectCallScalarMethod(connection, protocol::kSelectorRegisterBuffer, reg, 3, out, &count),
      kIOReturnSuccess);
  in[protocol::kStreamOpenDirection] = protocol::kStreamFromCard;
  in[protocol::kStreamOpenChannel] = protocol::kStreamAnyChannel;
  in[protocol::kStreamOpenBuffer] = out[0];
  in[protocol::kStreamOpenSlotSize] = 4096;
  in[protocol::kStreamOpenSlots] = 4;
  count = 2;
  ASSERT_EQ(IOConnectCallScalarMethod(connection, protocol::kSelectorStreamOpen, in, std::size(in),
                                      out, &count),
            kIOReturnSuccess);
  mach_vm_address_t mapped = 0;
  mach_vm_size_t size = 0;
  ASSERT_EQ(IOConnectMapMemory64(connection, protocol::kMemoryTypeStreamReceive, mach_task_self(),
                                 &mapped, &size, kIOMapAnywhere),
            kIOReturnSuccess);
  auto* header = reinterpret_cast<protocol::StreamRingHeader*>(static_cast<uintptr_t>(mapped));
  models::StreamGeneratorConfig generator;
  generator.enabled = true;
  generator.packets = 12;
  generator.sizes[0] = 256;
  generator.sizeCount = 1;
  xdma().StartStreamGenerator(kStreamChannel, generator);
  ASSERT_TRUE(WaitFor([&] { return __atomic_load_n(&header->cqTail, __ATOMIC_ACQUIRE) == 4; }));
  // Ahead of what was published: ignored (no slot posted twice), flagged.
  __atomic_store_n(&header->cqHead, 1000u, __ATOMIC_RELEASE);
  ASSERT_TRUE(WaitFor([&] {
    return (__atomic_load_n(&header->errors, __ATOMIC_ACQUIRE) &
            protocol::kStreamErrorConsumerIndex) != 0;
  }));
  EXPECT_EQ(__atomic_load_n(&header->cqTail, __ATOMIC_ACQUIRE), 4u);
  // Hostile header words the dext must never trust.
  header->slots = 0xffffffffu;
  header->completionOffset = 0xfffffff0u;
  header->counters[protocol::kStreamPackets] = 999;
  // A sane index again: the stream goes on, every byte as generated.
  __atomic_store_n(&header->cqHead, 4u, __ATOMIC_RELEASE);
  ASSERT_TRUE(WaitFor([&] { return __atomic_load_n(&header->cqTail, __ATOMIC_ACQUIRE) == 8; }));
  const auto* completions = reinterpret_cast<const protocol::StreamCompletion*>(
      reinterpret_cast<const std::byte*>(header) + sizeof(protocol::StreamRingHeader));
  for (uint32_t n = 4; n < 8; ++n) {
    const protocol::StreamCompletion& c = completions[n & 3];
    EXPECT_EQ(c.length, 256u);
    EXPECT_EQ(c.flags, protocol::kStreamEndOfPacket);
    std::vector<std::byte> packet(memory.data() + (n & 3) * 4096,
                                  memory.data() + (n & 3) * 4096 + 256);
    EXPECT_TRUE(IsGenerated(packet, n)) << "packet " << n;
  }
  uint64_t counters[protocol::kStreamCounterCount] = {};
  const uint64_t direction = protocol::kStreamFromCard;
  count = protocol::kStreamCounterCount;
  ASSERT_EQ(IOConnectCallScalarMethod(connection, protocol::kSelectorStreamCounters, &direction, 1,
                                      counters, &count),
            kIOReturnSuccess);
  EXPECT_EQ(counters[protocol::kStreamPackets], 8u) << "the dext's own count, not the header's";
  IOConnectUnmapMemory64(connection, protocol::kMemoryTypeStreamReceive, mach_task_self(), mapped);
  IOServiceClose(connection);  // closes the stream with the connection
}

TEST_F(StreamTest, ClosingWhileTheCardStreamsLeavesNothingBehind) {
  for (int round = 0; round < 5; ++round) {
    Stream rx;
    StreamOptions receive;
    receive.slots = 8;
    receive.slotSize = 8192;
    ASSERT_TRUE(device().OpenStream(StreamDirection::kFromCard, receive, &rx));
    models::StreamGeneratorConfig generator;
    generator.enabled = true;
    generator.packets = 1000;
    generator.sizes[0] = 20000;
    generator.sizeCount = 1;
    xdma().StartStreamGenerator(kStreamChannel, generator);
    StreamBuffer held;
    ASSERT_TRUE(rx.Receive(seconds(30), &held));
    if (round % 2 == 0) {
      ASSERT_TRUE(rx.Close());  // a slot still held: readable until released
      EXPECT_FALSE(held.data().empty());
    } else {
      Device other;  // the connection closes with the stream open
      ASSERT_TRUE(Device::Open(0, &other));
      Stream theirs;
      ASSERT_TRUE(other.OpenStream(StreamDirection::kToCard, {}, &theirs));
      other.Close();
    }
  }
  // The channel is free again for another client.
  Device other;
  ASSERT_TRUE(Device::Open(0, &other));
  Stream rx;
  ASSERT_TRUE(other.OpenStream(StreamDirection::kFromCard, {}, &rx));
}

// User logic that interrupts at the end of a burst
// (StreamGeneratorConfig::burstEndLines): the card writes the burst's last
// packet and its writeback before it asserts the line, and PCIe keeps posted
// writes in order, so an app woken by the event finds every packet's bytes in
// its memory. The completions (length, end of packet) come through the dext's
// receive service, which the event does not wait for: the app receives them
// with a timeout, not a zero one (docs/streams.md "Events at the end of a
// burst").
class StreamBurstEvents : public StreamTest {
 protected:
  static constexpr unsigned kLine = 6;
  static constexpr uint32_t kSlotSize = 4096;
  static constexpr uint32_t kSlots = 32;
  static constexpr uint64_t kBurst = 24;  // one slot per packet, all fit: the burst can end
  static constexpr uint32_t kSizes[] = {100, 4096, 777, 64, 1};

  void SetUp() override {
    StreamTest::SetUp();
    ASSERT_TRUE(device().OpenEvents(1u << kLine, &events_));
    ASSERT_TRUE(
        device().Register(memory_.span(0, memory_.size()), BufferDirection::kFromCard, &buffer_));
    StreamOptions receive;
    receive.slots = kSlots;
    receive.slotSize = kSlotSize;
    receive.buffer = &buffer_;
    ASSERT_TRUE(device().OpenStream(StreamDirection::kFromCard, receive, &rx_));
  }
  void TearDown() override {
    (void)rx_.Close();
    (void)buffer_.Release();
    (void)events_.Close();
    StreamTest::TearDown();
  }
  static void StartBurst() {
    models::StreamGeneratorConfig generator;
    generator.enabled = true;
    generator.packets = kBurst;
    std::copy(std::begin(kSizes), std::end(kSizes), generator.sizes);
    generator.sizeCount = std::size(kSizes);
    generator.burstEndLines = 1u << kLine;
    xdma().StartStreamGenerator(kStreamChannel, generator);
  }
  // The index of the first packet of the burst whose bytes are not yet in slot
  // n of the app's memory, or kBurst: what the app can check the moment the
  // event arrives, with no call.
  uint64_t FirstPacketNotInMemory() const {
    for (uint64_t n = 0; n < kBurst; ++n) {
      const uint32_t size = kSizes[n % std::size(kSizes)];
      const std::byte* slot = memory_.data() + n * kSlotSize;
      if (!IsGenerated(std::vector<std::byte>(slot, slot + size), n)) return n;
    }
    return kBurst;
  }
  // Every packet of the burst from the stream, each in its own slot with its
  // end, every byte.
  void ReceiveTheBurst() {
    for (uint64_t n = 0; n < kBurst; ++n) {
      StreamBuffer slot;
      ASSERT_TRUE(rx_.Receive(seconds(30), &slot)) << "packet " << n;
      ASSERT_EQ(slot.status(), kIOReturnSuccess);
      EXPECT_EQ(slot.slot(), n);
      EXPECT_TRUE(slot.endOfPacket()) << "packet " << n;
      ASSERT_EQ(slot.data().size(), kSizes[n % std::size(kSizes)]) << "packet " << n;
      EXPECT_EQ(slot.data().data(), memory_.data() + n * kSlotSize) << "zero copy";
      EXPECT_TRUE(IsGenerated({slot.data().begin(), slot.data().end()}, n)) << "packet " << n;
    }
    StreamBuffer more;
    EXPECT_EQ(rx_.Receive(milliseconds(0), &more).code(), kIOReturnTimeout) << "only the burst";
  }

  PageBuffer memory_{kSlots * kSlotSize};
  RegisteredBuffer buffer_;
  Stream rx_;
  Events events_;
};

TEST_F(StreamBurstEvents, AnAppWaitingForTheEventFindsTheWholeBurstInItsMemory) {
  StartBurst();
  EventCounts got;
  ASSERT_TRUE(events_.WaitForEvents(1u << kLine, seconds(30), &got));
  EXPECT_EQ(FirstPacketNotInMemory(), kBurst) << "the event came before the burst's bytes";
  EXPECT_EQ(got.lines, 1u << kLine);
  EXPECT_EQ(got.count[kLine], 1u) << "one event per burst";
  ReceiveTheBurst();
}

TEST_F(StreamBurstEvents, AnAppCalledBackForTheEventFindsTheWholeBurstInItsMemory) {
  std::mutex lock;
  std::condition_variable called;
  uint64_t events = 0;
  uint64_t inMemoryAtTheEvent = 0;
  ASSERT_TRUE(events_.SetCallback(1u << kLine, [&](const EventCounts& got) {
    const uint64_t inMemory = FirstPacketNotInMemory();  // on the library's queue, at once
    std::lock_guard guard(lock);
    if (events == 0) inMemoryAtTheEvent = inMemory;
    events += got.count[kLine];
    called.notify_all();
  }));
  StartBurst();
  {
    std::unique_lock guard(lock);
    ASSERT_TRUE(called.wait_for(guard, seconds(30), [&] { return events != 0; }));
  }
  ASSERT_TRUE(events_.SetCallback(1u << kLine, {}));
  std::lock_guard guard(lock);
  EXPECT_EQ(inMemoryAtTheEvent, kBurst) << "the event came before the burst's bytes";
  EXPECT_EQ(events, 1u) << "one event per burst";
  ReceiveTheBurst();
}

TEST_F(StreamTest, CApiSendsAndReceivesAPacket) {
  fpgadext_device* dev = nullptr;
  ASSERT_EQ(fpgadext_open(0, &dev), 0);
  fpgadext_stream* tx = nullptr;
  fpgadext_stream* rx = nullptr;
  ASSERT_EQ(fpgadext_stream_open(dev, FPGADEXT_STREAM_TO_CARD, -1, 0, 0, &tx), 0);
  ASSERT_EQ(fpgadext_stream_open(dev, FPGADEXT_STREAM_FROM_CARD, -1, 4, 4096, &rx), 0)
      << fpgadext_last_error(dev);
  std::vector<std::byte> packet = Packet(6000, 5);
  ASSERT_EQ(fpgadext_stream_send(tx, packet.data(), packet.size(), 1), 0);
  std::vector<std::byte> got;
  for (;;) {
    const void* data = nullptr;
    size_t size = 0;
    uint32_t flags = 0, slot = 0;
    ASSERT_EQ(fpgadext_stream_receive(rx, 30'000'000'000ull, &data, &size, &flags, &slot), 0);
    const auto* bytes = static_cast<const std::byte*>(data);
    got.insert(got.end(), bytes, bytes + size);
    ASSERT_EQ(fpgadext_stream_release(rx, slot), 0);
    if (flags & FPGADEXT_STREAM_END_OF_PACKET) break;
  }
  EXPECT_TRUE(got == packet);
  uint64_t counters[6] = {};
  ASSERT_EQ(fpgadext_stream_counters(rx, counters), 0);
  EXPECT_EQ(counters[0], 1u);
  fpgadext_stream_close(rx);
  fpgadext_stream_close(tx);
  fpgadext_close(dev);
}

}  // namespace
}  // namespace fpgadext::integration
