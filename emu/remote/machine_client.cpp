// The app's connection to the machine daemon (machine_socket.h, machine_client.h). One socket per
// call in flight (taken from a pool, so a blocking call on one thread never holds up another's),
// and the session's first socket for what the daemon sends unasked: async completions and
// notifications, delivered here to the notification port's receiver as the broker does in one
// process.
#include <DriverKit/IOLib.h>
#include <DriverKit/OSDictionary.h>
#include <fcntl.h>
#include <fpgadext/emu/machine.h>
#include <fpgadext/emu/machine_socket.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "machine_client.h"

namespace fpgadext::emu {
namespace remote {

int Dial(const std::string& path) {
  sockaddr_un address{};
  if (path.size() >= sizeof address.sun_path) return -1;
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  const int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) return -1;
  if (connect(s, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    close(s);
    return -1;
  }
  return s;
}

namespace {

std::mutex gConnectLock;
std::atomic<Client*> gClient{nullptr};  // once set, for the life of the process

}  // namespace

bool Connect(const std::string& path, std::string* error) {
  std::lock_guard guard(gConnectLock);
  if (Client* c = gClient.load()) {
    if (c->path == path) return true;
    *error = "this process already talks to the machine at " + c->path;
    return false;
  }
  const int s = Dial(path);
  if (s < 0) {
    *error = "no machine answers at " + path + ": " + std::strerror(errno);
    return false;
  }
  Writer hello;
  hello.U32(static_cast<uint32_t>(Hello::kSession));
  std::string reply;
  if (!remote::SendFrame(s, hello.bytes()) || !remote::ReceiveFrame(s, &reply)) {
    close(s);
    *error = "the machine at " + path + " hung up";
    return false;
  }
  Reader r(reply);
  auto* c = new Client;  // lives as long as the process: IOKitLib may be called at exit
  c->path = path;
  c->token = r.U64();
  const auto daemon = static_cast<pid_t>(r.U64());
  c->events = s;
  // The daemon reads and writes this process's memory for out-of-line structures
  // (process_vm_readv/writev); where Yama restricts that to ancestors, allow it.
  prctl(PR_SET_PTRACER, static_cast<unsigned long>(daemon), 0, 0, 0);
  std::thread([c] { c->ReadEvents(); }).detach();
  gClient.store(c);
  return true;
}

Client* Remote() {
  static std::once_flag once;
  std::call_once(once, [] {
    const char* path = std::getenv("FPGADEXT_MACHINE");
    if (path == nullptr || *path == '\0' || Machine::Current() != nullptr) return;
    std::string error;
    if (!Connect(path, &error)) std::fprintf(stderr, "fpgadext emulation: %s\n", error.c_str());
  });
  return gClient.load();
}

Writer Request(Op op) {
  Writer w;
  w.U32(static_cast<uint32_t>(op));
  return w;
}

// The routines of one name in and one value out.
uint32_t OneName(Client& c, Op op, uint32_t name, uint32_t whenGone) {
  Writer w = Request(op);
  w.U32(name);
  std::string reply;
  if (!c.Call(w, &reply)) return whenGone;
  Reader r(reply);
  return r.U32();
}

IOReturn NamesReply(const std::string& reply, std::vector<uint32_t>* names) {
  Reader r(reply);
  const IOReturn ret = static_cast<IOReturn>(r.U32());
  const uint32_t count = r.U32();
  for (uint32_t i = 0; i < count && r.ok(); ++i) names->push_back(r.U32());
  return ret;
}

IOReturn StatusAndName(Client& c, const Writer& w, uint32_t* name) {
  std::string reply;
  if (!c.Call(w, &reply)) return kDead;
  Reader r(reply);
  const IOReturn ret = static_cast<IOReturn>(r.U32());
  const uint32_t made = r.U32();
  if (name != nullptr && (ret == kIOReturnSuccess || made != 0)) *name = made;
  return ret;
}

IOReturn StatusAndString(Client& c, Op op, uint32_t name, std::string* out) {
  Writer w = Request(op);
  w.U32(name);
  std::string reply;
  if (!c.Call(w, &reply)) return kDead;
  Reader r(reply);
  const IOReturn ret = static_cast<IOReturn>(r.U32());
  std::string value = r.Bytes();
  if (ret == kIOReturnSuccess) *out = std::move(value);
  return ret;
}

// A view of a daemon buffer at an address aligned to 16 KiB, the larger of the profiles' pages
// (an app's mapping starts on a page of the emulated Mac).
void* MapView(int fd, uint64_t length, bool readOnly) {
  constexpr uint64_t kAlign = 16 * 1024;
  const uint64_t rounded = (length + 4095) & ~uint64_t{4095};
  void* reserve = mmap(nullptr, rounded + kAlign, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (reserve == MAP_FAILED) return nullptr;
  const uint64_t start = (reinterpret_cast<uint64_t>(reserve) + kAlign - 1) & ~(kAlign - 1);
  void* view = mmap(reinterpret_cast<void*>(start), rounded,
                    readOnly ? PROT_READ : PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0);
  if (view == MAP_FAILED) {
    munmap(reserve, rounded + kAlign);
    return nullptr;
  }
  const uint64_t head = start - reinterpret_cast<uint64_t>(reserve);
  if (head != 0) munmap(reserve, head);
  if (kAlign - head != 0) munmap(reinterpret_cast<void*>(start + rounded), kAlign - head);
  return view;
}

void Unview(const View& v) {
  munmap(reinterpret_cast<void*>(v.address), (v.length + 4095) & ~uint64_t{4095});
}

IOReturn ObjectReply(Client& c, const Writer& w, OSObject** value) {
  std::string reply;
  if (!c.Call(w, &reply)) return kDead;
  Reader r(reply);
  const IOReturn ret = static_cast<IOReturn>(r.U32());
  OSObject* object = r.Object();
  if (ret == kIOReturnSuccess) {
    *value = object;
  } else {
    OSSafeReleaseNULL(object);
  }
  return ret;
}

}  // namespace remote

using remote::Connect;
using remote::Dial;
using remote::gClient;
using remote::Hello;
using remote::Writer;

bool ConnectToMachine(const std::string& socketPath, std::string* error) {
  std::string ignored;
  return Connect(socketPath, error != nullptr ? error : &ignored);
}

bool ConnectedToMachine() {
  return gClient.load() != nullptr;
}

bool MachineAnswers(const std::string& socketPath) {
  const int s = Dial(socketPath);
  if (s < 0) return false;
  close(s);
  return true;
}

bool AskMachineToStop(const std::string& socketPath, long* daemonPid) {
  const int s = Dial(socketPath);
  if (s < 0) return false;
  ucred credentials{};
  socklen_t length = sizeof credentials;
  if (daemonPid != nullptr) {
    *daemonPid =
        getsockopt(s, SOL_SOCKET, SO_PEERCRED, &credentials, &length) == 0 ? credentials.pid : 0;
  }
  Writer hello;
  hello.U32(static_cast<uint32_t>(Hello::kStop));
  std::string reply;
  // The daemon answers, then stops serving.
  const bool told = remote::SendFrame(s, hello.bytes()) && remote::ReceiveFrame(s, &reply);
  close(s);
  return told;
}

}  // namespace fpgadext::emu
