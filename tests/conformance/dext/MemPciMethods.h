// The conformance dext's IOPCIDevice / IODMACommand selectors (mempci_protocol.h), called by
// ConformanceUserClient::ExternalMethod for selectors it does not handle itself.
#pragma once

#include <DriverKit/IOUserClient.h>

class IOPCIDevice;

// Handles `selector` if it is one of mempci_protocol.h's (*handled = true) and returns its
// result; otherwise *handled = false.
kern_return_t MemPciExternalMethod(IOPCIDevice* device, uint64_t selector,
                                   IOUserClientMethodArguments* arguments, bool* handled);
