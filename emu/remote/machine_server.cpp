// The machine daemon's side of the socket (machine_socket.h): each app is a session — the names it
// holds (a Mach task's port names), its notification ports and its pid — and each of its sockets
// a thread that reads a request, runs the broker routine and writes the reply. When the app's
// first socket closes (it exited or was killed) the session ends as a task's death does on a
// Mac: its connections are closed and its names released, so the dext sees its user clients
// stop and other apps are untouched.
#include <fpgadext/emu/machine_socket.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "machine_requests.h"

namespace fpgadext::emu {
namespace {

using remote::End;
using remote::Hello;
using remote::Reader;
using remote::Serve;
using remote::Session;
using remote::Writer;

pid_t PeerPid(int socket) {
  ucred credentials{};
  socklen_t length = sizeof credentials;
  if (getsockopt(socket, SOL_SOCKET, SO_PEERCRED, &credentials, &length) != 0) return 0;
  return credentials.pid;
}

}  // namespace

struct MachineServer::State {
  std::string path;
  int listener = -1;
  std::thread acceptor;
  mutable std::mutex lock;
  std::condition_variable changed;
  bool stopping = false;
  bool stopRequested = false;
  int threads = 0;        // socket threads running
  std::set<int> sockets;  // open client sockets, shut down by Stop
  std::map<uint64_t, std::shared_ptr<Session>> sessions;
  std::mt19937_64 random{std::random_device{}()};

  void Accept() {
    for (;;) {
      const int s = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
      if (s < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        return;  // Stop shut the listener down
      }
      std::lock_guard guard(lock);
      if (stopping) {
        close(s);
        continue;
      }
      sockets.insert(s);
      ++threads;
      std::thread([this, s] { RunSocket(s); }).detach();
    }
  }

  void RunSocket(int socket) {
    std::string frame;
    if (remote::ReceiveFrame(socket, &frame)) {
      Reader hello(frame);
      switch (static_cast<Hello>(hello.U32())) {
        case Hello::kSession:
          RunSession(socket);
          break;
        case Hello::kCalls:
          RunCalls(socket, hello.U64());
          break;
        case Hello::kStop: {
          // Answered first: Stop() shuts every socket down, this one too.
          remote::SendFrame(socket, std::string());
          {
            std::lock_guard guard(lock);
            stopRequested = true;
          }
          changed.notify_all();
          break;
        }
      }
    }
    std::lock_guard guard(lock);
    sockets.erase(socket);
    close(socket);
    --threads;
    changed.notify_all();
  }

  void RunSession(int socket) {
    auto session = std::make_shared<Session>();
    session->pid = PeerPid(socket);
    session->events = socket;
    {
      std::lock_guard guard(lock);
      do {
        session->token = random();
      } while (session->token == 0 || sessions.count(session->token));
      sessions[session->token] = session;
    }
    Writer welcome;
    welcome.U64(session->token);
    welcome.U64(static_cast<uint64_t>(getpid()));
    if (remote::SendFrame(socket, welcome.bytes())) {
      // The app sends nothing more here: this returns when it closes or dies.
      char byte;
      while (recv(socket, &byte, 1, 0) > 0) {
      }
    }
    {
      std::lock_guard guard(lock);
      sessions.erase(session->token);
    }
    End(*session);
    std::lock_guard guard(session->sendLock);
    session->events = -1;
  }

  void RunCalls(int socket, uint64_t token) {
    std::shared_ptr<Session> session;
    {
      std::lock_guard guard(lock);
      auto it = sessions.find(token);
      if (it == sessions.end()) return;
      session = it->second;
    }
    // Calls only from the session's own process.
    if (PeerPid(socket) != session->pid) return;
    std::string frame;
    while (remote::ReceiveFrame(socket, &frame)) {
      Reader request(frame);
      Writer reply;
      int fd = -1;
      Serve(*session, request, reply, &fd);
      const bool sent = remote::SendFrame(socket, reply.bytes(), fd);
      if (fd >= 0) close(fd);
      if (!sent) break;
    }
  }
};

MachineServer::MachineServer(std::unique_ptr<State> state) : state_(std::move(state)) {}

MachineServer::~MachineServer() {
  Stop();
}

std::unique_ptr<MachineServer> MachineServer::Start(const std::string& socketPath,
                                                    std::string* error) {
  sockaddr_un address{};
  if (socketPath.empty() || socketPath.size() >= sizeof address.sun_path) {
    *error = "the machine socket's path is empty or longer than a Unix socket allows (" +
             std::to_string(sizeof address.sun_path - 1) + " bytes): " + socketPath;
    return nullptr;
  }
  if (MachineAnswers(socketPath)) {
    *error = "a machine already answers at " + socketPath;
    return nullptr;
  }
  unlink(socketPath.c_str());  // a socket file left by a daemon that died
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, socketPath.c_str(), socketPath.size() + 1);
  auto state = std::make_unique<State>();
  state->path = socketPath;
  state->listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (state->listener < 0 ||
      bind(state->listener, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      listen(state->listener, 64) != 0) {
    *error = "cannot serve on " + socketPath + ": " + std::strerror(errno);
    if (state->listener >= 0) close(state->listener);
    return nullptr;
  }
  chmod(socketPath.c_str(), 0600);  // this user's apps only, as their own machine
  State* s = state.get();
  state->acceptor = std::thread([s] { s->Accept(); });
  return std::unique_ptr<MachineServer>(new MachineServer(std::move(state)));
}

void MachineServer::WaitForStopRequest() {
  std::unique_lock guard(state_->lock);
  state_->changed.wait(guard, [this] { return state_->stopRequested || state_->stopping; });
}

void MachineServer::Stop() {
  State& s = *state_;
  {
    std::lock_guard guard(s.lock);
    if (s.stopping) return;
    s.stopping = true;
    // Every app's sockets end: its session ends as if it exited.
    for (int socket : s.sockets) shutdown(socket, SHUT_RDWR);
  }
  s.changed.notify_all();
  shutdown(s.listener, SHUT_RDWR);
  if (s.acceptor.joinable()) s.acceptor.join();
  close(s.listener);
  unlink(s.path.c_str());
  std::unique_lock guard(s.lock);
  s.changed.wait(guard, [&s] { return s.threads == 0; });
}

size_t MachineServer::SessionCount() const {
  std::lock_guard guard(state_->lock);
  return state_->sessions.size();
}

}  // namespace fpgadext::emu
