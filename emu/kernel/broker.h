// The kernel broker: what xnu's IOUserClient machinery does between IOKitLib in the app and a
// dext's IOUserClient. The app side (emu/iokit/IOKitLib.cpp) talks to it only with the request
// and reply messages below, so the dext could later run in a process of its own.
#pragma once

#include <DriverKit/IOReturn.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

class OSDictionary;
class OSObject;

namespace fpgadext::emu {
struct ServiceNode;
}

namespace fpgadext::emu::broker {

inline constexpr uint32_t kInbandMax = 4096;   // io_struct_inband_t
inline constexpr uint32_t kScalarMax = 16;     // io_scalar_inband64_t
inline constexpr uint32_t kAsyncRefCount = 8;  // io_async_ref64_t
inline constexpr int kMigArrayTooLarge = -307;
inline constexpr int kMachSendInvalidDest = 0x10000003;

// io_connect_method / io_connect_async_method / io_connect_method_var_output.
struct ConnectMethodRequest {
  uint32_t connection = 0;
  uint32_t selector = 0;
  uint32_t scalarInputCount = 0;
  uint64_t scalarInput[kScalarMax] = {};
  uint32_t inbandInputSize = 0;
  const uint8_t* inbandInput = nullptr;  // the message's inline bytes (copied by the kernel)
  uint64_t oolInputAddress = 0, oolInputSize = 0;
  uint32_t scalarOutputCapacity = 0;
  uint32_t inbandOutputCapacity = 0;
  uint64_t oolOutputAddress = 0, oolOutputSize = 0;
  bool variableOutput = false;
  // Async calls: the notification port and the reference (≥ 1 entries).
  bool async = false;
  uint32_t wakePort = 0;
  uint32_t asyncReferenceCount = 0;
  uint64_t asyncReference[kAsyncRefCount] = {};
};

struct ConnectMethodReply {
  IOReturn status = kIOReturnSuccess;
  uint32_t scalarOutputCount = 0;
  uint64_t scalarOutput[kScalarMax] = {};
  uint32_t inbandOutputSize = 0;
  uint8_t* inbandOutput = nullptr;  // caller-provided buffer of inbandOutputCapacity bytes
  void* variableOutput = nullptr;   // malloc'd; the app frees it with vm_deallocate
  uint64_t variableOutputSize = 0;
};

// Handles are Mach port names in the app's space.
uint32_t IteratorCreate(const std::vector<uint32_t>& handles);
uint32_t IteratorNext(uint32_t iterator);
IOReturn IteratorReset(uint32_t iterator);
bool IteratorIsValid(uint32_t iterator);
IOReturn ObjectRetain(uint32_t handle);
IOReturn ObjectRelease(uint32_t handle);
IOReturn ObjectGetClass(uint32_t handle, std::string* className);
bool ObjectConformsTo(uint32_t handle, const char* className);
uint32_t ObjectUserRetainCount(uint32_t handle);
// The superclass of a kernel class the registry uses, or "".
std::string SuperclassOf(const std::string& className);
bool SameObject(uint32_t a, uint32_t b);
IOReturn RegistryEntryGetName(uint32_t handle, std::string* name);
IOReturn RegistryEntryGetID(uint32_t handle, uint64_t* id);
IOReturn ConnectionGetService(uint32_t connection, uint32_t* service);
// kIOReturnSuccess for a live connection; what CHECK(IOUserClient, …) returns otherwise.
IOReturn CheckConnection(uint32_t connection);

// The registry (registry.cpp). Matching dictionaries arrive as the kernel sees them, unserialized
// into an OSDictionary (the caller keeps its reference).
IOReturn GetMatchingServices(OSDictionary* matching, std::vector<uint32_t>* handles);
IOReturn MatchPropertyTable(uint32_t service, OSDictionary* matching, bool* matches);
// +1 copies of an entry's properties / of one property (searching parents when `parents`).
IOReturn CopyProperties(uint32_t entry, OSDictionary** properties);
IOReturn CopyProperty(uint32_t entry, const char* key, bool parents, OSObject** value);
// Parents or children in the service plane, as service handles (+1 each).
IOReturn GetParents(uint32_t entry, std::vector<uint32_t>* handles);
IOReturn GetChildren(uint32_t entry, std::vector<uint32_t>* handles);
// io_service_add_notification / io_service_add_interest_notification: the notification's handle
// (for matching, an iterator) in *notification; messages go to `port` with `reference`.
IOReturn AddMatchingNotification(const char* type, OSDictionary* matching, uint32_t port,
                                 const uint64_t* reference, uint32_t referenceCount,
                                 uint32_t* notification);
IOReturn AddInterestNotification(uint32_t service, const char* type, uint32_t port,
                                 const uint64_t* reference, uint32_t referenceCount,
                                 uint32_t* notification);
// Whether a notification handle is still held by the app (IOKitLib checks before a callout).
bool NotificationIsLive(uint32_t notification);

IOReturn ServiceOpen(uint32_t service, uint32_t type, uint32_t* connection);
IOReturn ServiceClose(uint32_t connection);
void ConnectMethod(const ConnectMethodRequest& request, ConnectMethodReply* reply);
IOReturn MapMemory(uint32_t connection, uint32_t type, uint32_t options, uint64_t* address,
                   uint64_t* size);
IOReturn UnmapMemory(uint32_t connection, uint32_t type, uint64_t address);
// IOConnectMapMemory64 for an app in another process (emu/remote): the memory's shared-memory
// object (*fd, a new descriptor the caller owns) for the app to map, instead of a view in this
// process; *token stands for the app's address in UnmapMemory. Buffers only: other memory is
// kIOReturnUnsupported.
// The connection's app is another process (emu/remote, the machine daemon), and whether a user
// client's is: the dext's CreateMemoryDescriptorFromClient is refused for it (user_server.cpp),
// since the app's addresses name nothing in this process.
void SetConnectionOfOtherProcess(uint32_t connection);
bool UserClientOfOtherProcess(const ServiceNode* userClient);
IOReturn MapMemoryShared(uint32_t connection, uint32_t type, uint32_t options, int* fd,
                         uint64_t* size, bool* readOnly, uint64_t* token);

// Notification ports: async completions are queued here and handed to `deliver`.
struct AsyncMessage {
  // kOSNotificationMessageID messages by their header type (OSMessageNotification.h).
  enum class Kind { kAsyncCompletion, kMatching, kInterest };
  Kind kind = Kind::kAsyncCompletion;
  uint64_t reference[kAsyncRefCount];
  IOReturn status;
  uint32_t argumentCount;
  uint64_t arguments[16];
  uint32_t notification = 0;  // matching, interest: the notification that fired
  uint32_t service = 0;       // interest: the service (a name the app holds)
  uint32_t messageType = 0;   // interest: kIOMessage*
  uint64_t messageArgument = 0;
};
uint32_t NotificationPortCreate();
void NotificationPortDestroy(uint32_t port);
// `deliver` runs for each message, on whatever thread the port's owner arranges (IOKitLib runs
// it on the port's dispatch queue). Messages that arrived before are delivered at once.
// Sends an async completion to a port (from AsyncCompletion); dropped if the port is gone.
void PostAsync(uint32_t port, const AsyncMessage& message);
void NotificationPortSetReceiver(uint32_t port, void (*deliver)(void* context, const AsyncMessage&),
                                 void* context);

}  // namespace fpgadext::emu::broker
