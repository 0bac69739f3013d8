// The machine daemon's sessions (machine_server.cpp): what one app holds, and the broker routine
// each of its requests runs.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>

#include "wire.h"

namespace fpgadext::emu::remote {

struct Session;

// What a notification port's messages need to reach the app: its session and the port's name.
struct PortRoute {
  Session* session;
  uint32_t port;
};

// One app: the names it holds (a Mach task's port names), its notification ports, its pid.
struct Session {
  uint64_t token = 0;
  pid_t pid = 0;
  int events = -1;      // the app's first socket: notifications go there
  std::mutex sendLock;  // one frame at a time on `events`
  std::mutex lock;
  bool ended = false;
  // Names the app holds and how many references; connections and ports are names too.
  std::map<uint32_t, int> names;
  std::set<uint32_t> connections;
  std::map<uint32_t, std::unique_ptr<PortRoute>> ports;

  bool Owns(uint32_t name) {
    std::lock_guard guard(lock);
    return names.count(name) != 0;
  }
};

// One request of the session's app: the broker routine runs and its reply is written to `out`;
// *fd is a descriptor to send with the reply (-1: none; the caller closes it).
void Serve(Session& s, Reader& request, Writer& out, int* fd);
// The app is gone: its connections close, its ports go, every name it held is released.
void End(Session& s);

}  // namespace fpgadext::emu::remote
