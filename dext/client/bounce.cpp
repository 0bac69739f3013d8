// The client's bounce buffer and the prepared areas transfers run through (bounce.h).
// C++ library headers first: DriverKit declares the global placement operator new, and
// libc++'s <new> read after any DriverKit header does not compile (docs/macos.md).
#include <new>

#include "client/bounce.h"

#include <DriverKit/IOBufferMemoryDescriptor.h>
#include <DriverKit/IOMemoryDescriptor.h>
#include <DriverKit/IOUserClient.h>
#include <fpgadext/protocol.h>

#include "client/transfers.h"
#include "driver_resources.h"

namespace fpgadext::dext::client {

namespace protocol = fpgadext::protocol;

IOReturn PreparedArea::Prepare(IOService* device, uint64_t size) {
  segments = {};
  const IOReturn ret = buffer.Prepare(device, kIOMemoryDirectionInOut, size);
  if (ret != kIOReturnSuccess) {
    buffer.Release();
    return ret;
  }
  segments = PreparedSegments{buffer.segments(), buffer.segmentCount(), size};
  return kIOReturnSuccess;
}

void PreparedArea::Release() {
  buffer.Release();
  segments = {};
}

IOReturn Bounce::Start(DriverResources& board) {
  return area_.Prepare(board.Device(), kSize);
}

IOReturn Bounce::CopyMemory(IOMemoryDescriptor** memory) {
  if (!area_.prepared()) return kIOReturnNotReady;
  IOBufferMemoryDescriptor* shared = area_.buffer.memory();
  shared->retain();  // +1: the kernel releases one reference
  *memory = shared;
  return kIOReturnSuccess;
}

IOReturn Bounce::Transfer(Transfers& transfers, DriverResources& board,
                          IOUserClientMethodArguments* arguments) {
  const uint64_t direction = arguments->scalarInput[protocol::kBounceDirection];
  const uint64_t card = arguments->scalarInput[protocol::kBounceCard];
  const uint64_t offset = arguments->scalarInput[protocol::kBounceOffset];
  const uint64_t length = arguments->scalarInput[protocol::kBounceLength];
  if (direction != protocol::kBufferToCard && direction != protocol::kBufferFromCard) {
    return kIOReturnBadArgument;
  }
  if (!area_.prepared()) return kIOReturnNotReady;
  if (offset > kSize || length > kSize - offset) return kIOReturnBadArgument;
  if (length == 0) return kIOReturnSuccess;
  // The app's mapping is this memory: it cannot be swapped for a new one as the staging page
  // is. Refused until the stuck channel is idle or reset and lets go of it.
  if (area_.HandedOver()) return kIOReturnBusy;
  return transfers.RunPrepared(board, direction == protocol::kBufferToCard ? kToCard : kFromCard,
                               card, area_, offset, length);
}

}  // namespace fpgadext::dext::client
