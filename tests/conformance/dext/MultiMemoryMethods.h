// The conformance dext's CreateWithMemoryDescriptors selectors and memory types
// (multimem_protocol.h), called by ConformanceUserClient for what it does not handle itself.
#pragma once

#include <DriverKit/IOBufferMemoryDescriptor.h>
#include <DriverKit/IOUserClient.h>

// Handles `selector` if it is one of multimem_protocol.h's (*handled = true).
kern_return_t MultiMemoryExternalMethod(uint64_t selector, IOUserClientMethodArguments* arguments,
                                        bool* handled);

// Makes the descriptor of a multimem_protocol.h memory type from the user client's buffers
// (*handled = true), +1 for the kernel as CopyClientMemoryForType returns it.
kern_return_t MultiMemoryForType(uint64_t type, IOBufferMemoryDescriptor* shared,
                                 IOBufferMemoryDescriptor* small, IOMemoryDescriptor** memory,
                                 bool* handled);
