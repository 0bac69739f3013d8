// IOUserClient: dispatch-table checks (xnu iokit/DriverKit/IOUserClient.iig; the kernel's
// IOUserClient2022::dispatchExternalMethod in iokit/Kernel/IOUserClient.cpp), client memory and
// async completions.
#include <DriverKit/IOUserClient.h>
#include <DriverKit/OSData.h>
#include <os/log.h>

#include "../kernel/user_server.h"
#include "memory_descriptor.h"

namespace userserver = fpgadext::emu::userserver;

OSDefineMetaClass(IOUserClient, IOService);

kern_return_t IOUserClient::ExternalMethod(uint64_t selector,
                                           IOUserClientMethodArguments* arguments,
                                           const IOUserClientMethodDispatch* dispatch,
                                           OSObject* target, void* reference) {
  if (dispatch == nullptr) return kIOReturnUnsupported;
  if (arguments == nullptr) return kIOReturnBadArgument;
  constexpr uint32_t kAny = kIOUserClientVariableStructureSize;
  if (dispatch->checkCompletionExists != kAny &&
      (dispatch->checkCompletionExists != 0) != (arguments->completion != nullptr)) {
    return kIOReturnBadArgument;
  }
  if (dispatch->checkScalarInputCount != kAny &&
      dispatch->checkScalarInputCount != arguments->scalarInputCount) {
    return kIOReturnBadArgument;
  }
  if (dispatch->checkStructureInputSize != kAny) {
    uint64_t inputSize = 0;
    if (arguments->structureInput != nullptr) {
      inputSize = arguments->structureInput->getLength();
    } else if (arguments->structureInputDescriptor != nullptr) {
      arguments->structureInputDescriptor->GetLength(&inputSize);
    }
    if (dispatch->checkStructureInputSize != inputSize) return kIOReturnBadArgument;
  }
  if (dispatch->checkScalarOutputCount != kAny &&
      dispatch->checkScalarOutputCount != arguments->scalarOutputCount) {
    return kIOReturnBadArgument;
  }
  if (dispatch->checkStructureOutputSize != kAny &&
      dispatch->checkStructureOutputSize != arguments->structureOutputMaximumSize) {
    return kIOReturnBadArgument;
  }
  if (dispatch->function == nullptr) return kIOReturnNoCompletion;
  return dispatch->function(target, reference, arguments);
}

kern_return_t IOUserClient::CopyClientMemoryForType_Impl(uint64_t type, uint64_t* options,
                                                         IOMemoryDescriptor** memory) {
  return kIOReturnUnsupported;
}

bool IOUserClient::init() {
  return IOService::init();
}
void IOUserClient::free() {
  IOService::free();
}

kern_return_t IOUserClient::CopyClientEntitlements_Impl(OSDictionary** entitlements) {
  return kIOReturnUnsupported;
}

#define IOUSERCLIENT_DISPATCH_CASE(_method)                \
  case IORPCMethodID(#_method):                            \
    return IORPCInvoke(rpc, &IOUserClient::_method##_Impl, \
                       [s](auto... args) { return s->IOUserClient::_method##_Impl(args...); });

kern_return_t IOUserClient::_Dispatch(OSObject* self, const IORPC rpc) {
  auto* s = static_cast<IOUserClient*>(self);
  switch (rpc.msgid) {
    IOUSERCLIENT_DISPATCH_CASE(CopyClientMemoryForType)
    IOUSERCLIENT_DISPATCH_CASE(CreateMemoryDescriptorFromClient)
    IOUSERCLIENT_DISPATCH_CASE(AsyncCompletion)
    IOUSERCLIENT_DISPATCH_CASE(CopyClientEntitlements)
    default:
      return IOService::_Dispatch(self, rpc);
  }
}

kern_return_t IOUserClient::CreateMemoryDescriptorFromClient_Impl(
    uint64_t options, uint32_t segmentsCount, const IOAddressSegment segments[32],
    IOMemoryDescriptor** memory) {
  if (segmentsCount > 32) return kIOReturnOverrun;  // the IPC array holds 32
  if (memory == nullptr || (segmentsCount != 0 && segments == nullptr)) {
    return kIOReturnBadArgument;
  }
  if (options & ~static_cast<uint64_t>(kIOMemoryDirectionOutIn | kIOMemoryDisableCopyOnWrite)) {
    return kIOReturnBadArgument;
  }
  // kIOReturnNotReady once terminated: no owning task any more.
  if (IOReturn refused = userserver::CheckUserClient(EmulationNode());
      refused != kIOReturnSuccess) {
    return refused;
  }
  *memory = fpgadext::emu::NewMemoryDescriptor(userserver::CreateClientMemory(
      EmulationNode(), segments, segmentsCount, options & kIOMemoryDirectionOutIn,
      !(options & kIOMemoryDisableCopyOnWrite)));
  return kIOReturnSuccess;
}

void IOUserClient::AsyncCompletion_Impl(OSAction* action, IOReturn status,
                                        const IOUserClientAsyncArgumentsArray asyncData,
                                        uint32_t asyncDataCount) {
  // The generated stub drops a message with more than 16 arguments without a word.
  if (asyncDataCount > kIOUserClientAsyncArgumentsCountMax) return;
  if (!userserver::CompleteAsync(action, status, asyncData, asyncDataCount)) {
    os_log_error(OS_LOG_DEFAULT, "AsyncCompletion: the action is not an async call's completion");
  }
}
