#include "mmio_trap.h"

#include <DriverKit/IOLib.h>
#include <os/log.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "kernel.h"

namespace fpgadext::emu {

#if defined(__x86_64__) && defined(__linux__)

namespace {

// SIGSEGV comes to the handler below from wherever it struck, not only from an access to a trap
// mapping: also from a bug anywhere in the process, including inside a sanitizer's runtime.
// ThreadSanitizer hands a synchronous signal to the program's handler at once, even when the
// fault interrupted its own runtime holding its own locks; an instrumented handler then enters
// that runtime again (function entry, atomics and memory accesses all record events, which may
// take those locks) and the thread deadlocks instead of dying. So everything the handler does
// before it knows the fault is an access to one of its mappings is uninstrumented, lock-free and
// makes no call a sanitizer intercepts (raw system calls). An access to a trap mapping comes
// from application code, never from inside a runtime: only then does it run the device model.
#if defined(__has_attribute)
#if __has_attribute(disable_sanitizer_instrumentation)
#define FPGADEXT_UNINSTRUMENTED __attribute__((disable_sanitizer_instrumentation))
#endif
#endif
#ifndef FPGADEXT_UNINSTRUMENTED
#define FPGADEXT_UNINSTRUMENTED
#endif

// Plain fields: the handler's uninstrumented code reads them with __atomic builtins (no
// sanitizer call); instrumented code uses std::atomic_ref on the same fields.
struct Trap {
  uintptr_t base = 0;   // 0 = free; published last (release), cleared first
  uint64_t size = 0;    // the mapped span: whole pages
  uint64_t length = 0;  // the region's bytes; the rest of the last page answers nothing
  // Null once the function is gone (surprise removal): the mapping stays, nothing answers.
  MmioRegion* region = nullptr;
  bool readOnly = false;
};

constexpr int kMaxTraps = 64;
Trap gTraps[kMaxTraps];
std::mutex gTrapsLock;
struct sigaction gPrevious;
std::once_flag gInstallOnce;

// x86 register number (ModRM.reg + REX.R) → ucontext gregs index.
constexpr int kGreg[16] = {REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP, REG_RSI, REG_RDI,
                           REG_R8,  REG_R9,  REG_R10, REG_R11, REG_R12, REG_R13, REG_R14, REG_R15};

// No default member initializers: the handler makes one before it knows the fault is ours, and
// a constructor would be an instrumented function of its own. Decode sets every field.
struct Access {
  bool store;
  unsigned width;   // bytes
  bool zeroExtend;  // movzx: the whole register gets the value
  int reg;          // register operand, or -1 for an immediate store
  uint64_t immediate;
  unsigned length;  // instruction length
};

// A system call without libc (whose wrappers a sanitizer may intercept).
FPGADEXT_UNINSTRUMENTED long RawSyscall(long number, long a, long b, long c, long d) {
  long result;
  register long r10 asm("r10") = d;
  asm volatile("syscall"
               : "=a"(result)
               : "a"(number), "D"(a), "S"(b), "d"(c), "r"(r10)
               : "rcx", "r11", "memory");
  return result;
}

// The trap mapping holding `address`, or null. Lock-free: MmioTrapMap publishes a slot's base
// last with release order.
FPGADEXT_UNINSTRUMENTED Trap* FindTrap(uintptr_t address) {
  for (int i = 0; i < kMaxTraps; ++i) {
    Trap& t = gTraps[i];
    const uintptr_t base = __atomic_load_n(&t.base, __ATOMIC_ACQUIRE);
    if (base != 0 && address >= base && address - base < t.size) return &t;
  }
  return nullptr;
}

// Decodes the mov forms used for volatile 1/2/4/8-byte accesses. False for anything else.
FPGADEXT_UNINSTRUMENTED bool Decode(const uint8_t* p, Access* a) {
  a->store = false;
  a->width = 0;
  a->zeroExtend = false;
  a->reg = -1;
  a->immediate = 0;
  a->length = 0;
  const uint8_t* start = p;
  bool operand16 = false;
  uint8_t rex = 0;
  for (;; ++p) {
    if (*p == 0x66) {
      operand16 = true;
    } else if (*p == 0x2e || *p == 0x3e || *p == 0x26 || *p == 0x64 || *p == 0x65 || *p == 0x36) {
      // segment prefixes: no effect on flat addresses here
    } else {
      break;
    }
  }
  if ((*p & 0xf0) == 0x40) rex = *p++;
  const bool w = rex & 0x8;
  const unsigned wide = w ? 8 : operand16 ? 2 : 4;
  uint8_t opcode = *p++;
  bool twoByte = false;
  if (opcode == 0x0f) {
    twoByte = true;
    opcode = *p++;
  }
  unsigned immBytes = 0;
  if (!twoByte && opcode == 0x8b) {
    a->width = wide;
  } else if (!twoByte && opcode == 0x8a) {
    a->width = 1;
  } else if (!twoByte && opcode == 0x89) {
    a->store = true;
    a->width = wide;
  } else if (!twoByte && opcode == 0x88) {
    a->store = true;
    a->width = 1;
  } else if (!twoByte && opcode == 0xc7) {
    a->store = true;
    a->width = wide;
    immBytes = wide == 2 ? 2 : 4;
  } else if (!twoByte && opcode == 0xc6) {
    a->store = true;
    a->width = 1;
    immBytes = 1;
  } else if (twoByte && (opcode == 0xb6 || opcode == 0xb7)) {
    a->width = opcode == 0xb6 ? 1 : 2;
    a->zeroExtend = true;
  } else {
    return false;
  }
  const uint8_t modrm = *p++;
  const unsigned mod = modrm >> 6, reg = (modrm >> 3) & 7, rm = modrm & 7;
  if (mod == 3) return false;  // register operand: not a memory access
  if (rm == 4) {
    const uint8_t sib = *p++;
    if (mod == 0 && (sib & 7) == 5) p += 4;
  }
  if (mod == 1) p += 1;
  if (mod == 2 || (mod == 0 && rm == 5)) p += 4;
  if (immBytes != 0) {
    uint64_t imm = 0;  // little-endian; byte by byte (a memcpy call may be intercepted)
    for (unsigned i = 0; i < immBytes; ++i) imm |= static_cast<uint64_t>(p[i]) << (8 * i);
    if (immBytes == 4 && a->width == 8 && (imm & 0x80000000u)) imm |= 0xffffffff00000000ull;
    a->immediate = imm;
    p += immBytes;
    if ((modrm >> 3 & 7) != 0) return false;  // C6/C7 with /0 only
  } else {
    // Byte registers 4-7 without REX are AH..BH: not supported (compilers avoid them here).
    if (a->width == 1 && !rex && reg >= 4 && !a->zeroExtend) return false;
    a->reg = static_cast<int>(reg | ((rex & 0x4) ? 8 : 0));
  }
  a->length = static_cast<unsigned>(p - start);
  return true;
}

// Performs a decoded access to a trap mapping on the device model (instrumented code: it runs
// only for an access by application code). `regs` are the faulting thread's registers.
__attribute__((noinline)) void Perform(Trap* trap, uint64_t offset, const Access& a, greg_t* regs) {
  // The sanitizer sees the slot published (the handler's own load is invisible to it).
  (void)std::atomic_ref(trap->base).load(std::memory_order_acquire);
  MmioRegion* region = std::atomic_ref(trap->region).load(std::memory_order_acquire);
  const bool claimed = region != nullptr && offset + a.width <= trap->length;
  if (a.store) {
    uint64_t value = a.reg >= 0 ? static_cast<uint64_t>(regs[kGreg[a.reg]]) : a.immediate;
    if (a.width < 8) value &= (1ull << (8 * a.width)) - 1;
    if (claimed) region->Write(offset, a.width, value);
  } else {
    const uint64_t value = claimed ? region->Read(offset, a.width) : ~0ull;
    greg_t& r = regs[kGreg[a.reg]];
    if (a.width == 8 || a.width == 4 || a.zeroExtend) {
      r = static_cast<greg_t>(value);  // 32-bit loads and movzx clear the upper bits
    } else {
      const uint64_t mask = (1ull << (8 * a.width)) - 1;
      r = static_cast<greg_t>((static_cast<uint64_t>(r) & ~mask) | (value & mask));
    }
  }
}

// What the fault would have done without us: the handler that was there before, else the
// default action (the process dies of the signal, with its core).
FPGADEXT_UNINSTRUMENTED void PassOn(int signal, siginfo_t* info, void* context) {
  if (gPrevious.sa_flags & SA_SIGINFO) {
    if (gPrevious.sa_sigaction != nullptr) return gPrevious.sa_sigaction(signal, info, context);
  } else if (gPrevious.sa_handler != SIG_DFL && gPrevious.sa_handler != SIG_IGN) {
    return gPrevious.sa_handler(signal);
  }
  // The kernel's sigaction: handler, flags, restorer, mask. SIG_DFL is all zeros.
  unsigned long defaultAction[4];  // element by element: an initializer may become a memset call
  for (unsigned long& word : defaultAction) *static_cast<volatile unsigned long*>(&word) = 0;
  RawSyscall(SYS_rt_sigaction, signal, reinterpret_cast<long>(defaultAction), 0, 8);
  if (info->si_code > 0) return;  // a fault: the instruction runs again and faults to death
  // Sent by someone (kill, raise): send it again, now to its default action.
  RawSyscall(SYS_tgkill, RawSyscall(SYS_getpid, 0, 0, 0, 0), RawSyscall(SYS_gettid, 0, 0, 0, 0),
             signal, 0);
}

FPGADEXT_UNINSTRUMENTED void Handler(int signal, siginfo_t* info, void* context) {
  const uintptr_t address = reinterpret_cast<uintptr_t>(info->si_addr);
  Trap* trap = info->si_code > 0 ? FindTrap(address) : nullptr;
  if (trap == nullptr) return PassOn(signal, info, context);
  auto* uc = static_cast<ucontext_t*>(context);
  greg_t* regs = uc->uc_mcontext.gregs;
  Access a;
  if (Decode(reinterpret_cast<const uint8_t*>(regs[REG_RIP]), &a) && !(a.store && trap->readOnly)) {
    const uint64_t offset = address - __atomic_load_n(&trap->base, __ATOMIC_RELAXED);
    if (offset + a.width <= trap->size) {
      Perform(trap, offset, a, regs);
      regs[REG_RIP] += a.length;
      return;
    }
  }
  static const char kMessage[] =
      "fpgadext emu: unsupported access to an emulated MMIO mapping (use 1/2/4/8-byte "
      "volatile loads and stores)\n";
  RawSyscall(SYS_write, 2, reinterpret_cast<long>(kMessage), sizeof kMessage - 1, 0);
  PassOn(signal, info, context);
}

void Install() {
  struct sigaction action = {};
  action.sa_sigaction = Handler;
  action.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigemptyset(&action.sa_mask);
  sigaction(SIGSEGV, &action, &gPrevious);
}

}  // namespace

bool MmioTrapsSupported() {
  return true;
}

void* MmioTrapMap(MmioRegion* region, uint64_t length, bool readOnly) {
  std::call_once(gInstallOnce, Install);
  const uint64_t size = (length + IOVMPageSize - 1) & ~(IOVMPageSize - 1);
  void* address = MapMacPages(length, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (address == nullptr) return nullptr;
  std::lock_guard guard(gTrapsLock);
  for (Trap& t : gTraps) {
    std::atomic_ref base(t.base);
    if (base.load(std::memory_order_relaxed) != 0) continue;
    t.size = size;
    t.length = length;
    std::atomic_ref(t.region).store(region, std::memory_order_release);
    t.readOnly = readOnly;
    base.store(reinterpret_cast<uintptr_t>(address), std::memory_order_release);
    return address;
  }
  munmap(address, size);
  return nullptr;
}

void MmioTrapUnmap(void* address) {
  std::lock_guard guard(gTrapsLock);
  for (Trap& t : gTraps) {
    std::atomic_ref base(t.base);
    if (base.load(std::memory_order_relaxed) == reinterpret_cast<uintptr_t>(address)) {
      base.store(0, std::memory_order_release);
      munmap(address, t.size);
      return;
    }
  }
}

void MmioTrapDetach(void* address) {
  std::lock_guard guard(gTrapsLock);
  for (Trap& t : gTraps) {
    if (std::atomic_ref(t.base).load(std::memory_order_relaxed) ==
        reinterpret_cast<uintptr_t>(address)) {
      std::atomic_ref(t.region).store(nullptr, std::memory_order_release);
      return;
    }
  }
}

#else  // other hosts: device memory with side effects cannot be mapped

bool MmioTrapsSupported() {
  return false;
}
void* MmioTrapMap(MmioRegion*, uint64_t, bool) {
  return nullptr;
}
void MmioTrapUnmap(void*) {}
void MmioTrapDetach(void*) {}

#endif

}  // namespace fpgadext::emu
