#include "mmio_trap.h"

#include <DriverKit/IOLib.h>
#include <os/log.h>
#include <signal.h>
#include <sys/mman.h>
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

struct Trap {
  std::atomic<uintptr_t> base{0};  // 0 = free; published last, cleared first
  uint64_t size = 0;               // the mapped span: whole pages
  uint64_t length = 0;             // the region's bytes; the rest of the last page answers nothing
  // Null once the function is gone (surprise removal): the mapping stays, nothing answers.
  std::atomic<MmioRegion*> region{nullptr};
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

struct Access {
  bool store = false;
  unsigned width = 0;       // bytes
  bool zeroExtend = false;  // movzx: the whole register gets the value
  int reg = -1;             // register operand, or -1 for an immediate store
  uint64_t immediate = 0;
  unsigned length = 0;  // instruction length
};

// Decodes the mov forms used for volatile 1/2/4/8-byte accesses. False for anything else.
bool Decode(const uint8_t* p, Access* a) {
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
    uint64_t imm = 0;
    std::memcpy(&imm, p, immBytes);
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

void Handler(int signal, siginfo_t* info, void* context) {
  const uintptr_t address = reinterpret_cast<uintptr_t>(info->si_addr);
  Trap* trap = nullptr;
  for (Trap& t : gTraps) {
    const uintptr_t base = t.base.load(std::memory_order_acquire);
    if (base != 0 && address >= base && address - base < t.size) {
      trap = &t;
      break;
    }
  }
  auto* uc = static_cast<ucontext_t*>(context);
  Access a;
  if (trap != nullptr &&
      Decode(reinterpret_cast<const uint8_t*>(uc->uc_mcontext.gregs[REG_RIP]), &a) &&
      !(a.store && trap->readOnly)) {
    const uint64_t offset = address - trap->base.load(std::memory_order_relaxed);
    if (offset + a.width <= trap->size) {
      greg_t* regs = uc->uc_mcontext.gregs;
      MmioRegion* region = trap->region.load(std::memory_order_acquire);
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
      regs[REG_RIP] += a.length;
      return;
    }
  }
  if (trap != nullptr) {
    static const char kMessage[] =
        "fpgadext emu: unsupported access to an emulated MMIO mapping (use 1/2/4/8-byte "
        "volatile loads and stores)\n";
    (void)!write(2, kMessage, sizeof kMessage - 1);
  }
  // Not ours (or not decodable): what would have happened without us.
  if (gPrevious.sa_flags & SA_SIGINFO) {
    if (gPrevious.sa_sigaction != nullptr) return gPrevious.sa_sigaction(signal, info, context);
  } else if (gPrevious.sa_handler != SIG_DFL && gPrevious.sa_handler != SIG_IGN) {
    return gPrevious.sa_handler(signal);
  }
  ::signal(signal, SIG_DFL);
  ::raise(signal);
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
    if (t.base.load(std::memory_order_relaxed) != 0) continue;
    t.size = size;
    t.length = length;
    t.region.store(region, std::memory_order_release);
    t.readOnly = readOnly;
    t.base.store(reinterpret_cast<uintptr_t>(address), std::memory_order_release);
    return address;
  }
  munmap(address, size);
  return nullptr;
}

void MmioTrapUnmap(void* address) {
  std::lock_guard guard(gTrapsLock);
  for (Trap& t : gTraps) {
    if (t.base.load(std::memory_order_relaxed) == reinterpret_cast<uintptr_t>(address)) {
      t.base.store(0, std::memory_order_release);
      munmap(address, t.size);
      return;
    }
  }
}

void MmioTrapDetach(void* address) {
  std::lock_guard guard(gTrapsLock);
  for (Trap& t : gTraps) {
    if (t.base.load(std::memory_order_relaxed) == reinterpret_cast<uintptr_t>(address)) {
      t.region.store(nullptr, std::memory_order_release);
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
