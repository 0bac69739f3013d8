// How the engine reaches host memory: the dext implements HostMemory over an
// IOMemoryDescriptor and IODMACommands (app memory, an out-of-line descriptor, a registered
// buffer); tests implement it over the emulated IOMMU. The engine never sees CPU addresses of
// app memory, only bus addresses, so what it moves is never copied on the way.
#pragma once

#include <fpgadext/engine/types.h>

namespace fpgadext::engine {

// A prepared window a HostMemory handed over (HostMemory::HandOverWindow): it stays mapped for
// the device, whatever becomes of the HostMemory, until Release() completes (unmaps) it. The
// engine keeps one per channel that did not stop after a timeout or an abort: the device may
// still reach the window, and unmapping it then is fatal on a DART, or lets the late bytes land
// in whoever is given the IOVA next (docs/engine.md "Quarantine"). Plain data, no allocation:
// `release(first, second, value)` is the HostMemory's own completion, on what it handed over.
class WindowLease {
 public:
  using ReleaseFunction = void (*)(void* first, void* second, uint64_t value);
  WindowLease() = default;
  WindowLease(const WindowLease&) = delete;
  WindowLease& operator=(const WindowLease&) = delete;
  // Releasing on destruction: whoever drops a lease is done with the device (the engine's
  // destructor runs after the channels were stopped for the last time).
  ~WindowLease() { Release(); }

  // Takes the window over; a lease held before is released first.
  void Hold(ReleaseFunction release, void* first, void* second, uint64_t value) {
    Release();
    release_ = release;
    first_ = first;
    second_ = second;
    value_ = value;
  }
  bool Held() const { return release_ != nullptr; }
  // Completes the window (unmaps it); nothing if none is held.
  void Release() {
    ReleaseFunction release = release_;
    release_ = nullptr;
    if (release != nullptr) release(first_, second_, value_);
  }

 private:
  ReleaseFunction release_ = nullptr;
  void* first_ = nullptr;
  void* second_ = nullptr;
  uint64_t value_ = 0;
};

class HostMemory {
 public:
  // Total length of the memory, in bytes.
  virtual uint64_t Length() const = 0;

  // Maps a window of the memory for device access, starting at `offset`, at most `length`
  // bytes: fills up to *count (≤ kMaxSegmentsPerWindow) segments, sets *count to how many were
  // filled and *covered to the bytes they cover (≤ length; less when the memory needs more
  // segments than fit). `slot` (0 ≤ slot < Slots()) names the window: a slot holds one window
  // at a time, so windows in different slots can be in flight together.
  [[nodiscard]] virtual IOReturn PrepareWindow(uint32_t slot, uint64_t offset, uint64_t length,
                                               BusSegment* segments, uint32_t* count,
                                               uint64_t* covered) = 0;
  // Unmaps the slot's window. The device must be done with it.
  virtual void CompleteWindow(uint32_t slot) = 0;
  // The device may still reach the slot's prepared window after the transfer ends (the engine
  // did not stop): hands the window over to *lease, which keeps it mapped until its Release.
  // From then on this object neither completes nor reuses what it handed over (the dext's
  // memory gives up the slot's IODMACommand: its owner makes a new one), and may be destroyed.
  // false: this memory cannot hand a window over; the caller then completes it at once.
  [[nodiscard]] virtual bool HandOverWindow(uint32_t slot, WindowLease* lease) { return false; }
  // How many windows can be prepared at once.
  virtual uint32_t Slots() const = 0;

  // Optional, for engines that move data with the CPU (the PIO engine): the CPU address of the
  // bytes [offset, offset + length), which must be contiguous in the caller's address space
  // (the dext maps the memory descriptor once, e.g. IOMemoryDescriptor::CreateMapping). The
  // address stays valid as long as this object lives. Memory that cannot be reached by the CPU
  // returns kIOReturnUnsupported (the default), out-of-range requests kIOReturnBadArgument.
  [[nodiscard]] virtual IOReturn MapForCpu(uint64_t offset, uint64_t length, uint8_t** address) {
    return kIOReturnUnsupported;
  }

 protected:
  ~HostMemory() = default;
};

}  // namespace fpgadext::engine
