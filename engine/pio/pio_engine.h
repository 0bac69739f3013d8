// The PIO engine: a DataMover for boards without a DMA engine (models/bram): the CPU copies
// between host memory and a BAR window mapped into the caller's address space.
//
// Why a mapped window (base, size) and not RegisterIo: the dext maps the BAR once
// (IOPCIDevice::_CopyDeviceMemoryWithIndex → IOMemoryDescriptor::CreateMapping) and then moves
// 8 bytes per CPU access; RegisterIo has only 32-bit accesses, each a call (IPC on the slow
// IOPCIDevice path). The window is device memory: on Apple Silicon it is mapped Device-nGnRE,
// where unaligned accesses fault and memcpy's wide/unaligned tricks are not allowed. So copies
// use naturally aligned volatile accesses only (bytes up to 8-byte alignment, then 8-byte words).
//
// Host memory is reached through HostMemory::MapForCpu: no bus addresses, no windows. There is
// nothing to copy twice: bytes go straight between the app's memory and the BAR.
//
// Dext-safe: header-only, no allocation, no threads. Each Poll moves at most `bytesPerPoll`, so
// the planner's round-robin, timeout and the caller's thread stay responsive.
#pragma once

#include <fpgadext/engine/dma_engine.h>
#include <string.h>

namespace fpgadext::engine {

class PioEngine final : public DataMover {
 public:
  // `window`: CPU address of the mapped BAR, `size` its length (the card memory the engine
  // reaches is [0, size)). `bytesPerPoll`: largest copy one Poll does (≥ 8).
  PioEngine(volatile uint8_t* window, uint64_t size, uint64_t bytesPerPoll = 64 * 1024)
      : window_(window), bytesPerPoll_(bytesPerPoll < 8 ? 8 : bytesPerPoll) {
    limits_.cardMemorySize = window == nullptr ? 0 : size;
    limits_.maxDescriptorBytes = bytesPerPoll_;
    limits_.addressAlignment = 1;
    limits_.channels[0] = 1;  // the CPU is the engine: one per direction
    limits_.channels[1] = 1;
  }

  const EngineLimits& Limits() const override { return limits_; }

  // Errors: kIOReturnBadArgument (channel, length 0, ranges), kIOReturnOverrun (past the
  // window), kIOReturnBusy (channel in use), HostMemory::MapForCpu's (kIOReturnUnsupported when
  // the memory has no CPU mapping).
  [[nodiscard]] IOReturn Start(Direction direction, uint32_t channel, uint64_t cardAddress,
                               HostMemory& host, uint32_t slot, uint64_t hostOffset,
                               uint64_t length) override {
    if (channel != 0 || length == 0) return kIOReturnBadArgument;
    if (hostOffset > host.Length() || length > host.Length() - hostOffset) {
      return kIOReturnBadArgument;
    }
    if (cardAddress + length < cardAddress) return kIOReturnBadArgument;
    if (cardAddress + length > limits_.cardMemorySize) return kIOReturnOverrun;
    Job& job = jobs_[static_cast<int>(direction)];
    if (job.active) return kIOReturnBusy;
    uint8_t* cpu = nullptr;
    const IOReturn r = host.MapForCpu(hostOffset, length, &cpu);
    if (r != kIOReturnSuccess) return r;
    if (cpu == nullptr) return kIOReturnInternalError;
    job = Job{cpu, cardAddress, length, 0, true};
    return kIOReturnSuccess;
  }

  [[nodiscard]] IOReturn Poll(Direction direction, uint32_t channel, uint64_t* done) override {
    if (channel != 0) return kIOReturnBadArgument;
    Job& job = jobs_[static_cast<int>(direction)];
    if (!job.active) return kIOReturnNotOpen;
    uint64_t n = job.length - job.done;
    if (n > bytesPerPoll_) n = bytesPerPoll_;
    volatile uint8_t* card = window_ + job.card + job.done;
    uint8_t* host = job.host + job.done;
    if (direction == Direction::kHostToCard) {
      ToCard(card, host, n);
    } else {
      FromCard(host, card, n);
    }
    job.done += n;
    if (done != nullptr) *done = job.done;
    if (job.done < job.length) return kIOReturnNotReady;
    job.active = false;
    return kIOReturnSuccess;
  }

  [[nodiscard]] IOReturn Recover(Direction direction, uint32_t channel) override {
    if (channel != 0) return kIOReturnBadArgument;
    jobs_[static_cast<int>(direction)] = Job{};
    return kIOReturnSuccess;
  }

 private:
  struct Job {
    uint8_t* host = nullptr;
    uint64_t card = 0;
    uint64_t length = 0;
    uint64_t done = 0;
    bool active = false;
  };

  static void ToCard(volatile uint8_t* card, const uint8_t* host, uint64_t n) {
    while (n > 0 && reinterpret_cast<uintptr_t>(card) % 8 != 0) {
      *card++ = *host++;
      --n;
    }
    for (; n >= 8; n -= 8, card += 8, host += 8) {
      uint64_t v;
      memcpy(&v, host, 8);
      *reinterpret_cast<volatile uint64_t*>(card) = v;
    }
    while (n-- > 0) *card++ = *host++;
  }

  static void FromCard(uint8_t* host, const volatile uint8_t* card, uint64_t n) {
    while (n > 0 && reinterpret_cast<uintptr_t>(card) % 8 != 0) {
      *host++ = *card++;
      --n;
    }
    for (; n >= 8; n -= 8, card += 8, host += 8) {
      const uint64_t v = *reinterpret_cast<const volatile uint64_t*>(card);
      memcpy(host, &v, 8);
    }
    while (n-- > 0) *host++ = *card++;
  }

  volatile uint8_t* window_;
  uint64_t bytesPerPoll_;
  EngineLimits limits_ = {};
  Job jobs_[2];
};

}  // namespace fpgadext::engine
