// IOUserClient (xnu iokit/DriverKit/IOUserClient.iig; Apple's generated IOUserClient.h, iig 16.4):
// the dext end of an app's connection. Like Apple's, this header brings in OSAction.h, IOService.h
// and IOBufferMemoryDescriptor.h. The argument block, dispatch table and constants have Apple's
// names, layouts and values; docs/emulation-user-client.md lists the rules the emulated kernel
// applies around them.
#pragma once

#include <DriverKit/IOBufferMemoryDescriptor.h>
#include <DriverKit/IOService.h>
#include <DriverKit/OSAction.h>

enum {
  kIOUserClientScalarArrayCountMax = 16,
};
typedef uint64_t IOUserClientScalarArray[kIOUserClientScalarArrayCountMax];

enum {
  kIOUserClientAsyncReferenceCountMax = 16,
};
typedef uint64_t IOUserClientAsyncReferenceArray[kIOUserClientAsyncReferenceCountMax];

enum {
  kIOUserClientAsyncArgumentsCountMax = 16,
};
typedef uint64_t IOUserClientAsyncArgumentsArray[kIOUserClientAsyncArgumentsCountMax];

// CopyClientMemoryForType options.
enum {
  kIOUserClientMemoryReadOnly = 0x00000001,
};

#define kIOUserClientQueueNameExternalMethod "IOUserClientQueueExternalMethod"

enum {
  kIOUserClientVariableStructureSize = 0xffffffff,
};

#define IO_USER_CLIENT_METHOD_ARGUMENTS_CURRENT_VERSION 2
enum {
  kIOUserClientMethodArgumentsCurrentVersion = IO_USER_CLIENT_METHOD_ARGUMENTS_CURRENT_VERSION,
};

struct IOUserClientMethodArguments {
  uint64_t version;
  uint64_t selector;
  OSAction* completion;
  const uint64_t* scalarInput;
  uint32_t scalarInputCount;
  OSData* structureInput;
  IOMemoryDescriptor* structureInputDescriptor;
  uint64_t* scalarOutput;
  uint32_t scalarOutputCount;
  OSData* structureOutput;
  IOMemoryDescriptor* structureOutputDescriptor;
  uint64_t structureOutputMaximumSize;
  uint64_t __reserved[30];
};

typedef kern_return_t (*IOUserClientMethodFunction)(OSObject* target, void* reference,
                                                    IOUserClientMethodArguments* arguments);

struct IOUserClientMethodDispatch {
  IOUserClientMethodFunction function;
  uint32_t checkCompletionExists;
  uint32_t checkScalarInputCount;
  uint32_t checkStructureInputSize;
  uint32_t checkScalarOutputCount;
  uint32_t checkStructureOutputSize;
};

#define IOUserClient_CopyClientMemoryForType_Args \
  uint64_t type, uint64_t *options, IOMemoryDescriptor **memory

class IOUserClient : public IOService {
  OSDeclareEmulatedClass(IOUserClient)

 public:
  bool init() override;
  void free() override;

  // Runs on the queue named kIOUserClientQueueNameExternalMethod if one was set, else on the
  // Default queue. With `dispatch` non-NULL, checks the call against it
  // (IOUserClientMethodDispatch) and calls dispatch->function(target, reference, arguments); with
  // `dispatch` NULL returns kIOReturnUnsupported.
  virtual kern_return_t ExternalMethod(uint64_t selector, IOUserClientMethodArguments* arguments,
                                       const IOUserClientMethodDispatch* dispatch, OSObject* target,
                                       void* reference);

  // Called for IOConnectMapMemory64; must return the descriptor retained (+1): the kernel
  // releases one reference after mapping it.
  kern_return_t CopyClientMemoryForType(uint64_t type, uint64_t* options,
                                        IOMemoryDescriptor** memory,
                                        OSDispatchMethod supermethod = NULL) {
    return OSEmulatedWrapperBody(CopyClientMemoryForType, type, options, memory);
  }
  virtual kern_return_t CopyClientMemoryForType_Impl(uint64_t type, uint64_t* options,
                                                     IOMemoryDescriptor** memory);

  // Builds a descriptor (+1) for address ranges of the client task. Nothing is checked until
  // the descriptor is prepared for DMA or mapped.
  kern_return_t CreateMemoryDescriptorFromClient(uint64_t memoryDescriptorCreateOptions,
                                                 uint32_t segmentsCount,
                                                 const IOAddressSegment segments[32],
                                                 IOMemoryDescriptor** memory,
                                                 OSDispatchMethod supermethod = NULL) {
    return OSEmulatedWrapperBody(CreateMemoryDescriptorFromClient, memoryDescriptorCreateOptions,
                                 segmentsCount, segments, memory);
  }
  virtual kern_return_t CreateMemoryDescriptorFromClient_Impl(
      uint64_t memoryDescriptorCreateOptions, uint32_t segmentsCount,
      const IOAddressSegment segments[32], IOMemoryDescriptor** memory);

  // One-way completion of an async call; more than 16 arguments is dropped silently.
  void AsyncCompletion(OSAction* action, IOReturn status,
                       const IOUserClientAsyncArgumentsArray asyncData, uint32_t asyncDataCount,
                       OSDispatchMethod supermethod = NULL) {
    if (supermethod) {
      IORPCCallSuper(this, supermethod, IORPCMethodID("AsyncCompletion"), action, status, asyncData,
                     asyncDataCount);
    } else {
      AsyncCompletion_Impl(action, status, asyncData, asyncDataCount);
    }
  }
  virtual void AsyncCompletion_Impl(OSAction* action, IOReturn status,
                                    const IOUserClientAsyncArgumentsArray asyncData,
                                    uint32_t asyncDataCount);

  // The entitlements of the client task. The emulated kernel does not track entitlements:
  // kIOReturnUnsupported.
  kern_return_t CopyClientEntitlements(OSDictionary** entitlements,
                                       OSDispatchMethod supermethod = NULL) {
    return OSEmulatedWrapperBody(CopyClientEntitlements, entitlements);
  }
  virtual kern_return_t CopyClientEntitlements_Impl(OSDictionary** entitlements);

  static kern_return_t _Dispatch(OSObject* self, const IORPC rpc);
};
