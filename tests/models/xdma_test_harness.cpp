#include "xdma_test_harness.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "models/pci/config_space.h"

namespace fpgadext::models::test {

using namespace xdma;

bool WaitUntil(const std::function<bool()>& pred, std::chrono::steady_clock::duration timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
  return true;
}

void TestPort::SignalMessage(uint64_t address, uint32_t data) {
  std::lock_guard guard(lock_);
  messages_.push_back({address, data});
  cv_.notify_all();
}

std::vector<TestPort::Message> TestPort::Messages() const {
  std::lock_guard guard(lock_);
  return messages_;
}

size_t TestPort::MessageCount() const {
  std::lock_guard guard(lock_);
  return messages_.size();
}

bool TestPort::WaitForMessages(size_t n) {
  std::unique_lock guard(lock_);
  return cv_.wait_for(guard, kTimeout, [&] { return messages_.size() >= n; });
}

HostBuffer::HostBuffer(emu::Iommu& iommu, size_t size, emu::DmaAccess access, size_t offset)
    : iommu_(iommu), size_(size) {
  const size_t total = (offset + size + 16383) & ~size_t{16383};
  base_ = static_cast<uint8_t*>(std::aligned_alloc(16384, total));
  std::memset(base_, 0, total);
  data_ = base_ + offset;
  if (size_ != 0) {
    const IOReturn r = iommu_.Map(data_, size_, access, 64, &bus_);
    if (r != kIOReturnSuccess) std::abort();
  }
}

HostBuffer::~HostBuffer() {
  if (size_ != 0) (void)iommu_.Unmap(bus_);
  std::free(base_);
}

void FillPattern(uint8_t* p, size_t n, uint32_t seed) {
  uint32_t x = seed * 2654435761u + 1;
  for (size_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    p[i] = static_cast<uint8_t>(x);
  }
}

long FirstMismatch(const uint8_t* a, const uint8_t* b, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (a[i] != b[i]) return static_cast<long>(i);
  }
  return -1;
}

Bench::Bench(const XdmaModel::Config& config) : model(config) {
  // What firmware and the driver do: memory space and bus mastering on.
  model.ConfigWrite(pci::kCommand, 2, pci::kCommandMemorySpace | pci::kCommandBusMaster);
  model.Connect(&port);
  dma_ = model.Bar(static_cast<unsigned>(model.dmaBarIndex()));
  if (model.userBarIndex() >= 0) user_ = model.Bar(static_cast<unsigned>(model.userBarIndex()));
}

Bench::~Bench() {
  model.Connect(nullptr);
}

std::unique_ptr<HostBuffer> Bench::NewRing(size_t count, size_t offset) {
  return std::make_unique<HostBuffer>(iommu, count * sizeof(Descriptor),
                                      emu::DmaAccess::kDeviceRead, offset);
}

void Bench::Start(Direction dir, unsigned ch, uint64_t firstDesc, unsigned dscAdj,
                  uint32_t control) {
  ChannelControl::GetW1C(dir, ch).FromValue(0).set_run(1).WriteTo(*this);
  SgdmaDescAddrLo::Get(dir, ch).FromValue(static_cast<uint32_t>(firstDesc)).WriteTo(*this);
  SgdmaDescAddrHi::Get(dir, ch).FromValue(static_cast<uint32_t>(firstDesc >> 32)).WriteTo(*this);
  SgdmaDescAdjacent::Get(dir, ch).FromValue(0).set_dsc_adj(dscAdj).WriteTo(*this);
  ChannelControl::Get(dir, ch).FromValue(control).set_run(1).WriteTo(*this);
}

bool Bench::WaitIdle(Direction dir, unsigned ch) {
  return WaitUntil([&] { return (Status(dir, ch) & ChannelStatus::kBusy) == 0; });
}

void Bench::StopAndClear(Direction dir, unsigned ch) {
  ChannelControl::GetW1C(dir, ch).FromValue(0).set_run(1).WriteTo(*this);
  WaitIdle(dir, ch);
  (void)ChannelStatus::GetReadClear(dir, ch).ReadFrom(*this);
}

uint32_t Bench::FindCapability(uint8_t id) {
  uint32_t at = model.ConfigRead(pci::kCapabilitiesPointer, 1);
  while (at != 0) {
    if (model.ConfigRead(at, 1) == id) return at;
    at = model.ConfigRead(at + 1, 1);
  }
  return 0;
}

void Bench::EnableMsix() {
  const uint32_t cap = FindCapability(pci::kCapIdMsix);
  model.ConfigWrite(cap + 2, 2, 1u << 15);  // MSI-X enable
  for (unsigned v = 0; v < kMsixTableEntries; ++v) {
    Write32(MsixEntryOffset(v) + msix_entry::kAddrLo, 0xFEE0'0000u + 0x10 * v);
    Write32(MsixEntryOffset(v) + msix_entry::kAddrHi, 0);
    Write32(MsixEntryOffset(v) + msix_entry::kData, 0x100 + v);
    Write32(MsixEntryOffset(v) + msix_entry::kVectorControl, 0);
  }
  // Channels first, then user (xdma-facts §7, Xilinx/in-tree layout).
  const unsigned nh = model.config().h2cChannels, nc = model.config().c2hChannels;
  uint32_t chan[2] = {}, user[4] = {};
  for (unsigned i = 0; i < nh + nc; ++i) chan[i / 4] |= i << IrqVectorShift(i);
  for (unsigned i = 0; i < 16; ++i) user[i / 4] |= (nh + nc + i) << IrqVectorShift(i);
  for (unsigned r = 0; r < 2; ++r)
    Write32(kIrqBlockBase + irq_reg::kChannelVectorBase + 4 * r, chan[r]);
  for (unsigned r = 0; r < 4; ++r)
    Write32(kIrqBlockBase + irq_reg::kUserVectorBase + 4 * r, user[r]);
  Write32(kIrqBlockBase + irq_reg::kChannelIntEnableW1S, 0xFFFF'FFFF);
  Write32(kIrqBlockBase + irq_reg::kUserIntEnableW1S, 0xFFFF'FFFF);
}

void Bench::EnableMsi(unsigned log2Vectors, uint64_t address, uint16_t data) {
  const uint32_t cap = FindCapability(pci::kCapIdMsi);
  model.ConfigWrite(cap + 4, 4, static_cast<uint32_t>(address));
  model.ConfigWrite(cap + 8, 4, static_cast<uint32_t>(address >> 32));
  model.ConfigWrite(cap + 0xC, 2, data);
  model.ConfigWrite(cap + 2, 2, 1u | (log2Vectors << 4));
}

unsigned BuildChain(HostBuffer& ring, Direction dir, const std::vector<Piece>& pieces) {
  Descriptor* d = Bench::Descs(ring);
  const size_t n = pieces.size();
  // Adjacent count for a block starting at `busAddr` with `remaining` descriptors left.
  auto adj = [](uint64_t busAddr, size_t remaining) -> unsigned {
    const unsigned idx = static_cast<unsigned>(((busAddr & 0xFFF) >> 5) % 64);
    return static_cast<unsigned>(std::min<size_t>(63 - idx, remaining - 1));
  };
  for (size_t i = 0; i < n; ++i) {
    const bool last = i + 1 == n;
    const uint64_t next = last ? 0 : ring.bus(32 * (i + 1));
    const unsigned nxtAdj = last ? 0 : adj(next, n - i - 1);
    const uint64_t src = dir == Direction::kH2c ? pieces[i].host : pieces[i].card;
    const uint64_t dst = dir == Direction::kH2c ? pieces[i].card : pieces[i].host;
    d[i] = Descriptor::Make(src, dst, pieces[i].length, next, nxtAdj,
                            last ? (Descriptor::kStop | Descriptor::kCompleted) : 0);
  }
  return adj(ring.bus(), n);
}

}  // namespace fpgadext::models::test
