#include "msix_table.h"

namespace fpgadext::models {

using namespace xdma;

MsixTable::MsixTable() = default;

uint32_t MsixTable::Read(uint32_t offset) const {
  if (offset >= kMsixTableBase && offset < kMsixTableBase + kMsixTableEntries * kMsixEntrySize) {
    const Entry& e = entries_[(offset - kMsixTableBase) / kMsixEntrySize];
    switch (offset % kMsixEntrySize) {
      case msix_entry::kAddrLo:
        return e.addrLo;
      case msix_entry::kAddrHi:
        return e.addrHi;
      case msix_entry::kData:
        return e.data;
      default:
        return e.control;
    }
  }
  if (offset == kMsixPbaBase) return pba_;
  return 0;
}

void MsixTable::Write(uint32_t offset, uint32_t value) {
  if (offset < kMsixTableBase || offset >= kMsixTableBase + kMsixTableEntries * kMsixEntrySize) {
    return;  // the PBA is read-only
  }
  Entry& e = entries_[(offset - kMsixTableBase) / kMsixEntrySize];
  switch (offset % kMsixEntrySize) {
    case msix_entry::kAddrLo:
      e.addrLo = value & ~3u;  // message addresses are dword aligned
      break;
    case msix_entry::kAddrHi:
      e.addrHi = value;
      break;
    case msix_entry::kData:
      e.data = value;
      break;
    default:
      e.control = value;
      break;
  }
}

bool MsixTable::Signal(unsigned vector, bool functionMasked, MsiMessage* out) {
  const Entry& e = entries_[vector % kMsixTableEntries];
  if (functionMasked || MsixVectorMasked::Get(e.control) != 0) {
    pba_ |= 1u << (vector % kMsixTableEntries);
    return false;
  }
  *out = MsiMessage{(uint64_t{e.addrHi} << 32) | e.addrLo, e.data};
  return true;
}

bool MsixTable::TakeUnmaskedPending(bool functionMasked, unsigned* vector, MsiMessage* out) {
  if (functionMasked || pba_ == 0) return false;
  for (unsigned v = 0; v < kMsixTableEntries; ++v) {
    if ((pba_ & (1u << v)) && MsixVectorMasked::Get(entries_[v].control) == 0) {
      pba_ &= ~(1u << v);
      *vector = v;
      *out =
          MsiMessage{(uint64_t{entries_[v].addrHi} << 32) | entries_[v].addrLo, entries_[v].data};
      return true;
    }
  }
  return false;
}

}  // namespace fpgadext::models
