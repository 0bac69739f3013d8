// A client's AXI-Stream channels (docs/streams.md): at most one stream per direction, each on a
// stream channel the client holds alone (DriverResources::Streams()->Claim).
//   to the card    kSelectorStreamSend, synchronous on the ExternalMethod queue: the app's bytes
//                  (CreateMemoryDescriptorFromClient, any size and alignment) go out as the next
//                  piece of the current packet, EOP on the last descriptor when asked.
//   from the card  a receive ring: the slots of one registered buffer stay posted to the card;
//                  a dispatch queue of the stream's own collects what the card wrote, publishes
//                  StreamCompletions in shared memory (kMemoryTypeStreamReceive) and posts a slot
//                  again once the app hands it back (cqHead). The app's index is hostile: it is
//                  loaded once per pass and only accepted between what was handed back and what
//                  was published (StreamConsumerIndex).
#pragma once

#include <atomic>

#include <DriverKit/IOBufferMemoryDescriptor.h>
#include <DriverKit/IODispatchQueue.h>
#include <DriverKit/IOMemoryDescriptor.h>
#include <DriverKit/IOReturn.h>
#include <DriverKit/IOUserClient.h>
#include <DriverKit/OSAction.h>
#include <DriverKit/OSSharedPtr.h>
#include <fpgadext/engine/stream_channel.h>
#include <fpgadext/protocol.h>
#include <stdint.h>

#include "client/buffer_table.h"
#include "client/in_place.h"
#include "driver_resources.h"

namespace fpgadext::dext::client {

class Transfers;

// The dext's judgement of the app's consumer index: which slots it hands back. Plain C++.
class StreamConsumerIndex {
 public:
  // `handedBack` .. `published` are the dext's own indices. Returns how many slots the app's
  // `head` hands back, or 0 and *bogus for an index outside that range.
  static uint32_t Accept(uint32_t head, uint32_t handedBack, uint32_t published, bool* bogus) {
    const uint32_t outstanding = published - handedBack;
    const uint32_t advance = head - handedBack;
    *bogus = advance > outstanding;
    return *bogus ? 0 : advance;
  }
};

struct StreamReceiver {
  OSSharedPtr<IOBufferMemoryDescriptor> memory;  // StreamRingHeader + completions
  uint8_t* base = nullptr;
  uint32_t channel = 0;
  uint32_t slots = 0;
  uint32_t bufferSlot = 0;  // the registered buffer's table slot (kept from unregistering)
  engine::StreamBuffer buffers[protocol::kStreamMaxSlots] = {};  // bus ranges, one per slot
  OSSharedPtr<IODispatchQueue> queue;
  std::atomic<bool> stopping{false};
  uint64_t sanitizerToken = 0;
  // Receive queue only:
  uint32_t published = 0;               // cqTail
  uint32_t handedBack = 0;              // slots the app gave back (and that were posted again)
  uint32_t errors = 0;                  // StreamRingError bits
  IOReturn failure = kIOReturnSuccess;  // the engine stopped the channel with it
  uint64_t packets = 0;
  uint64_t bytes = 0;
  uint64_t failed = 0;
  engine::StreamCounters engine = {};  // the channel's, as of the last pass
  engine::StreamCounters atOpen = {};  // the channel's at open (its counters run from Probe)
  uint64_t lastWorkNs = 0;
  OSSharedPtr<OSAction> waiter;  // kSelectorStreamWait in progress
  uint32_t waitIndex = 0;
};

class Streams {
 public:
  Streams() = default;
  Streams(const Streams&) = delete;
  Streams& operator=(const Streams&) = delete;

  IOReturn Open(IOUserClient* client, DriverResources& board, BufferTable& buffers,
                IOUserClientMethodArguments* arguments);
  IOReturn Close(IOUserClient* client, DriverResources& board, uint64_t direction);
  IOReturn Send(IOUserClient* client, DriverResources& board, Transfers& transfers,
                IOUserClientMethodArguments* arguments);
  IOReturn Wait(IOUserClient* client, OSAction* completion, uint64_t index);
  IOReturn Counters(DriverResources& board, IOUserClientMethodArguments* arguments);
  IOReturn Channels(DriverResources& board, IOUserClientMethodArguments* arguments);
  // The receive ring for CopyClientMemoryForType (+1), kIOReturnNotReady without one.
  IOReturn CopyMemory(IOMemoryDescriptor** memory);
  // Whether a receive stream's slots live in the registered buffer of table slot `slot`.
  bool Uses(uint32_t slot) const { return receiver_ && receiver_->bufferSlot == slot; }
  // Client stop: closes both directions.
  void Stop(IOUserClient* client, DriverResources& board);

 private:
  static void Service(IOUserClient* client, engine::StreamMover* mover, StreamReceiver* r);
  void StopReceiver(IOUserClient* client, DriverResources& board);

  bool sending_ = false;  // ExternalMethod queue
  uint32_t sendChannel_ = 0;
  engine::StreamCounters sendBase_ = {};  // the channel's counters at open
  InPlace<StreamReceiver> receiver_;      // exists while a receive stream does
};

}  // namespace fpgadext::dext::client
