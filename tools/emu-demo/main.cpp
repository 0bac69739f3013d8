// fpgadext-emu-demo: the scenario that started the project, on the emulated machine.
//
// A probe PCI device is plugged into the emulated bus, the conformance test dext is loaded from
// its bundle and matched, and this program — using IOKitLib calls only — shows what a user
// client sees for in-band and out-of-line outputs, and that the corrected handler returns the
// right bytes for every size.
#include <IOKit/IOKitLib.h>
#include <fpgadext/emu/entitlements.h>
#include <fpgadext/emu/machine.h>

#include <cstdio>
#include <vector>

#include "dext/conformance_protocol.h"
#include "probe_device.h"

using namespace conformance;

namespace {

uint8_t Pattern(uint64_t seed, uint64_t i) {
  return static_cast<uint8_t>(seed * 31 + i * 7 + (i >> 8));
}

}  // namespace

int main() {
  fpgadext::conformance::ProbeDevice device;  // outlives the machine it is plugged into
  // Entitled to open the conformance dext, as a signed app would be.
  fpgadext::emu::GrantUserClientAccess("org.fpgadext.conformance");
  fpgadext::emu::Machine machine;
  if (machine.AttachPciFunction(&device, "probe") != kIOReturnSuccess ||
      machine.LoadDext(CONFORMANCE_DEXT_BUNDLE) != kIOReturnSuccess) {
    std::fprintf(stderr, "cannot set up the emulated machine\n");
    return 1;
  }
  io_service_t service =
      IOServiceGetMatchingService(kIOMainPortDefault, IOServiceNameMatching("ConformanceDriver"));
  io_connect_t connection = IO_OBJECT_NULL;
  if (service == IO_OBJECT_NULL ||
      IOServiceOpen(service, mach_task_self(), 0, &connection) != kIOReturnSuccess) {
    std::fprintf(stderr, "the dext did not match or refused the connection\n");
    return 1;
  }
  std::printf("emulated machine: probe device %04x:%04x, dext ConformanceDriver started\n\n",
              probe::kVendor, probe::kDevice);

  std::printf("%-12s %-28s %-26s\n", "output size", "what the dext receives", "corrected handler");
  int failures = 0;
  for (size_t size : {0ul, 1ul, 4095ul, 4096ul, 4097ul, 1ul << 20}) {
    std::vector<uint8_t> buffer(size + 1);
    uint64_t seen[kInspectCount] = {};
    uint32_t seenCount = kInspectCount;
    size_t capacity = size;
    IOConnectCallMethod(connection, kSelInspect, nullptr, 0, nullptr, 0, seen, &seenCount,
                        size ? buffer.data() : nullptr, &capacity);
    const bool descriptor = seen[kInspectFlags] & kHasStructureOutputDescriptor;
    const bool osdata = seen[kInspectFlags] & kHasStructureOutput;
    char received[64];
    std::snprintf(received, sizeof received, "%s, max %llu",
                  descriptor ? "descriptor"
                  : osdata   ? "OSData"
                             : "both fields NULL",
                  static_cast<unsigned long long>(seen[kInspectOutputMaximumSize]));

    const uint64_t length = size;
    capacity = size;
    kern_return_t ret =
        IOConnectCallMethod(connection, kSelCorrectedOutput, &length, 1, nullptr, 0, nullptr,
                            nullptr, size ? buffer.data() : nullptr, &capacity);
    size_t good = 0;
    while (good < size && buffer[good] == Pattern(2, good)) ++good;
    const bool ok = ret == kIOReturnSuccess && good == size;
    failures += !ok;
    std::printf("%-12zu %-28s %s (%zu of %zu bytes right)\n", size, received, ok ? "ok" : "WRONG",
                good, size);
  }
  IOServiceClose(connection);
  IOObjectRelease(service);
  std::printf("\n%s\n", failures ? "FAILED" : "every size came back right");
  return failures ? 1 : 0;
}
