// What the DriverKit runtime (emu/runtime, the dext's side) asks of the kernel. On a Mac these
// are the messages a dext process exchanges with the kernel through its IOUserServer (xnu
// iokit/Kernel/IOUserServer.cpp); here they are plain calls, and this header is the one way
// the runtime reaches the kernel for them, so that issue 11 item 1 can turn each into a message
// and put a process boundary here (docs/emulation.md, "Layers").
//
// The rules of the interface: arguments and results are values; kernel objects are named by
// opaque handles the runtime never looks into (PciFunctionHandle, ServiceHandle); an OSObject
// argument (a property dictionary) is one the receiver copies before it keeps anything, as
// IORPC's serialization does. What still crosses as a pointer is listed in docs/emulation.md.
#pragma once

#include <DriverKit/IOReturn.h>

#include <cstdint>

class IOInterruptDispatchSource;
class IOMemoryDescriptor;
class IOService;
class OSAction;
class OSArray;
class OSDictionary;
class OSObject;
class OSString;
struct IOAddressSegment;

namespace fpgadext::emu {

class PciSlot;
struct ServiceNode;

namespace userserver {

// Whether a kernel answers (a machine exists; in a dext process: its connection is up).
bool Connected();

// A PCI function as the runtime's IOPCIDevice knows it. Opaque: today the kernel's slot, in a
// dext process of its own the nub's registry ID.
using PciFunctionHandle = PciSlot*;

// A registry entry as the runtime's IOService knows it. Opaque: today the kernel's node, in a
// dext process of its own its registry ID.
using ServiceHandle = ServiceNode*;

// Configuration space and BAR access by memory index (IOPCIDevice's Configuration*/Memory*
// methods): all ones / dropped when the function is gone, memory space is disabled or the index
// is unknown.
uint32_t ConfigRead(PciFunctionHandle function, uint32_t offset, unsigned width);
void ConfigWrite(PciFunctionHandle function, uint32_t offset, unsigned width, uint32_t value);
uint64_t MemoryRead(PciFunctionHandle function, unsigned memoryIndex, uint64_t offset,
                    unsigned width);
void MemoryWrite(PciFunctionHandle function, unsigned memoryIndex, uint64_t offset, unsigned width,
                 uint64_t value);
// Whether the function still answers (false after a surprise removal).
bool Present(PciFunctionHandle function);

struct BarInfo {
  int memoryIndex = -1;  // -1: no BAR there
  uint64_t size = 0;
  uint8_t type = 0;  // kPCIBARType*
};
BarInfo Bar(PciFunctionHandle function, unsigned barIndex);

// The offset of the next capability after `after` (0: from the start), or 0; standard list, or
// extended configuration space.
uint32_t FindCapability(PciFunctionHandle function, uint8_t id, uint32_t after);
uint32_t FindExtendedCapability(PciFunctionHandle function, uint16_t id, uint32_t after);

struct Location {
  uint8_t device = 0;
  uint8_t function = 0;
};
Location LocationOf(PciFunctionHandle function);

// Message-signalled interrupts: configure a type and count, and ask which is configured.
IOReturn ConfigureInterrupts(PciFunctionHandle function, uint32_t type, uint32_t numRequired,
                             uint32_t numRequested);
uint32_t InterruptType(PciFunctionHandle function);
uint32_t VectorCount(PciFunctionHandle function);
// `source` receives vector `vector` (EmulationSignal) until unbound; the kernel holds a
// reference meanwhile. kIOReturnNoInterrupt for a vector not configured, kIOReturnExclusiveAccess
// for one already bound.
IOReturn BindInterrupt(PciFunctionHandle function, uint32_t vector,
                       IOInterruptDispatchSource* source);
void UnbindInterrupt(PciFunctionHandle function, uint32_t vector,
                     IOInterruptDispatchSource* source);
// The device was closed: no source receives its interrupts any more.
void UnbindAllInterrupts(PciFunctionHandle function);
// After a function-level reset: the interrupt programming written again as configured.
void RestoreInterrupts(PciFunctionHandle function);
// A function-level reset with kIOPCIDeviceResetOptionTerminate: the nub goes and the function
// is probed again (returns at once).
void TerminateAndReprobe(PciFunctionHandle function);

// ---- Memory (IOMemoryDescriptor, IOBufferMemoryDescriptor, IOMemoryMap, IODMACommand) -------

// A memory object: what a descriptor stands for (app ranges, a shared buffer, a BAR, a range of
// or a concatenation of others), kept by the kernel and named by an ID; 0 is none. Each ID a
// call hands out carries one reference, which ReleaseMemory drops; an object made of others
// keeps them until it goes.
using MemoryId = uint64_t;

// IOBufferMemoryDescriptor::Create: whole pages of the emulated Mac, shared memory, mapped in
// the dext. kIOReturnNoMemory for a capacity of 0 or when out of memory.
IOReturn CreateBufferMemory(uint64_t direction, uint64_t capacity, MemoryId* memory);
// CreateSubMemoryDescriptor / CreateWithMemoryDescriptors (parts' IDs; the caller checks the
// count): kIOReturnBadArgument for an unknown part, a range outside `of`, or device memory with
// no plain memory behind it.
IOReturn CreateSubMemory(uint64_t direction, MemoryId of, uint64_t offset, uint64_t length,
                         MemoryId* memory);
IOReturn CreateMultiMemory(uint64_t direction, const MemoryId* parts, uint32_t count,
                           MemoryId* memory);
// _CopyDeviceMemoryWithIndex: the BAR with memory index `memoryIndex` (0: none there).
MemoryId CreateDeviceMemory(PciFunctionHandle function, unsigned memoryIndex);
// CreateMemoryDescriptorFromClient: the ranges of the app of the user client `client` (checked
// by CheckUserClient first; nothing else is checked before the memory is mapped or prepared).
MemoryId CreateClientMemory(ServiceHandle client, const IOAddressSegment* segments, uint32_t count,
                            uint64_t direction, bool copyOnWrite);
void ReleaseMemory(MemoryId memory);
uint64_t MemoryLength(MemoryId memory);
// A buffer's bytes in the dext and its length (false: not a buffer); SetBufferLength ignores a
// length above the capacity, as macOS does.
bool BufferRange(MemoryId memory, uint64_t* address, uint64_t* length);
void SetBufferLength(MemoryId memory, uint64_t length);

// CreateMapping: a view in the dext of [offset, offset + length) (length 0: to the end), made
// read-only when asked or when the rules say so. `undo*` is what UnmapMemory takes back.
enum : uint32_t { kUndoNothing = 0, kUndoPages = 1, kUndoTrap = 2 };
struct MemoryView {
  uint64_t address = 0;
  uint64_t length = 0;
  uint32_t undo = kUndoNothing;
  uint64_t undoAddress = 0;
  uint64_t undoLength = 0;
};
IOReturn MapMemory(MemoryId memory, bool readOnly, uint64_t offset, uint64_t length,
                   MemoryView* view);
void UnmapMemory(uint32_t undo, uint64_t address, uint64_t length);

// PrepareForDMA: [offset, offset + length) of `memory` (length 0: to the end) wired and mapped in
// the IOMMU with the memory's direction for a device reaching `maxAddressBits`; at most
// *segmentsCount segments (bus addresses) written back, the direction in *flags. The preparation
// is named by `prepared->id` until CompleteDma.
struct PreparedRange {
  uint64_t id = 0;
  uint64_t offset = 0;
  uint64_t length = 0;
};
IOReturn PrepareDma(MemoryId memory, uint64_t offset, uint64_t length, uint64_t maxAddressBits,
                    IOAddressSegment* segments, uint32_t* segmentsCount, uint64_t* flags,
                    PreparedRange* prepared);
void CompleteDma(uint64_t preparation);
// PerformOperation: `operation` (Read, Write or Zero, checked by the caller) between
// [offset, offset + length) of the prepared memory and [dataOffset, …) of `data`.
IOReturn CopyMemory(uint64_t operation, MemoryId prepared, uint64_t offset, MemoryId data,
                    uint64_t dataOffset, uint64_t length);

// ---- Services (IOService, IOUserClient) ----------------------------------------------------

// IOService::Create: a new entry for `service` (made by the runtime from the IOUserClass of the
// creator's property `propertiesKey`), attached to `provider`, with `properties` (copied by the
// kernel), then started. On failure the kernel has dropped the entry and released the service.
// kIOReturnNotReady without a kernel.
IOReturn CreateService(ServiceHandle creator, ServiceHandle provider, IOService* service,
                       const char* kernelClass, const char* userClass, OSDictionary* properties,
                       bool isUserClient);
// RegisterService: matching notifications go out now if Start has returned, else when it does.
void RegisterService(ServiceHandle service);
// Terminate: the entry and everything attached to it stop, asynchronously. `self` is retained
// until it is done.
void TerminateService(ServiceHandle service, IOService* self);

uint64_t RegistryID(ServiceHandle service);
// +1; nullptr when there is none.
OSString* CopyName(ServiceHandle service);
void SetName(ServiceHandle service, const char* name);
// +1 copies; nullptr when out of memory.
OSDictionary* CopyProperties(ServiceHandle service);
// The value of `key` (+1) on the entry, or with `parents` on the first of its providers that has
// it; nullptr if none.
OSObject* CopyProperty(ServiceHandle service, const char* key, bool parents);
// The properties (all, or only `keys`) of the entry and each provider up the plane, in order,
// as dictionaries (+1); nullptr when out of memory.
OSArray* CopyProviderProperties(ServiceHandle service, OSArray* keys);
// Merges `properties` into the entry's (false: out of memory); removes one.
bool MergeProperties(ServiceHandle service, OSDictionary* properties);
void RemoveProperty(ServiceHandle service, OSString* key);
// The provider's service (not retained), or nullptr.
IOService* Provider(ServiceHandle service);

// User clients. What IOUserClient may do with its app: kIOReturnBadArgument if `service` is not
// a user client, kIOReturnNotReady once terminated (its task is gone), else kIOReturnSuccess.
IOReturn CheckUserClient(ServiceHandle service);
// AsyncCompletion: sends the completion message of an async call to the app. False if `action`
// is not the completion the kernel made for an async call.
bool CompleteAsync(OSAction* action, IOReturn status, const uint64_t* arguments, uint32_t count);

}  // namespace userserver
}  // namespace fpgadext::emu
