// The emulation's "wiring": before memory of the app is mapped or prepared for DMA, every byte
// must be mapped in the process with the access needed, as vm_map_wire would demand on a Mac.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <mutex>

#include <DriverKit/IOLib.h>
#include <mach/kern_return.h>

#include "kernel.h"

namespace fpgadext::emu {

namespace {
uint64_t RoundToMacPages(uint64_t length) {
  const uint64_t page = IOVMPageSize;
  return (length + page - 1) & ~(page - 1);
}
}  // namespace

// A Mac maps whole pages of its own size (16 KiB on Apple silicon, 4 KiB on Intel) at addresses
// aligned to them; the host's pages may be smaller, so a range of host pages is reserved with
// room to align it, and the mapping is placed inside.
void* MapMacPages(uint64_t length, int protection, int flags, int fd, uint64_t offset) {
  const uint64_t page = IOVMPageSize;
  const uint64_t span = RoundToMacPages(length);
  if (span == 0 || span < length) return nullptr;
  void* reserved = mmap(nullptr, span + page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (reserved == MAP_FAILED) return nullptr;
  const uintptr_t base = reinterpret_cast<uintptr_t>(reserved);
  const uintptr_t aligned = (base + page - 1) & ~(page - 1);
  void* placed = mmap(reinterpret_cast<void*>(aligned), span, protection, flags | MAP_FIXED, fd,
                      static_cast<off_t>(offset));
  if (placed == MAP_FAILED) {
    munmap(reserved, span + page);
    return nullptr;
  }
  if (aligned > base) munmap(reserved, aligned - base);
  const uintptr_t end = base + span + page;
  if (end > aligned + span) munmap(reinterpret_cast<void*>(aligned + span), end - aligned - span);
  return placed;
}

void UnmapMacPages(void* address, uint64_t length) {
  const uintptr_t start = reinterpret_cast<uintptr_t>(address) & ~(IOVMPageSize - 1);
  munmap(reinterpret_cast<void*>(start),
         RoundToMacPages(reinterpret_cast<uintptr_t>(address) - start + length));
}

void UnmapPages(void* address, uint64_t length) {
  const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const uintptr_t start = reinterpret_cast<uintptr_t>(address) & ~(page - 1);
  munmap(reinterpret_cast<void*>(start), reinterpret_cast<uintptr_t>(address) - start + length);
}

// What a Mac's kernel returns when it wires app memory for a dext (PrepareForDMA → xnu
// IOGeneralMemoryDescriptor::wireVirtual → vm_map_create_upl, one map entry at a time):
// - a byte in no mapping: vm_map_create_upl finds no entry (KERN_FAILURE), which wireVirtual
//   turns into kIOReturnCannotWire;
// - a mapping without write access wired for the device to write (no UPL_COPYOUT_FROM):
//   KERN_PROTECTION_FAILURE, which wireVirtual passes on unchanged (a Mach code, not an IOReturn);
// - a range that wraps around: KERN_INVALID_ARGUMENT (vm_map_range_physical_size).
// A mapping without read access is refused with KERN_PROTECTION_FAILURE whatever the direction;
// xnu wires such a range for reading unless it is a reserved range (stricter here, see
// docs/emulation-memory-pci.md). The first failing byte decides, as xnu's walk stops there.
IOReturn CheckProcessMemory(const void* address, uint64_t length, bool needWrite) {
  if (length == 0) return kIOReturnSuccess;
  uint64_t start = reinterpret_cast<uintptr_t>(address);
  const uint64_t end = start + length;
  if (end < start) return KERN_INVALID_ARGUMENT;
  // /proc/self/maps lists mappings in address order; walk them once, covering [start, end).
  FILE* maps = std::fopen("/proc/self/maps", "r");
  if (maps == nullptr) return kIOReturnNoResources;
  char line[512];
  IOReturn result = kIOReturnCannotWire;  // a hole, unless a mapping covers the next byte
  while (std::fgets(line, sizeof line, maps) != nullptr) {
    unsigned long long lo = 0, hi = 0;
    char perms[8] = {};
    if (std::sscanf(line, "%llx-%llx %7s", &lo, &hi, perms) != 3) continue;
    if (hi <= start) continue;
    if (lo > start) break;  // a hole before the next mapping
    if (perms[0] != 'r' || (needWrite && perms[1] != 'w')) {
      result = KERN_PROTECTION_FAILURE;
      break;
    }
    start = hi;
    if (start >= end) {
      result = kIOReturnSuccess;
      break;
    }
  }
  std::fclose(maps);
  return result;
}

}  // namespace fpgadext::emu
