// `fpgadext stream send` and `fpgadext stream receive` (docs/streams.md): a file to a stream
// channel as packets, and packets from a stream channel to a file. Library API and host.h only,
// like every command.
#include <IOKit/IOReturn.h>
#include <fmt/format.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <vector>

#include "commands.h"
#include "output.h"

namespace fpgadext::cli {
namespace {

[[noreturn]] void Fail(const Status& status, std::string_view what, int exitCode = kExitIo) {
  const std::string message = status.message()[0] != '\0'
                                  ? fmt::format("{}: {}", what, status.message())
                                  : std::string(what);
  throw CliError{exitCode, IOReturnName(status.code()), static_cast<uint32_t>(status.code()),
                 message};
}

[[noreturn]] void FailFile(std::string_view what, const std::string& path) {
  throw CliError{kExitIo, "file", std::nullopt,
                 fmt::format("{} {}: {}", what, path, std::strerror(errno))};
}

// The host and the open board; the device closes before the host goes.
struct StreamSession {
  std::unique_ptr<Host> host;
  Device device;
  explicit StreamSession(const CommonOptions& common) {
    if (Status s = StartHost(common.host, &host); !s) Fail(s, "cannot start the host");
    if (Status s = Device::Open(common.device, &device); !s) {
      Fail(s, fmt::format("cannot open board {}", common.device),
           s.code() == kIOReturnNotFound ? kExitNoDevice : kExitIo);
    }
  }
};

StreamOptions OptionsOf(const StreamCommandOptions& o) {
  StreamOptions options;
  options.channel = o.channel;
  options.slots = o.slots;
  options.slotSize = o.slotSize;
  return options;
}

}  // namespace

int RunStreamSend(const CommonOptions& common, const StreamCommandOptions& o) {
  std::ifstream in(o.file, std::ios::binary);
  if (!in) FailFile("cannot open", o.file);
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)),
                                std::istreambuf_iterator<char>());
  if (bytes.empty()) {
    throw CliError{kExitUsage, "usage", std::nullopt,
                   "the file is empty: AXI-Stream has no empty packets"};
  }
  StreamSession session(common);
  Stream stream;
  if (Status s = session.device.OpenStream(StreamDirection::kToCard, OptionsOf(o), &stream); !s) {
    Fail(s, "cannot open a stream to the card");
  }
  const uint64_t packetSize = o.packetSize != 0 ? o.packetSize : bytes.size();
  const auto start = std::chrono::steady_clock::now();
  uint64_t packets = 0;
  for (uint64_t offset = 0; offset < bytes.size(); offset += packetSize) {
    const uint64_t length = std::min<uint64_t>(packetSize, bytes.size() - offset);
    const std::span<const std::byte> piece(
        reinterpret_cast<const std::byte*>(bytes.data()) + offset, length);
    if (Status s = stream.Send(piece, true); !s) Fail(s, "sending");
    ++packets;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (common.json) {
    fmt::print("{}\n", JsonObject()
                           .Add("operation", "stream-send")
                           .Add("channel", stream.channel())
                           .Add("packets", packets)
                           .Add("bytes", static_cast<uint64_t>(bytes.size()))
                           .Add("seconds", seconds)
                           .str());
  } else if (!common.quiet) {
    fmt::print("sent {} bytes as {} packet(s) on stream channel {}\n", bytes.size(), packets,
               stream.channel());
  }
  return kExitOk;
}

int RunStreamReceive(const CommonOptions& common, const StreamCommandOptions& o) {
  std::FILE* out = o.file == "-" ? stdout : std::fopen(o.file.c_str(), "wb");
  if (out == nullptr) FailFile("cannot create", o.file);
  StreamSession session(common);
  Stream stream;
  if (Status s = session.device.OpenStream(StreamDirection::kFromCard, OptionsOf(o), &stream); !s) {
    Fail(s, "cannot open a stream from the card");
  }
  const auto timeout = std::chrono::milliseconds(o.timeoutMs);
  uint64_t packets = 0, bytes = 0, firstBytes = 0;
  std::chrono::steady_clock::time_point first;
  while (packets < o.packets) {
    // Zero copy: each slot is written out as it is and handed back at once.
    StreamBuffer slot;
    if (Status s = stream.Receive(timeout, &slot); !s) {
      Fail(s, fmt::format("receiving packet {} of {}", packets + 1, o.packets));
    }
    if (slot.status() != kIOReturnSuccess) {
      Fail(Status(slot.status(), ""), "the card reported an error");
    }
    if (!slot.data().empty() &&
        std::fwrite(slot.data().data(), 1, slot.data().size(), out) != slot.data().size()) {
      FailFile("cannot write", o.file);
    }
    if (bytes == 0 && firstBytes == 0) {  // the rate counts from the first slot on
      first = std::chrono::steady_clock::now();
      firstBytes = slot.data().size();
    }
    bytes += slot.data().size();
    if (slot.endOfPacket()) ++packets;
  }
  if (out != stdout && std::fclose(out) != 0) FailFile("cannot write", o.file);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - first).count();
  // Continuous receive throughput: bytes after the first slot over the time since it landed.
  const double rate = seconds > 0 ? static_cast<double>(bytes - firstBytes) / seconds : 0;
  StreamCounters c;
  if (Status s = stream.Counters(&c); !s) Fail(s, "reading the counters");
  if (common.json) {
    fmt::print("{}\n", JsonObject()
                           .Add("operation", "stream-receive")
                           .Add("channel", stream.channel())
                           .Add("packets", packets)
                           .Add("bytes", bytes)
                           .Add("overruns", c.overruns)
                           .Add("dropped", c.dropped)
                           .Add("errors", c.errors)
                           .Add("seconds", seconds)
                           .Add("bytes_per_second", rate)
                           .str());
  } else if (!common.quiet) {
    fmt::print(stderr,
               "received {} packet(s), {} bytes on stream channel {} ({} overruns), {:.1f} MB/s\n",
               packets, bytes, stream.channel(), c.overruns, rate / 1e6);
  }
  return kExitOk;
}

}  // namespace fpgadext::cli
