#include "commands.h"

#include <IOKit/IOReturn.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include <fpgadext/bench.hpp>

#include "numbers.h"
#include "output.h"
#include "pattern.h"

namespace fpgadext::cli {
namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void Throw(int exitCode, std::string code, std::string message) {
  throw CliError{exitCode, std::move(code), std::nullopt, std::move(message)};
}

[[noreturn]] void ThrowStatus(const Status& status, std::string_view what, int exitCode = kExitIo) {
  const std::string message = status.message()[0] != '\0'
                                  ? fmt::format("{}: {}", what, status.message())
                                  : std::string(what);
  throw CliError{exitCode, IOReturnName(status.code()), static_cast<uint32_t>(status.code()),
                 message};
}

[[noreturn]] void ThrowErrno(std::string_view what, const std::string& path) {
  Throw(kExitIo, "file", fmt::format("{} {}: {}", what, path, std::strerror(errno)));
}

std::string Hex(uint64_t v) {
  return fmt::format("0x{:x}", v);
}

// "1 byte", "4097 bytes (4.0 KiB)".
std::string Amount(uint64_t n) {
  if (n == 1) return "1 byte";
  if (n < 1024) return fmt::format("{} bytes", n);
  return fmt::format("{} bytes ({})", n, HumanSize(n));
}

double Seconds(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

void PrintJson(const JsonObject& object) {
  fmt::print("{}\n", object.str());
}

JsonObject HostJson(const HostDescription& d) {
  JsonObject o;
  o.Add("kind", d.kind);
  if (d.kind == "emulated") {
    o.Add("board", d.board).Add("card_file", d.cardFile).Add("card_size", d.cardSize);
    o.Add("dext_bundle", d.dextBundle);
  }
  if (d.kind == "machine") o.Add("machine_socket", d.machineSocket);
  return o;
}

// The host (emulated machine on Linux) and the open board. Members are destroyed in reverse
// order: the device closes before the machine goes away.
class Session {
 public:
  explicit Session(const CommonOptions& common) : common_(common) {
    if (Status s = StartHost(common.host, &host_); !s) {
      ThrowStatus(s, "cannot start the host");
    }
  }

  Device& Open() {
    if (Status s = Device::Open(common_.device, &device_); !s) {
      ThrowStatus(s, fmt::format("cannot open board {}", common_.device),
                  s.code() == kIOReturnNotFound ? kExitNoDevice : kExitIo);
    }
    return device_;
  }

  const Host& host() const { return *host_; }

 private:
  const CommonOptions& common_;
  std::unique_ptr<Host> host_;
  Device device_;
};

// A buffer of app memory placed `offset` bytes past a page boundary, so transfers can be tried
// at any app alignment.
class AppBuffer {
 public:
  AppBuffer(uint64_t size, uint64_t offset) : storage_(size + offset + 2 * kPage) {
    const uintptr_t base = reinterpret_cast<uintptr_t>(storage_.data());
    const uintptr_t aligned = (base + kPage - 1) & ~static_cast<uintptr_t>(kPage - 1);
    span_ = std::span<std::byte>(storage_.data() + (aligned - base) + offset, size);
  }
  std::span<std::byte> first(uint64_t n) const { return span_.first(n); }

 private:
  static constexpr uint64_t kPage = 16384;  // Apple Silicon pages; also 4 KiB aligned
  std::vector<std::byte> storage_;
  std::span<std::byte> span_;
};

// Where the bytes of `write` and `verify` come from.
class Source {
 public:
  virtual ~Source() = default;
  virtual uint64_t size() const = 0;
  virtual void Read(uint64_t offset, std::span<std::byte> out) = 0;
  virtual JsonObject Json() const = 0;
  virtual std::string Describe() const = 0;
};

class PatternSource : public Source {
 public:
  PatternSource(uint64_t seed, uint64_t size) : seed_(seed), size_(size) {}
  uint64_t size() const override { return size_; }
  void Read(uint64_t offset, std::span<std::byte> out) override { FillPattern(seed_, offset, out); }
  JsonObject Json() const override { return JsonObject().Add("pattern", seed_); }
  std::string Describe() const override { return fmt::format("pattern {}", seed_); }

 private:
  uint64_t seed_;
  uint64_t size_;
};

class FileSource : public Source {
 public:
  FileSource(const std::string& path, std::optional<uint64_t> size) : path_(path) {
    // Non-blocking, so a FIFO without a writer is refused below instead of hanging in open().
    fd_ = open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd_ < 0)
      Throw(kExitUsage, "usage", fmt::format("cannot open {}: {}", path, std::strerror(errno)));
    struct stat st{};
    if (fstat(fd_, &st) != 0) ThrowErrno("cannot stat", path);
    if (!S_ISREG(st.st_mode)) {
      Throw(kExitUsage, "usage",
            fmt::format("--file {} is not a regular file (for a pipe or device, redirect it "
                        "to standard input and give --file -)",
                        path));
    }
    const uint64_t fileSize = static_cast<uint64_t>(st.st_size);
    if (size && *size > fileSize) {
      Throw(kExitUsage, "usage",
            fmt::format("{} has {} bytes, fewer than --size {}", path, fileSize, *size));
    }
    size_ = size.value_or(fileSize);
  }
  ~FileSource() override { close(fd_); }
  uint64_t size() const override { return size_; }
  void Read(uint64_t offset, std::span<std::byte> out) override {
    size_t done = 0;
    while (done < out.size()) {
      const ssize_t n =
          pread(fd_, out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) ThrowErrno("cannot read", path_);
      if (n == 0) Throw(kExitIo, "file", fmt::format("{} became shorter while in use", path_));
      done += static_cast<size_t>(n);
    }
  }
  JsonObject Json() const override { return JsonObject().Add("file", path_); }
  std::string Describe() const override { return path_; }

 private:
  std::string path_;
  int fd_ = -1;
  uint64_t size_ = 0;
};

// Standard input, read whole first (its size is not known in advance).
class StdinSource : public Source {
 public:
  explicit StdinSource(std::optional<uint64_t> size) {
    std::byte block[65536];
    while (!size || bytes_.size() < *size) {
      const size_t want =
          size ? std::min<uint64_t>(sizeof block, *size - bytes_.size()) : sizeof block;
      const ssize_t n = read(STDIN_FILENO, block, want);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        Throw(kExitUsage, "usage",
              fmt::format("cannot read standard input: {}", std::strerror(errno)));
      }
      if (n == 0) break;
      bytes_.insert(bytes_.end(), block, block + n);
    }
    if (size && bytes_.size() < *size) {
      Throw(kExitUsage, "usage",
            fmt::format("standard input ended after {} bytes, before --size {}", bytes_.size(),
                        *size));
    }
  }
  uint64_t size() const override { return bytes_.size(); }
  void Read(uint64_t offset, std::span<std::byte> out) override {
    std::copy_n(bytes_.begin() + static_cast<ptrdiff_t>(offset), out.size(), out.begin());
  }
  JsonObject Json() const override { return JsonObject().Add("file", "-"); }
  std::string Describe() const override { return "standard input"; }

 private:
  std::vector<std::byte> bytes_;
};

std::unique_ptr<Source> MakeSource(const TransferOptions& t) {
  if (t.patternSeed) {
    if (!t.size) Throw(kExitUsage, "usage", "--pattern needs --size");
    return std::make_unique<PatternSource>(*t.patternSeed, *t.size);
  }
  if (t.file == "-") return std::make_unique<StdinSource>(t.size);
  return std::make_unique<FileSource>(t.file, t.size);
}

// Refuses a range outside card memory before moving any byte, so a transfer that cannot
// complete leaves the card untouched (chunks would otherwise succeed up to the end). The code
// is the one the driver gives for such a range.
void CheckRange(const Device& device, uint64_t address, uint64_t size) {
  const uint64_t limit = device.info().cardMemorySize;
  if (address > limit || size > limit - address) {
    throw CliError{
        kExitIo, IOReturnName(kIOReturnOverrun), static_cast<uint32_t>(kIOReturnOverrun),
        fmt::format("card range {}..{} ({} bytes) is outside the card memory "
                    "(0x0..{}, {})",
                    Hex(address), Hex(address + size), size, Hex(limit), HumanSize(limit))};
  }
}

uint64_t ChunkOf(const TransferOptions& t) {
  return std::max<uint64_t>(t.chunk, 1);
}

// The library's options for each call of a command (--path, --completion).
fpgadext::TransferOptions CallOptions(const TransferOptions& t) {
  fpgadext::TransferOptions options(t.path);
  options.completion = t.completion;
  return options;
}

// Host → card, chunk by chunk from `source`.
void WriteCard(Device& device, uint64_t address, Source& source, const TransferOptions& t,
               bool progressOn) {
  const uint64_t size = source.size();
  const uint64_t chunk = std::min(ChunkOf(t), std::max<uint64_t>(size, 1));
  AppBuffer buffer(chunk, t.bufferOffset);
  Progress progress("write", size, progressOn);
  uint64_t done = 0;
  do {
    const uint64_t n = std::min(chunk, size - done);
    std::span<std::byte> piece = buffer.first(n);
    source.Read(done, piece);
    if (Status s = device.Write(address + done, piece, CallOptions(t)); !s) {
      progress.Finish();
      ThrowStatus(s, fmt::format("write of {} bytes at card {} failed", n, Hex(address + done)));
    }
    done += n;
    progress.Update(done);
  } while (done < size);
}

// Card → host, chunk by chunk; `consume(offset, bytes)` gets each piece.
void ReadCard(Device& device, uint64_t address, uint64_t size, const TransferOptions& t,
              bool progressOn,
              const std::function<void(uint64_t, std::span<const std::byte>)>& consume) {
  const uint64_t chunk = std::min(ChunkOf(t), std::max<uint64_t>(size, 1));
  AppBuffer buffer(chunk, t.bufferOffset);
  Progress progress("read ", size, progressOn);
  uint64_t done = 0;
  do {
    const uint64_t n = std::min(chunk, size - done);
    std::span<std::byte> piece = buffer.first(n);
    if (Status s = device.Read(address + done, piece, CallOptions(t)); !s) {
      progress.Finish();
      ThrowStatus(s, fmt::format("read of {} bytes at card {} failed", n, Hex(address + done)));
    }
    consume(done, piece);
    done += n;
    progress.Update(done);
  } while (done < size);
}

// Where `read` puts its bytes when given --out: a new file in the same directory, renamed over
// the destination only once every byte is written, so a failed read leaves no partial file and
// an existing destination untouched. A destination that is not a regular file (/dev/null, a
// FIFO with a reader) is written directly.
class OutputFile {
 public:
  explicit OutputFile(const std::string& path, const std::string& cardFile) : path_(path) {
    struct stat st{};
    const bool exists = stat(path.c_str(), &st) == 0;
    struct stat card{};
    if (exists && !cardFile.empty() && stat(cardFile.c_str(), &card) == 0 &&
        st.st_dev == card.st_dev && st.st_ino == card.st_ino) {
      Throw(
          kExitUsage, "usage",
          fmt::format("--out {} is the emulated card's memory file; read into another file", path));
    }
    if (exists && !S_ISREG(st.st_mode)) {
      fd_ = open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
      if (fd_ < 0) Cannot("open");
      fcntl(fd_, F_SETFL, fcntl(fd_, F_GETFL) & ~O_NONBLOCK);
      return;
    }
    const size_t slash = path.rfind('/');
    const std::string dir = slash == std::string::npos ? "" : path.substr(0, slash + 1);
    const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
    temporary_ = dir + "." + base + ".XXXXXX";
    fd_ = mkostemp(temporary_.data(), O_CLOEXEC);
    if (fd_ < 0) {
      temporary_.clear();
      Cannot("create");
    }
    const mode_t mask = umask(0);
    umask(mask);
    fchmod(fd_, exists ? (st.st_mode & 07777) : (0666 & ~mask));
  }
  ~OutputFile() {
    if (fd_ >= 0) close(fd_);
    if (!temporary_.empty()) unlink(temporary_.c_str());
  }
  int fd() const { return fd_; }

  // Every byte is written: make the file the destination.
  void Commit() {
    if (fsync(fd_) != 0 && errno != EINVAL) ThrowErrno("cannot write", path_);
    if (close(fd_) != 0) {
      fd_ = -1;
      ThrowErrno("cannot write", path_);
    }
    fd_ = -1;
    if (temporary_.empty()) return;
    if (rename(temporary_.c_str(), path_.c_str()) != 0) ThrowErrno("cannot create", path_);
    temporary_.clear();
  }

 private:
  [[noreturn]] void Cannot(const char* what) {
    Throw(kExitUsage, "usage",
          fmt::format("--out {}: cannot {}: {}", path_, what, std::strerror(errno)));
  }
  std::string path_;
  std::string temporary_;  // empty once renamed, or when writing the destination directly
  int fd_ = -1;
};

void WriteAll(int fd, std::span<const std::byte> bytes, const std::string& name) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) ThrowErrno("cannot write", name);
    done += static_cast<size_t>(n);
  }
}

JsonObject TransferJson(std::string_view operation, uint64_t address, uint64_t size,
                        double seconds) {
  JsonObject o;
  o.Add("operation", operation).Add("address", address).Add("size", size);
  o.Add("seconds", seconds).Add("bytes_per_second", seconds > 0 ? size / seconds : 0.0);
  return o;
}

std::string BarRole(const DeviceInfo& info, int bar) {
  if (bar == info.dmaBar) return "dma";
  if (bar == info.userBar) return "user";
  return "other";
}

}  // namespace

int RunList(const CommonOptions& common) {
  Session session(common);
  const std::vector<BoardSummary> boards = Device::List();
  if (common.json) {
    std::vector<JsonObject> list;
    for (const BoardSummary& b : boards) {
      list.push_back(JsonObject()
                         .Add("index", b.index)
                         .Add("vendor_id", b.vendorId)
                         .Add("device_id", b.deviceId)
                         .Add("name", b.name)
                         .Add("registry_id", b.registryId));
    }
    PrintJson(JsonObject().Add("count", boards.size()).Add("boards", list));
    return kExitOk;
  }
  if (boards.empty()) {
    if (!common.quiet) fmt::print(stderr, "no boards\n");
    return kExitOk;
  }
  for (const BoardSummary& b : boards) {
    fmt::print("{}  {:04x}:{:04x}  {}  registry 0x{:x}\n", b.index, b.vendorId, b.deviceId, b.name,
               b.registryId);
  }
  return kExitOk;
}

int RunInfo(const CommonOptions& common) {
  Session session(common);
  Device& device = session.Open();
  const DeviceInfo& info = device.info();
  BoardSummary summary{common.device, info.vendorId, info.deviceId, "", 0};
  for (const BoardSummary& b : Device::List()) {
    if (b.index == common.device) summary = b;
  }
  const HostDescription host = session.host().Describe();
  const std::string protocol =
      fmt::format("{}.{}", info.protocolVersion >> 16, info.protocolVersion & 0xffff);
  // AXI-Stream channels (docs/streams.md): masks, bit c = channel c.
  uint32_t streamsToCard = 0, streamsFromCard = 0;
  if (Status s = device.StreamChannels(&streamsToCard, &streamsFromCard); !s) {
    ThrowStatus(s, "cannot ask for the stream channels");
  }
  if (common.json) {
    std::vector<JsonObject> bars;
    for (int i = 0; i < 6; ++i) {
      if (info.barSizes[i] == 0) continue;
      bars.push_back(JsonObject()
                         .Add("index", i)
                         .Add("size", info.barSizes[i])
                         .Add("role", BarRole(info, i))
                         .Add("mapped", device.IsBarMapped(i)));
    }
    JsonObject o;
    o.Add("index", common.device).Add("name", summary.name).Add("registry_id", summary.registryId);
    o.Add("vendor_id", info.vendorId).Add("device_id", info.deviceId);
    o.Add("protocol_version", info.protocolVersion).Add("protocol", protocol);
    o.Add("dma_engine", info.hasDmaEngine).Add("card_memory_size", info.cardMemorySize);
    o.Add("h2c_channels", info.h2cChannels).Add("c2h_channels", info.c2hChannels);
    o.Add("h2c_stream_channels", streamsToCard).Add("c2h_stream_channels", streamsFromCard);
    o.Add("bars", bars).Add("dma_bar", info.dmaBar).Add("user_bar", info.userBar);
    o.Add("host", HostJson(host));
    PrintJson(o);
    return kExitOk;
  }
  fmt::print("board {}: {:04x}:{:04x} {} (registry 0x{:x})\n", common.device, info.vendorId,
             info.deviceId, summary.name, summary.registryId);
  fmt::print("  protocol     {}\n", protocol);
  fmt::print("  card memory  {} ({} bytes)\n", HumanSize(info.cardMemorySize), info.cardMemorySize);
  if (info.hasDmaEngine) {
    fmt::print("  data path    DMA engine, {} H2C + {} C2H channels\n", info.h2cChannels,
               info.c2hChannels);
  } else {
    fmt::print("  data path    PIO through a BAR window (no DMA engine)\n");
  }
  for (const auto& [name, mask] : {std::pair{"H2C", streamsToCard}, {"C2H", streamsFromCard}}) {
    for (uint32_t c = 0; c < 32; ++c) {
      if (mask & (1u << c)) fmt::print("  stream       {} channel {} (AXI-Stream)\n", name, c);
    }
  }
  for (int i = 0; i < 6; ++i) {
    if (info.barSizes[i] == 0) continue;
    std::string role = BarRole(info, i) == "dma"    ? "DMA engine (driver only)"
                       : BarRole(info, i) == "user" ? "user registers"
                                                    : "";
    fmt::print("  BAR {}        {:<8} {}{}\n", i, HumanSize(info.barSizes[i]), role,
               device.IsBarMapped(i) ? " [mapped]" : "");
  }
  if (host.kind == "emulated") {
    fmt::print("  host         emulated Mac, {} board model, card file {} ({})\n", host.board,
               host.cardFile, HumanSize(host.cardSize));
  }
  return kExitOk;
}

namespace {

int ResolveBar(Device& device, const RegisterOptions& reg) {
  if (reg.bar) return *reg.bar;
  if (device.info().userBar < 0) {
    Throw(kExitUsage, "usage", "this board has no user BAR; say which with --bar");
  }
  return device.info().userBar;
}

JsonObject RegisterJson(int bar, const RegisterOptions& reg, uint64_t value) {
  return JsonObject()
      .Add("bar", bar)
      .Add("offset", reg.offset)
      .Add("width", reg.width)
      .Add("value", value)
      .Add("hex", fmt::format("0x{:0{}x}", value, reg.width / 4));
}

}  // namespace

int RunRegRead(const CommonOptions& common, const RegisterOptions& reg) {
  Session session(common);
  Device& device = session.Open();
  const int bar = ResolveBar(device, reg);
  uint64_t value = 0;
  Status s;
  if (reg.width == 64) {
    s = device.Read64(bar, reg.offset, &value);
  } else {
    uint32_t v32 = 0;
    s = device.Read32(bar, reg.offset, &v32);
    value = v32;
  }
  if (!s) ThrowStatus(s, fmt::format("cannot read BAR {} at {}", bar, Hex(reg.offset)));
  if (common.json) {
    PrintJson(RegisterJson(bar, reg, value));
  } else {
    fmt::print("0x{:0{}x}\n", value, reg.width / 4);
  }
  return kExitOk;
}

int RunRegWrite(const CommonOptions& common, const RegisterOptions& reg) {
  if (reg.width == 32 && reg.value > UINT32_MAX) {
    Throw(kExitUsage, "usage", fmt::format("--value {} does not fit in 32 bits", Hex(reg.value)));
  }
  Session session(common);
  Device& device = session.Open();
  const int bar = ResolveBar(device, reg);
  const Status s = reg.width == 64
                       ? device.Write64(bar, reg.offset, reg.value)
                       : device.Write32(bar, reg.offset, static_cast<uint32_t>(reg.value));
  if (!s) ThrowStatus(s, fmt::format("cannot write BAR {} at {}", bar, Hex(reg.offset)));
  if (common.json) {
    PrintJson(RegisterJson(bar, reg, reg.value));
  } else if (!common.quiet) {
    fmt::print("BAR {} {} <- 0x{:0{}x}\n", bar, Hex(reg.offset), reg.value, reg.width / 4);
  }
  return kExitOk;
}

int RunRead(const CommonOptions& common, const TransferOptions& t) {
  const uint64_t size = *t.size;
  const bool toStdout = t.file.empty() || t.file == "-";
  const bool hexInJson = common.json && t.file.empty();
  if (common.json && t.file == "-") {
    Throw(kExitUsage, "usage", "--json prints JSON on stdout; give the data a file with --out");
  }
  if (hexInJson && size > kJsonDataLimit) {
    Throw(kExitUsage, "usage",
          fmt::format("--json without --out puts the bytes in the JSON as hex, up to {}; "
                      "give --out FILE",
                      HumanSize(kJsonDataLimit)));
  }
  if (toStdout && !hexInJson && isatty(STDOUT_FILENO) == 1 && !t.force) {
    Throw(kExitUsage, "usage",
          "refusing to write binary data to a terminal; give --out FILE, pipe it, or --force");
  }
  if (toStdout && !hexInJson && (fcntl(STDOUT_FILENO, F_GETFL) & O_ACCMODE) == O_RDONLY) {
    Throw(kExitUsage, "usage", "standard output is closed; give --out FILE");
  }
  Session session(common);
  Device& device = session.Open();
  CheckRange(device, t.address, size);

  // The output file is created only once the read can start: a refused read leaves no file.
  std::optional<OutputFile> out;
  int fd = STDOUT_FILENO;
  std::string name = "standard output";
  if (!toStdout) {
    out.emplace(t.file, session.host().Describe().cardFile);
    fd = out->fd();
    name = t.file;
  }

  std::string hex;
  const auto start = Clock::now();
  ReadCard(device, t.address, size, t, !common.quiet,
           [&](uint64_t, std::span<const std::byte> bytes) {
             if (hexInJson) {
               for (std::byte b : bytes) hex += fmt::format("{:02x}", static_cast<unsigned>(b));
             } else {
               WriteAll(fd, bytes, name);
             }
           });
  const double seconds = Seconds(start);
  if (out) out->Commit();
  if (common.json) {
    JsonObject o = TransferJson("read", t.address, size, seconds);
    if (hexInJson) {
      o.Add("data", hex);
    } else {
      o.Add("out", t.file);
    }
    PrintJson(o);
  } else if (!common.quiet) {
    fmt::print(toStdout ? stderr : stdout, "read {} from card {} in {:.3f} s ({})\n", Amount(size),
               Hex(t.address), seconds, HumanRate(size / seconds));
  }
  return kExitOk;
}

int RunWrite(const CommonOptions& common, const TransferOptions& t) {
  std::unique_ptr<Source> source = MakeSource(t);
  Session session(common);
  Device& device = session.Open();
  CheckRange(device, t.address, source->size());
  const auto start = Clock::now();
  WriteCard(device, t.address, *source, t, !common.quiet);
  const double seconds = Seconds(start);
  if (common.json) {
    PrintJson(
        TransferJson("write", t.address, source->size(), seconds).Add("source", source->Json()));
  } else if (!common.quiet) {
    fmt::print("wrote {} from {} to card {} in {:.3f} s ({})\n", Amount(source->size()),
               source->Describe(), Hex(t.address), seconds, HumanRate(source->size() / seconds));
  }
  return kExitOk;
}

int RunVerify(const CommonOptions& common, const TransferOptions& t) {
  std::unique_ptr<Source> source = MakeSource(t);
  const uint64_t size = source->size();
  Session session(common);
  Device& device = session.Open();
  CheckRange(device, t.address, size);

  double writeSeconds = 0;
  if (!t.compareOnly) {
    const auto start = Clock::now();
    WriteCard(device, t.address, *source, t, !common.quiet);
    writeSeconds = Seconds(start);
  }

  struct Mismatch {
    uint64_t offset;
    unsigned expected;
    unsigned actual;
  };
  std::optional<Mismatch> first;
  uint64_t mismatched = 0;
  std::vector<std::byte> expected(std::min(ChunkOf(t), std::max<uint64_t>(size, 1)));
  const auto start = Clock::now();
  ReadCard(device, t.address, size, t, !common.quiet,
           [&](uint64_t offset, std::span<const std::byte> bytes) {
             std::span<std::byte> want(expected.data(), bytes.size());
             source->Read(offset, want);
             if (std::memcmp(want.data(), bytes.data(), bytes.size()) == 0) return;
             for (size_t i = 0; i < bytes.size(); ++i) {
               if (want[i] == bytes[i]) continue;
               if (!first) {
                 first = Mismatch{offset + i, static_cast<unsigned>(want[i]),
                                  static_cast<unsigned>(bytes[i])};
               }
               ++mismatched;
             }
           });
  const double readSeconds = Seconds(start);

  if (common.json) {
    JsonObject o;
    o.Add("operation", "verify").Add("address", t.address).Add("size", size);
    o.Add("source", source->Json()).Add("written", !t.compareOnly);
    o.Add("match", !first.has_value()).Add("mismatched_bytes", mismatched);
    if (first) {
      o.Add("first_mismatch", JsonObject()
                                  .Add("offset", first->offset)
                                  .Add("address", t.address + first->offset)
                                  .Add("expected", first->expected)
                                  .Add("actual", first->actual));
    }
    o.Add("write_seconds", writeSeconds).Add("read_seconds", readSeconds);
    PrintJson(o);
  } else if (first) {
    fmt::print(
        "verify: MISMATCH in {} bytes at card {}: first at card {} (offset {}): "
        "expected 0x{:02x}, read 0x{:02x}; {} bytes differ\n",
        size, Hex(t.address), Hex(t.address + first->offset), first->offset, first->expected,
        first->actual, mismatched);
  } else if (!common.quiet) {
    std::string timing =
        fmt::format("read {:.3f} s, {}", readSeconds, HumanRate(size / readSeconds));
    if (!t.compareOnly) {
      timing = fmt::format("write {:.3f} s, {}; {}", writeSeconds, HumanRate(size / writeSeconds),
                           timing);
    }
    fmt::print("verify: {} at card {} from {}: OK ({})\n", Amount(size), Hex(t.address),
               source->Describe(), timing);
  }
  return first ? kExitMismatch : kExitOk;
}

namespace {

constexpr uint64_t kDefaultLargestBenchSize = 64ull << 20;  // bench.cpp's default sizes end here

// Refuses, before a run of minutes, an output that could not be written at its end.
void CheckWritable(const std::string& option, const std::string& path, bool directory) {
  struct stat st{};
  std::string probe = path;
  if (stat(path.c_str(), &st) == 0) {
    if (directory != S_ISDIR(st.st_mode)) {
      Throw(kExitUsage, "usage",
            fmt::format("{} {}: {}", option, path,
                        directory ? "not a directory" : "a directory, not a file"));
    }
  } else if (directory) {
    Throw(kExitUsage, "usage", fmt::format("{} {}: {}", option, path, std::strerror(errno)));
  } else {
    const size_t slash = path.find_last_of('/');
    probe = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  }
  if (access(probe.c_str(), W_OK | (probe == path && !directory ? 0 : X_OK)) != 0) {
    Throw(kExitUsage, "usage",
          fmt::format("{} {}: cannot write there: {}", option, path, std::strerror(errno)));
  }
}

}  // namespace

int RunBench(const CommonOptions& common, const BenchOptions& options) {
  const uint64_t largest = options.sizes.empty()
                               ? kDefaultLargestBenchSize
                               : *std::max_element(options.sizes.begin(), options.sizes.end());
  if (options.address > UINT64_MAX - largest) {
    Throw(kExitUsage, "usage",
          fmt::format("--addr {}: transfers of up to {} bytes there run past the end of the "
                      "64-bit address space",
                      Hex(options.address), largest));
  }
  if (!options.csvFile.empty()) CheckWritable("--csv", options.csvFile, false);
  if (!options.plotDir.empty()) CheckWritable("--plots", options.plotDir, true);
  Session session(common);
  Device& device = session.Open();
  if (options.completion) {
    if (Status s = device.SetCompletionPolicy(*options.completion); !s) {
      ThrowStatus(s, "--completion");
    }
  }
  bench::Options o;
  o.sizes = options.sizes;
  o.paths = options.paths;
  o.minSeconds = options.minSeconds;
  o.minIterations = options.minIterations;
  o.cardAddress = options.address;
  o.device = common.device;
  const DeviceProbes probes = session.host().Probes();
  o.deviceRegisterRead = probes.registerRead;
  o.deviceTime = probes.engineTime;
  o.modelledTime = probes.modelledTime;
  o.streamGenerator = probes.streamGenerator;
  if (!options.instructionsFile.empty() &&
      !bench::ReadInstructionCounts(options.instructionsFile, &o.instructionsPerOp)) {
    Throw(kExitUsage, "usage",
          fmt::format("--cpu-ir {}: not a CSV with operation and ours_ir_per_op columns "
                      "(bench/callgrind.sh writes one)",
                      options.instructionsFile));
  }
  o.instructionsPerNs = options.instructionsPerNs;
  const HostDescription host = session.host().Describe();
  if (!host.timing.empty()) {
    o.platformNote = "emulated, timing " + host.timing + ", host timing " + host.hostTiming;
  }
  o.appCopyBytesPerNs = bench::AppCopyBytesPerNs(host.hostTiming);
  const bench::Report report = bench::Run(device, o);
  if (!options.csvFile.empty()) {
    std::ofstream csv(options.csvFile);
    csv << bench::FormatCsv(report);
    csv.close();
    if (!csv) ThrowErrno("cannot write", options.csvFile);
  }
  std::vector<std::string> plots;
  if (!options.plotDir.empty()) plots = bench::WriteSvgPlots(report, options.plotDir);
  if (common.json) {
    fmt::print("{}", bench::FormatJson(report));
  } else {
    fmt::print("{}", bench::FormatTable(report));
    if (const std::string choice = bench::FormatPathChoice(report); !choice.empty()) {
      fmt::print("\npredicted time of the automatic path against the best one:\n{}", choice);
    }
    if (const std::string cpu = bench::FormatCompletionTable(report); !cpu.empty()) {
      fmt::print("\nCPU time per operation by completion policy:\n{}", cpu);
    }
    for (const std::string& p : plots) fmt::print("plot: {}\n", p);
  }
  if (!report.error.empty()) throw CliError{kExitIo, "bench", std::nullopt, report.error};
  return kExitOk;
}

}  // namespace fpgadext::cli
