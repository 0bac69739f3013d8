// A client's registered buffers (kSelectorRegisterBuffer): app memory prepared for DMA once,
// window by window, and kept prepared until it is unregistered or the client stops. Ids are
// slot | generation << 8, generations from one counter for the whole driver, so an id another
// client was given, or a stale one, never names a buffer of this client.
//
// The table runs on the client's ExternalMethod queue. The ring reads a view of it
// (engine::RingBuffer per slot) on the ring's own queue: that view is written only through
// SetRingVisible, which the client runs on the ring's queue while a ring exists.
#pragma once

#include <DriverKit/IODMACommand.h>
#include <DriverKit/IOMemoryDescriptor.h>
#include <DriverKit/IOReturn.h>
#include <DriverKit/IOUserClient.h>
#include <DriverKit/OSSharedPtr.h>
#include <PCIDriverKit/IOPCIDevice.h>
#include <fpgadext/engine/ring_validator.h>
#include <fpgadext/engine/types.h>
#include <fpgadext/protocol.h>
#include <stdint.h>

#include "descriptor_host_memory.h"
#include "prepared_buffer.h"

namespace fpgadext::dext::client {

inline constexpr uint32_t kMaxBufferWindows =
    PreparationHold::kMaxCommands;  // PrepareForDMA windows of one buffer

struct RegisteredBuffer {
  bool used = false;
  uint32_t generation = 0;
  uint64_t direction = 0;  // protocol::BufferDirection
  OSSharedPtr<IOMemoryDescriptor> memory;
  // Its IODMACommands, each keeping a window prepared: one reference, dropped by Drop; a
  // transfer whose channel did not stop keeps it (and the IOMMU mappings) alive until the
  // channel is seen idle (issue 12 item 2).
  PreparationHold* hold = nullptr;
  PreparedSegments prepared = {};  // segments IONew'd, kMaxBufferWindows windows' worth
};

class BufferTable {
 public:
  BufferTable() = default;
  ~BufferTable() { DropAll(); }
  BufferTable(const BufferTable&) = delete;
  BufferTable& operator=(const BufferTable&) = delete;

  // Registers [address, address + length) of the app for `direction`; *id on success.
  // The ring does not see it until SetRingVisible(slot, true).
  [[nodiscard]] IOReturn Register(IOUserClient* client, IOPCIDevice* device, uint64_t address,
                                  uint64_t length, uint64_t direction, uint32_t* slot,
                                  uint64_t* id);
  // The buffer an id names, or null.
  RegisteredBuffer* Find(uint64_t id);
  static uint32_t SlotOf(uint64_t id) { return engine::RingValidator::BufferIdSlot(id); }
  // Releases the slot's registration (hide it from the ring first).
  void Drop(uint32_t slot);
  void DropAll();

  // The ring's view: on the ring's queue while a ring exists.
  void SetRingVisible(uint32_t slot, bool visible);
  const engine::RingBuffer* RingView() const { return ringView_; }
  RegisteredBuffer& At(uint32_t slot) { return buffers_[slot]; }

 private:
  IOReturn Prepare(RegisteredBuffer& b, IOPCIDevice* device, uint64_t length);

  RegisteredBuffer buffers_[protocol::kMaxRegisteredBuffers];
  engine::RingBuffer ringView_[protocol::kMaxRegisteredBuffers] = {};
};

}  // namespace fpgadext::dext::client
