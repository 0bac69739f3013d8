// IOUserClient (iokit/DriverKit/IOUserClient.iig): the dext end of an app's connection.
// The argument block, dispatch table and constants have Apple's names, layouts and values;
// driverkit-semantics.md §1–§3 lists the rules the emulated kernel applies around them.
#pragma once

#include <DriverKit/IOMemoryDescriptor.h>
#include <DriverKit/IOService.h>
#include <DriverKit/OSAction.h>

class OSData;

#define kIOUserClientMethodArgumentsCurrentVersion 2
#define kIOUserClientScalarArrayCountMax 16
#define kIOUserClientAsyncReferenceCountMax 16
#define kIOUserClientAsyncArgumentsCountMax 16
#define kIOUserClientVariableStructureSize 0xffffffffu
#define kIOUserClientMemoryReadOnly 0x00000001ull
#define kIOUserClientQueueNameExternalMethod "IOUserClientQueueExternalMethod"

typedef uint64_t IOUserClientScalarArray[kIOUserClientScalarArrayCountMax];
typedef uint64_t IOUserClientAsyncReferenceArray[kIOUserClientAsyncReferenceCountMax];
typedef uint64_t IOUserClientAsyncArgumentsArray[kIOUserClientAsyncArgumentsCountMax];

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
  // Runs on the queue named kIOUserClientQueueNameExternalMethod if one was set, else on the
  // Default queue. With `dispatch` non-NULL, checks the call against it (§1.2) and calls
  // dispatch->function(target, reference, arguments); with `dispatch` NULL returns
  // kIOReturnUnsupported.
  virtual kern_return_t ExternalMethod(uint64_t selector, IOUserClientMethodArguments* arguments,
                                       const IOUserClientMethodDispatch* dispatch,
                                       OSObject* target, void* reference);

  // Called for IOConnectMapMemory64; must return the descriptor retained (+1): the kernel
  // releases one reference after mapping it.
  kern_return_t CopyClientMemoryForType(uint64_t type, uint64_t* options,
                                        IOMemoryDescriptor** memory,
                                        OSDispatchMethod supermethod = nullptr) {
    return OSEmulatedWrapperBody(CopyClientMemoryForType, type, options, memory);
  }
  virtual kern_return_t CopyClientMemoryForType_Impl(uint64_t type, uint64_t* options,
                                                     IOMemoryDescriptor** memory);

  // Builds a descriptor (+1) for address ranges of the client task. Nothing is checked until
  // the descriptor is prepared for DMA or mapped.
  kern_return_t CreateMemoryDescriptorFromClient(uint64_t memoryDescriptorCreateOptions,
                                                 uint32_t segmentsCount,
                                                 const IOAddressSegment segments[32],
                                                 IOMemoryDescriptor** memory);

  // One-way completion of an async call; more than 16 arguments is dropped silently.
  void AsyncCompletion(OSAction* action, IOReturn status,
                       const IOUserClientAsyncArgumentsArray asyncData, uint32_t asyncDataCount);

  static kern_return_t _Dispatch(OSObject* self, const IORPC rpc);
};
