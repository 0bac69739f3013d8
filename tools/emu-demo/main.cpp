// fpgadext-emu-demo: the scenario that started the project, on the emulated machine.
//
// The porting example's board and dext (examples/porting: a BRAM board, PortingDext, set up
// before main() by its emulated_bram_board.cpp) stand in for the driver being ported; this
// program — using IOKitLib calls only — shows what a user client sees for in-band and
// out-of-line outputs, that the kext-style handler fails for the in-band ones, and that the
// corrected handling (an OSData up to 4096 bytes, the output descriptor above) returns the right
// bytes for every size.
#include <IOKit/IOKitLib.h>

#include <cstdio>
#include <vector>

#include "porting_protocol.h"

namespace {

constexpr uint64_t kCardBytes = 1u << 20;  // the board's memory (emulated_bram_board.cpp)

uint8_t CardByte(uint64_t offset) {
  return static_cast<uint8_t>(offset * 7 + (offset >> 8) + 3);
}

// Puts CardByte(offset) at every card offset, 4096 bytes per call.
kern_return_t FillCard(io_connect_t connection) {
  std::vector<uint8_t> chunk(PORTING_INBAND_MAX);
  for (uint64_t card = 0; card < kCardBytes; card += chunk.size()) {
    for (size_t i = 0; i < chunk.size(); ++i) chunk[i] = CardByte(card + i);
    const uint64_t in[1] = {card};
    const kern_return_t ret =
        IOConnectCallMethod(connection, kPortingWriteSmall, in, 1, chunk.data(), chunk.size(),
                            nullptr, nullptr, nullptr, nullptr);
    if (ret != kIOReturnSuccess) return ret;
  }
  return kIOReturnSuccess;
}

// The corrected handling: ≤ 4096 bytes come back as the dext's OSData, more through the output
// descriptor the kernel made.
kern_return_t Read(io_connect_t connection, void* buffer, size_t size) {
  size_t capacity = size;
  if (size <= PORTING_INBAND_MAX) {
    const uint64_t in[2] = {0, size};
    return IOConnectCallMethod(connection, kPortingReadSmall, in, 2, nullptr, 0, nullptr, nullptr,
                               buffer, &capacity);
  }
  const uint64_t in[1] = {0};
  return IOConnectCallMethod(connection, kPortingReadLarge, in, 1, nullptr, 0, nullptr, nullptr,
                             buffer, &capacity);
}

}  // namespace

int main() {
  io_service_t service =
      IOServiceGetMatchingService(kIOMainPortDefault, IOServiceNameMatching(PORTING_DRIVER_NAME));
  io_connect_t connection = IO_OBJECT_NULL;
  if (service == IO_OBJECT_NULL ||
      IOServiceOpen(service, mach_task_self(), 0, &connection) != kIOReturnSuccess ||
      FillCard(connection) != kIOReturnSuccess) {
    std::fprintf(stderr, "the porting example's dext did not match or refused the connection\n");
    return 1;
  }
  std::printf("emulated machine: a BRAM board (10ee:7011), the porting example's %s started\n\n",
              PORTING_DRIVER_NAME);

  std::printf("%-12s %-28s %-18s %s\n", "output size", "what the dext receives",
              "kext-style handler", "corrected handling");
  int failures = 0;
  for (size_t size : {1ul, 4095ul, 4096ul, 4097ul, 1ul << 20}) {
    std::vector<uint8_t> buffer(size);
    uint64_t seen[3] = {};
    uint32_t seenCount = 3;
    size_t capacity = size;
    IOConnectCallMethod(connection, kPortingShowOutputFields, nullptr, 0, nullptr, 0, seen,
                        &seenCount, buffer.data(), &capacity);
    char received[64];
    std::snprintf(received, sizeof received, "%s, max %llu",
                  seen[1]   ? "descriptor"
                  : seen[0] ? "OSData"
                            : "both fields NULL",
                  static_cast<unsigned long long>(seen[2]));

    const uint64_t in[1] = {0};
    capacity = size;
    const kern_return_t kext =
        IOConnectCallMethod(connection, kPortingReadKextStyle, in, 1, nullptr, 0, nullptr, nullptr,
                            buffer.data(), &capacity);
    char kextResult[32];
    std::snprintf(kextResult, sizeof kextResult, "%s", kext == kIOReturnSuccess ? "ok" : "fails");
    if (kext != kIOReturnSuccess) {
      std::snprintf(kextResult, sizeof kextResult, "fails (0x%x)", kext);
    }

    std::vector<uint8_t>(size).swap(buffer);
    const kern_return_t ret = Read(connection, buffer.data(), size);
    size_t good = 0;
    while (good < size && buffer[good] == CardByte(good)) ++good;
    const bool ok = ret == kIOReturnSuccess && good == size;
    failures += !ok;
    std::printf("%-12zu %-28s %-18s %s (%zu of %zu bytes right)\n", size, received, kextResult,
                ok ? "ok" : "WRONG", good, size);
  }
  IOServiceClose(connection);
  IOObjectRelease(service);
  std::printf("\n%s\n", failures ? "FAILED" : "every size came back right");
  return failures ? 1 : 0;
}
