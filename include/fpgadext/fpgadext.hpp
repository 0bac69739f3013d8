// fpgadext: move memory of any size and alignment between an application and a PCIe FPGA
// board, and reach its registers — through the fpgadext dext on macOS, or the emulated machine
// on Linux. The C API (fpgadext.h) is a thin layer over this one.
//
//   auto boards = fpgadext::Device::List();
//   fpgadext::Device dev;
//   if (auto s = fpgadext::Device::Open(0, &dev); !s) { fprintf(stderr, "%s\n", s.message()); }
//   std::vector<std::byte> data(1 << 20);
//   dev.Write(0x1003, data);                 // host → card, zero copy above 4 KiB
//   dev.Read(0x1003, data);                  // card → host
//   uint32_t id = 0;
//   dev.Read32(dev.info().userBar, 0x0, &id); // a register of the user BAR
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace fpgadext {

using IOReturnCode = int;  // IOReturn values (IOKit/IOReturn.h)

// The outcome of a call: success, or the IOReturn that caused the failure and a message that
// says what went wrong in the caller's terms. [[nodiscard]]: a failure ignored by accident is a
// compile error (-Werror); cast to void to ignore one on purpose.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(IOReturnCode code, std::string message) : code_(code), message_(std::move(message)) {}
  static Status Ok() { return Status(); }

  bool ok() const { return code_ == 0; }
  explicit operator bool() const { return ok(); }
  IOReturnCode code() const { return code_; }
  const char* message() const { return message_.c_str(); }

 private:
  IOReturnCode code_ = 0;
  std::string message_;
};

// How a transfer reaches the dext. kAuto picks by size from what each path costs a Mac
// (docs/library.md "Transfer paths"): in-band up to 4096 bytes (the bytes travel in the
// message), the bounce buffer above (one copy in the app, nothing wired per call), client
// memory where wiring the app's pages would cost less than that copy. The others can be forced.
enum class TransferPath {
  kAuto,
  kInband,        // ≤ 4096 bytes
  kOutOfLine,     // > 4096 bytes: IOConnectCallMethod's out-of-line structure
  kClientMemory,  // any size: address and length as scalars, the app's pages wired per call
  kBounce,        // any size: through the dext's bounce buffer, 1 MiB per call
};

// How a synchronous transfer waits for the card's DMA to finish (docs/library.md "Completion
// policy"): the dext polls (lowest latency, a CPU busy for the whole transfer), sleeps until the
// channel interrupts (no CPU, one interrupt delivery more: tens of µs on a Mac), or polls for a
// bounded time and then sleeps. Asynchronous transfers, rings and streams are not affected.
enum class CompletionPolicy {
  kDefault = 0,  // the board's default: its dext personality's FPGACompletionPolicy (poll if none)
  kPoll = 1,
  kInterrupt = 2,
  kAdaptive = 3,  // poll for 40 µs after the transfer last progressed, then sleep
};
// "default", "poll", "interrupt", "adaptive"; null for a value outside the enum.
const char* CompletionPolicyName(CompletionPolicy policy);

// What one synchronous transfer may choose; {} and a TransferPath alone mean the defaults.
struct TransferOptions {
  TransferOptions() = default;
  TransferOptions(TransferPath p) : path(p) {}  // NOLINT: a path alone is the common case
  TransferPath path = TransferPath::kAuto;
  // Empty: what Device::SetCompletionPolicy chose (the board's default until then).
  std::optional<CompletionPolicy> completion;
};

struct BoardSummary {
  uint32_t index;
  uint16_t vendorId;
  uint16_t deviceId;
  std::string name;  // registry name
  uint64_t registryId;
};

struct DeviceInfo {
  uint32_t protocolVersion = 0;
  uint16_t vendorId = 0;
  uint16_t deviceId = 0;
  bool hasDmaEngine = false;  // XDMA; else data moves by PIO through a BAR window
  uint64_t cardMemorySize = 0;
  uint32_t h2cChannels = 0;
  uint32_t c2hChannels = 0;
  uint64_t barSizes[6] = {};  // 0 = absent
  int dmaBar = -1;            // the driver's own BAR; not accessible to apps
  int userBar = -1;           // first BAR an app may use for registers (-1 if none)
};

enum class BufferDirection { kToCard = 1, kFromCard = 2, kBoth = 3 };

class Device;

// A buffer registered with the dext: prepared for DMA once, reused by every transfer until
// it is destroyed (or the device closes). The memory stays the caller's; it must outlive this.
class RegisteredBuffer {
 public:
  RegisteredBuffer() = default;
  ~RegisteredBuffer();
  RegisteredBuffer(RegisteredBuffer&& other) noexcept;
  RegisteredBuffer& operator=(RegisteredBuffer&& other) noexcept;
  RegisteredBuffer(const RegisteredBuffer&) = delete;
  RegisteredBuffer& operator=(const RegisteredBuffer&) = delete;

  bool valid() const { return device_ != nullptr; }
  std::span<std::byte> memory() const { return memory_; }
  // The dext's name for it (what ring entries carry).
  uint64_t id() const { return id_; }
  // Unregisters now (the destructor does it otherwise).
  Status Release();

 private:
  friend class Device;
  Device* device_ = nullptr;
  uint64_t id_ = 0;
  std::span<std::byte> memory_;
  BufferDirection direction_ = BufferDirection::kBoth;
};

// Called once when an async transfer ends, on the library's completion queue (one per open
// Device, serial): the status and the bytes moved. It must not block on other operations of
// the same Device (their completions run on the same queue).
using AsyncCallback = std::function<void(const Status& status, uint64_t bytes)>;

// A waitable handle on an async transfer. Every transfer started with ReadAsync/WriteAsync
// completes exactly once — its errors too, found early or late — and Close() completes what is
// still in flight (kIOReturnAborted) before it returns.
class AsyncOperation {
 public:
  struct State;
  AsyncOperation() = default;
  explicit AsyncOperation(std::shared_ptr<State> state) : state_(std::move(state)) {}

  bool valid() const { return state_ != nullptr; }
  // Whether it has completed (its callback has returned).
  bool done() const;
  // Waits for the completion, at most `timeout`: the transfer's status, or kIOReturnTimeout
  // (the transfer goes on).
  Status Wait(std::chrono::nanoseconds timeout = std::chrono::nanoseconds::max()) const;
  // Bytes moved (valid once done).
  uint64_t bytes() const;

 private:
  std::shared_ptr<State> state_;
};

enum class RingDirections : uint32_t { kToCard = 1, kFromCard = 2, kBoth = 3 };

struct RingCompletion {
  uint64_t tag = 0;
  IOReturnCode status = 0;
  uint64_t bytes = 0;
};

// A submission ring (docs/ring.md): shared memory with the dext where requests on registered
// buffers are posted and their completions found, with no driver call per request. Created by
// Device::CreateRing; one per Device. Not thread-safe: one thread at a time submits and polls.
class Ring {
 public:
  struct Impl;
  Ring();
  ~Ring();
  Ring(Ring&& other) noexcept;
  Ring& operator=(Ring&& other) noexcept;
  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;

  bool valid() const;
  uint32_t entries() const;
  // Requests posted and not yet taken back by PollCompletions.
  uint32_t inFlight() const;

  // Posts a transfer between bytes [offset, offset + length) of `buffer` and the card.
  // kIOReturnNoSpace when entries() requests are in flight. No driver call, except one doorbell
  // when the dext's poller went to sleep after a pause (docs/ring.md, "Wake-up").
  Status SubmitRead(uint64_t cardAddress, const RegisteredBuffer& buffer, uint64_t offset,
                    uint64_t length, uint64_t tag);
  Status SubmitWrite(uint64_t cardAddress, const RegisteredBuffer& buffer, uint64_t offset,
                     uint64_t length, uint64_t tag);
  // Posts an entry exactly as given, unchecked (to test the dext's checks).
  Status SubmitRaw(uint64_t bufferId, uint64_t offset, uint64_t cardAddress, uint64_t length,
                   uint32_t direction, uint64_t tag);
  // Takes up to out.size() completions; returns how many. No driver call.
  size_t PollCompletions(std::span<RingCompletion> out);
  // Waits until a completion is available: polls the writeback word for `spin`, then asks the
  // dext to wake it (one async driver call) until `timeout` (kIOReturnTimeout).
  Status Wait(std::chrono::nanoseconds timeout,
              std::chrono::nanoseconds spin = std::chrono::microseconds(50));
  // Protocol errors the dext saw (protocol::RingError bits).
  uint32_t errors() const;
  // Doorbells rung so far: posts that found the dext's poller asleep.
  uint64_t doorbells() const;
  // Stops the ring (the destructor and Device::Close do it otherwise).
  Status Destroy();

 private:
  friend class Device;
  std::unique_ptr<Impl> impl_;
};

// ---- User interrupts (events; docs/library.md "Events") ---------------------------------------
inline constexpr uint32_t kMaxEventLines = 16;  // the XDMA IP's usr_irq_req[15:0]

// New events per user interrupt line since the last time they were taken: bit i of `lines` is
// set when count[i] > 0.
struct EventCounts {
  uint32_t lines = 0;
  uint64_t count[kMaxEventLines] = {};
};
using EventCallback = std::function<void(const EventCounts&)>;

// A subscription to user interrupt lines: Device::OpenEvents. Three ways to learn of events,
// each taking the new events of the lines it is given (use one way per line):
//   WaitForEvents  blocks in the kernel until an event (lowest CPU);
//   SetCallback    calls back on the library's completion queue (no thread of the app's);
//   Poll           reads the counters the dext publishes in shared memory: no driver call (lowest
//                  latency when the app spins on it, a full core while it does).
// Thread-safe. Device::Close (or the board going away) ends it: a WaitForEvents in progress on
// another thread returns kIOReturnNotOpen (or kIOReturnNoDevice).
class Events {
 public:
  struct State;
  Events();
  ~Events();
  Events(Events&& other) noexcept;
  Events& operator=(Events&& other) noexcept;
  Events(const Events&) = delete;
  Events& operator=(const Events&) = delete;

  bool valid() const;
  // The board's user interrupt lines, and the lines subscribed to.
  uint32_t lines() const;
  uint32_t mask() const;
  // Until a line of `mask` (within the subscription) has new events: takes and returns them.
  // kIOReturnTimeout after `timeout` with none.
  Status WaitForEvents(uint32_t mask, std::chrono::nanoseconds timeout, EventCounts* events);
  // Takes the new events of `mask` now (none is not an error). No driver call.
  Status Poll(uint32_t mask, EventCounts* events);
  // `callback` runs for every batch of new events of `mask`; an empty callback stops it.
  Status SetCallback(uint32_t mask, EventCallback callback);
  // Events of `line` since the driver started, as the dext publishes them. No driver call.
  uint64_t Count(unsigned line) const;
  // Ends the subscription (the destructor and Device::Close do it otherwise).
  Status Close();

 private:
  friend class Device;
  std::shared_ptr<State> state_;
};

// AXI-Stream (docs/streams.md): packets with boundaries (TLAST) instead of card addresses.
enum class StreamDirection : uint32_t { kToCard = 1, kFromCard = 2 };

struct StreamCounters {
  uint64_t packets = 0;      // packets ended: sent with endOfPacket, or received (EOP seen)
  uint64_t bytes = 0;        // bytes sent, or received
  uint64_t overruns = 0;     // the card had data and no receive slot was free (back-pressure)
  uint64_t dropped = 0;      // bytes the card discarded (0 on XDMA, which back-pressures)
  uint64_t errors = 0;       // pieces that ended with an error status
  uint64_t descriptors = 0;  // receive slots handed to the engine
};

struct StreamOptions {
  int channel = -1;  // a stream channel of that direction (Device::StreamChannels), -1: any free
  // From the card: `slots` receive slots (a power of two, 2..512) of `slotSize` bytes (a
  // multiple of 64, the C2H stream length granularity) in `buffer`, registered from the card
  // and at least slots × slotSize long; null: the stream allocates and registers its own.
  uint32_t slots = 64;
  uint64_t slotSize = 64 * 1024;
  RegisteredBuffer* buffer = nullptr;
};

struct StreamImpl;  // the library's (lib/stream.cpp)

// One received slot, zero copy: the card wrote it, and the dext will not post it again until
// it is released (by Release or the destructor). A packet longer than a slot fills several
// consecutive slots; the one holding its end has endOfPacket(). Slots are handed back to the
// dext in the order they were received: one held back holds back those after it.
class StreamBuffer {
 public:
  StreamBuffer() = default;
  ~StreamBuffer() { Release(); }
  StreamBuffer(StreamBuffer&& other) noexcept;
  StreamBuffer& operator=(StreamBuffer&& other) noexcept;
  StreamBuffer(const StreamBuffer&) = delete;
  StreamBuffer& operator=(const StreamBuffer&) = delete;

  bool valid() const { return stream_ != nullptr; }
  std::span<const std::byte> data() const { return data_; }  // the bytes received in the slot
  bool endOfPacket() const { return endOfPacket_; }
  IOReturnCode status() const { return status_; }
  uint32_t slot() const { return slot_; }
  void Release();

 private:
  friend class Stream;
  std::shared_ptr<StreamImpl> stream_;
  uint32_t index_ = 0;  // the completion's free-running index
  uint32_t slot_ = 0;
  std::span<const std::byte> data_;
  bool endOfPacket_ = false;
  IOReturnCode status_ = 0;
};

// A stream channel opened by Device::OpenStream: one per direction per Device. Not
// thread-safe, except that StreamBuffers may be released from any thread.
class Stream {
 public:
  Stream();
  ~Stream();
  Stream(Stream&& other) noexcept;
  Stream& operator=(Stream&& other) noexcept;
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  bool valid() const;
  StreamDirection direction() const;
  uint32_t channel() const;  // the stream channel the dext gave it
  // To the card: `data` (any size and alignment, zero copy) as the next bytes of the current
  // packet; `endOfPacket` ends the packet with them (TLAST).
  Status Send(std::span<const std::byte> data, bool endOfPacket = true);
  // From the card: the next received slot, waiting up to `timeout` (kIOReturnTimeout). Polls the
  // ring for `spin`, then sleeps in one driver call (kSelectorStreamWait).
  Status Receive(std::chrono::nanoseconds timeout, StreamBuffer* buffer,
                 std::chrono::nanoseconds spin = std::chrono::microseconds(50));
  // A whole packet, copied out of its slots (which go back at once). On kIOReturnTimeout the
  // part received so far is kept and the next call continues it.
  Status ReceivePacket(std::chrono::nanoseconds timeout, std::vector<std::byte>* packet);
  Status Counters(StreamCounters* counters) const;
  // Protocol errors the dext saw on the receive ring (protocol::StreamRingError bits).
  uint32_t errors() const;
  // Stops the stream and gives its channel back (the destructor and Device::Close do it).
  // Slots still held stay readable until released.
  Status Close();

 private:
  friend class Device;
  std::shared_ptr<StreamImpl> impl_;
};

class Device {
 public:
  Device();
  ~Device();
  Device(Device&& other) noexcept;
  Device& operator=(Device&& other) noexcept;
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;

  // After the board goes away (surprise removal, its driver stopped) every call fails with
  // kIOReturnNoDevice instead of touching the board: nothing faults; async transfers and ring
  // requests in flight complete with an error, each exactly once; Close() still cleans up
  // (docs/library.md, "When the board goes away").

  // Boards the fpgadext dext drives, in a stable order.
  static std::vector<BoardSummary> List();
  // Opens board `index` of List(). Fails with kIOReturnUnsupported if the dext speaks another
  // protocol version, kIOReturnNotFound if there is no such board.
  static Status Open(uint32_t index, Device* device);
  // Waits until board `index` of List() is there: after a board went away (unplugged, or the
  // FPGA reprogrammed) and before Open-ing it again. Returns at once if it is there;
  // kIOReturnTimeout if it did not come within `timeout`. Woken by the system's notification
  // that a driver matched (IOServiceAddMatchingNotification), not by polling.
  static Status WaitForBoard(uint32_t index, std::chrono::nanoseconds timeout);

  bool isOpen() const;
  // The board this Device was opened on went away (unplugged, reprogrammed, or its driver
  // stopped): every call now fails with kIOReturnNoDevice. Close, WaitForBoard, then Open again;
  // a reprogrammed board may report other IDs, BARs and channels (info()). False when closed.
  bool gone() const;
  const DeviceInfo& info() const;
  void Close();

  // Card ↔ host, any size (0 included) and alignment. The card range must lie inside
  // info().cardMemorySize; reads need writable memory.
  Status Read(uint64_t cardAddress, std::span<std::byte> destination, TransferOptions options = {});
  Status Write(uint64_t cardAddress, std::span<const std::byte> source,
               TransferOptions options = {});
  // The path kAuto takes for `length` bytes on this device.
  TransferPath AutoPath(uint64_t length) const;

  // Registered buffers: `offset` and `length` within the buffer.
  Status Register(std::span<std::byte> memory, BufferDirection direction, RegisteredBuffer* buffer);
  // `completion`: as TransferOptions::completion.
  Status Read(uint64_t cardAddress, RegisteredBuffer& buffer, uint64_t offset, uint64_t length,
              std::optional<CompletionPolicy> completion = {});
  Status Write(uint64_t cardAddress, RegisteredBuffer& buffer, uint64_t offset, uint64_t length,
               std::optional<CompletionPolicy> completion = {});

  // How this Device's synchronous transfers wait for the DMA from now on, unless a call says
  // otherwise (TransferOptions::completion). *inEffect (may be null): what they get — the
  // board's default resolved; kPoll where the board cannot interrupt. kIOReturnBadArgument for
  // a value outside the enum; kIOReturnUnsupported from an older dext, for any but kDefault.
  Status SetCompletionPolicy(CompletionPolicy policy, CompletionPolicy* inEffect = nullptr);

  // Async transfers of app memory (any size and alignment, zero copy): they return at once;
  // the memory must stay valid until the operation completes. Errors complete the operation
  // too (with the callback), never only the return value.
  AsyncOperation ReadAsync(uint64_t cardAddress, std::span<std::byte> destination,
                           AsyncCallback callback = {});
  AsyncOperation WriteAsync(uint64_t cardAddress, std::span<const std::byte> source,
                            AsyncCallback callback = {});

  // The submission ring: `entries` a power of two (2..4096). It owns one DMA channel per
  // direction it serves while it lives (kIOReturnExclusiveAccess when none is free).
  Status CreateRing(uint32_t entries, RingDirections directions, Ring* ring);

  // The board's AXI-Stream channels, a bit per channel index (0 when it has none).
  Status StreamChannels(uint32_t* toCardMask, uint32_t* fromCardMask);
  // Opens a stream channel (docs/streams.md): kIOReturnUnsupported without stream channels,
  // kIOReturnBusy if this Device has a stream of that direction, kIOReturnExclusiveAccess if
  // every stream channel of that direction is taken.
  Status OpenStream(StreamDirection direction, const StreamOptions& options, Stream* stream);

  // Subscribes to the user interrupt lines in `mask` (bit i = line i): events from now on
  // (docs/library.md "Events"). kIOReturnUnsupported on a board without user interrupts. One
  // subscription per Device: opening another changes its lines.
  Status OpenEvents(uint32_t mask, Events* events);

  // Registers of a BAR (not the DMA BAR). Through the BAR mapped into this process when the
  // platform allows (no driver call), else through a bounds-checked driver call.
  Status Read32(int bar, uint64_t offset, uint32_t* value);
  Status Write32(int bar, uint64_t offset, uint32_t value);
  // A 64-bit register (offset 8-byte aligned) as TWO 32-bit accesses, low word (offset) first,
  // then high word (offset + 4): what a 32-bit bus carries — the XDMA user BAR is an AXI4-Lite
  // master that makes 32-bit reads and writes only (PG195, "AXI4-Lite Master"). Not atomic: a
  // register that changes between the two accesses reads torn.
  Status Read64(int bar, uint64_t offset, uint64_t* value);
  Status Write64(int bar, uint64_t offset, uint64_t value);
  // 32-bit accesses at consecutive offsets.
  Status ReadBlock(int bar, uint64_t offset, std::span<uint32_t> values);
  Status WriteBlock(int bar, uint64_t offset, std::span<const uint32_t> values);
  // Whether `bar` is mapped into the process (register access without driver calls).
  bool IsBarMapped(int bar) const;

 private:
  friend class RegisteredBuffer;
  Status RegisteredTransfer(bool read, uint64_t cardAddress, RegisteredBuffer& buffer,
                            uint64_t offset, uint64_t length,
                            std::optional<CompletionPolicy> completion);
  void ForgetBuffers();
  friend class Ring;
  friend struct StreamImpl;

  struct State;  // the library's (lib/session.h)
  std::unique_ptr<State> state_;
};

// A short name for an IOReturn value ("kIOReturnNotWritable").
const char* IOReturnName(IOReturnCode code);

// The fpgadext release this library is, "MAJOR.MINOR.PATCH" (CMake's project(VERSION)); the
// same string as `fpgadext --version`, the Python module's __version__ and the dext's
// CFBundleShortVersionString. Not the app-dext protocol version (DeviceInfo::protocolVersion).
const char* Version();

}  // namespace fpgadext
