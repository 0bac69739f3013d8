// Emulated MMIO mappings: a BAR whose registers have side effects (read-to-clear, doorbells,
// counters) cannot be plain memory, yet an app or a dext maps BARs and reaches registers with
// ordinary loads and stores. A trap mapping is a range of inaccessible pages: each load or store
// into it faults, the fault handler decodes the instruction (x86-64: the mov forms compilers use
// for 1/2/4/8-byte volatile accesses), performs the access through the region's Read/Write
// handler and resumes after the instruction. Costly (a signal per access), exact (the device
// model sees every access, in order, synchronously).
#pragma once

#include <fpgadext/emu/pci_function.h>

#include <cstdint>

namespace fpgadext::emu {

// Whether this host can trap MMIO (x86-64 Linux).
bool MmioTrapsSupported();

// Maps `length` bytes standing for `region` from offset 0, in whole pages of the emulated Mac
// (IOVMPageSize) at an address aligned to them. Past `length` in the last page no register
// answers: loads read all ones, stores are dropped (what an access no PCI function claims
// completes with). Stores into a read-only trap mapping fault as they would on any read-only
// mapping. Returns nullptr when traps are unsupported or mapping fails.
void* MmioTrapMap(MmioRegion* region, uint64_t length, bool readOnly);
void MmioTrapUnmap(void* address);
// The function behind the mapping at `address` is gone (surprise removal) while the mapping
// stays: from now on loads read all ones and stores are dropped, as for an address no function
// claims. A no-op for an address that is not a trap mapping.
void MmioTrapDetach(void* address);

}  // namespace fpgadext::emu
