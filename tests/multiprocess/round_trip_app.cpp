// A library app for the multi-process tests: nothing in it knows of the emulation. Its IOKitLib
// reaches the machine daemon named by FPGADEXT_MACHINE.
//   round_trip_app check CARD SIZE SEED   reads SIZE bytes at CARD and checks the pattern SEED
//   round_trip_app loop CARD SIZE         writes SIZE bytes at CARD again and again; prints
//                                         "ready" once the first write is done (to be killed)
#include <fpgadext/fpgadext.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "pattern_bytes.h"

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s check|loop CARD SIZE [SEED]\n", argv[0]);
    return 2;
  }
  const uint64_t card = std::strtoull(argv[2], nullptr, 0);
  const uint64_t size = std::strtoull(argv[3], nullptr, 0);
  fpgadext::Device device;
  if (fpgadext::Status s = fpgadext::Device::Open(0, &device); !s) {
    std::fprintf(stderr, "open: %s\n", s.message());
    return 1;
  }
  std::vector<std::byte> bytes(size);
  if (std::strcmp(argv[1], "check") == 0 && argc == 5) {
    if (fpgadext::Status s = device.Read(card, bytes); !s) {
      std::fprintf(stderr, "read: %s\n", s.message());
      return 1;
    }
    const std::vector<std::byte> expected =
        fpgadext::test::PatternBytes(size, std::strtoull(argv[4], nullptr, 0));
    if (bytes != expected) {
      std::fprintf(stderr, "the card's bytes differ from pattern %s\n", argv[4]);
      return 1;
    }
    return 0;
  }
  if (std::strcmp(argv[1], "loop") == 0) {
    bytes = fpgadext::test::PatternBytes(size, 99);
    for (bool first = true;; first = false) {
      if (fpgadext::Status s = device.Write(card, bytes); !s) {
        std::fprintf(stderr, "write: %s\n", s.message());
        return 1;
      }
      if (first) {
        std::printf("ready\n");
        std::fflush(stdout);
      }
    }
  }
  std::fprintf(stderr, "unknown mode %s\n", argv[1]);
  return 2;
}
