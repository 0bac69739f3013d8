// What the transfer planner asks of a data mover: the XDMA engine (descriptors, bus
// addresses, no copies), or the PIO engine (CPU copies through a BAR window on boards without
// DMA). Both move one channel's share of a transfer; the planner splits transfers into shares
// and runs channels side by side.
#pragma once

#include <fpgadext/engine/host_memory.h>
#include <fpgadext/engine/types.h>

namespace fpgadext::engine {

struct EngineLimits {
  uint64_t cardMemorySize;      // card addresses are [0, cardMemorySize)
  uint64_t maxDescriptorBytes;  // largest length one descriptor moves (XDMA: 2^28 - 1)
  uint32_t addressAlignment;    // host and card addresses must agree modulo this (1 = any)
  uint32_t channels[2];         // usable channels, indexed by Direction
};

class DataMover {
 public:
  virtual const EngineLimits& Limits() const = 0;

  // Begins moving `length` (> 0) bytes between the card at `cardAddress` and the bytes
  // [hostOffset, hostOffset + length) of `host`, on `channel` of `direction`, using window slot
  // `slot` of `host`. Returns at once; the channel must be idle (one transfer per channel).
  [[nodiscard]] virtual IOReturn Start(Direction direction, uint32_t channel, uint64_t cardAddress,
                                       HostMemory& host, uint32_t slot, uint64_t hostOffset,
                                       uint64_t length) = 0;

  // Advances the channel's transfer without blocking: kIOReturnNotReady while it runs (the
  // next window is started as soon as the previous one is done), kIOReturnSuccess once every
  // byte has moved and the last window is completed, or the error that stopped it — then the
  // window is completed and the channel needs Recover(). *done, if not null, is the number of
  // bytes known to have moved.
  [[nodiscard]] virtual IOReturn Poll(Direction direction, uint32_t channel, uint64_t* done) = 0;

  // Stops the channel (waiting for the engine to go idle), completes any window still
  // prepared, and clears errors so that the channel can be used again. kIOReturnNotResponding:
  // the engine did not stop; its window is not completed but handed over from the HostMemory
  // (HostMemory::HandOverWindow) to a lease the mover keeps, so the HostMemory may go once
  // Recover returns, and the channel refuses Start. A later Recover of that channel only looks
  // (it does not wait again): idle → the lease is released (the window unmapped) and the
  // channel is usable; still busy → kIOReturnNotResponding again. Destroying the mover releases
  // every lease (call Recover on each channel first).
  [[nodiscard]] virtual IOReturn Recover(Direction direction, uint32_t channel) = 0;

 protected:
  ~DataMover() = default;
};

}  // namespace fpgadext::engine
