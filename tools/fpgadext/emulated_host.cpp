// Linux: the CLI runs against an emulated Mac, built in this process or held by the machine daemon
// (`fpgadext machine`, at the end of this file). Before the library looks for boards, this builds
// the machine, plugs in a board model whose card memory is a file (so that `write` in one process
// and `read` in the next see the same bytes, like a board that stays powered) and loads the
// FpgaDext bundle, which matches the board and starts the driver.
#include <IOKit/IOReturn.h>
#include <fcntl.h>
#include <fpgadext/emu/entitlements.h>
#include <fpgadext/emu/hardware_profile.h>
#include <fpgadext/emu/host_cost.h>
#include <fpgadext/emu/log_capture.h>
#include <fpgadext/emu/machine.h>
#include <fpgadext/emu/machine_socket.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>
#include <algorithm>
#include <bit>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <string>
#include <thread>

#include "commands.h"
#include "host.h"
#include "models/bram/bram_model.h"
#include "models/xdma/timing.h"
#include "models/xdma/xdma_model.h"
#include "output.h"

#ifndef FPGADEXT_DEXT_BUNDLE_PATH
#define FPGADEXT_DEXT_BUNDLE_PATH ""
#endif
// Where `cmake --install` puts the bundle, relative to the installed CLI (packaging/).
#ifndef FPGADEXT_INSTALLED_DEXT_BUNDLE
#define FPGADEXT_INSTALLED_DEXT_BUNDLE "../lib/fpgadext/FpgaDext.dext"
#endif

namespace fpgadext::cli {
namespace {

constexpr uint64_t kXdmaDefaultSize = 1ull << 30;  // 1 GiB, sparse
constexpr uint64_t kBramDefaultSize = 1ull << 20;  // a BAR window: 1 MiB

bool IsBundle(const std::string& path) {
  std::error_code ec;
  return std::filesystem::exists(path + "/Info.plist", ec) ||
         std::filesystem::exists(path + "/Contents/Info.plist", ec);
}

// FPGADEXT_DEXT_BUNDLE; else the bundle installed next to this program (so an installed,
// even relocated, prefix works); else the build tree's bundle this program was built with.
std::string DextBundle() {
  if (const char* env = std::getenv("FPGADEXT_DEXT_BUNDLE"); env != nullptr && *env != '\0') {
    return env;
  }
  std::error_code ec;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const std::string installed =
        (self.parent_path() / FPGADEXT_INSTALLED_DEXT_BUNDLE).lexically_normal().string();
    if (IsBundle(installed)) return installed;
  }
  return FPGADEXT_DEXT_BUNDLE_PATH;
}

std::string DefaultCardFile(const std::string& board) {
  const std::string name = board == "xdma" ? "card0.bin" : board + "0.bin";
  if (const char* env = std::getenv("FPGADEXT_CARD_FILE"); env != nullptr && *env != '\0') {
    return env;
  }
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && *xdg == '/') {
    return std::string(xdg) + "/fpgadext/" + name;
  }
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    return std::string(home) + "/.cache/fpgadext/" + name;
  }
  return "/tmp/fpgadext-" + name;
}

// The emulated app's entitlements, what a signed fpgadext would carry on a Mac: by default
// userclient-access for the product dext (org.fpgadext.driver, dext/CMakeLists.txt); env
// FPGADEXT_APP_ENTITLEMENTS names an entitlements file to use instead, or "none" for an
// unsigned app (docs/emulation-user-client.md).
Status SetAppEntitlements() {
  const char* env = std::getenv("FPGADEXT_APP_ENTITLEMENTS");
  if (env == nullptr || *env == '\0') {
    emu::GrantUserClientAccess("org.fpgadext.driver");
  } else if (std::strcmp(env, "none") == 0) {
    emu::ClearProcessEntitlements();
  } else {
    emu::Entitlements entitlements;
    std::string error;
    if (!emu::LoadEntitlementsFile(env, &entitlements, &error)) {
      return Status(kIOReturnBadArgument, fmt::format("FPGADEXT_APP_ENTITLEMENTS: {}", error));
    }
    emu::SetProcessEntitlements(entitlements);
  }
  return Status::Ok();
}

[[noreturn]] void ThrowUsage(std::string message) {
  throw CliError{kExitUsage, "usage", std::nullopt, std::move(message)};
}

// The card memory the board model will map: the board's default, and a BRAM window rounded up
// to a power of two of at least 4 KiB as the model does — computed here without overflowing.
uint64_t EffectiveCardSize(const HostOptions& options) {
  const bool bram = options.board == "bram";
  uint64_t size = options.cardSize != 0 ? options.cardSize
                  : bram                ? kBramDefaultSize
                                        : kXdmaDefaultSize;
  if (bram) {
    if (size > (1ull << 62)) {
      ThrowUsage(fmt::format("--card-size {}: too large for a BAR window", options.cardSize));
    }
    size = std::bit_ceil(std::max<uint64_t>(size, 4096));
  }
  if (size > static_cast<uint64_t>(std::numeric_limits<off_t>::max())) {
    ThrowUsage(fmt::format("--card-size {}: larger than any file", options.cardSize));
  }
  return size;
}

// CardMemory aborts when it cannot open, extend or map its file; find out first and say why.
// Bad --card-file or --card-size values are usage errors (exit 1).
Status PrepareCardFile(const std::string& path, uint64_t size) {
  std::error_code ec;
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  if (ec) {
    return Status(kIOReturnNotPermitted,
                  fmt::format("cannot create {}: {}", parent.string(), ec.message()));
  }
  // Non-blocking: a FIFO is refused below, not waited on.
  const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_NONBLOCK | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Status(kIOReturnNotPermitted,
                  fmt::format("cannot open card file {}: {}", path, std::strerror(errno)));
  }
  struct Closer {
    int fd;
    ~Closer() { close(fd); }
  } closer{fd};
  struct stat st{};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ThrowUsage(
        fmt::format("--card-file {}: not a regular file (the card memory is a file it maps; "
                    "--card-file or FPGADEXT_CARD_FILE)",
                    path));
  }
  void* map = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED) {
    ThrowUsage(fmt::format("--card-size {}: cannot map that much card memory: {}", size,
                           std::strerror(errno)));
  }
  munmap(map, size);
  if (static_cast<uint64_t>(st.st_size) < size && ftruncate(fd, static_cast<off_t>(size)) != 0) {
    ThrowUsage(fmt::format("--card-size {}: cannot extend the card file {} to it: {}", size, path,
                           std::strerror(errno)));
  }
  return Status::Ok();
}

class EmulatedHost : public Host {
 public:
  HostDescription Describe() const override { return description_; }

  DeviceProbes Probes() const override {
    DeviceProbes p;
    p.modelledTime = [](uint64_t* hostNs, uint64_t* linkNs) {
      *hostNs = emu::HostCostAccounted().TotalNs();
      *linkNs = models::ModelledLinkNs();
    };
    if (xdma_ == nullptr) return p;
    models::XdmaModel* xdma = xdma_;
    if (emu::MmioRegion* user =
            xdma->userBarIndex() >= 0 ? xdma->Bar(xdma->userBarIndex()) : nullptr) {
      // The user block's ID register, read by the model on this thread (no trap, no driver).
      p.registerRead = [user] { return user->Read(0, 4) != 0xFFFF'FFFFu; };
    }
    p.engineTime = [xdma](uint64_t* jobs, uint64_t* ns) {
      const models::XdmaModel::Counters c = xdma->counters();
      *jobs = c.jobs;
      *ns = c.jobNs;
    };
    p.streamGenerator = [xdma](uint32_t channel, uint32_t packetBytes) {
      models::StreamGeneratorConfig g;  // no sizes: stop and empty the source
      g.sizeCount = packetBytes != 0 ? 1 : 0;
      g.sizes[0] = packetBytes;
      xdma->StartStreamGenerator(channel, g);
      return true;
    };
    return p;
  }

  Status Start(const HostOptions& options) {
    if (options.verbose) emu::SetLogLevel("info");
    description_.kind = "emulated";
    description_.timing = options.timing.empty() ? "none" : options.timing;
    models::LinkTiming timing;
    if (description_.timing == "tb3") {
      timing = models::LinkTiming::Thunderbolt3();
    } else if (description_.timing == "gen3x8") {
      timing = models::LinkTiming::Gen3x8();
    } else if (description_.timing == "gen4x16") {
      timing = models::LinkTiming::Gen4x16();
    } else if (description_.timing != "none") {
      return Status(kIOReturnBadArgument,
                    fmt::format("unknown timing {} (none, tb3, gen3x8, gen4x16)", options.timing));
    }
    description_.hostTiming = options.hostTiming.empty() ? "none" : options.hostTiming;
    const emu::HostCostProfile* hostCosts = emu::FindHostCostProfile(description_.hostTiming);
    if (hostCosts == nullptr) {
      return Status(kIOReturnBadArgument,
                    fmt::format("unknown host timing {} (none, mac-m2)", options.hostTiming));
    }
    if (hostCosts->Of(emu::HostCost::kWirePage) != 0 &&
        emu::HardwareProfilePageSize(emu::HardwareProfileFromEnvironment()) !=
            hostCosts->pageSize) {
      return Status(kIOReturnBadArgument,
                    fmt::format("host timing {} models {}-byte pages: run it with the "
                                "apple-silicon hardware profile (FPGADEXT_EMU_PROFILE)",
                                description_.hostTiming, hostCosts->pageSize));
    }
    emu::SetHostCostProfile(*hostCosts);  // before the machine: every charge uses it
    description_.board = options.board;
    description_.cardFile =
        options.cardFile.empty() ? DefaultCardFile(options.board) : options.cardFile;
    const uint64_t cardSize = EffectiveCardSize(options);
    if (Status s = PrepareCardFile(description_.cardFile, cardSize); !s) return s;

    description_.dextBundle = DextBundle();
    if (description_.dextBundle.empty()) {
      return Status(kIOReturnNotFound,
                    "this build has no FpgaDext bundle; set FPGADEXT_DEXT_BUNDLE to one");
    }
    if (!IsBundle(description_.dextBundle)) {
      return Status(kIOReturnNotFound, fmt::format("no dext bundle at {} (FPGADEXT_DEXT_BUNDLE)",
                                                   description_.dextBundle));
    }

    if (options.board == "bram") {
      models::BramModel::Config config;
      config.memorySize = options.cardSize != 0 ? options.cardSize : kBramDefaultSize;
      config.backingFile = description_.cardFile;
      auto bram = std::make_unique<models::BramModel>(config);
      description_.cardSize = bram->memory().size();
      board_ = std::move(bram);
    } else {
      models::XdmaModel::Config config;
      config.cardMemorySize = options.cardSize != 0 ? options.cardSize : kXdmaDefaultSize;
      config.cardMemoryFile = description_.cardFile;
      config.timing = timing;
      if (options.board == "xdma-stream") {  // channels 0-1 memory-mapped, 2 AXI-Stream
        config.h2cChannels = config.c2hChannels = 3;
        config.h2cStreamChannels = config.c2hStreamChannels = 1u << 2;
        const size_t sizes = std::min<size_t>(options.streamGenerator.size(),
                                              models::StreamGeneratorConfig::kMaxSizes);
        if (sizes != 0) {
          config.stream.generator.enabled = true;
          config.stream.generator.sizeCount = static_cast<unsigned>(sizes);
          std::copy_n(options.streamGenerator.begin(), sizes, config.stream.generator.sizes);
        }
      }
      auto xdma = std::make_unique<models::XdmaModel>(config);
      description_.cardSize = xdma->cardMemory().size();
      xdma_ = xdma.get();
      board_ = std::move(xdma);
    }

    if (Status s = SetAppEntitlements(); !s) return s;
    machine_ = std::make_unique<emu::Machine>();
    if (IOReturn ret = machine_->AttachPciFunction(board_.get(), options.board + "0");
        ret != kIOReturnSuccess) {
      return Status(ret, fmt::format("the emulated machine refused the {} board", options.board));
    }
    if (IOReturn ret = machine_->LoadDext(description_.dextBundle); ret != kIOReturnSuccess) {
      return Status(ret, fmt::format("cannot load the dext {}", description_.dextBundle));
    }
    return Status::Ok();
  }

 private:
  HostDescription description_;
  std::unique_ptr<emu::PciFunction> board_;  // outlives the machine it is plugged into
  models::XdmaModel* xdma_ = nullptr;        // board_ when it is an XDMA board
  std::unique_ptr<emu::Machine> machine_;
};

// An emulated Mac in the machine daemon: this process holds only IOKitLib's connection to it.
class MachineHost : public Host {
 public:
  explicit MachineHost(std::string socket) {
    description_.kind = "machine";
    description_.machineSocket = std::move(socket);
  }
  HostDescription Describe() const override { return description_; }

 private:
  HostDescription description_;
};

}  // namespace

std::string MachineSocketPath(const HostOptions& options) {
  if (const char* env = std::getenv("FPGADEXT_MACHINE"); env != nullptr && *env != '\0') {
    return env;
  }
  return (options.cardFile.empty() ? DefaultCardFile(options.board) : options.cardFile) + ".sock";
}

Status StartHost(const HostOptions& options, std::unique_ptr<Host>* host) {
  const std::string socket = MachineSocketPath(options);
  if (emu::MachineAnswers(socket)) {
    std::string error;
    if (!emu::ConnectToMachine(socket, &error)) return Status(kIOReturnNotResponding, error);
    *host = std::make_unique<MachineHost>(socket);
    return Status::Ok();
  }
  return StartHostHere(options, host);
}

Status StartHostHere(const HostOptions& options, std::unique_ptr<Host>* host) {
  auto emulated = std::make_unique<EmulatedHost>();
  Status status = emulated->Start(options);
  *host = std::move(emulated);  // even on failure: the machine is torn down in order
  return status;
}

}  // namespace fpgadext::cli

namespace fpgadext::cli {

// `fpgadext machine start|stop|status`: the machine daemon, a persistent emulated Mac (issue 11;
// docs/emulation.md, "Apps in other processes"). Commands and library apps reach it through its
// socket (MachineSocketPath), so register state, channels and rings persist between them as on a
// Mac.
namespace {

[[noreturn]] void Throw(int exitCode, IOReturn code, std::string message) {
  throw CliError{exitCode, IOReturnName(code), static_cast<uint32_t>(code), std::move(message)};
}

void Report(const CommonOptions& common, const std::string& socket, bool running,
            const std::string& text) {
  if (common.json) {
    fmt::print("{}\n", JsonObject().Add("socket", socket).Add("running", running).str());
  } else if (!common.quiet) {
    fmt::print("{}\n", text);
  }
}

// The daemon's life after setup: serve until asked to stop (AskMachineToStop, SIGTERM, SIGINT).
// `ready` (a pipe, or -1 in the foreground) hears one byte once the socket serves.
int Serve(const CommonOptions& common, const std::string& socket, int ready) {
  // Signals wait for one thread only, made before any other thread so every thread blocks them.
  sigset_t stopSignals;
  sigemptyset(&stopSignals);
  sigaddset(&stopSignals, SIGTERM);
  sigaddset(&stopSignals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stopSignals, nullptr);
  std::unique_ptr<Host> host;
  if (Status s = StartHostHere(common.host, &host); !s) {
    Throw(kExitIo, s.code(), fmt::format("cannot start the machine: {}", s.message()));
  }
  std::string error;
  std::unique_ptr<emu::MachineServer> server = emu::MachineServer::Start(socket, &error);
  if (server == nullptr) Throw(kExitIo, kIOReturnBusy, error);
  std::thread([stopSignals, socket] {
    int signal = 0;
    sigwait(&stopSignals, &signal);
    emu::AskMachineToStop(socket);
  }).detach();
  if (ready >= 0) {
    const char byte = 1;
    (void)!write(ready, &byte, 1);
    close(ready);
  }
  server->WaitForStopRequest();
  server->Stop();  // every app's session ends first
  server.reset();
  host.reset();  // then the dext stops and the machine goes
  return kExitOk;
}

// Whether process `pid` still runs: a zombie does not (whoever inherited it may never reap it).
bool Alive(long pid) {
  std::ifstream stat(fmt::format("/proc/{}/stat", pid));
  std::string line;
  if (!std::getline(stat, line)) return false;
  const size_t close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() && line[close + 2] != 'Z';
}

int Start(const CommonOptions& common, const MachineOptions& options, const std::string& socket) {
  if (emu::MachineAnswers(socket)) {
    Throw(kExitIo, kIOReturnBusy, fmt::format("a machine already runs at {}", socket));
  }
  if (options.foreground) return Serve(common, socket, -1);
  int pipeFds[2];
  if (pipe2(pipeFds, O_CLOEXEC) != 0) Throw(kExitIo, kIOReturnNoResources, "pipe failed");
  const pid_t child = fork();
  if (child < 0) Throw(kExitIo, kIOReturnNoResources, "fork failed");
  if (child == 0) {
    close(pipeFds[0]);
    setsid();
    // The daemon's own messages go to a log beside its socket.
    const int null = open("/dev/null", O_RDWR);
    const int log = open((socket + ".log").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    dup2(null, STDIN_FILENO);
    dup2(null, STDOUT_FILENO);
    if (log >= 0) dup2(log, STDERR_FILENO);
    int status = kExitIo;
    try {
      status = Serve(common, socket, pipeFds[1]);
    } catch (const CliError& e) {
      ReportError(e, false);
    }
    _exit(status);
  }
  close(pipeFds[1]);
  char byte = 0;
  ssize_t n;
  do {
    n = read(pipeFds[0], &byte, 1);
  } while (n < 0 && errno == EINTR);
  close(pipeFds[0]);
  if (n != 1) {
    int status = 0;
    waitpid(child, &status, 0);
    Throw(kExitIo, kIOReturnError,
          fmt::format("the machine did not start (its log: {}.log)", socket));
  }
  Report(common, socket, true, fmt::format("machine running at {} (pid {})", socket, child));
  return kExitOk;
}

int Stop(const CommonOptions& common, const std::string& socket) {
  long pid = 0;
  if (!emu::AskMachineToStop(socket, &pid)) {
    Throw(kExitNoDevice, kIOReturnNotFound, fmt::format("no machine runs at {}", socket));
  }
  // Done when the daemon has exited: its card file is closed and a command may build the
  // machine in its own process again.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (pid > 0 && Alive(pid)) {
    if (std::chrono::steady_clock::now() > deadline) {
      Throw(kExitIo, kIOReturnTimeout, fmt::format("the machine at {} did not stop", socket));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  Report(common, socket, false, fmt::format("machine at {} stopped", socket));
  return kExitOk;
}

}  // namespace

int RunMachine(const CommonOptions& common, const MachineOptions& options) {
  const std::string socket = MachineSocketPath(common.host);
  if (options.action == "start") return Start(common, options, socket);
  if (options.action == "stop") return Stop(common, socket);
  const bool running = emu::MachineAnswers(socket);
  Report(common, socket, running,
         running ? fmt::format("machine running at {}", socket)
                 : fmt::format("no machine runs at {}", socket));
  return running ? kExitOk : kExitNoDevice;
}

}  // namespace fpgadext::cli
