// IOKitLib, app side (IOKitUser IOKitLib.c behaviour, driverkit-semantics.md §2.1): decides
// in-band or out-of-line per structure, builds the broker's request message, and writes the
// reply back under the same rules as on a Mac.
#include <IOKit/IOKitLib.h>

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "../kernel/broker.h"

namespace broker = fpgadext::emu::broker;

struct __CFDictionary {
  bool byName;
  std::string key;
  int references = 1;
};

struct IONotificationPort {
  mach_port_t port;
  dispatch_queue_t queue = nullptr;
};

namespace {

constexpr mach_port_t kTaskSelf = 0x203;

void CopyName(const std::string& from, io_name_t to) {
  std::strncpy(to, from.c_str(), sizeof(io_name_t) - 1);
  to[sizeof(io_name_t) - 1] = 0;
}

// Runs on the port's dispatch queue: the callout IODispatchCalloutFromMessage would make.
void DeliverAsync(void* context, const broker::AsyncMessage& message) {
  auto* notify = static_cast<IONotificationPort*>(context);
  const broker::AsyncMessage copy = message;
  dispatch_async(notify->queue, ^{
    auto callback = reinterpret_cast<IOAsyncCallback>(copy.reference[kIOAsyncCalloutFuncIndex]);
    void* refcon = reinterpret_cast<void*>(copy.reference[kIOAsyncCalloutRefconIndex]);
    void* args[kMaxAsyncArgs];
    for (uint32_t i = 0; i < copy.argumentCount; ++i) {
      args[i] = reinterpret_cast<void*>(copy.arguments[i]);
    }
    if (callback != nullptr) callback(refcon, copy.status, args, copy.argumentCount);
  });
}

kern_return_t CallMethod(bool async, mach_port_t connection, uint32_t selector,
                         mach_port_t wakePort, const uint64_t* reference, uint32_t referenceCnt,
                         const uint64_t* input, uint32_t inputCnt, const void* inputStruct,
                         size_t inputStructCnt, uint64_t* output, uint32_t* outputCnt,
                         void* outputStruct, size_t* outputStructCntP) {
  broker::ConnectMethodRequest rq;
  rq.connection = connection;
  rq.selector = selector;
  // The MIG stub refuses more than 16 scalars in, and asks for at most 16 out.
  if (inputCnt > broker::kScalarMax) return MIG_ARRAY_TOO_LARGE;
  if (inputCnt != 0 && input == nullptr) return kIOReturnBadArgument;
  rq.scalarInputCount = inputCnt;
  if (inputCnt) std::memcpy(rq.scalarInput, input, inputCnt * sizeof(uint64_t));
  if (inputStructCnt != 0 && inputStruct == nullptr) return kIOReturnBadArgument;
  if (inputStructCnt <= broker::kInbandMax) {
    rq.inbandInputSize = static_cast<uint32_t>(inputStructCnt);
    rq.inbandInput = static_cast<const uint8_t*>(inputStruct);
  } else {
    rq.oolInputAddress = reinterpret_cast<uint64_t>(inputStruct);
    rq.oolInputSize = inputStructCnt;
  }
  if (outputCnt && *outputCnt != 0 && output == nullptr) return kIOReturnBadArgument;
  const uint32_t scalarCapacity = outputCnt ? *outputCnt : 0;
  rq.scalarOutputCapacity = std::min<uint32_t>(scalarCapacity, broker::kScalarMax);
  const size_t structCapacity = outputStructCntP ? *outputStructCntP : 0;
  uint8_t inband[broker::kInbandMax];
  broker::ConnectMethodReply reply;
  reply.inbandOutput = inband;
  if (structCapacity == kIOConnectMethodVarOutputSize && !async) {
    // The async call has no var-output form: -3 goes out-of-line and the kernel refuses it.
    if (outputStruct == nullptr) return kIOReturnBadArgument;
    rq.variableOutput = true;
  } else if (structCapacity <= broker::kInbandMax) {
    if (structCapacity != 0 && outputStruct == nullptr) return kIOReturnBadArgument;
    rq.inbandOutputCapacity = static_cast<uint32_t>(structCapacity);
  } else {
    if (outputStruct == nullptr) return kIOReturnBadArgument;
    rq.oolOutputAddress = reinterpret_cast<uint64_t>(outputStruct);
    rq.oolOutputSize = structCapacity;
  }
  if (async) {
    rq.async = true;
    rq.wakePort = wakePort;
    // IOKitLib passes a 1-entry dummy when there is no reference at all; the MIG stub refuses
    // more than io_async_ref64_t holds; a count of 0 reaches the kernel (BadArgument there).
    static const uint64_t kDummyReference[1] = {0};
    if (reference == nullptr && referenceCnt == 0) {
      reference = kDummyReference;
      referenceCnt = 1;
    }
    if (reference == nullptr) return kIOReturnBadArgument;
    if (referenceCnt > broker::kAsyncRefCount) return MIG_ARRAY_TOO_LARGE;
    rq.asyncReferenceCount = referenceCnt;
    std::memcpy(rq.asyncReference, reference, referenceCnt * sizeof(uint64_t));
  }

  broker::ConnectMethod(rq, &reply);
  if (reply.status != kIOReturnSuccess) return reply.status;  // outputs and counts untouched
  if (output && outputCnt) {
    std::memcpy(output, reply.scalarOutput, reply.scalarOutputCount * sizeof(uint64_t));
    *outputCnt = reply.scalarOutputCount;
  }
  if (rq.variableOutput) {
    *static_cast<void**>(outputStruct) = reply.variableOutput;
    *outputStructCntP = reply.variableOutputSize;
  } else if (outputStructCntP && structCapacity <= broker::kInbandMax) {
    if (reply.inbandOutputSize) std::memcpy(outputStruct, inband, reply.inbandOutputSize);
    *outputStructCntP = reply.inbandOutputSize;
  }  // out-of-line: the count keeps the caller's value
  return kIOReturnSuccess;
}

}  // namespace

extern "C" {

const mach_port_t kIOMainPortDefault = 0;
const mach_port_t kIOMasterPortDefault = 0;

mach_port_t mach_task_self(void) { return kTaskSelf; }

kern_return_t vm_deallocate(task_t task, vm_address_t address, vm_size_t size) {
  std::free(reinterpret_cast<void*>(address));
  return KERN_SUCCESS;
}

CFTypeRef CFRetain(CFTypeRef object) {
  ++const_cast<__CFDictionary*>(static_cast<const __CFDictionary*>(object))->references;
  return object;
}

void CFRelease(CFTypeRef object) {
  auto* dict = const_cast<__CFDictionary*>(static_cast<const __CFDictionary*>(object));
  if (--dict->references == 0) delete dict;
}

CFMutableDictionaryRef IOServiceMatching(const char* name) {
  return name ? new __CFDictionary{false, name} : nullptr;
}

CFMutableDictionaryRef IOServiceNameMatching(const char* name) {
  return name ? new __CFDictionary{true, name} : nullptr;
}

kern_return_t IOServiceGetMatchingServices(mach_port_t mainPort, CFDictionaryRef matching,
                                           io_iterator_t* existing) {
  if (matching == nullptr || existing == nullptr) return kIOReturnBadArgument;
  std::vector<uint32_t> handles;
  kern_return_t ret = broker::GetMatchingServices(matching->byName, matching->key, &handles);
  CFRelease(matching);
  if (ret != kIOReturnSuccess) return ret;
  *existing = broker::IteratorCreate(handles);
  return kIOReturnSuccess;
}

io_service_t IOServiceGetMatchingService(mach_port_t mainPort, CFDictionaryRef matching) {
  io_iterator_t iterator = 0;
  if (IOServiceGetMatchingServices(mainPort, matching, &iterator) != kIOReturnSuccess) return 0;
  io_service_t first = IOIteratorNext(iterator);
  IOObjectRelease(iterator);
  return first;
}

io_object_t IOIteratorNext(io_iterator_t iterator) { return broker::IteratorNext(iterator); }
void IOIteratorReset(io_iterator_t iterator) { broker::IteratorReset(iterator); }
boolean_t IOIteratorIsValid(io_iterator_t iterator) { return broker::IteratorIsValid(iterator); }
kern_return_t IOObjectRelease(io_object_t object) { return broker::ObjectRelease(object); }
kern_return_t IOObjectRetain(io_object_t object) { return broker::ObjectRetain(object); }

kern_return_t IOObjectGetClass(io_object_t object, io_name_t className) {
  std::string name;
  kern_return_t ret = broker::ObjectGetClass(object, &name);
  if (ret == kIOReturnSuccess) CopyName(name, className);
  return ret;
}

boolean_t IOObjectConformsTo(io_object_t object, const io_name_t className) {
  return broker::ObjectConformsTo(object, className);
}

kern_return_t IORegistryEntryGetName(io_registry_entry_t entry, io_name_t name) {
  std::string n;
  kern_return_t ret = broker::RegistryEntryGetName(entry, &n);
  if (ret == kIOReturnSuccess) CopyName(n, name);
  return ret;
}

kern_return_t IORegistryEntryGetRegistryEntryID(io_registry_entry_t entry, uint64_t* entryID) {
  if (entryID == nullptr) return kIOReturnBadArgument;
  return broker::RegistryEntryGetID(entry, entryID);
}

kern_return_t IOServiceOpen(io_service_t service, task_port_t owningTask, uint32_t type,
                            io_connect_t* connect) {
  if (connect == nullptr) return kIOReturnBadArgument;
  if (owningTask != kTaskSelf) return kIOReturnBadArgument;  // only this task is emulated
  return broker::ServiceOpen(service, type, connect);
}

kern_return_t IOServiceClose(io_connect_t connect) { return broker::ServiceClose(connect); }

kern_return_t IOConnectCallMethod(mach_port_t connection, uint32_t selector,
                                  const uint64_t* input, uint32_t inputCnt,
                                  const void* inputStruct, size_t inputStructCnt, uint64_t* output,
                                  uint32_t* outputCnt, void* outputStruct,
                                  size_t* outputStructCnt) {
  return CallMethod(false, connection, selector, 0, nullptr, 0, input, inputCnt, inputStruct,
                    inputStructCnt, output, outputCnt, outputStruct, outputStructCnt);
}

kern_return_t IOConnectCallAsyncMethod(mach_port_t connection, uint32_t selector,
                                       mach_port_t wake_port, uint64_t* reference,
                                       uint32_t referenceCnt, const uint64_t* input,
                                       uint32_t inputCnt, const void* inputStruct,
                                       size_t inputStructCnt, uint64_t* output,
                                       uint32_t* outputCnt, void* outputStruct,
                                       size_t* outputStructCnt) {
  return CallMethod(true, connection, selector, wake_port, reference, referenceCnt, input,
                    inputCnt, inputStruct, inputStructCnt, output, outputCnt, outputStruct,
                    outputStructCnt);
}

kern_return_t IOConnectCallStructMethod(mach_port_t connection, uint32_t selector,
                                        const void* inputStruct, size_t inputStructCnt,
                                        void* outputStruct, size_t* outputStructCnt) {
  return IOConnectCallMethod(connection, selector, nullptr, 0, inputStruct, inputStructCnt,
                             nullptr, nullptr, outputStruct, outputStructCnt);
}

kern_return_t IOConnectCallAsyncStructMethod(mach_port_t connection, uint32_t selector,
                                             mach_port_t wake_port, uint64_t* reference,
                                             uint32_t referenceCnt, const void* inputStruct,
                                             size_t inputStructCnt, void* outputStruct,
                                             size_t* outputStructCnt) {
  return IOConnectCallAsyncMethod(connection, selector, wake_port, reference, referenceCnt,
                                  nullptr, 0, inputStruct, inputStructCnt, nullptr, nullptr,
                                  outputStruct, outputStructCnt);
}

kern_return_t IOConnectCallScalarMethod(mach_port_t connection, uint32_t selector,
                                        const uint64_t* input, uint32_t inputCnt,
                                        uint64_t* output, uint32_t* outputCnt) {
  return IOConnectCallMethod(connection, selector, input, inputCnt, nullptr, 0, output,
                             outputCnt, nullptr, nullptr);
}

kern_return_t IOConnectCallAsyncScalarMethod(mach_port_t connection, uint32_t selector,
                                             mach_port_t wake_port, uint64_t* reference,
                                             uint32_t referenceCnt, const uint64_t* input,
                                             uint32_t inputCnt, uint64_t* output,
                                             uint32_t* outputCnt) {
  return IOConnectCallAsyncMethod(connection, selector, wake_port, reference, referenceCnt,
                                  input, inputCnt, nullptr, 0, output, outputCnt, nullptr,
                                  nullptr);
}

kern_return_t IOConnectMapMemory64(io_connect_t connect, uint32_t memoryType,
                                   task_port_t intoTask, mach_vm_address_t* atAddress,
                                   mach_vm_size_t* ofSize, IOOptionBits options) {
  if (atAddress == nullptr || ofSize == nullptr || intoTask != kTaskSelf) {
    return kIOReturnBadArgument;
  }
  if (!(options & kIOMapAnywhere)) return kIOReturnUnsupported;  // fixed addresses: not emulated
  return broker::MapMemory(connect, memoryType, options, atAddress, ofSize);
}

kern_return_t IOConnectUnmapMemory64(io_connect_t connect, uint32_t memoryType,
                                     task_port_t fromTask, mach_vm_address_t atAddress) {
  return broker::UnmapMemory(connect, memoryType, atAddress);
}

IONotificationPortRef IONotificationPortCreate(mach_port_t mainPort) {
  auto* notify = new IONotificationPort;
  notify->port = broker::NotificationPortCreate();
  return notify;
}

void IONotificationPortDestroy(IONotificationPortRef notify) {
  if (notify == nullptr) return;
  broker::NotificationPortDestroy(notify->port);
  if (notify->queue) {
    dispatch_sync(notify->queue, ^{});  // callouts already queued finish first
    dispatch_release(notify->queue);
  }
  delete notify;
}

mach_port_t IONotificationPortGetMachPort(IONotificationPortRef notify) {
  return notify ? notify->port : 0;
}

void IONotificationPortSetDispatchQueue(IONotificationPortRef notify, dispatch_queue_t queue) {
  if (notify == nullptr || queue == nullptr) return;
  dispatch_retain(queue);
  if (notify->queue) dispatch_release(notify->queue);
  notify->queue = queue;
  broker::NotificationPortSetReceiver(notify->port, DeliverAsync, notify);
}

}  // extern "C"
