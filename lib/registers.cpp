// Registers of an app BAR: through the BAR mapped into this process when the dext offers it
// (plain loads and stores, no driver call), else through the dext's bounds-checked
// kSelectorRegisterRead/Write. Every access is 32 bits wide: 64-bit registers are two accesses,
// low word first, because the XDMA user BAR is an AXI4-Lite master that carries 32-bit reads and
// writes only (PG195, "AXI4-Lite Master").
#include <fpgadext/protocol.h>

#include <iterator>

#include "session.h"

namespace fpgadext {

namespace {

Status RegisterCheck(const Session& s, int bar, uint64_t offset, unsigned width) {
  const DeviceInfo& info = s.info;
  if (bar < 0 || bar >= kBarCount || info.barSizes[bar] == 0) {
    return Fail(kIOReturnBadArgument, "BAR %d does not exist on this board", bar);
  }
  if (bar == info.dmaBar) {
    return Fail(kIOReturnNotPermitted,
                "BAR %d holds the DMA engine's registers: only the dext may access it", bar);
  }
  if (offset >= info.barSizes[bar] || width > info.barSizes[bar] - offset) {
    return Fail(kIOReturnBadArgument,
                "register 0x%" PRIx64 " (%u bytes) is outside BAR %d's 0x%" PRIx64 " bytes", offset,
                width, bar, info.barSizes[bar]);
  }
  if (offset % width != 0) {
    return Fail(kIOReturnBadArgument, "register 0x%" PRIx64 " is not %u-byte aligned", offset,
                width);
  }
  return Status::Ok();
}

// Checks `count` 32-bit registers from `offset`.
Status BlockCheck(const Session& s, int bar, uint64_t offset, uint64_t count) {
  if (Status r = RegisterCheck(s, bar, offset, 4); !r) return r;
  const uint64_t bytes = count * uint64_t{4};
  if (bytes > s.info.barSizes[bar] - offset) {
    return Fail(kIOReturnBadArgument,
                "registers 0x%" PRIx64 "+0x%" PRIx64 " are outside BAR %d's 0x%" PRIx64 " bytes",
                offset, bytes, bar, s.info.barSizes[bar]);
  }
  return Status::Ok();
}

volatile uint32_t* Mapped(const Session& s, int bar, uint64_t offset) {
  if (s.bars[bar].address == 0) return nullptr;
  return reinterpret_cast<volatile uint32_t*>(static_cast<uintptr_t>(s.bars[bar].address) + offset);
}

// One checked 32-bit access. After removal nothing is touched: the mapping would answer all
// ones, the dext nothing.
Status Read32At(Session& s, int bar, uint64_t offset, uint32_t* value) {
  if (s.gone()) return Gone("register read");
  if (volatile uint32_t* r = Mapped(s, bar, offset)) {
    // One 32-bit load, as a relaxed atomic: several app threads may access the same register at
    // once, which is legitimate MMIO; the atomic says so to ThreadSanitizer and compiles to the
    // same single load on arm64 and x86-64.
    *value = __atomic_load_n(r, __ATOMIC_RELAXED);
    return Status::Ok();
  }
  uint64_t in[protocol::kRegisterWidth + 1] = {};
  in[protocol::kRegisterBar] = static_cast<uint64_t>(bar);
  in[protocol::kRegisterOffset] = offset;
  in[protocol::kRegisterWidth] = 4;
  uint64_t out[1] = {};
  uint32_t count = 1;
  const int ret =
      s.transport->Call(protocol::kSelectorRegisterRead, in, std::size(in), out, &count);
  if (ret != kIOReturnSuccess) {
    return Fail(ret, "register read of BAR %d offset 0x%" PRIx64 ": %s (%s)", bar, offset,
                Reason(ret), IOReturnName(ret));
  }
  *value = static_cast<uint32_t>(out[0]);
  return Status::Ok();
}

Status Write32At(Session& s, int bar, uint64_t offset, uint32_t value) {
  if (s.gone()) return Gone("register write");
  if (volatile uint32_t* r = Mapped(s, bar, offset)) {
    __atomic_store_n(r, value, __ATOMIC_RELAXED);  // one 32-bit store (see Read32At)
    return Status::Ok();
  }
  uint64_t in[protocol::kRegisterValue + 1] = {};
  in[protocol::kRegisterBar] = static_cast<uint64_t>(bar);
  in[protocol::kRegisterOffset] = offset;
  in[protocol::kRegisterWidth] = 4;
  in[protocol::kRegisterValue] = value;
  const int ret =
      s.transport->Call(protocol::kSelectorRegisterWrite, in, std::size(in), nullptr, nullptr);
  if (ret != kIOReturnSuccess) {
    return Fail(ret, "register write of BAR %d offset 0x%" PRIx64 ": %s (%s)", bar, offset,
                Reason(ret), IOReturnName(ret));
  }
  return Status::Ok();
}

}  // namespace

void Session::UnmapBars() {
  for (int i = 0; i < kBarCount; ++i) {
    // After removal the mappings go with the connection (Device::Close closes it next).
    if (bars[i].address != 0 && !gone()) {
      (void)transport->Unmap(protocol::kMemoryTypeBar0 + i, bars[i].address);
    }
    bars[i] = {};
  }
}

Status Device::Read32(int bar, uint64_t offset, uint32_t* value) {
  if (!state_) return NotOpen();
  if (value == nullptr) return Status(kIOReturnBadArgument, "Read32: null value pointer");
  if (Status r = RegisterCheck(*state_, bar, offset, 4); !r) return r;
  return Read32At(*state_, bar, offset, value);
}

Status Device::Write32(int bar, uint64_t offset, uint32_t value) {
  if (!state_) return NotOpen();
  if (Status r = RegisterCheck(*state_, bar, offset, 4); !r) return r;
  return Write32At(*state_, bar, offset, value);
}

Status Device::Read64(int bar, uint64_t offset, uint64_t* value) {
  if (!state_) return NotOpen();
  if (value == nullptr) return Status(kIOReturnBadArgument, "Read64: null value pointer");
  if (Status r = RegisterCheck(*state_, bar, offset, 8); !r) return r;
  uint32_t low = 0, high = 0;
  if (Status r = Read32At(*state_, bar, offset, &low); !r) return r;
  if (Status r = Read32At(*state_, bar, offset + 4, &high); !r) return r;
  *value = uint64_t{high} << 32 | low;
  return Status::Ok();
}

Status Device::Write64(int bar, uint64_t offset, uint64_t value) {
  if (!state_) return NotOpen();
  if (Status r = RegisterCheck(*state_, bar, offset, 8); !r) return r;
  if (Status r = Write32At(*state_, bar, offset, static_cast<uint32_t>(value)); !r) return r;
  return Write32At(*state_, bar, offset + 4, static_cast<uint32_t>(value >> 32));
}

Status Device::ReadBlock(int bar, uint64_t offset, std::span<uint32_t> values) {
  if (!state_) return NotOpen();
  if (values.empty()) return Status::Ok();
  if (Status r = BlockCheck(*state_, bar, offset, values.size()); !r) return r;
  for (size_t i = 0; i < values.size(); ++i) {
    if (Status r = Read32At(*state_, bar, offset + 4 * i, &values[i]); !r) return r;
  }
  return Status::Ok();
}

Status Device::WriteBlock(int bar, uint64_t offset, std::span<const uint32_t> values) {
  if (!state_) return NotOpen();
  if (values.empty()) return Status::Ok();
  if (Status r = BlockCheck(*state_, bar, offset, values.size()); !r) return r;
  for (size_t i = 0; i < values.size(); ++i) {
    if (Status r = Write32At(*state_, bar, offset + 4 * i, values[i]); !r) return r;
  }
  return Status::Ok();
}

bool Device::IsBarMapped(int bar) const {
  return state_ && bar >= 0 && bar < kBarCount && state_->bars[bar].address != 0;
}

}  // namespace fpgadext
