// Internal state of the emulated kernel: the registry, PCI slots, memory backings, DMA
// preparations and interrupt lines. Only emu/ includes this header.
#pragma once

#include <DriverKit/IODMACommand.h>
#include <DriverKit/IOInterruptDispatchSource.h>
#include <DriverKit/IOService.h>
#include <DriverKit/OSDictionary.h>
#include <PCIDriverKit/PCIDriverKit.h>
#include <fpgadext/emu/iommu.h>
#include <fpgadext/emu/machine.h>
#include <fpgadext/emu/pci_function.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

namespace fpgadext::emu {

class Kernel;
struct Dext;
namespace broker {
struct HandleTable;
}

// The address MSI and MSI-X messages are programmed with; a message write to it is an
// interrupt, its data the vector.
inline constexpr uint64_t kMessageSignalledAddress = 0xFEE0'0000ull;

// A registry entry: a PCI nub, a dext service or a user client.
struct ServiceNode {
  uint64_t registryID = 0;
  std::string name;       // IOServiceNameMatching compares this
  std::string className;  // kernel class for IOServiceMatching: IOPCIDevice, IOUserService, …
  IOService* service = nullptr;  // retained
  ServiceNode* provider = nullptr;
  OSDictionary* properties = nullptr;   // retained
  Dext* dext = nullptr;                 // owning dext; nullptr for kernel nubs
  std::atomic<bool> registered{false};  // RegisterService() was called (read without the lock)
  bool published = false;               // matching notifications were sent (registry.cpp)
  bool started = false;                 // Start returned success
  // Read without the registry lock by calls racing a termination (user-client memory calls).
  std::atomic<bool> terminated{false};
  bool isUserClient = false;
};

// One memory range in this process's address space.
struct MemoryRange {
  uint8_t* address;
  uint64_t length;
};

// What an IOMemoryDescriptor stands for.
struct MemoryBacking {
  enum class Kind { kBuffer, kClient, kDevice };
  Kind kind = Kind::kClient;
  uint64_t direction = 0;    // kIOMemoryDirectionIn/Out bits
  bool copyOnWrite = false;  // client memory mapped as a snapshot
  bool clientOwned = false;  // made from an app's ranges (not by the dext)
  std::vector<MemoryRange> ranges;
  uint64_t length = 0;
  // Buffer: the shared-memory object behind it, its capacity and the dext's view.
  int memfd = -1;
  uint64_t capacity = 0;
  uint8_t* address = nullptr;
  bool lengthSet = false;
  // Device memory (a BAR): the region, and the slot and memory index it is reached through.
  MmioRegion* region = nullptr;
  class PciSlot* slot = nullptr;
  unsigned memoryIndex = 0;
  // Sub-descriptors and concatenations keep the memory objects they were cut from (their IDs,
  // each holding a reference).
  std::vector<uint64_t> sources;
  // Made by CreateWithMemoryDescriptors: `sources` are its parts, mapped part by part.
  bool multi = false;
};

// The memory object named `id` (memory_objects.cpp; user_server.h's MemoryId), or nullptr. The
// record stays valid while the caller holds a reference (a descriptor naming it).
MemoryBacking* LookupMemory(uint64_t id);
// The memory object of a descriptor, or nullptr.
MemoryBacking* BackingOf(const IOMemoryDescriptor* memory);
// How many memory objects exist (for tests that check none is left behind).
size_t MemoryObjectCount();

// A PCI function on the emulated bus: configuration and BAR access on behalf of the host, and
// the DmaPort the function masters through.
class PciSlot final : public DmaPort {
 public:
  PciSlot(Kernel* kernel, PciFunction* function, uint8_t device, uint8_t functionNumber);
  ~PciSlot() override;

  struct Bar {
    MmioRegion* region = nullptr;
    uint64_t size = 0;
    uint8_t type = 0;  // kPCIBARType*
    uint64_t address = 0;
    int memoryIndex = -1;
  };

  // Firmware-style enumeration: size and assign BARs, build the memory-index table.
  void Enumerate();

  uint32_t ConfigRead(uint32_t offset, unsigned width);
  void ConfigWrite(uint32_t offset, unsigned width, uint32_t value);
  // Memory access by memory index: all ones / dropped when the function is gone, memory space
  // is disabled, or the index is unknown.
  uint64_t MemoryRead(unsigned memoryIndex, uint64_t offset, unsigned width);
  void MemoryWrite(unsigned memoryIndex, uint64_t offset, unsigned width, uint64_t value);

  const Bar& bar(unsigned index) const { return bars_[index]; }
  // The BAR with memory index `memoryIndex` as a region reached through the bus: presence and
  // the Memory Space bit are honoured, as for MemoryRead/MemoryWrite.
  MmioRegion* BusWindow(unsigned memoryIndex);
  int BarForMemoryIndex(unsigned memoryIndex) const;
  unsigned MemoryCount() const { return static_cast<unsigned>(memoryToBar_.size()); }
  uint8_t device() const { return device_; }
  uint8_t functionNumber() const { return functionNumber_; }
  PciFunction* function() const { return function_; }
  uint16_t command() const { return command_.load(std::memory_order_acquire); }
  // The offset of the next capability `id` after the one at `after` (0: from the start) in the
  // standard list, or 0; the same in extended configuration space (from 0x100, 16-bit IDs).
  // Read through ConfigRead: a removed function reads all ones and has no capabilities.
  uint32_t FindCapability(uint8_t id, uint32_t after = 0);
  uint32_t FindExtendedCapability(uint16_t id, uint32_t after = 0);

  // Interrupts: which message type is configured and how many vectors.
  IOReturn ConfigureInterrupts(uint32_t type, uint32_t numRequired, uint32_t numRequested);
  uint32_t interruptType() const { return interruptType_; }
  uint32_t vectorCount() const { return vectorCount_; }
  // `source` receives `vector` until unbound (retained meanwhile).
  IOReturn BindLine(uint32_t vector, IOInterruptDispatchSource* source);
  void UnbindLine(uint32_t vector, IOInterruptDispatchSource* source);
  // Drops every binding (the device was closed): sources stop receiving interrupts.
  void UnbindAll();

  // Interrupt programming lost to a function level reset written again as it was configured
  // (MSI message and enable, or the MSI-X table and enable), as IOPCIFamily's restore does.
  void RestoreInterrupts();

  // Surprise removal: the function stops answering and mastering.
  void Remove();
  // What a function-level reset with kIOPCIDeviceResetOptionTerminate does after the reset: the
  // nub is terminated and the bus probed again on a kernel thread, so the function comes back as
  // a new nub and is matched again (IOPCIFamily IOPCIDevice.cpp: resetFunction,
  // launchReprobeThread, reprobeThreadCall). Returns at once.
  void TerminateAndReprobe();
  bool present() const { return present_.load(std::memory_order_acquire); }

  // DmaPort
  // The name the function was attached with (what a DART fault report names).
  const char* DeviceName() const;
  IOReturn DmaRead(uint64_t busAddress, void* dst, uint64_t length) override;
  IOReturn DmaWrite(uint64_t busAddress, const void* src, uint64_t length) override;
  void SignalMessage(uint64_t address, uint32_t data) override;

  IOPCIDevice* nub = nullptr;  // retained
  ServiceNode* node = nullptr;

 private:
  Kernel* kernel_;
  PciFunction* function_;
  uint8_t device_;
  uint8_t functionNumber_;
  Bar bars_[6];
  std::vector<int> memoryToBar_;
  std::vector<std::unique_ptr<MmioRegion>> windows_;  // by memory index
  std::atomic<uint16_t> command_{0};
  std::atomic<bool> present_{true};
  // Held shared by every DMA access, exclusively by Remove: see PciSlot::Remove.
  std::shared_mutex dmaLock_;
  // Writes the message address and data for `count` vectors of `type` and enables it.
  void ProgramMessages(uint32_t type, uint32_t count);

  uint32_t interruptType_ = 0;
  uint32_t vectorCount_ = 0;
  std::mutex linesLock_;
  std::map<uint32_t, IOInterruptDispatchSource*> lines_;  // retained
};

// A loaded dext: its personalities and the services it runs.
struct Dext {
  std::string bundlePath;
  std::string bundleID;
  OSDictionary* infoPlist = nullptr;  // retained
  // What its code signature carries on a Mac: <bundle>/Entitlements.plist (entitlement_check.h);
  // retained, nullptr when the bundle has none.
  OSDictionary* entitlements = nullptr;
  void* handle = nullptr;  // dlopen handle, when the bundle has an executable
};

// The kernel: one per Machine.
class Kernel {
 public:
  explicit Kernel(const Machine::Config& config);
  ~Kernel();

  static Kernel* Current();

  Iommu& iommu() { return iommu_; }
  // The broker's names and notifications (broker_internal.h).
  broker::HandleTable& handles() { return *handles_; }

  // Registry.
  ServiceNode* AddNode(IOService* service, ServiceNode* provider, const std::string& className,
                       const std::string& name, OSDictionary* properties, Dext* dext);
  ServiceNode* FindNode(uint64_t registryID);
  std::vector<ServiceNode*> Nodes();
  // Starts `service` (on its Default queue), attached to `provider`; on failure the node is
  // removed and the service released.
  IOReturn StartService(ServiceNode* node);
  // Stops a service and everything attached to it, children first.
  void TerminateNode(ServiceNode* node);

  // PCI.
  IOReturn AttachPciFunction(PciFunction* function, const std::string& name);
  // functions[i] is function i (nullptr: none). Enumerated as IOPCIConfigurator scans a device.
  IOReturn AttachPciDevice(const std::vector<PciFunction*>& functions, const std::string& name);
  // Bus addresses for a BAR of `size` (a power of two), naturally aligned, never reused.
  uint64_t AllocateBarAddress(uint64_t size, bool is64);
  void DetachPciFunction(PciFunction* function, bool surprise);
  std::vector<PciSlot*> Slots();
  // Detaches `function` (its drivers stopped) and attaches it again as `name`, on a thread of
  // its own: the reprobe of PciSlot::TerminateAndReprobe. JoinReprobes waits for every one
  // scheduled (the machine's destructor, before anything goes).
  void ScheduleReprobe(PciFunction* function, const std::string& name);
  void JoinReprobes();

  // Dexts.
  IOReturn LoadDext(const std::string& bundlePath);
  void MatchAll();

  std::mutex& lock() { return lock_; }
  uint64_t NextRegistryID() { return nextRegistryID_++; }

 private:
  void MatchSlot(PciSlot* slot);
  void RemoveNode(ServiceNode* node);
  // Lets go of the services whose Start failed (all of them, or those of one provider): a
  // provider they left open is closed, as when a dext process ends.
  void ReleaseFailedServices(IOService* provider);

  // First, so it goes last: the drivers stopping in the destructor still look names up.
  std::unique_ptr<broker::HandleTable> handles_;
  Iommu iommu_;
  std::recursive_mutex registryLock_;
  std::mutex lock_;
  std::atomic<uint64_t> nextRegistryID_{0x100000100ull};
  std::vector<std::unique_ptr<ServiceNode>> nodes_;
  std::vector<std::unique_ptr<PciSlot>> slots_;
  uint8_t nextDevice_ = 0;
  uint64_t nextBar32_ = 0xA000'0000ull;     // 32-bit BARs below 4 GiB
  uint64_t nextBar64_ = 0x60'0000'0000ull;  // 64-bit BARs high
  std::vector<std::unique_ptr<Dext>> dexts_;
  // Services whose Start failed, with their providers (both retained): detached from the
  // registry, not stopped, kept alive as xnu's IOUserServer keeps them (kernel.cpp).
  std::vector<std::pair<IOService*, IOService*>> failedServices_;
  std::mutex reprobeLock_;
  std::vector<std::thread> reprobes_;
  // Termination runs on one thread at a time, as xnu's terminate thread does
  // (IOService::waitToBecomeTerminateThread): the thread doing it may nest (a node's children,
  // the connections it ends); another waits for it to finish (kernel.cpp, TerminateNode).
  class TerminateWork;
  void BeginTerminateWork();
  void EndTerminateWork();
  std::mutex terminateLock_;
  std::condition_variable terminateIdle_;
  std::thread::id terminateThread_;  // terminateLock_
  unsigned terminateDepth_ = 0;      // terminateLock_
};

// Closes every app connection to the user client `node` (broker.cpp).
void TerminateConnections(ServiceNode* node);

// Matching and interest notifications (registry.cpp): a registered service is published once
// (first-match and publish notifications); a terminating one gets kIOMessageServiceIsTerminated
// to its interest notifications, then, once stopped, terminated notifications.
void ServicePublished(ServiceNode* node);
void ServiceTerminating(ServiceNode* node);
void ServiceTerminated(ServiceNode* node);
// The vendor-id, device-id, … properties IOPCIFamily gives a PCI nub.
void SetPciNubProperties(PciSlot* slot);

// IOPCIPrimaryMatch-style lists: "0xVALUE[&0xMASK] ..." against a 32-bit id.
bool PciIdListMatches(const char* list, uint32_t id, uint32_t defaultMask);

// Calls fn(piece) for the bytes [offset, offset + length) of `backing`, range by range, in order.
template <class Fn>
void ForEachPiece(const MemoryBacking* backing, uint64_t offset, uint64_t length, Fn&& fn) {
  for (const MemoryRange& r : backing->ranges) {
    if (length == 0) break;
    if (offset >= r.length) {
      offset -= r.length;
      continue;
    }
    const uint64_t n = r.length - offset < length ? r.length - offset : length;
    fn(MemoryRange{r.address + offset, n});
    offset = 0;
    length -= n;
  }
}

// Maps `length` bytes rounded up to the emulated Mac's pages (IOVMPageSize) at an address
// aligned to them, as mmap(nullptr, ..., protection, flags, fd, offset) would (vm.cpp). nullptr
// on failure. UnmapMacPages undoes it, given any address inside its first page and the length.
void* MapMacPages(uint64_t length, int protection, int flags, int fd, uint64_t offset);
void UnmapMacPages(void* address, uint64_t length);
// Unmaps the pages of a view made by mmap of `length` bytes at `address` (which may sit inside
// its first page).
void UnmapPages(void* address, uint64_t length);

// Checks that every byte of a range in this process is mapped with the access asked: the
// emulation's "wiring". Fails with what xnu's wiring returns (vm.cpp): kIOReturnCannotWire
// for a hole, KERN_PROTECTION_FAILURE for missing access, KERN_INVALID_ARGUMENT for a wrap.
IOReturn CheckProcessMemory(const void* address, uint64_t length, bool needWrite);

// Builds an OSDictionary (+1) from an XML or binary property list file.
IOReturn LoadPropertyList(const std::string& path, OSDictionary** result);

// A descriptor (+1) of app ranges the kernel hands the dext (an out-of-line structure: broker.cpp).
IOMemoryDescriptor* NewClientMemoryDescriptor(const IOAddressSegment* segments, uint32_t count,
                                              uint64_t direction, bool copyOnWrite);
// A CPU mapping of device memory: the model's plain memory when it has some and the mapping is
// writable, else a trap mapping whose every access goes through the bus (mmio_trap.h). nullptr
// when neither is possible. `unmap` receives what must be called to undo it.
void* MapDeviceMemory(MemoryBacking* backing, bool readOnly, uint64_t* size,
                      void (**unmap)(void*, uint64_t));
// A view of [offset, offset+length) of a descriptor made by CreateWithMemoryDescriptors, each
// part mapped in turn into one range (multi_memory.cpp); undone by UnmapPages.
IOReturn MapMultiMemory(const MemoryBacking* multi, uint64_t offset, uint64_t length, bool readOnly,
                        uint64_t* address);

}  // namespace fpgadext::emu
