// A client's synchronous transfer paths (docs/dext.md): every one ends in
// DriverResources::Transfer with an engine::HostMemory over the memory the data lives in:
//   in-band (≤ 4096)      the client's staging buffer, prepared once at Start (one copy each
//                         way: the bytes travel in the message anyway);
//   bounce                the client's bounce buffer, prepared once, mapped by the app
//                         (bounce.h);
//   out-of-line struct    the descriptor the kernel made for the app's buffer;
//   client memory         CreateMemoryDescriptorFromClient on the address and length passed as
//                         scalars: any size, any alignment, no copy;
//   registered buffer     its bus segments, prepared at registration (buffer_table.h).
// All of it runs on the client's method queue (kIOUserClientQueueNameExternalMethod).
#pragma once

#include <DriverKit/IOBufferMemoryDescriptor.h>
#include <DriverKit/IODMACommand.h>
#include <DriverKit/IOMemoryDescriptor.h>
#include <DriverKit/IOReturn.h>
#include <DriverKit/IOUserClient.h>
#include <DriverKit/OSSharedPtr.h>
#include <PCIDriverKit/IOPCIDevice.h>
#include <fpgadext/engine/channel_pool.h>
#include <fpgadext/engine/transfer_planner.h>
#include <fpgadext/engine/types.h>
#include <stdint.h>

#include "client/bounce.h"
#include "descriptor_host_memory.h"
#include "driver_resources.h"
#include "prepared_buffer.h"

namespace fpgadext::dext::client {

struct RegisteredBuffer;

inline constexpr uint32_t kToCard = 0;    // engine::Direction::kHostToCard
inline constexpr uint32_t kFromCard = 1;  // engine::Direction::kCardToHost
inline constexpr uint32_t kMaxSlots =
    8;  // window slots of one transfer (≥ channels of a direction)
// What a Mac's wiring (xnu vm_map_create_upl, passed through PrepareForDMA) returns for pages
// without the access the card needs: Mach's KERN_PROTECTION_FAILURE, which the DriverKit SDK
// does not name (its IOReturn.h defines only KERN_SUCCESS).
inline constexpr IOReturn kWiringProtectionFailure = 2;

// One IODMACommand per window slot, owned (one reference each). A slot can be handed over
// (Take, or DescriptorHostMemory::HandOverWindow: a window a hung channel may still use keeps
// its command) and is made again by the next Fill, so no transfer allocates unless a command
// was handed over.
class WindowCommands {
 public:
  WindowCommands() = default;
  ~WindowCommands() { Clear(); }
  WindowCommands(const WindowCommands&) = delete;
  WindowCommands& operator=(const WindowCommands&) = delete;

  // Makes the commands missing among the first `slots` (≤ kMaxSlots).
  [[nodiscard]] IOReturn Fill(IOPCIDevice* device, uint32_t slots);
  // Gives the command of `slot` to the caller (+1); the slot is empty until the next Fill.
  OSSharedPtr<IODMACommand> Take(uint32_t slot);
  void Clear();

  // Mutable: a DescriptorHostMemory may hand a slot's command over (it sets the slot to null).
  IODMACommand** get() { return commands_; }
  uint32_t slots() const { return slots_; }

 private:
  IODMACommand* commands_[kMaxSlots] = {};
  uint32_t slots_ = 0;
};

// Whether every byte of an app range can be prepared for the device to read: tells read-only
// memory from a hole after preparing it for the device to write failed.
bool ReadableThroughout(IOUserClient* client, const IOAddressSegment& range, IODMACommand* command);
// A failed read into app memory: KERN_PROTECTION_FAILURE over memory mapped everywhere means
// read-only memory (kIOReturnNotWritable), as the app expects; anything else stays as it is.
IOReturn ReadFailureStatus(IOUserClient* client, IOReturn status, uint32_t direction,
                           const IOAddressSegment& range, IODMACommand* command);

class Transfers {
 public:
  Transfers() = default;
  ~Transfers() { Stop(); }
  Transfers(const Transfers&) = delete;
  Transfers& operator=(const Transfers&) = delete;

  // Makes the window commands and the staging buffer, prepared once and kept prepared. Every
  // transfer runs for `channelClient` (the user client's turn at the shared channels) and stops
  // when `cancel` is set; both belong to the user client and outlive Stop.
  [[nodiscard]] IOReturn Start(DriverResources& board, engine::ChannelClient* channelClient,
                               engine::TransferCancel* cancel);
  void Stop();

  IOReturn ReadInband(DriverResources& board, IOUserClientMethodArguments* arguments);
  IOReturn WriteInband(DriverResources& board, IOUserClientMethodArguments* arguments);
  IOReturn OutOfLine(DriverResources& board, IOUserClientMethodArguments* arguments,
                     uint32_t direction);
  IOReturn ClientMemory(IOUserClient* client, DriverResources& board,
                        IOUserClientMethodArguments* arguments, uint32_t direction);
  IOReturn Registered(DriverResources& board, const RegisteredBuffer& buffer,
                      IOUserClientMethodArguments* arguments, uint32_t direction);

  // kSelectorCompletionPolicy: how this client's synchronous transfers wait from now on
  // (protocol::CompletionPolicy; kCompletionDefault: the device's choice). *inEffect: what they
  // get, resolved by the planner. Runs on the method queue, as every transfer reading it.
  IOReturn SetCompletionPolicy(DriverResources& board, uint64_t policy, uint64_t* inEffect);

  // A transfer through bytes [offset, offset + length) of an area prepared once (the staging
  // page, the bounce buffer).
  IOReturn RunPrepared(DriverResources& board, uint32_t direction, uint64_t card,
                       const PreparedArea& area, uint64_t offset, uint64_t length);

  WindowCommands& commands() { return commands_; }
  uint32_t slots() const { return slots_; }

 private:
  IOReturn Run(DriverResources& board, uint32_t direction, uint64_t card, engine::HostMemory* host,
               uint64_t length);
  // A new staging buffer when a stuck channel kept the current one (PreparationHold).
  IOReturn RenewStaging(DriverResources& board);

  uint32_t slots_ = 0;
  engine::ChannelClient* channelClient_ = nullptr;
  engine::TransferCancel* cancel_ = nullptr;
  WindowCommands commands_;
  // Prepared at Start, for as long as the client runs (made again after a stuck channel kept it).
  PreparedArea staging_;
};

}  // namespace fpgadext::dext::client
