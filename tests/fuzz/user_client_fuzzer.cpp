// Fuzz target "user_client" (docs/reliability.md): the whole user-client surface of the FpgaDext
// dext, driven through the emulated IOKitLib as a hostile app would drive it on a Mac. One
// emulated machine (an XDMA board, the dext loaded) lives for the whole run; each input is a
// short program of calls — IOServiceOpen with any type, IOConnectCallMethod and
// IOConnectCallAsyncMethod with any selector, scalar count and value, in-band and out-of-line
// structures, IOConnectMapMemory64 of any type, hostile submission-ring entries and indices,
// IOServiceClose — and every connection it opened is closed at its end. After every input:
//   - no crash and no sanitizer report (the build is ASan+UBSan, errors abort);
//   - no IOMMU violation, and the IOMMU's live mappings back to the count before the input;
//   - every async call the dext accepted completed exactly once, every refused one never;
//   - a known-good round trip on a connection that stays open across inputs (a bystander
//     client) still returns the bytes written: after every FPGADEXT_FUZZ_ROUND_TRIP_EVERY-th
//     input (default 64; 1 when reproducing one input) and once more when the run ends. It
//     costs a few thread hand-offs through the emulated engine, more than most inputs; what it
//     checks (the device still works for others) stays broken once broken, so a check every
//     N inputs still sees it, naming the N inputs that may have broken it.
// App addresses given to the dext always point into memory this program owns (an arena with
// inaccessible and read-only parts) or into no mapping at all: a Mac would let a hostile app
// have the card overwrite its own heap, which proves nothing about the dext.
#include <IOKit/IOKitLib.h>
#include <dispatch/dispatch.h>
#include <fpgadext/emu/entitlements.h>
#include <fpgadext/emu/log_capture.h>
#include <fpgadext/emu/machine.h>
#include <fpgadext/protocol.h>
#include <fuzzer/FuzzedDataProvider.h>
#include <mach/mach_init.h>
#include <mach/vm_map.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "models/xdma/xdma_model.h"
#include "user_client_values.h"

namespace protocol = fpgadext::protocol;
using namespace fpgadext::fuzz;  // NOLINT: the target's own values

namespace {

constexpr int kMaxConnections = 4;
constexpr int kMaxOperations = 24;
constexpr uint64_t kRoundTripCard = kCardMemory - 8192;  // the bystander's round trip
constexpr auto kDeadline = std::chrono::seconds(20);

[[noreturn]] void Fail(const char* what) {
  std::fprintf(stderr, "user_client fuzzer: %s\n", what);
  std::abort();
}

// Completions of async calls, by the token the call's reference carried.
struct Completions {
  std::mutex lock;
  std::condition_variable changed;
  std::map<uint64_t, int> count;  // token → completions delivered
  uint64_t untracked = 0;         // completions whose reference carried no token
};

struct Global {
  std::unique_ptr<fpgadext::models::XdmaModel> board;
  std::unique_ptr<fpgadext::emu::Machine> machine;
  io_service_t service = IO_OBJECT_NULL;
  io_connect_t bystander = IO_OBJECT_NULL;
  Arena arena;
  dispatch_queue_t queue = nullptr;
  IONotificationPortRef port = nullptr;
  Completions completions;
  uint64_t nextToken = 1;
  uint64_t inputs = 0;
  uint64_t roundTripEvery = 64;
};
Global* g = nullptr;

void OnCompletion(void* refcon, IOReturn, void**, uint32_t) {
  const uint64_t token = reinterpret_cast<uintptr_t>(refcon);
  std::lock_guard guard(g->completions.lock);
  if (token == 0) {
    ++g->completions.untracked;
  } else {
    ++g->completions.count[token];
  }
  g->completions.changed.notify_all();
}

Arena MakeArena() {
  Arena a;
  a.size = kGuard + kWritable + kGuard + kReadOnly + kGuard;
  void* p = mmap(nullptr, a.size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) Fail("no arena");
  a.base = static_cast<uint8_t*>(p);
  a.writable = a.base + kGuard;
  a.guard = a.writable + kWritable;
  a.readOnly = a.guard + kGuard;
  if (mprotect(a.writable, kWritable, PROT_READ | PROT_WRITE) != 0 ||
      mprotect(a.readOnly, kReadOnly, PROT_READ) != 0) {
    Fail("arena protection");
  }
  return a;
}

struct Connection {
  io_connect_t handle = IO_OBJECT_NULL;
  struct Mapping {
    uint32_t type;
    mach_vm_address_t address;
    mach_vm_size_t size;
    bool readOnly;  // mapped with kIOMapReadOnly: a store would fault in the app, as on a Mac
  };
  std::vector<Mapping> mappings;
  std::vector<uint64_t> buffers;  // ids RegisterBuffer returned
};

struct Program {
  FuzzedDataProvider& in;
  std::vector<Connection> connections;
  std::vector<io_connect_t> closed;
  std::vector<uint64_t> once;   // tokens that must complete exactly once: accepted async calls
  std::vector<uint64_t> never;  // tokens that must never complete: refused or not async
};

uint64_t Scalar(Program& p, Connection* c, Role role) {
  FuzzedDataProvider& in = p.in;
  if (in.ConsumeIntegralInRange<int>(0, 7) == 0) {
    role = static_cast<Role>(in.ConsumeIntegralInRange<int>(0, static_cast<int>(Role::kLineMask)));
  }
  switch (role) {
    case Role::kCard:
      return CardAddress(in);
    case Role::kApp:
      return AppAddress(in, g->arena);
    case Role::kLength:
      return Length(in);
    case Role::kBar:
      return in.ConsumeIntegralInRange<uint64_t>(0, 7);
    case Role::kOffset:
      return in.ConsumeBool() ? in.ConsumeIntegralInRange<uint64_t>(0, 0x20000)
                              : in.ConsumeIntegral<uint64_t>();
    case Role::kWidth: {
      constexpr uint64_t kWidths[] = {1, 2, 4, 8, 0, 3, 16, UINT64_MAX};
      return kWidths[in.ConsumeIntegralInRange<int>(0, 7)];
    }
    case Role::kDirection:
      return in.ConsumeIntegralInRange<uint64_t>(0, 4);
    case Role::kBuffer:
      if (c != nullptr && !c->buffers.empty() && in.ConsumeBool()) {
        return c->buffers[in.ConsumeIntegralInRange<size_t>(0, c->buffers.size() - 1)];
      }
      return in.ConsumeBool() ? in.ConsumeIntegralInRange<uint64_t>(0, 0x1ff)
                              : in.ConsumeIntegral<uint64_t>();
    case Role::kEntries:
      return in.ConsumeBool() ? uint64_t{1} << in.ConsumeIntegralInRange<int>(0, 13)
                              : in.ConsumeIntegral<uint64_t>();
    case Role::kRingDirections:
      return in.ConsumeIntegralInRange<uint64_t>(0, 4);
    case Role::kIndex:
      return in.ConsumeBool() ? in.ConsumeIntegralInRange<uint64_t>(0, 8)
                              : in.ConsumeIntegral<uint64_t>();
    case Role::kLineMask:
      return in.ConsumeBool() ? in.ConsumeIntegralInRange<uint64_t>(0, 0xffff)
                              : in.ConsumeIntegral<uint64_t>();
    case Role::kAny:
      break;
  }
  return in.ConsumeIntegral<uint64_t>();
}

// A connection handle to call: one of the input's, a closed one, null, or any name — never the
// bystander's (the round trip after the input is the check on what the input did to others).
io_connect_t PickHandle(Program& p, Connection** connection) {
  *connection = nullptr;
  FuzzedDataProvider& in = p.in;
  const int choice = in.ConsumeIntegralInRange<int>(0, 9);
  io_connect_t h = IO_OBJECT_NULL;
  if (choice < 7 && !p.connections.empty()) {
    *connection = &p.connections[in.ConsumeIntegralInRange<size_t>(0, p.connections.size() - 1)];
    return (*connection)->handle;
  }
  if (choice == 7 && !p.closed.empty()) {
    h = p.closed[in.ConsumeIntegralInRange<size_t>(0, p.closed.size() - 1)];
  } else if (choice == 8) {
    h = in.ConsumeIntegral<uint32_t>();
  }
  for (const Connection& c : p.connections) {
    if (c.handle == h) *connection = const_cast<Connection*>(&c);
  }
  return h == g->bystander ? IO_OBJECT_NULL : h;
}

void Open(Program& p) {
  if (p.connections.size() >= kMaxConnections) return;
  const uint32_t type = p.in.ConsumeIntegralInRange<int>(0, 3) != 0
                            ? protocol::kProtocolVersion
                            : p.in.ConsumeIntegral<uint32_t>();
  io_connect_t handle = IO_OBJECT_NULL;
  if (IOServiceOpen(g->service, mach_task_self(), type, &handle) == kIOReturnSuccess) {
    if (handle == IO_OBJECT_NULL) Fail("IOServiceOpen succeeded with a null connection");
    p.connections.push_back(Connection{handle, {}, {}});
  } else if (handle != IO_OBJECT_NULL) {
    Fail("a refused IOServiceOpen left a connection");
  }
}

void Close(Program& p, size_t index, bool unmapFirst) {
  Connection& c = p.connections[index];
  if (unmapFirst) {
    for (const Connection::Mapping& m : c.mappings) {
      IOConnectUnmapMemory64(c.handle, m.type, mach_task_self(), m.address);
    }
  }
  c.mappings.clear();
  if (IOServiceClose(c.handle) != kIOReturnSuccess) Fail("IOServiceClose of an open connection");
  p.closed.push_back(c.handle);
  p.connections.erase(p.connections.begin() + static_cast<ptrdiff_t>(index));
}

void Call(Program& p, bool async) {
  FuzzedDataProvider& in = p.in;
  Connection* c = nullptr;
  const io_connect_t handle = PickHandle(p, &c);
  uint32_t selector = in.ConsumeIntegralInRange<uint32_t>(0, protocol::kSelectorCount + 1);
  if (in.ConsumeIntegralInRange<int>(0, 15) == 0) selector = in.ConsumeIntegral<uint32_t>();
  uint64_t scalars[18] = {};
  uint32_t scalarCount = ScalarInputs(selector);
  if (in.ConsumeIntegralInRange<int>(0, 7) == 0) scalarCount = in.ConsumeIntegralInRange(0, 17);
  for (uint32_t i = 0; i < scalarCount; ++i) scalars[i] = Scalar(p, c, RoleOf(selector, i));

  // Structure input: none, in-band (from app memory that is there), or out-of-line anywhere.
  const void* inStruct = nullptr;
  size_t inSize = 0;
  switch (in.ConsumeIntegralInRange<int>(0, 3)) {
    case 1:
      inSize = in.ConsumeIntegralInRange<size_t>(1, protocol::kInbandMax);
      inStruct = g->arena.writable + in.ConsumeIntegralInRange<size_t>(0, kWritable - inSize);
      break;
    case 2:
      inSize = in.ConsumeIntegralInRange<size_t>(protocol::kInbandMax + 1, kWritable + kGuard);
      inStruct = reinterpret_cast<const void*>(AppAddress(in, g->arena));
      break;
    case 3:
      inSize = static_cast<size_t>(Length(in));
      inStruct = reinterpret_cast<const void*>(AppAddress(in, g->arena));
      if (inSize <= protocol::kInbandMax) inStruct = nullptr;  // IOKitLib copies in-band ones
      break;
    default:
      break;
  }
  // Structure output likewise, or the variable-size form (sync calls only).
  void* outStruct = nullptr;
  size_t outSize = 0;
  void* variable = nullptr;
  switch (in.ConsumeIntegralInRange<int>(0, 3)) {
    case 1:
      outSize = in.ConsumeIntegralInRange<size_t>(1, protocol::kInbandMax);
      outStruct = g->arena.writable + in.ConsumeIntegralInRange<size_t>(0, kWritable - outSize);
      break;
    case 2:
      outSize = in.ConsumeIntegralInRange<size_t>(protocol::kInbandMax + 1, kWritable + kGuard);
      outStruct = reinterpret_cast<void*>(AppAddress(in, g->arena));
      break;
    case 3:
      if (!async) {
        outSize = static_cast<size_t>(kIOConnectMethodVarOutputSize);
        outStruct = &variable;
      }
      break;
    default:
      break;
  }
  uint64_t output[32] = {};
  uint32_t outputCount = in.ConsumeIntegralInRange<uint32_t>(0, 17);

  kern_return_t ret;
  if (!async) {
    ret = IOConnectCallMethod(handle, selector, scalars, scalarCount, inStruct, inSize, output,
                              &outputCount, outStruct, outStruct ? &outSize : nullptr);
    if (ret == kIOReturnSuccess && variable != nullptr) {
      vm_deallocate(mach_task_self(), reinterpret_cast<vm_address_t>(variable), outSize);
    }
  } else {
    uint64_t reference[kOSAsyncRef64Count + 1] = {};
    const uint32_t referenceCount = in.ConsumeIntegralInRange<uint32_t>(0, kOSAsyncRef64Count + 1);
    for (uint32_t i = 0; i < referenceCount; ++i) reference[i] = in.ConsumeIntegral<uint64_t>();
    const uint64_t token = g->nextToken++;
    reference[kIOAsyncCalloutFuncIndex] = reinterpret_cast<uintptr_t>(&OnCompletion);
    if (referenceCount > kIOAsyncCalloutRefconIndex) reference[kIOAsyncCalloutRefconIndex] = token;
    mach_port_t wake = IONotificationPortGetMachPort(g->port);
    const int portChoice = in.ConsumeIntegralInRange<int>(0, 7);
    if (portChoice == 6) wake = MACH_PORT_NULL;
    if (portChoice == 7) wake = in.ConsumeIntegral<uint32_t>();
    ret = IOConnectCallAsyncMethod(handle, selector, wake, reference, referenceCount, scalars,
                                   scalarCount, inStruct, inSize, output, &outputCount, outStruct,
                                   outStruct ? &outSize : nullptr);
    // Only completions sent to our port with our token can be counted.
    if (wake == IONotificationPortGetMachPort(g->port) &&
        referenceCount > kIOAsyncCalloutRefconIndex) {
      const bool completes = ret == kIOReturnSuccess && IsAsyncSelector(selector);
      (completes ? p.once : p.never).push_back(token);
    }
  }
  if (ret == kIOReturnSuccess && c != nullptr && selector == protocol::kSelectorRegisterBuffer &&
      outputCount >= 1) {
    c->buffers.push_back(output[0]);
  }
}

void Map(Program& p) {
  FuzzedDataProvider& in = p.in;
  Connection* c = nullptr;
  const io_connect_t handle = PickHandle(p, &c);
  uint32_t type = in.ConsumeIntegralInRange<uint32_t>(0, 10);
  if (type == 6) type = protocol::kMemoryTypeRing;
  if (type == 10) type = protocol::kMemoryTypeBounce;
  if (type == 7 || type == 8) type = 17 + (type - 7);  // streams' receive ring, events' page
  if (type == 9) type = in.ConsumeIntegral<uint32_t>();
  // Fixed addresses would let the input map over this program's own memory.
  const IOOptionBits options = in.ConsumeIntegral<uint32_t>() | kIOMapAnywhere;
  mach_vm_address_t address = 0;
  mach_vm_size_t size = 0;
  if (IOConnectMapMemory64(handle, type, mach_task_self(), &address, &size, options) !=
      kIOReturnSuccess) {
    return;
  }
  if (c == nullptr) Fail("a mapping through a connection this input does not hold");
  const bool readOnly = (options & kIOMapReadOnly) != 0 || MappedReadOnly(address);
  c->mappings.push_back(Connection::Mapping{type, address, size, readOnly});
}

// Loads and stores into a mapping; into a ring, hostile entries and indices.
void Touch(Program& p) {
  FuzzedDataProvider& in = p.in;
  std::vector<std::pair<Connection*, Connection::Mapping*>> all;
  for (Connection& c : p.connections) {
    for (Connection::Mapping& m : c.mappings) all.emplace_back(&c, &m);
  }
  if (all.empty()) return;
  auto [c, m] = all[in.ConsumeIntegralInRange<size_t>(0, all.size() - 1)];
  if (m->size < sizeof(uint32_t)) return;
  auto* base = reinterpret_cast<uint8_t*>(m->address);
  if (m->type != protocol::kMemoryTypeRing || m->size < sizeof(protocol::RingHeader)) {
    const uint64_t offset = in.ConsumeIntegralInRange<uint64_t>(0, m->size - 4) & ~uint64_t{3};
    auto* word = reinterpret_cast<volatile uint32_t*>(base + offset);
    if (m->readOnly || in.ConsumeBool()) {
      (void)*word;
    } else {
      *word = in.ConsumeIntegral<uint32_t>();
    }
    return;
  }
  auto* header = reinterpret_cast<protocol::RingHeader*>(base);
  if (m->readOnly) {
    (void)__atomic_load_n(&header->cqTail, __ATOMIC_ACQUIRE);
    return;
  }
  switch (in.ConsumeIntegralInRange<int>(0, 3)) {
    case 0: {  // any word of the ring, header included
      const uint64_t offset = in.ConsumeIntegralInRange<uint64_t>(0, m->size - 4) & ~uint64_t{3};
      *reinterpret_cast<volatile uint32_t*>(base + offset) = in.ConsumeIntegral<uint32_t>();
      break;
    }
    case 1:
      __atomic_store_n(&header->sqTail, in.ConsumeIntegral<uint32_t>(), __ATOMIC_RELEASE);
      break;
    case 2:
      __atomic_store_n(&header->cqHead, in.ConsumeIntegral<uint32_t>(), __ATOMIC_RELEASE);
      break;
    default: {  // submissions, then publish them
      const uint32_t entries = header->entries;
      const uint64_t offset = header->submissionOffset;
      if (entries == 0 || (entries & (entries - 1)) != 0 ||
          offset + uint64_t{entries} * sizeof(protocol::RingSubmission) > m->size) {
        break;  // the input overwrote the header: the app no longer knows its ring
      }
      auto* submissions = reinterpret_cast<protocol::RingSubmission*>(base + offset);
      uint32_t tail = __atomic_load_n(&header->sqTail, __ATOMIC_RELAXED);
      const int count = in.ConsumeIntegralInRange<int>(1, 4);
      for (int i = 0; i < count; ++i) {
        protocol::RingSubmission& s = submissions[tail & (entries - 1)];
        s.bufferId = Scalar(p, c, Role::kBuffer);
        s.bufferOffset = in.ConsumeBool() ? in.ConsumeIntegralInRange<uint64_t>(0, kWritable)
                                          : in.ConsumeIntegral<uint64_t>();
        s.cardAddress = CardAddress(in);
        s.length = Length(in);
        s.direction = in.ConsumeIntegralInRange<uint32_t>(0, 3);
        s.reserved = in.ConsumeIntegral<uint32_t>();
        s.tag = in.ConsumeIntegral<uint64_t>();
        ++tail;
      }
      __atomic_store_n(&header->sqTail, tail, __ATOMIC_RELEASE);
      // The ring doorbell (selector 28, docs/ring.md): wakes a poller that went to sleep.
      if (in.ConsumeBool()) IOConnectCallScalarMethod(c->handle, 28, nullptr, 0, nullptr, nullptr);
      break;
    }
  }
}

// Waits, with a deadline, until `done` holds for the completions.
template <class Predicate>
bool WaitForCompletions(Predicate done) {
  std::unique_lock guard(g->completions.lock);
  return g->completions.changed.wait_for(guard, kDeadline, [&] { return done(); });
}

void CheckAfterInput(Program& p) {
  // Every async call the dext accepted completes exactly once, by the close at the latest.
  auto& count = g->completions.count;
  if (!WaitForCompletions([&] {
        for (uint64_t t : p.once) {
          if (count[t] < 1) return false;
        }
        return true;
      })) {
    Fail("an accepted async call never completed");
  }
  // Anything still on its way is delivered before the counts are read (a hand-off to the
  // completion queue: only when the input made a call whose completion is counted).
  if (!p.once.empty() || !p.never.empty()) {
    dispatch_sync(g->queue, ^{
                  });
  }
  {
    std::lock_guard guard(g->completions.lock);
    for (uint64_t t : p.once) {
      if (count[t] != 1) Fail("an async call completed more than once");
      count.erase(t);
    }
    for (uint64_t t : p.never) {
      if (count.count(t) != 0) Fail("an async call the dext refused (or not async) completed");
    }
    if (!count.empty()) Fail("a completion for a call this input did not make");
  }
  fpgadext::emu::Iommu& iommu = g->machine->iommu();
  if (iommu.ViolationCount() != 0) {
    for (const fpgadext::emu::IommuViolation& v : iommu.Violations()) {
      std::fprintf(stderr, "IOMMU violation: %s at 0x%llx length 0x%llx\n", v.reason.c_str(),
                   static_cast<unsigned long long>(v.busAddress),
                   static_cast<unsigned long long>(v.length));
    }
    Fail("IOMMU violation");
  }
}

void CheckMappings(size_t baseline) {
  if (g->machine->iommu().LiveMappings() != baseline) {
    std::fprintf(stderr, "IOMMU mappings: %zu, %zu before the input\n",
                 g->machine->iommu().LiveMappings(), baseline);
    Fail("IOMMU mappings not back to their count before the input");
  }
}

void RoundTripFailed(const char* what) {
  if (g->roundTripEvery > 1) {
    std::fprintf(stderr,
                 "(checked every %llu inputs: one of the last ones broke it; "
                 "FPGADEXT_FUZZ_ROUND_TRIP_EVERY=1 checks after each)\n",
                 static_cast<unsigned long long>(g->roundTripEvery));
  }
  Fail(what);
}

void RoundTrip() {
  // The bystander writes a pattern and reads it back, in-band and through client memory.
  uint8_t pattern[64], back[64];
  for (size_t i = 0; i < sizeof pattern; ++i) pattern[i] = static_cast<uint8_t>(g->inputs * 7 + i);
  const uint64_t in[2] = {kRoundTripCard, sizeof back};
  size_t backSize = sizeof back;
  if (IOConnectCallMethod(g->bystander, protocol::kSelectorWriteInband, in, 1, pattern,
                          sizeof pattern, nullptr, nullptr, nullptr, nullptr) != kIOReturnSuccess ||
      IOConnectCallMethod(g->bystander, protocol::kSelectorReadInband, in, 2, nullptr, 0, nullptr,
                          nullptr, back, &backSize) != kIOReturnSuccess ||
      backSize != sizeof back || std::memcmp(pattern, back, sizeof back) != 0) {
    RoundTripFailed("the bystander's in-band round trip failed");
  }
  static uint8_t source[8192 + 3], copy[8192 + 3];
  for (size_t i = 0; i < sizeof source; ++i) source[i] = static_cast<uint8_t>(g->inputs + i * 13);
  std::memset(copy, 0, sizeof copy);
  const uint64_t write[3] = {kRoundTripCard - 8192, reinterpret_cast<uintptr_t>(source),
                             sizeof source};
  const uint64_t read[3] = {kRoundTripCard - 8192, reinterpret_cast<uintptr_t>(copy), sizeof copy};
  if (IOConnectCallMethod(g->bystander, protocol::kSelectorWriteClientMemory, write, 3, nullptr, 0,
                          nullptr, nullptr, nullptr, nullptr) != kIOReturnSuccess ||
      IOConnectCallMethod(g->bystander, protocol::kSelectorReadClientMemory, read, 3, nullptr, 0,
                          nullptr, nullptr, nullptr, nullptr) != kIOReturnSuccess ||
      std::memcmp(source, copy, sizeof source) != 0) {
    RoundTripFailed("the bystander's client-memory round trip failed");
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  g = new Global;
  // The dext logs every refusal; at millions of inputs that is the run's cost (FPGADEXT_LOG
  // shows them again).
  if (std::getenv("FPGADEXT_LOG") == nullptr) fpgadext::emu::SetLogLevel("off");
  g->arena = MakeArena();
  fpgadext::emu::GrantUserClientAccess("org.fpgadext.driver");
  fpgadext::models::XdmaModel::Config config;
  config.cardMemorySize = kCardMemory;
  config.bypassBar = true;
  g->board = std::make_unique<fpgadext::models::XdmaModel>(config);
  g->machine = std::make_unique<fpgadext::emu::Machine>();
  if (g->machine->AttachPciFunction(g->board.get(), "fpga0") != kIOReturnSuccess ||
      g->machine->LoadDext(FPGADEXT_DEXT_BUNDLE) != kIOReturnSuccess) {
    Fail("the emulated machine did not come up");
  }
  g->service = IOServiceGetMatchingService(kIOMainPortDefault, IOServiceNameMatching("FpgaDriver"));
  if (g->service == IO_OBJECT_NULL ||
      IOServiceOpen(g->service, mach_task_self(), protocol::kProtocolVersion, &g->bystander) !=
          kIOReturnSuccess) {
    Fail("no FpgaDriver to open");
  }
  // One input given (reproducing a crash): the round trip after it. The last check runs at the
  // end of the run (libFuzzer ends a run with exit(); a crash ends it without).
  bool oneInput = false;
  for (int i = 1; i < *argc; ++i) {
    struct stat st;
    if ((*argv)[i][0] != '-' && stat((*argv)[i], &st) == 0 && S_ISREG(st.st_mode)) oneInput = true;
  }
  if (const char* every = std::getenv("FPGADEXT_FUZZ_ROUND_TRIP_EVERY")) {
    g->roundTripEvery = std::strtoull(every, nullptr, 10);
  }
  if (oneInput || g->roundTripEvery == 0) g->roundTripEvery = 1;
  std::atexit([] {
    if (g->inputs % g->roundTripEvery != 0) RoundTrip();
  });
  g->queue = dispatch_queue_create("fuzz.completions", DISPATCH_QUEUE_SERIAL);
  g->port = IONotificationPortCreate(kIOMainPortDefault);
  IONotificationPortSetDispatchQueue(g->port, g->queue);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ++g->inputs;
  const size_t baseline = g->machine->iommu().LiveMappings();
  FuzzedDataProvider in(data, size);
  Program p{in, {}, {}, {}, {}};
  for (int op = 0; op < kMaxOperations && in.remaining_bytes() > 0; ++op) {
    switch (in.ConsumeIntegralInRange<int>(0, 9)) {
      case 0:
        Open(p);
        break;
      case 1:
        if (!p.connections.empty()) {
          Close(p, in.ConsumeIntegralInRange<size_t>(0, p.connections.size() - 1),
                in.ConsumeBool());
        }
        break;
      case 2:
      case 3:
      case 4:
        Call(p, false);
        break;
      case 5:
      case 6:
        Call(p, true);
        break;
      case 7:
        Map(p);
        break;
      default:
        Touch(p);
        break;
    }
  }
  while (!p.connections.empty()) Close(p, p.connections.size() - 1, true);
  CheckAfterInput(p);
  CheckMappings(baseline);
  if (g->inputs % g->roundTripEvery == 0) RoundTrip();
  return 0;
}
