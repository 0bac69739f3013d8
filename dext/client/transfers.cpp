// A client's synchronous transfer paths (transfers.h).
// C++ library headers first: DriverKit declares the global placement operator new, and
// libc++'s <new> read after any DriverKit header does not compile (docs/macos.md).
#include <new>

#include "client/transfers.h"

#include <DriverKit/IOBufferMemoryDescriptor.h>
#include <DriverKit/IODMACommand.h>
#include <DriverKit/IOLib.h>
#include <DriverKit/IOMemoryDescriptor.h>
#include <DriverKit/IOUserClient.h>
#include <DriverKit/OSData.h>
#include <DriverKit/OSSharedPtr.h>
#include <PCIDriverKit/IOPCIDevice.h>
#include <fpgadext/protocol.h>

#include "client/buffer_table.h"

namespace fpgadext::dext::client {

namespace protocol = fpgadext::protocol;
namespace engine = fpgadext::engine;

namespace {

constexpr uint64_t kStagingSize = protocol::kInbandMax;

IODMACommandSpecification WindowSpecification() {
  IODMACommandSpecification spec{};
  spec.maxAddressBits = 64;
  return spec;
}

}  // namespace

IOReturn WindowCommands::Fill(IOPCIDevice* device, uint32_t slots) {
  if (slots > kMaxSlots) slots = kMaxSlots;
  slots_ = slots;
  const IODMACommandSpecification spec = WindowSpecification();
  for (uint32_t i = 0; i < slots; ++i) {
    if (commands_[i] != nullptr) continue;
    const IOReturn ret = IODMACommand::Create(device, 0, &spec, &commands_[i]);
    if (ret != kIOReturnSuccess) {
      commands_[i] = nullptr;
      return ret;
    }
  }
  return kIOReturnSuccess;
}

OSSharedPtr<IODMACommand> WindowCommands::Take(uint32_t slot) {
  if (slot >= kMaxSlots) return nullptr;
  IODMACommand* command = commands_[slot];
  commands_[slot] = nullptr;
  return OSSharedPtr<IODMACommand>(command, OSNoRetain);
}

void WindowCommands::Clear() {
  for (uint32_t i = 0; i < kMaxSlots; ++i) OSSafeReleaseNULL(commands_[i]);
  slots_ = 0;
}

bool ReadableThroughout(IOUserClient* client, const IOAddressSegment& range,
                        IODMACommand* command) {
  if (command == nullptr) return false;
  OSSharedPtr<IOMemoryDescriptor> probe;
  if (client->CreateMemoryDescriptorFromClient(kIOMemoryDirectionOut, 1, &range, probe.attach()) !=
      kIOReturnSuccess) {
    return false;
  }
  for (uint64_t offset = 0; offset < range.length;) {
    IOAddressSegment segments[engine::kMaxSegmentsPerWindow];
    uint32_t count = engine::kMaxSegmentsPerWindow;
    uint64_t flags = 0;
    if (command->PrepareForDMA(0, probe.get(), offset, range.length - offset, &flags, &count,
                               segments) != kIOReturnSuccess) {
      return false;
    }
    uint64_t covered = 0;
    for (uint32_t i = 0; i < count; ++i) covered += segments[i].length;
    (void)command->CompleteDMA(0);  // prepared just above: nothing can refuse it
    if (covered == 0) return false;
    offset += covered;
  }
  return true;
}

IOReturn ReadFailureStatus(IOUserClient* client, IOReturn status, uint32_t direction,
                           const IOAddressSegment& range, IODMACommand* command) {
  // A Mac's wiring refuses pages the card cannot write with KERN_PROTECTION_FAILURE (xnu
  // vm_map_create_upl); readable everywhere means read-only memory, not a hole.
  if (status == kWiringProtectionFailure && direction == kFromCard &&
      ReadableThroughout(client, range, command)) {
    return kIOReturnNotWritable;
  }
  return status;
}

IOReturn Transfers::Start(DriverResources& board, engine::ChannelClient* channelClient,
                          engine::TransferCancel* cancel) {
  channelClient_ = channelClient;
  cancel_ = cancel;
  slots_ = board.WindowSlots();
  if (slots_ > kMaxSlots) slots_ = kMaxSlots;
  IOReturn ret = commands_.Fill(board.Device(), slots_);
  if (ret != kIOReturnSuccess) return ret;
  // The staging buffer is prepared once and stays prepared.
  return staging_.Prepare(board.Device(), kStagingSize);
}

IOReturn Transfers::RenewStaging(DriverResources& board) {
  // A stuck channel may still write into the staging buffer it was given: it keeps that one
  // (mapped until the channel is idle) and this client's next transfer gets a new one.
  if (staging_.prepared() && !staging_.HandedOver()) return kIOReturnSuccess;
  return staging_.Prepare(board.Device(), kStagingSize);
}

void Transfers::Stop() {
  staging_.Release();
  commands_.Clear();
}

IOReturn Transfers::RunPrepared(DriverResources& board, uint32_t direction, uint64_t card,
                                const PreparedArea& area, uint64_t offset, uint64_t length) {
  const uint32_t slots = area.segments.length > kStagingSize ? slots_ : 1;
  PreparedHostMemory host(area.segments, area.buffer.memory(), offset, length, slots,
                          area.buffer.hold());
  return Run(board, direction, card, &host, length);
}

IOReturn Transfers::Run(DriverResources& board, uint32_t direction, uint64_t card,
                        engine::HostMemory* host, uint64_t length) {
  return board.Transfer(direction, card, host, length, channelClient_, cancel_);
}

static_assert(static_cast<uint64_t>(engine::CompletionPolicy::kDefault) ==
              protocol::kCompletionDefault);
static_assert(static_cast<uint64_t>(engine::CompletionPolicy::kPoll) == protocol::kCompletionPoll);
static_assert(static_cast<uint64_t>(engine::CompletionPolicy::kInterrupt) ==
              protocol::kCompletionInterrupt);
static_assert(static_cast<uint64_t>(engine::CompletionPolicy::kAdaptive) ==
              protocol::kCompletionAdaptive);

IOReturn Transfers::SetCompletionPolicy(DriverResources& board, uint64_t policy,
                                        uint64_t* inEffect) {
  if (channelClient_ == nullptr) return kIOReturnNotReady;
  if (!engine::ValidCompletionPolicy(policy)) return kIOReturnBadArgument;
  channelClient_->completion = static_cast<engine::CompletionPolicy>(policy);
  *inEffect = static_cast<uint64_t>(board.CompletionPolicyFor(channelClient_));
  return kIOReturnSuccess;
}

IOReturn Transfers::ReadInband(DriverResources& board, IOUserClientMethodArguments* arguments) {
  const uint64_t card = arguments->scalarInput[protocol::kInbandCard];
  const uint64_t length = arguments->scalarInput[protocol::kInbandLength];
  if (arguments->structureOutputDescriptor != nullptr || length > kStagingSize ||
      length > arguments->structureOutputMaximumSize) {
    return kIOReturnBadArgument;
  }
  if (length != 0) {
    IOReturn ret = RenewStaging(board);
    if (ret != kIOReturnSuccess) return ret;
    ret = RunPrepared(board, kFromCard, card, staging_, 0, length);
    if (ret != kIOReturnSuccess) return ret;
  }
  OSData* data = OSData::withBytes(staging_.buffer.cpu(), length);
  if (data == nullptr) return kIOReturnNoMemory;
  arguments->structureOutput = data;  // the OS consumes this reference
  return kIOReturnSuccess;
}

IOReturn Transfers::WriteInband(DriverResources& board, IOUserClientMethodArguments* arguments) {
  const uint64_t card = arguments->scalarInput[protocol::kInbandCard];
  if (arguments->structureInputDescriptor != nullptr) return kIOReturnBadArgument;
  if (arguments->structureInput == nullptr) return kIOReturnSuccess;  // 0 bytes
  const uint64_t length = arguments->structureInput->getLength();
  if (length > kStagingSize) return kIOReturnBadArgument;
  const IOReturn ret = RenewStaging(board);
  if (ret != kIOReturnSuccess) return ret;
  __builtin_memcpy(staging_.buffer.cpu(), arguments->structureInput->getBytesNoCopy(), length);
  return RunPrepared(board, kToCard, card, staging_, 0, length);
}

IOReturn Transfers::OutOfLine(DriverResources& board, IOUserClientMethodArguments* arguments,
                              uint32_t direction) {
  IOMemoryDescriptor* memory = direction == kFromCard ? arguments->structureOutputDescriptor
                                                      : arguments->structureInputDescriptor;
  if (memory == nullptr) return kIOReturnBadArgument;
  uint64_t length = 0;
  IOReturn ret = memory->GetLength(&length);
  if (ret != kIOReturnSuccess) return ret;
  ret = commands_.Fill(board.Device(), slots_);
  if (ret != kIOReturnSuccess) return ret;
  DescriptorHostMemory host(memory, 0, length, commands_.get(), slots_);
  return Run(board, direction, arguments->scalarInput[protocol::kOutOfLineCard], &host, length);
}

IOReturn Transfers::ClientMemory(IOUserClient* client, DriverResources& board,
                                 IOUserClientMethodArguments* arguments, uint32_t direction) {
  const uint64_t card = arguments->scalarInput[protocol::kClientMemoryCard];
  const uint64_t address = arguments->scalarInput[protocol::kClientMemoryAddress];
  const uint64_t length = arguments->scalarInput[protocol::kClientMemoryLength];
  if (length == 0) return kIOReturnSuccess;
  if (address + length < address || length > protocol::kMaxTransferLength) {
    return kIOReturnBadArgument;
  }
  // The card writes app memory on a read (In), reads it on a write (Out). Copy-on-write off:
  // the PIO engine maps the memory and must see (and change) the app's pages themselves.
  const uint64_t options = (direction == kFromCard ? kIOMemoryDirectionIn : kIOMemoryDirectionOut) |
                           kIOMemoryDisableCopyOnWrite;
  const IOAddressSegment segment{address, length};
  OSSharedPtr<IOMemoryDescriptor> memory;
  IOReturn ret = client->CreateMemoryDescriptorFromClient(options, 1, &segment, memory.attach());
  if (ret != kIOReturnSuccess) return ret;
  ret = commands_.Fill(board.Device(), slots_);
  if (ret != kIOReturnSuccess) return ret;
  {
    DescriptorHostMemory host(memory.get(), 0, length, commands_.get(), slots_);
    ret = Run(board, direction, card, &host, length);
  }
  // The probe needs a command: make one again if the transfer handed slot 0 over.
  if (ret == kWiringProtectionFailure && commands_.Fill(board.Device(), slots_) != kIOReturnSuccess)
    return ret;
  return ReadFailureStatus(client, ret, direction, segment, commands_.get()[0]);
}

IOReturn Transfers::Registered(DriverResources& board, const RegisteredBuffer& b,
                               IOUserClientMethodArguments* arguments, uint32_t direction) {
  const uint64_t offset = arguments->scalarInput[protocol::kRegisteredOffset];
  const uint64_t card = arguments->scalarInput[protocol::kRegisteredCard];
  const uint64_t length = arguments->scalarInput[protocol::kRegisteredLength];
  const uint64_t needed =
      direction == kFromCard ? protocol::kBufferFromCard : protocol::kBufferToCard;
  if (!(b.direction & needed)) return kIOReturnNotPermitted;
  if (offset > b.prepared.length || length > b.prepared.length - offset) {
    return kIOReturnBadArgument;
  }
  if (length == 0) return kIOReturnSuccess;
  PreparedHostMemory host(b.prepared, b.memory.get(), offset, length, slots_, b.hold);
  return Run(board, direction, card, &host, length);
}

}  // namespace fpgadext::dext::client
