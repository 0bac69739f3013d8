// Several clients and threads at once: two Device objects (two user clients of the dext) and
// four threads doing mixed transfers — every size class and path — each on its own card region,
// each verified. The dext serialises a client's calls; the engine's channel pool shares the DMA
// channels between clients. Must be clean under TSan.
#include <atomic>
#include <cstring>
#include <random>
#include <thread>

#include "board_fixture.h"

namespace fpgadext::integration {
namespace {

class Concurrency : public BoardFixture {};

TEST_F(Concurrency, TwoClientsSeeEachOthersData) {
  Device second;
  Status s = Device::Open(0, &second);
  ASSERT_TRUE(s) << s.message();
  std::vector<std::byte> a(70001), b(70001), back(70001);
  FillPattern(a.data(), a.size(), 1);
  FillPattern(b.data(), b.size(), 2);
  ASSERT_TRUE(device().Write(0x100'0001, a));
  ASSERT_TRUE(second.Write(0x200'0003, b));
  ASSERT_TRUE(second.Read(0x100'0001, back));
  EXPECT_EQ(back, a);
  ASSERT_TRUE(device().Read(0x200'0003, back));
  EXPECT_EQ(back, b);
  second.Close();
  ASSERT_TRUE(device().Read(0x100'0001, back));  // the first client is unaffected
  EXPECT_EQ(back, a);
}

TEST_F(Concurrency, FourThreadsTwoClientsMixedTransfers) {
  Device second;
  Status opened = Device::Open(0, &second);
  ASSERT_TRUE(opened) << opened.message();
  constexpr int kThreads = 4;
  constexpr int kTransfers = 200;
  constexpr uint64_t kRegion = 64ull << 20;  // each thread's card region
  // Sizes of every class; the largest is kept moderate so 800 transfers stay quick (and TSan-able).
  const uint64_t kSizes[] = {0, 1, 3, 100, 4095, 4096, 4097, 20000, 65536, 300007};
  constexpr uint64_t kMaxSize = 300007;
  std::atomic<int> failures{0};

  auto worker = [&](int t) {
    Device& dev = t % 2 == 0 ? device() : second;
    const uint64_t base = (1ull << 30) + t * kRegion;
    std::mt19937_64 rng(1234 + t);
    PageBuffer out(kMaxSize + 4096), in(kMaxSize + 4096);
    RegisteredBuffer outReg, inReg;
    if (!dev.Register(out.span(0, out.size()), BufferDirection::kToCard, &outReg) ||
        !dev.Register(in.span(0, in.size()), BufferDirection::kFromCard, &inReg)) {
      ++failures;
      return;
    }
    for (int i = 0; i < kTransfers && failures == 0; ++i) {
      const uint64_t size = kSizes[rng() % std::size(kSizes)];
      const uint64_t appOffset = rng() % 4096;
      const uint64_t card = base + rng() % (kRegion - kMaxSize);
      const int path = static_cast<int>(rng() % 4);
      const uint64_t seed = (static_cast<uint64_t>(t) << 32) | i;
      FillPattern(out.data() + appOffset, size, seed);
      std::memset(in.data() + appOffset, 0, size);
      Status w, r;
      switch (path) {
        case 0:
          w = dev.Write(card, out.span(appOffset, size));
          r = dev.Read(card, in.span(appOffset, size));
          break;
        case 1: {  // the size's own IOKit structure path
          const TransferPath p = size <= 4096 ? TransferPath::kInband : TransferPath::kOutOfLine;
          w = dev.Write(card, out.span(appOffset, size), p);
          r = dev.Read(card, in.span(appOffset, size), p);
          break;
        }
        case 2:
          w = dev.Write(card, out.span(appOffset, size), TransferPath::kClientMemory);
          r = dev.Read(card, in.span(appOffset, size), TransferPath::kClientMemory);
          break;
        default:
          w = dev.Write(card, outReg, appOffset, size);
          r = dev.Read(card, inReg, appOffset, size);
          break;
      }
      if (!w || !r) {
        ADD_FAILURE() << "thread " << t << " transfer " << i << ": "
                      << (!w ? w.message() : r.message());
        ++failures;
        break;
      }
      const size_t bad = CheckPattern(in.data() + appOffset, size, seed);
      if (bad != size) {
        ADD_FAILURE() << "thread " << t << " transfer " << i << " (" << size << " bytes, path "
                      << path << "): byte " << bad << " differs";
        ++failures;
        break;
      }
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) threads.emplace_back(worker, t);
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
}

}  // namespace
}  // namespace fpgadext::integration
