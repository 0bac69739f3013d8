// Apps as other processes (issue 11 items 1 and 3): a machine daemon (`fpgadext machine start`)
// holds the kernel, the board and the dext; this test process and round_trip_app reach it only
// through IOKitLib and the machine socket.
#include <fpgadext/emu/machine_socket.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <fpgadext/fpgadext.hpp>

#include <fcntl.h>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "pattern_bytes.h"

extern char** environ;

namespace {

using fpgadext::Device;
using fpgadext::test::PatternBytes;

constexpr uint64_t k64MiB = 64ull << 20;

// Runs a program to its end; its exit status, or -1.
int RunToEnd(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = 0;
  if (posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ) != 0) return -1;
  int status = 0;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

class MachineDaemon : public testing::Test {
 public:
  static void SetUpTestSuite() {
    char dir[] = "/tmp/fpgadext-mp-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    socket_ = dir_ + "/card.bin.sock";
    setenv("FPGADEXT_MACHINE", socket_.c_str(), 1);  // the CLI's and round_trip_app's socket
    // The daemon in the foreground, a child of this test: its end is seen here.
    const std::string log = socket_ + ".log";
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
    const std::string card = dir_ + "/card.bin";
    const char* argv[] = {FPGADEXT_CLI, "--card-file", card.c_str(),   "--card-size", "256M",
                          "machine",    "start",       "--foreground", nullptr};
    ASSERT_EQ(posix_spawn(&daemon_, argv[0], &actions, nullptr, const_cast<char**>(argv), environ),
              0);
    posix_spawn_file_actions_destroy(&actions);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!fpgadext::emu::MachineAnswers(socket_)) {
      ASSERT_EQ(waitpid(daemon_, nullptr, WNOHANG), 0) << "the machine did not start: " << Log();
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the machine did not start";
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    std::string error;
    ASSERT_TRUE(fpgadext::emu::ConnectToMachine(socket_, &error)) << error;
  }

  static void TearDownTestSuite() {
    EXPECT_EQ(RunToEnd({FPGADEXT_CLI, "machine", "stop"}), 0);
    int status = 0;
    EXPECT_EQ(waitpid(daemon_, &status, 0), daemon_);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << "the machine ended with status " << status << "; its log:\n"
        << Log();
    std::filesystem::remove_all(dir_);
  }

  static std::string Log() {
    std::ifstream log(socket_ + ".log");
    std::stringstream text;
    text << log.rdbuf();
    return text.str();
  }

 protected:
  // Writes `size` bytes of pattern `seed` at `card` and reads them back into other memory.
  static void RoundTrip(Device& device, uint64_t card, uint64_t size, uint64_t seed) {
    const std::vector<std::byte> out = PatternBytes(size, seed);
    ASSERT_TRUE(device.Write(card, out)) << size;
    std::vector<std::byte> in(size, std::byte{0x5A});
    ASSERT_TRUE(device.Read(card, in)) << size;
    ASSERT_TRUE(in == out) << "bytes differ after a round trip of " << size;
  }

  static std::string dir_;
  static std::string socket_;
  static pid_t daemon_;
};

std::string MachineDaemon::dir_;
std::string MachineDaemon::socket_;
pid_t MachineDaemon::daemon_ = 0;

TEST_F(MachineDaemon, ALibraryAppInAnotherProcessMovesFourKiBAndSixtyFourMiBExactly) {
  Device device;
  ASSERT_TRUE(Device::Open(0, &device));
  RoundTrip(device, 0x1000, 4096, 1);
  RoundTrip(device, 0x100000, k64MiB, 2);
  // A third process reads what this one left on the card: one machine for both.
  EXPECT_EQ(RunToEnd({FPGADEXT_ROUND_TRIP_APP, "check", "0x100000", std::to_string(k64MiB), "2"}),
            0);
  EXPECT_EQ(RunToEnd({FPGADEXT_ROUND_TRIP_APP, "check", "0x1000", "4096", "1"}), 0);
}

TEST_F(MachineDaemon, AnAppKilledMidTransferLeavesTheMachineAndOtherAppsWorking) {
  Device survivor;
  ASSERT_TRUE(Device::Open(0, &survivor));
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, ready[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, ready[0]);
  const std::string size = std::to_string(k64MiB);
  char* argv[] = {const_cast<char*>(FPGADEXT_ROUND_TRIP_APP), const_cast<char*>("loop"),
                  const_cast<char*>("0x8000000"), const_cast<char*>(size.c_str()), nullptr};
  pid_t app = 0;
  ASSERT_EQ(posix_spawn(&app, argv[0], &actions, nullptr, argv, environ), 0);
  posix_spawn_file_actions_destroy(&actions);
  close(ready[1]);
  // Once it has moved 64 MiB it is writing the next 64 MiB: killed in the middle of one.
  char line[16] = {};
  FILE* out = fdopen(ready[0], "r");
  ASSERT_NE(fgets(line, sizeof line, out), nullptr);
  fclose(out);
  ASSERT_STREQ(line, "ready\n");
  ASSERT_EQ(kill(app, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(waitpid(app, &status, 0), app);
  ASSERT_TRUE(WIFSIGNALED(status));

  // The app open before, a new one in this process and one in another process all work.
  RoundTrip(survivor, 0x1000, 4096, 3);
  RoundTrip(survivor, 0x100000, k64MiB, 4);
  Device another;
  ASSERT_TRUE(Device::Open(0, &another));
  RoundTrip(another, 0x2000, 4096, 5);
  EXPECT_EQ(RunToEnd({FPGADEXT_ROUND_TRIP_APP, "check", "0x100000", size, "4"}), 0);
}

}  // namespace
