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

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace fpgadext {

using IOReturnCode = int;  // IOReturn values (IOKit/IOReturn.h)

// The outcome of a call: success, or the IOReturn that caused the failure and a message that
// says what went wrong in the caller's terms.
class Status {
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

// How a transfer reaches the dext. The library picks kAuto: in-band up to 4096 bytes (one call,
// the bytes travel in the message), client memory above (the dext DMAs straight to and from the
// caller's memory). The others exist for tests and benchmarks.
enum class TransferPath {
  kAuto,
  kInband,        // ≤ 4096 bytes
  kOutOfLine,     // > 4096 bytes: IOConnectCallMethod's out-of-line structure
  kClientMemory,  // any size: address and length as scalars
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
  // Unregisters now (the destructor does it otherwise).
  Status Release();

 private:
  friend class Device;
  Device* device_ = nullptr;
  uint64_t id_ = 0;
  std::span<std::byte> memory_;
  BufferDirection direction_ = BufferDirection::kBoth;
};

class Device {
 public:
  Device();
  ~Device();
  Device(Device&& other) noexcept;
  Device& operator=(Device&& other) noexcept;
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;

  // Boards the fpgadext dext drives, in a stable order.
  static std::vector<BoardSummary> List();
  // Opens board `index` of List(). Fails with kIOReturnUnsupported if the dext speaks another
  // protocol version, kIOReturnNotFound if there is no such board.
  static Status Open(uint32_t index, Device* device);

  bool isOpen() const;
  const DeviceInfo& info() const;
  void Close();

  // Card ↔ host, any size (0 included) and alignment. The card range must lie inside
  // info().cardMemorySize; reads need writable memory.
  Status Read(uint64_t cardAddress, std::span<std::byte> destination,
              TransferPath path = TransferPath::kAuto);
  Status Write(uint64_t cardAddress, std::span<const std::byte> source,
               TransferPath path = TransferPath::kAuto);

  // Registered buffers: `offset` and `length` within the buffer.
  Status Register(std::span<std::byte> memory, BufferDirection direction,
                  RegisteredBuffer* buffer);
  Status Read(uint64_t cardAddress, RegisteredBuffer& buffer, uint64_t offset, uint64_t length);
  Status Write(uint64_t cardAddress, RegisteredBuffer& buffer, uint64_t offset, uint64_t length);

  // Registers of a BAR (not the DMA BAR). Through the BAR mapped into this process when the
  // platform allows (no driver call), else through a bounds-checked driver call.
  Status Read32(int bar, uint64_t offset, uint32_t* value);
  Status Write32(int bar, uint64_t offset, uint32_t value);
  Status Read64(int bar, uint64_t offset, uint64_t* value);
  Status Write64(int bar, uint64_t offset, uint64_t value);
  // 32-bit accesses at consecutive offsets.
  Status ReadBlock(int bar, uint64_t offset, std::span<uint32_t> values);
  Status WriteBlock(int bar, uint64_t offset, std::span<const uint32_t> values);
  // Whether `bar` is mapped into the process (register access without driver calls).
  bool IsBarMapped(int bar) const;

 private:
  friend class RegisteredBuffer;
  struct State;
  std::unique_ptr<State> state_;
};

// A short name for an IOReturn value ("kIOReturnNotWritable").
const char* IOReturnName(IOReturnCode code);

}  // namespace fpgadext
