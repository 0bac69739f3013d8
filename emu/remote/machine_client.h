// The app side of the machine socket (machine_socket.h): the connection to the daemon and the
// helpers the routines of kernel_link.cpp share.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "../kernel/broker.h"
#include "wire.h"

namespace fpgadext::emu::remote {

inline constexpr IOReturn kDead = broker::kMachSendInvalidDest;

int Dial(const std::string& path);

struct LocalPort {
  void (*deliver)(void*, const broker::AsyncMessage&) = nullptr;
  void* context = nullptr;
  std::deque<broker::AsyncMessage> pending;
};

// The app's views of the daemon's buffers, by the daemon's name for each.
struct View {
  uint32_t connection;
  uint32_t type;
  uint64_t address;  // here
  uint64_t length;
  uint64_t token;  // the daemon's
};

class Client {
 public:
  std::string path;
  uint64_t token = 0;
  int events = -1;

  // One request and its reply on a socket of the pool; false when the daemon is gone.
  bool Call(const Writer& request, std::string* reply, int* fd = nullptr) {
    int s = Take();
    if (s < 0) return false;
    if (!remote::SendFrame(s, request.bytes()) || !remote::ReceiveFrame(s, reply, fd)) {
      close(s);
      return false;
    }
    std::lock_guard guard(poolLock_);
    pool_.push_back(s);
    return true;
  }

  std::mutex portsLock;
  std::map<uint32_t, LocalPort> ports;
  std::mutex viewsLock;
  std::vector<View> views;

  // What the daemon sends unasked: {port, message}, until the daemon goes.
  void ReadEvents() {
    std::string frame;
    while (remote::ReceiveFrame(events, &frame)) {
      Reader r(frame);
      const uint32_t port = r.U32();
      broker::AsyncMessage m{};
      r.Raw(&m, sizeof m);
      if (!r.ok()) break;
      std::lock_guard guard(portsLock);
      auto it = ports.find(port);
      if (it == ports.end()) continue;  // destroyed here: dropped, as the broker drops it
      if (it->second.deliver == nullptr) {
        it->second.pending.push_back(m);
      } else {
        it->second.deliver(it->second.context, m);
      }
    }
  }

 private:
  int Take() {
    {
      std::lock_guard guard(poolLock_);
      if (!pool_.empty()) {
        const int s = pool_.back();
        pool_.pop_back();
        return s;
      }
    }
    const int s = Dial(path);
    if (s < 0) return -1;
    Writer hello;
    hello.U32(static_cast<uint32_t>(Hello::kCalls));
    hello.U64(token);
    if (!remote::SendFrame(s, hello.bytes())) {
      close(s);
      return -1;
    }
    return s;
  }

  std::mutex poolLock_;
  std::vector<int> pool_;
};

// The connection once made (ConnectToMachine, or FPGADEXT_MACHINE at the first call), else
// nullptr: IOKitLib then calls the broker in this process.
Client* Remote();
bool Connect(const std::string& path, std::string* error);

Writer Request(Op op);
// The routines of one name in and one value out.
uint32_t OneName(Client& c, Op op, uint32_t name, uint32_t whenGone);
IOReturn NamesReply(const std::string& reply, std::vector<uint32_t>* names);
IOReturn StatusAndName(Client& c, const Writer& w, uint32_t* name);
IOReturn StatusAndString(Client& c, Op op, uint32_t name, std::string* out);
IOReturn ObjectReply(Client& c, const Writer& w, OSObject** value);
// A view of a daemon buffer; nullptr if it cannot be mapped.
void* MapView(int fd, uint64_t length, bool readOnly);
void Unview(const View& v);

}  // namespace fpgadext::emu::remote
