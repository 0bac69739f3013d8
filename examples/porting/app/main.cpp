// The app side of docs/porting-from-iokit.md: each pattern's IOConnectCallMethod call, checked
// byte for byte against what the app first wrote to the card. `porting_app <pattern>` runs one
// pattern (read-small, read-large, read-any-size, registered, copy-on-write-trap, kext-style)
// and exits 0 when it behaves as the guide says — for the two wrong handlers, when they lose the
// bytes as the guide says they do. Only IOKitLib is used; on Linux the emulated board is set up
// before main() (emulated_bram_board.cpp), on a Mac the program talks to the installed dext.
#include <IOKit/IOKitLib.h>
#include <stdio.h>
#include <string.h>

#include <cstdint>
#include <vector>

#include "porting_protocol.h"

namespace {

constexpr uint64_t kCard = 0x1003;  // an odd card offset, on purpose

uint8_t CardByte(uint64_t card) {
  return static_cast<uint8_t>(card * 7 + (card >> 9));
}

bool Check(bool ok, const char* what) {
  printf("%s: %s\n", ok ? "ok  " : "FAIL", what);
  return ok;
}

// True when bytes[i] is what was written at card offset card + i.
bool FromCard(const std::vector<uint8_t>& bytes, uint64_t card) {
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (bytes[i] != CardByte(card + i)) return false;
  }
  return true;
}

// Puts CardByte(offset) at every card offset in [0, length), 4096 bytes per call.
kern_return_t FillCard(io_connect_t connection, uint64_t length) {
  std::vector<uint8_t> chunk(PORTING_INBAND_MAX);
  for (uint64_t card = 0; card < length; card += chunk.size()) {
    for (size_t i = 0; i < chunk.size(); ++i) chunk[i] = CardByte(card + i);
    const uint64_t in[1] = {card};
    kern_return_t ret = IOConnectCallMethod(connection, kPortingWriteSmall, in, 1, chunk.data(),
                                            chunk.size(), nullptr, nullptr, nullptr, nullptr);
    if (ret != kIOReturnSuccess) return ret;
  }
  return kIOReturnSuccess;
}

// snippet-begin: app-read-small
// (a) 4096 bytes or less: the output size is the buffer's; on return it is what the dext sent.
kern_return_t ReadSmall(io_connect_t connection, uint64_t card, void* buffer, size_t* size) {
  const uint64_t in[2] = {card, *size};
  return IOConnectCallMethod(connection, kPortingReadSmall, in, 2, nullptr, 0, nullptr, nullptr,
                             buffer, size);
}
// snippet-end

// snippet-begin: app-read-large
// (b) More than 4096 bytes: the same call; IOKit passes the buffer out of line.
kern_return_t ReadLarge(io_connect_t connection, uint64_t card, void* buffer, size_t size) {
  const uint64_t in[1] = {card};
  return IOConnectCallMethod(connection, kPortingReadLarge, in, 1, nullptr, 0, nullptr, nullptr,
                             buffer, &size);
}
// snippet-end

// snippet-begin: app-read-any-size
// (c) Any size: the buffer's address and length travel as scalars.
kern_return_t ReadAnySize(io_connect_t connection, uint64_t card, void* buffer, size_t size) {
  const uint64_t in[3] = {card, reinterpret_cast<uintptr_t>(buffer), size};
  return IOConnectCallMethod(connection, kPortingReadAnySize, in, 3, nullptr, 0, nullptr, nullptr,
                             nullptr, nullptr);
}
// snippet-end

bool RunReadSmall(io_connect_t connection) {
  bool ok = true;
  for (size_t size : {size_t{1}, size_t{100}, size_t{4096}}) {
    std::vector<uint8_t> buffer(size);
    size_t got = size;
    ok &= Check(ReadSmall(connection, kCard, buffer.data(), &got) == kIOReturnSuccess &&
                    got == size && FromCard(buffer, kCard),
                "(a) an OSData output brings the bytes, up to 4096");
  }
  // The dext creates 100 bytes for a 64-byte buffer: the kernel refuses and copies nothing.
  std::vector<uint8_t> small(64, 0xEE);
  size_t got = small.size();
  const uint64_t in[2] = {kCard, 100};
  kern_return_t ret = IOConnectCallMethod(connection, kPortingReadSmall, in, 2, nullptr, 0, nullptr,
                                          nullptr, small.data(), &got);
  ok &= Check(ret == kIOReturnBadArgument && small == std::vector<uint8_t>(64, 0xEE),
              "(a) an OSData longer than the app's buffer is kIOReturnBadArgument, nothing copied");
  return ok;
}

bool RunReadLarge(io_connect_t connection) {
  bool ok = true;
  for (size_t size : {size_t{4097}, size_t{65536}, size_t{(1u << 20) - 0x2000}}) {
    std::vector<uint8_t> buffer(size);
    ok &= Check(ReadLarge(connection, kCard, buffer.data(), size) == kIOReturnSuccess &&
                    FromCard(buffer, kCard),
                "(b) the output descriptor reaches the app's buffer above 4096");
  }
  return ok;
}

bool RunReadAnySize(io_connect_t connection) {
  bool ok = true;
  for (size_t size : {size_t{1}, size_t{4096}, size_t{4097}, size_t{(1u << 20) - 0x2000}}) {
    std::vector<uint8_t> buffer(size + 3);
    std::vector<uint8_t> view(size);
    ok &= Check(ReadAnySize(connection, kCard, buffer.data() + 3, size) == kIOReturnSuccess,
                "(c) client memory of any size, misaligned");
    memcpy(view.data(), buffer.data() + 3, size);
    ok &= Check(FromCard(view, kCard), "(c) the bytes are in the app's buffer");
  }
  return ok;
}

bool RunCopyOnWriteTrap(io_connect_t connection) {
  std::vector<uint8_t> buffer(8192, 0xEE);
  const uint64_t in[3] = {kCard, reinterpret_cast<uintptr_t>(buffer.data()), buffer.size()};
  kern_return_t ret = IOConnectCallMethod(connection, kPortingReadAnySizeCopyOnWrite, in, 3,
                                          nullptr, 0, nullptr, nullptr, nullptr, nullptr);
  return Check(ret == kIOReturnSuccess && buffer == std::vector<uint8_t>(8192, 0xEE),
               "WRONG (c) without kIOMemoryDisableCopyOnWrite: success, and the app's buffer "
               "never changes");
}

bool RunRegistered(io_connect_t connection) {
  bool ok = true;
  std::vector<uint8_t> ring(256 * 1024);
  // snippet-begin: app-registered
  // (d) Register once, then name the buffer, an offset in it, a card offset and a length.
  const uint64_t range[2] = {reinterpret_cast<uintptr_t>(ring.data()), ring.size()};
  uint64_t id = 0;
  uint32_t idCount = 1;
  kern_return_t ret = IOConnectCallMethod(connection, kPortingRegisterBuffer, range, 2, nullptr, 0,
                                          &id, &idCount, nullptr, nullptr);
  if (ret == kIOReturnSuccess) {
    const uint64_t read[4] = {id, 0x100, kCard, 4096};  // 4096 card bytes to ring[0x100]
    ret = IOConnectCallMethod(connection, kPortingReadRegistered, read, 4, nullptr, 0, nullptr,
                              nullptr, nullptr, nullptr);
  }
  // snippet-end
  ok &= Check(ret == kIOReturnSuccess, "(d) register, then read into the registered buffer");
  for (uint64_t size : {uint64_t{1}, uint64_t{4097}, uint64_t{200000}}) {
    const uint64_t read[4] = {id, 7, kCard, size};
    ok &= Check(IOConnectCallMethod(connection, kPortingReadRegistered, read, 4, nullptr, 0,
                                    nullptr, nullptr, nullptr, nullptr) == kIOReturnSuccess,
                "(d) another read, no wiring");
    ok &= Check(FromCard(std::vector<uint8_t>(ring.begin() + 7, ring.begin() + 7 + size), kCard),
                "(d) the bytes are in the registered buffer");
  }
  const uint64_t unregister[1] = {id};
  ok &= Check(IOConnectCallMethod(connection, kPortingUnregisterBuffer, unregister, 1, nullptr, 0,
                                  nullptr, nullptr, nullptr, nullptr) == kIOReturnSuccess,
              "(d) unregister");
  return ok;
}

bool RunKextStyle(io_connect_t connection) {
  bool ok = true;
  // What a handler sees of the output at the 4096/4097 boundary.
  for (size_t size : {size_t{4096}, size_t{4097}}) {
    std::vector<uint8_t> buffer(size);
    size_t outSize = size;
    uint64_t seen[3] = {};
    uint32_t seenCount = 3;
    kern_return_t ret = IOConnectCallMethod(connection, kPortingShowOutputFields, nullptr, 0,
                                            nullptr, 0, seen, &seenCount, buffer.data(), &outSize);
    printf(
        "      %zu-byte output: structureOutput %s, structureOutputDescriptor %s, "
        "structureOutputMaximumSize %llu\n",
        size, seen[0] ? "set" : "NULL", seen[1] ? "set" : "NULL",
        static_cast<unsigned long long>(seen[2]));
    const bool descriptor = size > PORTING_INBAND_MAX;
    ok &= Check(ret == kIOReturnSuccess && seen[0] == 0 && seen[1] == descriptor && seen[2] == size,
                descriptor ? "above 4096: a descriptor" : "4096: both output fields NULL");
  }
  // The kext-era handler: works above 4096, fails at or below.
  for (size_t size : {size_t{1}, size_t{4096}, size_t{4097}}) {
    std::vector<uint8_t> buffer(size, 0xEE);
    size_t outSize = size;
    const uint64_t in[1] = {kCard};
    kern_return_t ret = IOConnectCallMethod(connection, kPortingReadKextStyle, in, 1, nullptr, 0,
                                            nullptr, nullptr, buffer.data(), &outSize);
    if (size > PORTING_INBAND_MAX) {
      ok &= Check(ret == kIOReturnSuccess && FromCard(buffer, kCard),
                  "WRONG kext-style handler: works above 4096");
    } else {
      ok &= Check(ret == kIOReturnBadArgument && buffer == std::vector<uint8_t>(size, 0xEE),
                  "WRONG kext-style handler: no output buffer at or below 4096, nothing read");
    }
  }
  return ok;
}

io_connect_t Open() {
  io_service_t service =
      IOServiceGetMatchingService(kIOMainPortDefault, IOServiceNameMatching(PORTING_DRIVER_NAME));
  if (service == IO_OBJECT_NULL) {
    fprintf(stderr, "porting_app: no %s (is the board there and the dext running?)\n",
            PORTING_DRIVER_NAME);
    return IO_OBJECT_NULL;
  }
  io_connect_t connection = IO_OBJECT_NULL;
  kern_return_t ret = IOServiceOpen(service, mach_task_self(), 0, &connection);
  IOObjectRelease(service);
  if (ret != kIOReturnSuccess) {
    fprintf(stderr, "porting_app: IOServiceOpen: 0x%x\n", ret);
    return IO_OBJECT_NULL;
  }
  return connection;
}

}  // namespace

int main(int argc, char** argv) {
  const char* pattern = argc > 1 ? argv[1] : "all";
  io_connect_t connection = Open();
  if (connection == IO_OBJECT_NULL) return 2;
  bool ok = Check(FillCard(connection, 1u << 20) == kIOReturnSuccess,
                  "1 MiB of known bytes written to the card (in-band inputs)");
  const bool all = strcmp(pattern, "all") == 0;
  bool known = all;
  struct {
    const char* name;
    bool (*run)(io_connect_t);
  } const patterns[] = {
      {"read-small", RunReadSmall},      {"read-large", RunReadLarge},
      {"read-any-size", RunReadAnySize}, {"copy-on-write-trap", RunCopyOnWriteTrap},
      {"registered", RunRegistered},     {"kext-style", RunKextStyle},
  };
  for (const auto& p : patterns) {
    if (all || strcmp(pattern, p.name) == 0) {
      known = true;
      ok &= p.run(connection);
    }
  }
  IOServiceClose(connection);
  if (!known) {
    fprintf(stderr, "porting_app: unknown pattern %s\n", pattern);
    return 1;
  }
  printf("porting_app %s: %s\n", pattern, ok ? "ok" : "FAILED");
  return ok ? 0 : 1;
}
