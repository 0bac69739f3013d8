// A persistent emulated Mac that apps in other processes reach (issue 11; docs/emulation.md,
// "Apps in other processes"). The machine daemon (`fpgadext machine start`) holds a Machine —
// kernel, board, dext — and serves the broker's requests on a Unix socket; an app's IOKitLib sends
// them there instead of calling the broker in its own process.
//
// App side: ConnectToMachine, or the environment variable FPGADEXT_MACHINE naming the socket
// (read at IOKitLib's first call, when no Machine was made in the process).
#pragma once

#include <memory>
#include <string>

namespace fpgadext::emu {

// Routes this process's IOKitLib to the machine daemon at `socketPath`. False, with the reason
// in *error, when nothing answers there; a process connects once (later calls: true if it is
// the same socket).
bool ConnectToMachine(const std::string& socketPath, std::string* error);
// Whether this process's IOKitLib talks to a machine daemon.
bool ConnectedToMachine();
// Whether a machine daemon answers at `socketPath` (connects and hangs up; IOKitLib unchanged).
bool MachineAnswers(const std::string& socketPath);
// Asks the daemon at `socketPath` to stop; false when nothing answers there. *daemonPid: its
// process, to wait for.
bool AskMachineToStop(const std::string& socketPath, long* daemonPid = nullptr);

// Daemon side: serves the current Machine (Machine::Current) on `socketPath`.
class MachineServer {
 public:
  // nullptr, with the reason in *error, when the socket cannot be made (a daemon answering
  // there already, a path too long for a Unix socket, no permission).
  static std::unique_ptr<MachineServer> Start(const std::string& socketPath, std::string* error);
  ~MachineServer();  // Stop()
  // Blocks until a client asked the daemon to stop (AskMachineToStop) or Stop() was called.
  void WaitForStopRequest();
  // Stops accepting, ends every app's session (their connections closed, their names
  // released) and removes the socket file. The Machine stays.
  void Stop();
  // Apps connected now.
  size_t SessionCount() const;

  struct State;

 private:
  explicit MachineServer(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace fpgadext::emu
