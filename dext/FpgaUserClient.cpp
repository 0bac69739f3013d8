// FpgaUserClient: one app's connection. A thin dispatcher: IOUserClient checks each selector's
// scalar counts and structure sizes against the table below, and each method hands the call to
// the component that does that job (dext/client/, docs/dext.md):
//   transfers        in-band, out-of-line, client-memory and registered-buffer transfers;
//   bounce           the bounce buffer the app maps and transfers through;
//   buffer_table     registered buffers;
//   async_ops        async calls, polled on the client's async queue;
//   submission_ring  the shared-memory ring, polled on its own queue (checks: engine's
//                    RingValidator);
//   register_access  BAR registers and BAR mappings;
//   events           user interrupts: subscription, wait, the counters page.
// The board itself (device, BAR layout, planner, channels) is the driver's DriverResources, of
// which the client holds a reference from Start to Stop: the driver's Stop may run first.
// C++ library headers first: DriverKit declares the global placement operator new, and
// libc++'s <new> read after any DriverKit header does not compile (docs/macos.md).
#include <atomic>
#include <new>

#include "FpgaUserClient.h"

#include <DriverKit/IODispatchQueue.h>
#include <DriverKit/IOLib.h>
#include <DriverKit/IOMemoryDescriptor.h>
#include <DriverKit/IOUserClient.h>
#include <DriverKit/OSSharedPtr.h>
#include <fpgadext/protocol.h>

#include "FpgaDriver.h"
#include "client/async_ops.h"
#include "client/bounce.h"
#include "client/buffer_table.h"
#include "client/events.h"
#include "client/register_access.h"
#include "client/streams.h"
#include "client/submission_ring.h"
#include "client/transfers.h"
#include "driver_resources.h"

namespace protocol = fpgadext::protocol;
namespace client = fpgadext::dext::client;
using fpgadext::dext::DriverResources;

struct FpgaUserClient_IVars {
  OSSharedPtr<FpgaDriver> driver;  // retained from Start to Stop: `board` names it as opener
  // One reference (DriverResources::Retain) from Start to Stop; null outside them.
  DriverResources* board = nullptr;
  // Set first thing in Stop. A call that raced IOServiceClose can be queued behind Stop and run
  // after it: it is refused instead of reaching what Stop released (issue 12 item 1).
  std::atomic<bool> stopped{false};
  // The queue ExternalMethod runs on (kIOUserClientQueueNameExternalMethod), apart from the
  // default queue Stop and CopyClientMemoryForType run on: Stop can then cancel a synchronous
  // transfer in flight and wait for the call to leave (issue 12 item 6).
  OSSharedPtr<IODispatchQueue> methodQueue;
  // Scheduling (docs/engine.md "Scheduling"): this client's turn at the shared channels, for
  // every transfer it runs; and the flag that stops its synchronous transfer. Both outlive the
  // components that use them (destroyed in free).
  fpgadext::engine::ChannelClient channelClient;
  fpgadext::engine::TransferCancel cancel;
  client::Transfers transfers;
  client::Bounce bounce;
  client::BufferTable buffers;
  client::AsyncOps async;
  client::SubmissionRing ring;
  client::Streams streams;
  client::Events events;
};

namespace {

// What a Mac answers for a call into a DriverKit service that can no longer take it: xnu
// IOUserServer.cpp returns kIOReturnOffline from IOUserServer::rpc for an inactive server and
// from IOUserServer::instantiate for an inactive service. (What the dext runtime does with a
// message for a stopped object is not in Apple's open source.)
constexpr kern_return_t kStoppedClient = kIOReturnOffline;

FpgaUserClient* Self(OSObject* target) {
  return static_cast<FpgaUserClient*>(target);
}
FpgaUserClient_IVars& Vars(OSObject* target) {
  return *Self(target)->ivars;
}

kern_return_t GetDeviceInfo(OSObject* target, void*, IOUserClientMethodArguments* arguments) {
  Vars(target).board->GetDeviceInfo(arguments->scalarOutput);
  arguments->scalarOutputCount = protocol::kDeviceInfoCount;
  return kIOReturnSuccess;
}

kern_return_t ReadInband(OSObject* target, void*, IOUserClientMethodArguments* arguments) {
  FpgaUserClient_IVars& v = Vars(target);
  return v.transfers.ReadInband(*v.board, arguments);
}

kern_return_t WriteInband(OSObject* target, void*, IOUserClientMethodArguments* arguments) {
  FpgaUserClient_IVars& v = Vars(target);
  return v.transfers.WriteInband(*v.board, arguments);
}

template <uint32_t kDirection>
kern_return_t OutOfLine(OSObject* target, void*, IOUserClientMethodArguments* arguments) {
  FpgaUserClient_IVars& v = Vars(target);
  return v.transfers.OutOfLine(*v.board, arguments, kDirection);
}

template <uint32_t kDirection>
kern_return_t ClientMemory(OSObject* target, void*, IOUserClientMethodArguments* arguments) {
  FpgaUserClient_IVars& v = Vars(target);
  return v.transfers.ClientMemory(Self(target), *v.board, arguments, kDirection);
}

template <bool kWrite>
kern_return_t Register(OSObject* target, void*, IOUserClientMethodArguments* arguments) {
  return client::RegisterAccess(*Vars(target).board, arguments, kWrite);
}

kern_return_t RegisterBuffer(OSObject* target, void*, IOUserClientMethodArguments* arguments) {
  FpgaUserClient_IVars& v = Vars(target);
  uint32_t slot = 0;
  uint64_t id = 0;
  const kern_return_t ret = v.buffers.Register(
      Self(target), v.board->Device(), arguments->scalarInput[protocol::kRegisterBufferAddress],
      arguments->scalarInput[protocol::kRegisterBufferLength],
      arguments->scalarInput[protocol::kRegisterBufferDirection], &slot, &id);
  if (ret != kIOReturnSuccess) return ret;
  client::BufferTable* table = &v.buffers;
  v.ring.Exclusive(^{
    table->SetRingVisible(slot, true);
  });
  arguments->scalarOutput[0] = id;
  arguments->scalarOutputCount = 1;
  return kIOReturnSuccess;
}

kern_return_t UnregisterBuffer(OSObject* target, void*, IOUserClientMethodArguments* arguments) {
  FpgaUserClient_IVars& v = Vars(target);
  const uint64_t id = arguments->scalarInput[protocol::kUnregisterBufferId];
  if (v.buffers.Find(id) == nullptr) return kIOReturnNotFound;
  const uint32_t slot = client::BufferTable::SlotOf(id);
  if (v.streams.Uses(slot)) return kIOReturnBusy;  // a receive stream's slots
  client::BufferTable* table = &v.buffers;
  v.ring.Exclusive(^{  // waits for the ring's entry in flight, if it uses the buffer
    table->SetRingVisible(slot, false);
  });
  v.buffers.Drop(slot);
  return kIOReturnSuccess;
}

template <uint32_t kDirection>
kern_return_t Registered(OSObject* target, void*, IOUserClientMethodArguments* arguments) {
  FpgaUserClient_IVars& v = Vars(target);
  const client::RegisteredBuffer* b =
      v.buffers.Find(arguments->scalarInput[protocol::kRegisteredId]);
  if (b == nullptr) return kIOReturnNotFound;
  return v.transfers.Registered(*v.board, *b, arguments, kDirection);
}

kern_return_t Nop(OSObject*, void*, IOUserClientMethodArguments*) {
  return kIOReturnSuccess;
}

template <uint32_t kDirection>
kern_return_t Async(OSObject* target, void*, IOUserClientMethodArguments* arguments) {
  FpgaUserClient_IVars& v = Vars(target);
  return v.async.Submit(Self(target), *v.board, arguments, kDirection, v.transfers.slots());
}

kern_return_t RingCreate(OSObject* target, void*, IOUserClientMethodArguments* arguments) {
  FpgaUserClient_IVars& v = Vars(target);
  uint64_t size = 0;
  const kern_return_t ret =
      v.ring.Create(Self(target), *v.board, v.buffers, &v.channelClient,
                    arguments->scalarInput[protocol::kRingCreateEntries],
                    arguments->scalarInput[protocol::kRingCreateDirections], &size);
  if (ret != kIOReturnSuccess) return ret;
  arguments->scalarOutput[0] = size;
  arguments->scalarOutputCount = 1;
  return kIOReturnSuccess;
}

kern_return_t RingDestroy(OSObject* target, void*, IOUserClientMethodArguments*) {
  FpgaUserClient_IVars& v = Vars(target);
  return v.ring.Destroy(Self(target), *v.board);
}

kern_return_t RingWait(OSObject* target, void*, IOUserClientMethodArguments* arguments) {
  return Vars(target).ring.Wait(Self(target), arguments->completion,
                                arguments->scalarInput[protocol::kRingWaitSeen]);
}

kern_return_t RingDoorbell(OSObject* target, void*, IOUserClientMethodArguments*) {
  return Vars(target).ring.Doorbell(Self(target));
}

// User interrupts (client/events.h, dext/user_interrupts.h).
kern_return_t EventsSubscribe(OSObject* target, void*, IOUserClientMethodArguments* arguments) {
  FpgaUserClient_IVars& v = Vars(target);
  uint64_t lines = 0;
  const kern_return_t ret = v.events.Subscribe(
      Self(target), *v.board, arguments->scalarInput[protocol::kEventsSubscribeMask], &lines);
  if (ret != kIOReturnSuccess) return ret;
  arguments->scalarOutput[0] = lines;
  arguments->scalarOutputCount = 1;
  return kIOReturnSuccess;
}

kern_return_t EventsWait(OSObject* target, void*, IOUserClientMethodArguments* arguments) {
  FpgaUserClient_IVars& v = Vars(target);
  return v.events.Wait(*v.board, arguments->completion,
                       arguments->scalarInput[protocol::kEventsWaitSeen]);
}

kern_return_t EventsUnsubscribe(OSObject* target, void*, IOUserClientMethodArguments*) {
  FpgaUserClient_IVars& v = Vars(target);
  return v.events.Unsubscribe(*v.board);
}

// AXI-Stream channels (client/streams.h, docs/streams.md).
kern_return_t StreamOpen(OSObject* target, void*, IOUserClientMethodArguments* arguments) {
  FpgaUserClient_IVars& v = Vars(target);
  return v.streams.Open(Self(target), *v.board, v.buffers, arguments);
}

kern_return_t StreamClose(OSObject* target, void*, IOUserClientMethodArguments* arguments) {
  FpgaUserClient_IVars& v = Vars(target);
  return v.streams.Close(Self(target), *v.board,
                         arguments->scalarInput[protocol::kStreamCloseDirection]);
}

kern_return_t StreamSend(OSObject* target, void*, IOUserClientMethodArguments* arguments) {
  FpgaUserClient_IVars& v = Vars(target);
  return v.streams.Send(Self(target), *v.board, v.transfers, arguments);
}

kern_return_t StreamWait(OSObject* target, void*, IOUserClientMethodArguments* arguments) {
  return Vars(target).streams.Wait(Self(target), arguments->completion,
                                   arguments->scalarInput[protocol::kStreamWaitSeen]);
}

kern_return_t StreamCounters(OSObject* target, void*, IOUserClientMethodArguments* arguments) {
  FpgaUserClient_IVars& v = Vars(target);
  return v.streams.Counters(*v.board, arguments);
}

kern_return_t StreamChannels(OSObject* target, void*, IOUserClientMethodArguments* arguments) {
  FpgaUserClient_IVars& v = Vars(target);
  return v.streams.Channels(*v.board, arguments);
}

kern_return_t BounceTransfer(OSObject* target, void*, IOUserClientMethodArguments* arguments) {
  FpgaUserClient_IVars& v = Vars(target);
  return v.bounce.Transfer(v.transfers, *v.board, arguments);
}

kern_return_t CompletionPolicy(OSObject* target, void*, IOUserClientMethodArguments* arguments) {
  FpgaUserClient_IVars& v = Vars(target);
  uint64_t inEffect = 0;
  const kern_return_t ret = v.transfers.SetCompletionPolicy(
      *v.board, arguments->scalarInput[protocol::kCompletionPolicyValue], &inEffect);
  if (ret != kIOReturnSuccess) return ret;
  arguments->scalarOutput[0] = inEffect;
  arguments->scalarOutputCount = 1;
  return kIOReturnSuccess;
}

// A selector reserved in protocol.h for work not yet built.
kern_return_t Reserved(OSObject*, void*, IOUserClientMethodArguments*) {
  return kIOReturnUnsupported;
}

static_assert(protocol::kAnyStructureSize == kIOUserClientVariableStructureSize);
constexpr uint32_t kToCard = client::kToCard;
constexpr uint32_t kFromCard = client::kFromCard;

// One dispatch entry: the checks are the selector's call layout (protocol.h), which the library
// builds its calls from.
constexpr IOUserClientMethodDispatch Entry(IOUserClientMethodFunction function,
                                           protocol::Selector selector) {
  const protocol::CallLayout& layout = protocol::LayoutOf(selector);
  return IOUserClientMethodDispatch{function,
                                    layout.async ? 1u : 0u,
                                    layout.scalarInputs,
                                    layout.structureInput,
                                    layout.scalarOutputs,
                                    layout.structureOutput};
}

// The dispatch table: scalar counts and structure sizes are checked by IOUserClient before a
// method runs; sizes that vary are checked by the method. In selector order (protocol.h).
const IOUserClientMethodDispatch kMethods[] = {
    Entry(GetDeviceInfo, protocol::kSelectorGetDeviceInfo),
    Entry(ReadInband, protocol::kSelectorReadInband),
    Entry(WriteInband, protocol::kSelectorWriteInband),
    Entry(OutOfLine<kFromCard>, protocol::kSelectorReadOutOfLine),
    Entry(OutOfLine<kToCard>, protocol::kSelectorWriteOutOfLine),
    Entry(ClientMemory<kFromCard>, protocol::kSelectorReadClientMemory),
    Entry(ClientMemory<kToCard>, protocol::kSelectorWriteClientMemory),
    Entry(Register<false>, protocol::kSelectorRegisterRead),
    Entry(Register<true>, protocol::kSelectorRegisterWrite),
    Entry(RegisterBuffer, protocol::kSelectorRegisterBuffer),
    Entry(UnregisterBuffer, protocol::kSelectorUnregisterBuffer),
    Entry(Registered<kFromCard>, protocol::kSelectorReadRegistered),
    Entry(Registered<kToCard>, protocol::kSelectorWriteRegistered),
    Entry(Nop, protocol::kSelectorNop),
    Entry(Async<kFromCard>, protocol::kSelectorReadAsync),
    Entry(Async<kToCard>, protocol::kSelectorWriteAsync),
    Entry(RingCreate, protocol::kSelectorRingCreate),
    Entry(RingDestroy, protocol::kSelectorRingDestroy),
    Entry(RingWait, protocol::kSelectorRingWait),
    Entry(StreamOpen, protocol::kSelectorStreamOpen),
    Entry(StreamClose, protocol::kSelectorStreamClose),
    Entry(StreamSend, protocol::kSelectorStreamSend),
    Entry(StreamWait, protocol::kSelectorStreamWait),
    Entry(StreamCounters, protocol::kSelectorStreamCounters),
    Entry(StreamChannels, protocol::kSelectorStreamChannels),
    Entry(EventsSubscribe, protocol::kSelectorEventsSubscribe),
    Entry(EventsWait, protocol::kSelectorEventsWait),
    Entry(EventsUnsubscribe, protocol::kSelectorEventsUnsubscribe),
    Entry(RingDoorbell, protocol::kSelectorRingDoorbell),
    Entry(Reserved, protocol::kSelectorReserved29),
    Entry(BounceTransfer, protocol::kSelectorBounceTransfer),
    Entry(CompletionPolicy, protocol::kSelectorCompletionPolicy),
};

static_assert(sizeof(kMethods) / sizeof(kMethods[0]) == protocol::kSelectorCount,
              "one dispatch entry per selector");

// Undoes Start, whatever part of it ran: the ring stops first (its entry in flight finishes or
// is aborted), then every async transfer still running is aborted and completed with
// kIOReturnAborted, then registrations, the staging buffer and the window commands go. Nothing
// touches the app's memory once it returns.
void TearDown(FpgaUserClient* self) {
  FpgaUserClient_IVars& v = *self->ivars;
  if (v.board != nullptr) {
    v.ring.Stop(self, *v.board);
    v.streams.Stop(self, *v.board);
    v.events.Stop(*v.board);
    v.async.Stop(self, *v.board);
  }
  v.buffers.DropAll();
  v.bounce.Stop();
  v.transfers.Stop();
  DriverResources::Release(v.board);  // before the driver, which the board names as opener
  v.board = nullptr;
  v.driver.reset();
}

}  // namespace

bool FpgaUserClient::init() {
  if (!super::init()) return false;
  void* storage = IOMallocZero(sizeof(FpgaUserClient_IVars));
  if (storage == nullptr) return false;
  ivars = new (storage) FpgaUserClient_IVars();
  return true;
}

void FpgaUserClient::free() {
  if (ivars != nullptr) {
    ivars->~FpgaUserClient_IVars();
    IOFree(ivars, sizeof(FpgaUserClient_IVars));
    ivars = nullptr;
  }
  super::free();
}

kern_return_t IMPL(FpgaUserClient, Start) {
  kern_return_t ret = Start(provider, SUPERDISPATCH);
  if (ret != kIOReturnSuccess) return ret;
  // Calls run on a queue of their own from now on (xnu IOUserClient.iig: ExternalMethod's
  // QUEUENAME). Set before the kernel hands the connection to the app, so every call uses it.
  ret = IODispatchQueue::Create("fpgadext.methods", 0, 0, ivars->methodQueue.attach());
  if (ret == kIOReturnSuccess) {
    ret = SetDispatchQueue(kIOUserClientQueueNameExternalMethod, ivars->methodQueue.get());
  }
  if (ret != kIOReturnSuccess) return ret;
  FpgaDriver* driver = OSDynamicCast(FpgaDriver, provider);
  if (driver == nullptr) return kIOReturnBadArgument;
  DriverResources* board = driver->GetResources();
  if (board == nullptr) return kIOReturnNotReady;
  ivars->driver.reset(driver, OSRetain);
  board->Retain();
  ivars->board = board;
  // Everything a transfer needs is made now, so that no transfer allocates.
  ret = ivars->transfers.Start(*board, &ivars->channelClient, &ivars->cancel);
  if (ret == kIOReturnSuccess) ret = ivars->bounce.Start(*board);
  if (ret == kIOReturnSuccess) ret = ivars->async.Start(&ivars->channelClient);
  if (ret != kIOReturnSuccess) TearDown(this);
  return ret;
}

kern_return_t IMPL(FpgaUserClient, Stop) {
  // The app closed its connection or died. Stop runs on the default queue while a call may be
  // running on the method queue: later calls are refused, a synchronous transfer in flight is
  // cancelled (it ends with kIOReturnAborted once its channels are stopped or set aside), and
  // Stop waits for that call to leave before anything it uses is released.
  ivars->stopped.store(true, std::memory_order_release);
  if (ivars->board != nullptr) ivars->board->CancelTransfer(&ivars->cancel);
  if (ivars->methodQueue) {
    ivars->methodQueue->DispatchSync(^{
        // runs once the call in flight, if any, has returned
    });
  }
  TearDown(this);
  return Stop(provider, SUPERDISPATCH);
}

kern_return_t FpgaUserClient::ExternalMethod(uint64_t selector,
                                             IOUserClientMethodArguments* arguments,
                                             const IOUserClientMethodDispatch* dispatch,
                                             OSObject* target, void* reference) {
  if (ivars->stopped.load(std::memory_order_acquire) || ivars->board == nullptr) {
    return kStoppedClient;
  }
  if (selector >= protocol::kSelectorCount) return kIOReturnBadArgument;
  return super::ExternalMethod(selector, arguments, &kMethods[selector], this, nullptr);
}

kern_return_t IMPL(FpgaUserClient, CopyClientMemoryForType) {
  if (ivars->stopped.load(std::memory_order_acquire) || ivars->board == nullptr) {
    return kStoppedClient;
  }
  if (type == protocol::kMemoryTypeRing) {
    // The ring is made and destroyed by calls on the method queue: look at it there. The block
    // writes through a pointer (no __block variable: see submission_ring.cpp).
    kern_return_t ret = kIOReturnNotReady;
    kern_return_t* result = &ret;
    client::SubmissionRing* ring = &ivars->ring;
    ivars->methodQueue->DispatchSync(^{
      *result = ring->CopyMemory(memory);
    });
    return ret;
  }
  if (type == protocol::kMemoryTypeEventCounters) {
    return ivars->events.CopyMemory(*ivars->board, options, memory);
  }
  if (type == protocol::kMemoryTypeStreamReceive) {
    // Opened and closed by calls on the method queue, like the ring: look at it there.
    kern_return_t ret = kIOReturnNotReady;
    kern_return_t* result = &ret;
    client::Streams* streams = &ivars->streams;
    ivars->methodQueue->DispatchSync(^{
      *result = streams->CopyMemory(memory);
    });
    return ret;
  }
  if (type == protocol::kMemoryTypeBounce) {
    return ivars->bounce.CopyMemory(memory);  // made at Start, kept until Stop
  }
  return client::CopyBarMemory(*ivars->board, type, memory);
}
