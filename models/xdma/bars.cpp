#include "bars.h"

#include <cstring>

#include "../pci/mmio_access.h"

namespace fpgadext::models {

namespace {

bool InRange(uint64_t offset, unsigned width, uint64_t size) {
  return (width == 1 || width == 2 || width == 4 || width == 8) && offset < size &&
         width <= size - offset;
}

}  // namespace

uint64_t DmaBarRegion::Read(uint64_t offset, unsigned width) {
  board_.MmioReadDelay();
  if (!board_.Decodes() || !InRange(offset, width, Size())) return pci::AllOnes(width);
  return pci::ReadVia32(
      offset, width, [&](uint64_t word) { return board_.ReadDmaReg(static_cast<uint32_t>(word)); });
}

void DmaBarRegion::Write(uint64_t offset, unsigned width, uint64_t value) {
  board_.MmioWriteDelay();
  if (!board_.Decodes() || !InRange(offset, width, Size())) return;
  const bool ok = pci::WriteVia32(offset, width, value, [&](uint64_t word, uint32_t v) {
    board_.WriteDmaReg(static_cast<uint32_t>(word), v);
  });
  if (!ok) board_.counters.droppedMmioWrites.fetch_add(1, std::memory_order_relaxed);
}

uint64_t UserBarRegion::Read(uint64_t offset, unsigned width) {
  board_.MmioReadDelay();
  if (!board_.Decodes() || !InRange(offset, width, Size())) return pci::AllOnes(width);
  return pci::ReadVia32(offset, width, [&](uint64_t word) {
    return board_.ReadUserReg(static_cast<uint32_t>(word));
  });
}

void UserBarRegion::Write(uint64_t offset, unsigned width, uint64_t value) {
  board_.MmioWriteDelay();
  if (!board_.Decodes() || !InRange(offset, width, Size())) return;
  const bool ok = pci::WriteVia32(offset, width, value, [&](uint64_t word, uint32_t v) {
    board_.WriteUserReg(static_cast<uint32_t>(word), v);
  });
  if (!ok) board_.counters.droppedMmioWrites.fetch_add(1, std::memory_order_relaxed);
}

uint64_t BypassBarRegion::Read(uint64_t offset, unsigned width) {
  board_.MmioReadDelay();
  if (!board_.Decodes() || !InRange(offset, width, Size())) return pci::AllOnes(width);
  uint64_t v = 0;
  std::memcpy(&v, board_.card.data() + offset, width);
  return v;
}

void BypassBarRegion::Write(uint64_t offset, unsigned width, uint64_t value) {
  board_.MmioWriteDelay();
  if (!board_.Decodes() || !InRange(offset, width, Size())) return;
  std::memcpy(board_.card.data() + offset, &value, width);
}

}  // namespace fpgadext::models
