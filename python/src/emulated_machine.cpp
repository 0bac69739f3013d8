// See emulated_machine.h. The defaults, the card-file checks and the entitlements follow the
// CLI's emulated host (tools/fpgadext/emulated_host.cpp), so both reach the same board.
#include "emulated_machine.h"

#include <IOKit/IOReturn.h>
#include <fcntl.h>
#include <fpgadext/emu/entitlements.h>
#include <fpgadext/emu/machine.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>

#include "models/bram/bram_model.h"
#include "models/xdma/xdma_model.h"

#ifndef FPGADEXT_DEXT_BUNDLE_PATH
#define FPGADEXT_DEXT_BUNDLE_PATH ""
#endif

namespace fpgadext::python {
namespace {

constexpr uint64_t kXdmaDefaultSize = 1ull << 30;  // 1 GiB, sparse
constexpr uint64_t kBramDefaultSize = 1ull << 20;

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr ? value : "";
}

// The CLI's default card file, so that both see the same card.
std::string DefaultCardFile(const std::string& board) {
  const std::string name = board == "xdma" ? "card0.bin" : board + "0.bin";
  if (std::string env = Env("FPGADEXT_CARD_FILE"); !env.empty()) return env;
  if (std::string xdg = Env("XDG_CACHE_HOME"); !xdg.empty() && xdg[0] == '/') {
    return xdg + "/fpgadext/" + name;
  }
  if (std::string home = Env("HOME"); !home.empty()) return home + "/.cache/fpgadext/" + name;
  return "/tmp/fpgadext-" + name;
}

Status Bad(std::string message) {
  return Status(kIOReturnBadArgument, std::move(message));
}

// The models abort when they cannot map their file; find out first and say why.
Status PrepareCardFile(const std::string& path, uint64_t size) {
  std::error_code ec;
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  if (ec) return Bad("cannot create " + parent.string() + ": " + ec.message());
  const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_NONBLOCK | O_CLOEXEC, 0644);
  if (fd < 0) return Bad("cannot open card file " + path + ": " + std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { close(fd); }
  } closer{fd};
  struct stat st{};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    return Bad("card file " + path + " is not a regular file");
  }
  if (size > static_cast<uint64_t>(std::numeric_limits<off_t>::max())) {
    return Bad("card size " + std::to_string(size) + " is larger than any file");
  }
  void* map = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED) {
    return Bad("cannot map " + std::to_string(size) +
               " bytes of card memory: " + std::strerror(errno));
  }
  munmap(map, size);
  if (static_cast<uint64_t>(st.st_size) < size && ftruncate(fd, static_cast<off_t>(size)) != 0) {
    return Bad("cannot extend the card file " + path + ": " + std::strerror(errno));
  }
  return Status::Ok();
}

}  // namespace

struct EmulatedMachine::Parts {
  std::unique_ptr<emu::PciFunction> board;  // declared first: outlives the machine
  models::XdmaModel* xdma = nullptr;        // board when it is an XDMA board
  std::unique_ptr<emu::Machine> machine;
};

EmulatedMachine::EmulatedMachine() = default;

EmulatedMachine::~EmulatedMachine() {
  if (parts_) parts_->machine.reset();
}

Status EmulatedMachine::Start(const MachineOptions& options) {
  if (options.board != "xdma" && options.board != "bram") {
    return Bad("unknown board " + options.board + " (xdma or bram)");
  }
  models::LinkTiming timing;
  if (options.timing == "tb3") {
    timing = models::LinkTiming::Thunderbolt3();
  } else if (options.timing == "gen3x8") {
    timing = models::LinkTiming::Gen3x8();
  } else if (options.timing == "gen4x16") {
    timing = models::LinkTiming::Gen4x16();
  } else if (options.timing != "none" && !options.timing.empty()) {
    return Bad("unknown timing " + options.timing + " (none, tb3, gen3x8, gen4x16)");
  }
  const bool bram = options.board == "bram";
  uint64_t size = options.cardSize != 0 ? options.cardSize
                  : bram                ? kBramDefaultSize
                                        : kXdmaDefaultSize;
  if (bram) {
    if (size > (1ull << 62)) return Bad("card size too large for a BAR window");
    size = std::bit_ceil(std::max<uint64_t>(size, 4096));  // as the BRAM model rounds it
  }
  description_ = {};
  description_.board = options.board;
  description_.timing = options.timing.empty() ? "none" : options.timing;
  description_.cardFile =
      options.cardFile.empty() ? DefaultCardFile(options.board) : options.cardFile;
  if (Status s = PrepareCardFile(description_.cardFile, size); !s) return s;

  description_.dextBundle = Env("FPGADEXT_DEXT_BUNDLE");
  if (description_.dextBundle.empty()) description_.dextBundle = options.dextBundle;
  if (description_.dextBundle.empty()) description_.dextBundle = FPGADEXT_DEXT_BUNDLE_PATH;
  if (description_.dextBundle.empty() ||
      (!std::filesystem::exists(description_.dextBundle + "/Info.plist") &&
       !std::filesystem::exists(description_.dextBundle + "/Contents/Info.plist"))) {
    return Status(kIOReturnNotFound, "no dext bundle at '" + description_.dextBundle +
                                         "' (set FPGADEXT_DEXT_BUNDLE to FpgaDext.dext)");
  }

  auto parts = std::make_unique<Parts>();
  if (bram) {
    models::BramModel::Config config;
    config.memorySize = size;
    config.backingFile = description_.cardFile;
    auto board = std::make_unique<models::BramModel>(config);
    description_.cardSize = board->memory().size();
    parts->board = std::move(board);
  } else {
    models::XdmaModel::Config config;
    config.cardMemorySize = size;
    config.cardMemoryFile = description_.cardFile;
    config.timing = timing;
    auto board = std::make_unique<models::XdmaModel>(config);
    description_.cardSize = board->cardMemory().size();
    parts->xdma = board.get();
    parts->board = std::move(board);
  }
  // What a signed app carries on a Mac: userclient-access for the product dext.
  emu::GrantUserClientAccess("org.fpgadext.driver");
  parts->machine = std::make_unique<emu::Machine>();
  if (IOReturn ret = parts->machine->AttachPciFunction(parts->board.get(), options.board + "0");
      ret != kIOReturnSuccess) {
    return Status(ret, "the emulated machine refused the " + options.board + " board");
  }
  if (IOReturn ret = parts->machine->LoadDext(description_.dextBundle); ret != kIOReturnSuccess) {
    return Status(ret, "cannot load the dext " + description_.dextBundle);
  }
  parts_ = std::move(parts);
  return Status::Ok();
}

BoardCounters EmulatedMachine::counters() const {
  BoardCounters out;
  if (!parts_ || parts_->xdma == nullptr) return out;
  const models::XdmaModel::Counters c = parts_->xdma->counters();
  for (size_t i = 0; i < std::size(c.h2cBytes); ++i) {
    out.h2cBytes += c.h2cBytes[i];
    out.c2hBytes += c.c2hBytes[i];
    out.h2cDescriptors += c.h2cDescriptors[i];
    out.c2hDescriptors += c.c2hDescriptors[i];
  }
  out.iommuRefusals = c.iommuRefusals;
  return out;
}

}  // namespace fpgadext::python
