// IOKitLib's user-client calls (IOKitUser IOKitLib.c, IOConnectCallMethod and friends): decides
// in-band or out-of-line per structure, builds the broker's request message, and writes the
// reply back under the same rules as on a Mac; connection references and memory mapping.
#include <IOKit/IOKitLib.h>
#include <mach/mig_errors.h>

#include <algorithm>
#include <cstring>

#include "../kernel/broker.h"
#include "iokit_internal.h"
#include "kernel_link.h"

namespace broker = fpgadext::emu::broker;
namespace kernel_link = fpgadext::emu::kernel_link;

namespace {

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
  if (structCapacity == static_cast<size_t>(kIOConnectMethodVarOutputSize) && !async) {
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

  kernel_link::ConnectMethod(rq, &reply);
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

kern_return_t IOServiceOpen(io_service_t service, task_port_t owningTask, uint32_t type,
                            io_connect_t* connect) {
  if (connect == nullptr) return kIOReturnBadArgument;
  if (owningTask != fpgadext::emu::iokit::kTaskSelf) return kIOReturnBadArgument;  // only this task
  return kernel_link::ServiceOpen(service, type, connect);
}

kern_return_t IOServiceClose(io_connect_t connect) {
  return kernel_link::ServiceClose(connect);
}

// A connection is a port: more references keep the name, the last release closes nothing (the
// connection ends with IOServiceClose), as with mach_port_mod_refs on the send right.
kern_return_t IOConnectAddRef(io_connect_t connect) {
  return kernel_link::ObjectRetain(connect);
}
kern_return_t IOConnectRelease(io_connect_t connect) {
  return kernel_link::ObjectRelease(connect);
}

kern_return_t IOConnectGetService(io_connect_t connect, io_service_t* service) {
  if (service == nullptr) return kIOReturnBadArgument;
  return kernel_link::ConnectionGetService(connect, service);
}

// is_io_connect_set_notification_port: IOUserClient::registerNotificationPort, which a DriverKit
// user client does not override.
kern_return_t IOConnectSetNotificationPort(io_connect_t connect, uint32_t type, mach_port_t port,
                                           uintptr_t reference) {
  kern_return_t ret = kernel_link::CheckConnection(connect);
  return ret == kIOReturnSuccess ? kIOReturnUnsupported : ret;
}

kern_return_t IOConnectCallMethod(mach_port_t connection, uint32_t selector, const uint64_t* input,
                                  uint32_t inputCnt, const void* inputStruct, size_t inputStructCnt,
                                  uint64_t* output, uint32_t* outputCnt, void* outputStruct,
                                  size_t* outputStructCnt) {
  return CallMethod(false, connection, selector, 0, nullptr, 0, input, inputCnt, inputStruct,
                    inputStructCnt, output, outputCnt, outputStruct, outputStructCnt);
}

kern_return_t IOConnectCallAsyncMethod(mach_port_t connection, uint32_t selector,
                                       mach_port_t wake_port, uint64_t* reference,
                                       uint32_t referenceCnt, const uint64_t* input,
                                       uint32_t inputCnt, const void* inputStruct,
                                       size_t inputStructCnt, uint64_t* output, uint32_t* outputCnt,
                                       void* outputStruct, size_t* outputStructCnt) {
  return CallMethod(true, connection, selector, wake_port, reference, referenceCnt, input, inputCnt,
                    inputStruct, inputStructCnt, output, outputCnt, outputStruct, outputStructCnt);
}

kern_return_t IOConnectCallStructMethod(mach_port_t connection, uint32_t selector,
                                        const void* inputStruct, size_t inputStructCnt,
                                        void* outputStruct, size_t* outputStructCnt) {
  return IOConnectCallMethod(connection, selector, nullptr, 0, inputStruct, inputStructCnt, nullptr,
                             nullptr, outputStruct, outputStructCnt);
}

kern_return_t IOConnectCallAsyncStructMethod(mach_port_t connection, uint32_t selector,
                                             mach_port_t wake_port, uint64_t* reference,
                                             uint32_t referenceCnt, const void* inputStruct,
                                             size_t inputStructCnt, void* outputStruct,
                                             size_t* outputStructCnt) {
  return IOConnectCallAsyncMethod(connection, selector, wake_port, reference, referenceCnt, nullptr,
                                  0, inputStruct, inputStructCnt, nullptr, nullptr, outputStruct,
                                  outputStructCnt);
}

kern_return_t IOConnectCallScalarMethod(mach_port_t connection, uint32_t selector,
                                        const uint64_t* input, uint32_t inputCnt, uint64_t* output,
                                        uint32_t* outputCnt) {
  return IOConnectCallMethod(connection, selector, input, inputCnt, nullptr, 0, output, outputCnt,
                             nullptr, nullptr);
}

kern_return_t IOConnectCallAsyncScalarMethod(mach_port_t connection, uint32_t selector,
                                             mach_port_t wake_port, uint64_t* reference,
                                             uint32_t referenceCnt, const uint64_t* input,
                                             uint32_t inputCnt, uint64_t* output,
                                             uint32_t* outputCnt) {
  return IOConnectCallAsyncMethod(connection, selector, wake_port, reference, referenceCnt, input,
                                  inputCnt, nullptr, 0, output, outputCnt, nullptr, nullptr);
}

kern_return_t IOConnectMapMemory64(io_connect_t connect, uint32_t memoryType, task_port_t intoTask,
                                   mach_vm_address_t* atAddress, mach_vm_size_t* ofSize,
                                   IOOptionBits options) {
  if (atAddress == nullptr || ofSize == nullptr || intoTask != fpgadext::emu::iokit::kTaskSelf) {
    return kIOReturnBadArgument;
  }
  if (!(options & kIOMapAnywhere)) return kIOReturnUnsupported;  // fixed addresses: not emulated
  return kernel_link::MapMemory(connect, memoryType, options, atAddress, ofSize);
}

// On 64-bit, IOConnectMapMemory is IOConnectMapMemory64 (IOKitLib.c).
kern_return_t IOConnectMapMemory(io_connect_t connect, uint32_t memoryType, task_port_t intoTask,
                                 mach_vm_address_t* atAddress, mach_vm_size_t* ofSize,
                                 IOOptionBits options) {
  return IOConnectMapMemory64(connect, memoryType, intoTask, atAddress, ofSize, options);
}

kern_return_t IOConnectUnmapMemory64(io_connect_t connect, uint32_t memoryType,
                                     task_port_t fromTask, mach_vm_address_t atAddress) {
  return kernel_link::UnmapMemory(connect, memoryType, atAddress);
}

kern_return_t IOConnectUnmapMemory(io_connect_t connect, uint32_t memoryType, task_port_t fromTask,
                                   mach_vm_address_t atAddress) {
  return IOConnectUnmapMemory64(connect, memoryType, fromTask, atAddress);
}

// iokit_user_client_trap: a user client without a trap at `index` leaves the result at
// kIOReturnSuccess; a name that is not a user client is kIOReturnBadArgument.
static kern_return_t Trap(io_connect_t connect) {
  return kernel_link::CheckConnection(connect) == kIOReturnSuccess ? kIOReturnSuccess
                                                                   : kIOReturnBadArgument;
}

kern_return_t IOConnectTrap0(io_connect_t connect, uint32_t) {
  return Trap(connect);
}
kern_return_t IOConnectTrap1(io_connect_t connect, uint32_t, uintptr_t) {
  return Trap(connect);
}
kern_return_t IOConnectTrap2(io_connect_t connect, uint32_t, uintptr_t, uintptr_t) {
  return Trap(connect);
}
kern_return_t IOConnectTrap3(io_connect_t connect, uint32_t, uintptr_t, uintptr_t, uintptr_t) {
  return Trap(connect);
}
kern_return_t IOConnectTrap4(io_connect_t connect, uint32_t, uintptr_t, uintptr_t, uintptr_t,
                             uintptr_t) {
  return Trap(connect);
}
kern_return_t IOConnectTrap5(io_connect_t connect, uint32_t, uintptr_t, uintptr_t, uintptr_t,
                             uintptr_t, uintptr_t) {
  return Trap(connect);
}
kern_return_t IOConnectTrap6(io_connect_t connect, uint32_t, uintptr_t, uintptr_t, uintptr_t,
                             uintptr_t, uintptr_t, uintptr_t) {
  return Trap(connect);
}

}  // extern "C"
