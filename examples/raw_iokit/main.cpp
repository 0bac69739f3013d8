// The same transfers as readwrite_app, with raw IOKit calls against the dext: what the library
// does underneath (protocol/fpgadext/protocol.h is the whole contract). Useful when porting an app
// that must keep its own IOKit code, and as a check that the dext works without the library.
//
// Nothing in this file is specific to the emulated machine.
#include <IOKit/IOKitLib.h>
#include <fpgadext/protocol.h>

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <vector>

namespace protocol = fpgadext::protocol;

namespace {

bool Check(kern_return_t ret, const char* what) {
  if (ret != kIOReturnSuccess) std::fprintf(stderr, "%s failed: 0x%08x\n", what, ret);
  return ret == kIOReturnSuccess;
}

void Fill(std::vector<uint8_t>& bytes, unsigned seed) {
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(i * 131u + seed);
}

// ≤ 4096 bytes: the bytes travel in the message. The dext answers a read with an OSData it
// creates (the in-band output reaches it with both output fields NULL).
bool InbandRoundTrip(io_connect_t connection, uint64_t card, size_t size) {
  std::vector<uint8_t> out(size), in(size);
  Fill(out, static_cast<unsigned>(size));
  const uint64_t writeArgs[1] = {card};
  if (!Check(IOConnectCallMethod(connection, protocol::kSelectorWriteInband, writeArgs, 1,
                                 out.data(), out.size(), nullptr, nullptr, nullptr, nullptr),
             "in-band write")) {
    return false;
  }
  const uint64_t readArgs[2] = {card, size};
  size_t received = in.size();
  if (!Check(IOConnectCallMethod(connection, protocol::kSelectorReadInband, readArgs, 2, nullptr, 0,
                                 nullptr, nullptr, in.data(), &received),
             "in-band read")) {
    return false;
  }
  const bool ok = received == size && in == out;
  std::printf("  in-band       %8zu bytes at card 0x%08" PRIx64 ": %s\n", size, card,
              ok ? "ok" : "MISMATCH");
  return ok;
}

// Any size: the app's address and length as scalars; the dext makes a descriptor for them
// (CreateMemoryDescriptorFromClient) and the card DMAs straight to and from these pages.
bool ClientMemoryRoundTrip(io_connect_t connection, uint64_t card, size_t size) {
  std::vector<uint8_t> out(size + 1), in(size + 1);
  Fill(out, 7);
  const uint64_t writeArgs[3] = {card, reinterpret_cast<uintptr_t>(out.data() + 1), size};
  if (!Check(IOConnectCallScalarMethod(connection, protocol::kSelectorWriteClientMemory, writeArgs,
                                       3, nullptr, nullptr),
             "client-memory write")) {
    return false;
  }
  const uint64_t readArgs[3] = {card, reinterpret_cast<uintptr_t>(in.data() + 1), size};
  if (!Check(IOConnectCallScalarMethod(connection, protocol::kSelectorReadClientMemory, readArgs, 3,
                                       nullptr, nullptr),
             "client-memory read")) {
    return false;
  }
  const bool ok = std::memcmp(in.data() + 1, out.data() + 1, size) == 0;
  std::printf("  client memory %8zu bytes at card 0x%08" PRIx64 ": %s\n", size, card,
              ok ? "ok" : "MISMATCH");
  return ok;
}

// > 4096 bytes as IOConnectCallMethod structures: IOKit passes them out of line and the dext
// receives descriptors. (The library prefers client memory: same single call, no copy-on-write
// input, and the output count is reported.)
bool OutOfLineRoundTrip(io_connect_t connection, uint64_t card, size_t size) {
  std::vector<uint8_t> out(size), in(size);
  Fill(out, 3);
  const uint64_t args[1] = {card};
  if (!Check(IOConnectCallMethod(connection, protocol::kSelectorWriteOutOfLine, args, 1, out.data(),
                                 out.size(), nullptr, nullptr, nullptr, nullptr),
             "out-of-line write")) {
    return false;
  }
  size_t capacity = in.size();
  if (!Check(IOConnectCallMethod(connection, protocol::kSelectorReadOutOfLine, args, 1, nullptr, 0,
                                 nullptr, nullptr, in.data(), &capacity),
             "out-of-line read")) {
    return false;
  }
  const bool ok = in == out;
  std::printf("  out-of-line   %8zu bytes at card 0x%08" PRIx64 ": %s\n", size, card,
              ok ? "ok" : "MISMATCH");
  return ok;
}

}  // namespace

int main() {
  io_service_t service = IOServiceGetMatchingService(
      kIOMainPortDefault, IOServiceNameMatching(protocol::kDriverClassName));
  if (service == IO_OBJECT_NULL) {
    std::fprintf(stderr, "no %s service: is the dext running?\n", protocol::kDriverClassName);
    return 1;
  }
  io_connect_t connection = IO_OBJECT_NULL;
  // The type argument carries the protocol version; the dext refuses other major versions.
  kern_return_t ret =
      IOServiceOpen(service, mach_task_self(), protocol::kProtocolVersion, &connection);
  IOObjectRelease(service);
  if (!Check(ret, "IOServiceOpen")) return 1;

  uint64_t info[protocol::kDeviceInfoCount] = {};
  uint32_t count = protocol::kDeviceInfoCount;
  if (!Check(IOConnectCallScalarMethod(connection, protocol::kSelectorGetDeviceInfo, nullptr, 0,
                                       info, &count),
             "GetDeviceInfo")) {
    return 1;
  }
  const uint64_t cardSize = info[protocol::kInfoCardMemorySize];
  int userBar = -1;
  for (int i = 0; i < 6 && userBar < 0; ++i) {
    if (info[protocol::kInfoBarSizes0 + i] != 0 &&
        static_cast<uint64_t>(i) != info[protocol::kInfoDmaBar]) {
      userBar = i;
    }
  }
  std::printf("protocol 0x%" PRIx64 ", %04" PRIx64 ":%04" PRIx64 ", card memory 0x%" PRIx64
              ", DMA BAR %" PRIu64 ", user BAR %d\n",
              info[protocol::kInfoProtocolVersion], info[protocol::kInfoVendorDevice] & 0xffff,
              info[protocol::kInfoVendorDevice] >> 16, cardSize, info[protocol::kInfoDmaBar],
              userBar);

  // A register of the user BAR through the driver (bar, offset, width).
  if (userBar >= 0) {
    const uint64_t args[3] = {static_cast<uint64_t>(userBar), 0x0, 4};
    uint64_t value = 0;
    uint32_t outCount = 1;
    if (!Check(IOConnectCallScalarMethod(connection, protocol::kSelectorRegisterRead, args, 3,
                                         &value, &outCount),
               "register read")) {
      return 1;
    }
    std::printf("user BAR register 0x0: 0x%08" PRIx64 "\n", value);
  }

  bool ok = true;
  ok = ok && InbandRoundTrip(connection, 0x1003, 1);
  ok = ok && InbandRoundTrip(connection, 0x2001, 4095);
  ok = ok && InbandRoundTrip(connection, 0x4000, 4096);
  ok = ok && ClientMemoryRoundTrip(connection, 0x10003, 4097);
  ok = ok && ClientMemoryRoundTrip(connection, 0x20001, (1u << 20) + 7);
  ok = ok && OutOfLineRoundTrip(connection, 0x200000, 65536);

  // Errors are IOReturn values: a card range past the end of the card memory.
  uint8_t byte = 0;
  const uint64_t args[3] = {cardSize, reinterpret_cast<uintptr_t>(&byte), 1};
  ret = IOConnectCallScalarMethod(connection, protocol::kSelectorReadClientMemory, args, 3, nullptr,
                                  nullptr);
  std::printf("read past the card: 0x%08x (kIOReturnOverrun is 0x%08x)\n", ret, kIOReturnOverrun);
  ok = ok && ret == kIOReturnOverrun;

  IOServiceClose(connection);
  std::printf("raw_iokit: %s\n", ok ? "ok" : "FAILED");
  return ok ? 0 : 1;
}
