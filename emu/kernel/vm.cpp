// The emulation's "wiring": before memory of the app is mapped or prepared for DMA, every byte
// must be mapped in the process with the access needed, as vm_map_wire would demand on a Mac.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <mutex>

#include "kernel.h"

namespace fpgadext::emu {

void UnmapPages(void* address, uint64_t length) {
  const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const uintptr_t start = reinterpret_cast<uintptr_t>(address) & ~(page - 1);
  munmap(reinterpret_cast<void*>(start), reinterpret_cast<uintptr_t>(address) - start + length);
}

IOReturn CheckProcessMemory(const void* address, uint64_t length, bool needWrite) {
  if (length == 0) return kIOReturnSuccess;
  uint64_t start = reinterpret_cast<uintptr_t>(address);
  const uint64_t end = start + length;
  if (end < start) return kIOReturnVMError;
  // /proc/self/maps lists mappings in address order; walk them once, covering [start, end).
  FILE* maps = std::fopen("/proc/self/maps", "r");
  if (maps == nullptr) return kIOReturnVMError;
  char line[512];
  IOReturn result = kIOReturnVMError;
  while (std::fgets(line, sizeof line, maps) != nullptr) {
    unsigned long long lo = 0, hi = 0;
    char perms[8] = {};
    if (std::sscanf(line, "%llx-%llx %7s", &lo, &hi, perms) != 3) continue;
    if (hi <= start) continue;
    if (lo > start) break;  // a hole before the next mapping
    if (perms[0] != 'r' || (needWrite && perms[1] != 'w')) break;
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
