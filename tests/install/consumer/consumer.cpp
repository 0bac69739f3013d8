// A C++ program built against an installed fpgadext: lists the boards, moves 1 MiB + 7 bytes to
// an odd card address and back, through a registered buffer too, and reads the user BAR's ID
// register. Exit 0 when everything came back as sent.
#include <fpgadext/fpgadext.hpp>

#include <cstdio>
#include <vector>

int main() {
  const auto boards = fpgadext::Device::List();
  if (boards.empty()) {
    std::fprintf(stderr, "consumer: no board\n");
    return 1;
  }
  fpgadext::Device dev;
  if (auto s = fpgadext::Device::Open(0, &dev); !s) {
    std::fprintf(stderr, "consumer: %s (%s)\n", s.message(), fpgadext::IOReturnName(s.code()));
    return 1;
  }
  std::vector<std::byte> out((1 << 20) + 7), in(out.size());
  for (size_t i = 0; i < out.size(); ++i) out[i] = std::byte(i * 131 + 7);
  fpgadext::RegisteredBuffer registered;
  uint32_t id = 0;
  const bool ok = dev.Write(0x1003, out) && dev.Read(0x1003, in) && in == out &&
                  dev.Register(in, fpgadext::BufferDirection::kBoth, &registered) &&
                  dev.Write(0x20001, registered, 0, in.size()) &&
                  dev.Read(0x20001, std::span(out)) && in == out &&
                  dev.Read32(dev.info().userBar, 0, &id);
  std::printf("consumer: %zu board(s), %s, user block id 0x%08x\n", boards.size(),
              ok ? "1 MiB + 7 bytes round-tripped" : "FAILED", id);
  return ok ? 0 : 1;
}
