#include "engine_harness.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <utility>

#include "models/pci/config_space.h"

namespace fpgadext::engine::test {

Platform TestPlatform() {
  return Platform{
      [] {
        return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                         std::chrono::steady_clock::now().time_since_epoch())
                                         .count());
      },
      [] { std::this_thread::yield(); },
  };
}

HostBytes::HostBytes(size_t size, size_t offset) : size_(size) {
  const size_t total = (offset + size + 16383) & ~size_t{16383};
  base_ = static_cast<uint8_t*>(std::aligned_alloc(16384, total == 0 ? 16384 : total));
  if (base_ == nullptr) std::abort();
  std::memset(base_, 0, total);
  data_ = base_ + offset;
}

HostBytes::~HostBytes() {
  std::free(base_);
}

IommuHostMemory::IommuHostMemory(emu::Iommu& iommu, uint8_t* data, uint64_t length,
                                 emu::DmaAccess access, uint32_t slots, uint64_t fragment)
    : iommu_(iommu),
      data_(data),
      length_(length),
      access_(access),
      slots_(slots),
      fragment_(fragment),
      mapped_(slots),
      prepared_(slots, false) {}

IommuHostMemory::~IommuHostMemory() {
  for (uint32_t s = 0; s < slots_; ++s) CompleteWindow(s);
}

IOReturn IommuHostMemory::PrepareWindow(uint32_t slot, uint64_t offset, uint64_t length,
                                        BusSegment* segments, uint32_t* count, uint64_t* covered) {
  if (slot >= slots_ || count == nullptr || covered == nullptr || segments == nullptr) {
    return kIOReturnBadArgument;
  }
  if (prepared_[slot]) return kIOReturnBusy;
  if (offset > length_ || length > length_ - offset || length == 0) return kIOReturnBadArgument;
  const uint32_t max = std::min(*count, kMaxSegmentsPerWindow);
  uint32_t n = 0;
  uint64_t done = 0;
  while (done < length && n < max) {
    uint8_t* p = data_ + offset + done;
    uint64_t piece = length - done;
    if (fragment_ != 0) {
      const uint64_t toBoundary = fragment_ - reinterpret_cast<uintptr_t>(p) % fragment_;
      piece = std::min(piece, toBoundary);
    }
    uint64_t bus = 0;
    const IOReturn r = iommu_.Map(p, piece, access_, 64, &bus);
    if (r != kIOReturnSuccess) {
      for (uint64_t b : mapped_[slot]) (void)iommu_.Unmap(b);
      mapped_[slot].clear();
      return r;
    }
    mapped_[slot].push_back(bus);
    segments[n++] = BusSegment{bus, piece};
    done += piece;
  }
  prepared_[slot] = true;
  *count = n;
  *covered = done;
  ++windowsPrepared_;
  maxSegmentsSeen_ = std::max(maxSegmentsSeen_, n);
  return kIOReturnSuccess;
}

void IommuHostMemory::CompleteWindow(uint32_t slot) {
  if (slot >= slots_ || !prepared_[slot]) return;
  for (uint64_t b : mapped_[slot]) (void)iommu_.Unmap(b);
  mapped_[slot].clear();
  prepared_[slot] = false;
}

bool IommuHostMemory::HandOverWindow(uint32_t slot, WindowLease* lease) {
  if (slot >= slots_ || !prepared_[slot]) return false;
  auto* iovas = new std::vector<uint64_t>(std::move(mapped_[slot]));
  mapped_[slot].clear();
  prepared_[slot] = false;
  ++handedOver_;
  lease->Hold(
      [](void* iommu, void* held, uint64_t) {
        auto* list = static_cast<std::vector<uint64_t>*>(held);
        for (uint64_t b : *list) (void)static_cast<emu::Iommu*>(iommu)->Unmap(b);
        delete list;
      },
      &iommu_, iovas, 0);
  return true;
}

IOReturn IommuHostMemory::MapForCpu(uint64_t offset, uint64_t length, uint8_t** address) {
  if (offset > length_ || length > length_ - offset || address == nullptr) {
    return kIOReturnBadArgument;
  }
  *address = data_ + offset;
  return kIOReturnSuccess;
}

size_t IommuHostMemory::Outstanding() const {
  return static_cast<size_t>(std::count(prepared_.begin(), prepared_.end(), true));
}

ChannelMemory::ChannelMemory(emu::Iommu& iommu, uint32_t capacity, uint32_t ringOffset)
    : iommu_(iommu) {
  const size_t ringBytes = size_t{capacity} * sizeof(xdma::Descriptor);
  segments_.resize(2 * xdma::kMaxChannels);
  words_ = std::make_unique<HostBytes>(4096, 0);
  for (int d = 0; d < 2; ++d) {
    for (uint32_t c = 0; c < xdma::kMaxChannels; ++c) {
      auto ring = std::make_unique<HostBytes>(ringBytes, ringOffset);
      std::vector<BusSegment>& segs = segments_[d * xdma::kMaxChannels + c];
      // One mapping per IOMMU page: the ring's pages are scattered on the bus.
      const size_t page = iommu_.pageSize();
      size_t at = 0;
      while (at < ringBytes) {
        uint8_t* p = ring->data() + at;
        const size_t piece =
            std::min<size_t>(ringBytes - at, page - reinterpret_cast<uintptr_t>(p) % page);
        uint64_t bus = 0;
        if (iommu_.Map(p, piece, emu::DmaAccess::kDeviceRead, 64, &bus) != kIOReturnSuccess) {
          std::abort();
        }
        mapped_.push_back(bus);
        segs.push_back(BusSegment{bus, piece});
        at += piece;
      }
      uint32_t* word = reinterpret_cast<uint32_t*>(words_->data() + 64 * (d * 4 + c));
      uint64_t wordBus = 0;
      if (iommu_.Map(word, 4, emu::DmaAccess::kDeviceWrite, 64, &wordBus) != kIOReturnSuccess) {
        std::abort();
      }
      mapped_.push_back(wordBus);
      XdmaChannelMemory& m = config_.channels[d][c];
      m.ring.cpu = reinterpret_cast<xdma::Descriptor*>(ring->data());
      m.ring.segments = segs.data();
      m.ring.segmentCount = static_cast<uint32_t>(segs.size());
      m.ring.capacity = capacity;
      m.writeback = XdmaWritebackWord{word, wordBus};
      rings_.push_back(std::move(ring));
    }
  }
}

ChannelMemory::~ChannelMemory() {
  for (uint64_t b : mapped_) (void)iommu_.Unmap(b);
}

void FillPattern(uint8_t* p, size_t n, uint32_t seed) {
  uint32_t x = seed * 2654435761u + 1;
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    std::memcpy(p + i, &x, 4);
  }
  for (; i < n; ++i) p[i] = static_cast<uint8_t>(x >> (8 * (i % 4)));
}

long FirstMismatch(const uint8_t* a, const uint8_t* b, size_t n) {
  if (std::memcmp(a, b, n) == 0) return -1;
  for (size_t i = 0; i < n; ++i) {
    if (a[i] != b[i]) return static_cast<long>(i);
  }
  return -1;
}

Bench::Bench(const BenchOptions& options)
    : iommu(emu::HardwareProfileIommu(options.profile)),
      model(options.model),
      channelMemory(iommu, options.ringCapacity, options.ringOffset),
      platform(options.platform) {
  model.ConfigWrite(models::pci::kCommand, 2,
                    models::pci::kCommandMemorySpace | models::pci::kCommandBusMaster);
  model.Connect(&port);
  io.bar = model.Bar(static_cast<unsigned>(model.dmaBarIndex()));
  channelMemory.config().cardMemorySize = options.model.cardMemorySize;
  channelMemory.config().stopTimeoutNs = options.stopTimeoutNs;
  channelMemory.config().completionInterrupts = options.interrupts;
  engine = std::make_unique<Engine>(io, platform, channelMemory.config());
  probeResult = engine->Probe();
  pool = std::make_unique<ChannelPool>(engine->Limits().channels[0], engine->Limits().channels[1]);
  planner = std::make_unique<TransferPlanner>(*engine, *pool, platform, options.planner);
}

Bench::~Bench() {
  // Waits for in-flight device accesses before host memory goes away.
  model.Connect(nullptr);
}

uint64_t Bench::ModelBytes(Direction d) const {
  const auto c = model.counters();
  uint64_t sum = 0;
  for (unsigned i = 0; i < xdma::kMaxChannels; ++i) {
    sum += d == Direction::kHostToCard ? c.h2cBytes[i] : c.c2hBytes[i];
  }
  return sum;
}

}  // namespace fpgadext::engine::test
