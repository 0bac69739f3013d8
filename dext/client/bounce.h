// Buffers the dext prepared for DMA once that a client's transfers run through:
//   PreparedArea   the memory and its bus segments (the in-band staging page is one);
//   Bounce         the client's bounce buffer (docs/library.md "Transfer paths"), prepared
//                  when the client starts: the app maps it (kMemoryTypeBounce), copies its bytes in
//                  before a write and out after a read, and kSelectorBounceTransfer moves them
//                  between it and the card. One copy in the app instead of wiring the app's pages
//                  on every call, which on a Mac costs far more (docs/performance.md "Paths").
// Start and Stop run with the client's Start and Stop; Transfer on the method queue.
#pragma once

#include <DriverKit/IOMemoryDescriptor.h>
#include <DriverKit/IOReturn.h>
#include <DriverKit/IOService.h>
#include <DriverKit/IOUserClient.h>
#include <fpgadext/protocol.h>
#include <stdint.h>

#include "descriptor_host_memory.h"
#include "prepared_buffer.h"

namespace fpgadext::dext {
class DriverResources;
}

namespace fpgadext::dext::client {

class Transfers;

struct PreparedArea {
  PreparedBuffer buffer;
  PreparedSegments segments = {};

  // Allocated and prepared for the device to read and write, `size` bytes in one piece.
  [[nodiscard]] IOReturn Prepare(IOService* device, uint64_t size);
  void Release();
  bool prepared() const { return segments.length != 0; }
  // A window of a channel that did not stop still holds it (PreparationHold): the device may
  // write it later.
  bool HandedOver() const { return buffer.hold() != nullptr && buffer.hold()->HandedOver(); }
};

class Bounce {
 public:
  static constexpr uint64_t kSize = protocol::kBounceSize;

  // Prepared when the client starts, so that no transfer allocates (and a client's resources
  // are all made at open, as the staging page is).
  [[nodiscard]] IOReturn Start(DriverResources& board);
  // The buffer for the app to map. +1 reference for the caller.
  [[nodiscard]] IOReturn CopyMemory(IOMemoryDescriptor** memory);
  // kSelectorBounceTransfer.
  IOReturn Transfer(Transfers& transfers, DriverResources& board,
                    IOUserClientMethodArguments* arguments);
  void Stop() { area_.Release(); }

 private:
  PreparedArea area_;
};

}  // namespace fpgadext::dext::client
