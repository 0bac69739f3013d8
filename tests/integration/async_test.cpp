// Async transfers (ReadAsync/WriteAsync, fpgadext_read_async): they return at once and complete
// through AsyncCompletion on the library's queue — callbacks and waits, many in flight, errors
// delivered asynchronously, and Close with transfers in flight.
#include <fpgadext/fpgadext.h>
#include <mach/kern_return.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>

#include "board_fixture.h"

namespace fpgadext::integration {
namespace {

using std::chrono::seconds;

class AsyncTest : public BoardFixture {};

TEST_F(AsyncTest, SizesAndMisalignmentsRoundTripByteForByte) {
  const size_t sizes[] = {1, 3, 4095, 4096, 4097, 65536, (1u << 20) + 7};
  uint64_t seed = 1;
  for (size_t size : sizes) {
    for (size_t misalign : {0u, 3u}) {
      SCOPED_TRACE(testing::Message() << "size " << size << " misalign " << misalign);
      PageBuffer source(size + 64), back(size + 64);
      FillPattern(source.data() + misalign, size, seed);
      const uint64_t card = 0x10'0000 * seed + misalign * 7 + 1;
      std::atomic<int> calls{0};
      std::atomic<uint64_t> called_bytes{0};
      AsyncOperation w = device().WriteAsync(card, source.span(misalign, size),
                                             [&](const Status& s, uint64_t bytes) {
                                               EXPECT_TRUE(s) << s.message();
                                               called_bytes = bytes;
                                               ++calls;
                                             });
      Status s = w.Wait(seconds(20));
      ASSERT_TRUE(s) << s.message();
      EXPECT_EQ(calls.load(), 1);
      EXPECT_EQ(called_bytes.load(), size);
      EXPECT_EQ(w.bytes(), size);
      AsyncOperation r = device().ReadAsync(card, back.span(misalign + 5, size));
      s = r.Wait(seconds(20));
      ASSERT_TRUE(s) << s.message();
      EXPECT_EQ(CheckPattern(back.data() + misalign + 5, size, seed), size);
      ++seed;
    }
  }
}

TEST_F(AsyncTest, ManyInFlightCompleteEachExactlyOnce) {
  constexpr int kOps = 24;
  constexpr size_t kSize = 64 * 1024 + 13;
  std::vector<std::unique_ptr<PageBuffer>> sources, backs;
  std::vector<AsyncOperation> ops;
  std::atomic<int> calls{0};
  for (int i = 0; i < kOps; ++i) {
    sources.push_back(std::make_unique<PageBuffer>(kSize));
    backs.push_back(std::make_unique<PageBuffer>(kSize));
    FillPattern(sources[i]->data(), kSize, 100 + i);
  }
  for (int i = 0; i < kOps; ++i) {
    ops.push_back(device().WriteAsync(0x4000'0000 + i * 0x2'0000, sources[i]->span(0, kSize),
                                      [&](const Status&, uint64_t) { ++calls; }));
  }
  for (auto& op : ops) ASSERT_TRUE(op.Wait(seconds(30)));
  EXPECT_EQ(calls.load(), kOps);
  ops.clear();
  for (int i = 0; i < kOps; ++i) {
    ops.push_back(device().ReadAsync(0x4000'0000 + i * 0x2'0000, backs[i]->span(0, kSize),
                                     [&](const Status&, uint64_t) { ++calls; }));
  }
  for (int i = 0; i < kOps; ++i) {
    Status s = ops[i].Wait(seconds(30));
    ASSERT_TRUE(s) << s.message();
    EXPECT_EQ(CheckPattern(backs[i]->data(), kSize, 100 + i), kSize) << "op " << i;
  }
  EXPECT_EQ(calls.load(), 2 * kOps);
}

TEST_F(AsyncTest, ErrorsAreDeliveredThroughTheCompletion) {
  PageBuffer buffer(8192);
  std::atomic<int> code{0};
  std::atomic<int> calls{0};
  auto record = [&](const Status& s, uint64_t) {
    code = s.code();
    ++calls;
  };
  // Outside the card.
  AsyncOperation op = device().ReadAsync(kCardMemory - 10, buffer.span(0, 100), record);
  Status s = op.Wait(seconds(10));
  EXPECT_EQ(s.code(), kIOReturnBadArgument) << s.message();
  EXPECT_EQ(code.load(), kIOReturnBadArgument);
  // Unmapped app memory: found when the dext prepares it, after the call returned.
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  void* p = mmap(nullptr, 4 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(p, MAP_FAILED);
  ASSERT_TRUE(ReserveInaccessible(p, 4 * page));
  op = device().ReadAsync(0x1000, {static_cast<std::byte*>(p), 3 * page}, record);
  s = op.Wait(seconds(10));
  EXPECT_EQ(s.code(), KERN_PROTECTION_FAILURE) << s.message();
  EXPECT_EQ(code.load(), KERN_PROTECTION_FAILURE);
  // Read-only app memory cannot be read into.
  void* ro = mmap(nullptr, 2 * page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(ro, MAP_FAILED);
  op = device().ReadAsync(0x1000, {static_cast<std::byte*>(ro), 2 * page}, record);
  s = op.Wait(seconds(10));
  EXPECT_EQ(s.code(), kIOReturnNotWritable) << s.message();
  munmap(ro, 2 * page);
  EXPECT_EQ(calls.load(), 3);
  // The device is fine afterwards.
  FillPattern(buffer.data(), 8192, 9);
  ASSERT_TRUE(device().WriteAsync(0x3000, buffer.span(0, 8192)).Wait(seconds(10)));
  PageBuffer back(8192);
  ASSERT_TRUE(device().Read(0x3000, back.span(0, 8192)));
  EXPECT_EQ(CheckPattern(back.data(), 8192, 9), 8192u);
}

TEST_F(AsyncTest, ZeroBytesAndClosedDeviceCompleteToo) {
  AsyncOperation op = device().ReadAsync(0, {});
  EXPECT_TRUE(op.Wait(seconds(5)));
  EXPECT_EQ(op.bytes(), 0u);
  Device closed;
  std::atomic<int> calls{0};
  op = closed.WriteAsync(0, {}, [&](const Status& s, uint64_t) {
    EXPECT_EQ(s.code(), kIOReturnNotOpen);
    ++calls;
  });
  EXPECT_EQ(op.Wait(seconds(5)).code(), kIOReturnNotOpen);
  EXPECT_EQ(calls.load(), 1);
}

TEST_F(AsyncTest, CloseWithTransfersInFlightCompletesThemAll) {
  Device other;
  ASSERT_TRUE(Device::Open(0, &other));
  constexpr int kOps = 12;
  constexpr size_t kSize = 256u << 10;
  std::vector<std::unique_ptr<PageBuffer>> buffers;
  std::vector<AsyncOperation> ops;
  std::atomic<int> calls{0};
  for (int i = 0; i < kOps; ++i) {
    buffers.push_back(std::make_unique<PageBuffer>(kSize));
    ops.push_back(other.ReadAsync(
        0x8000'0000 + i * kSize, buffers[i]->span(0, kSize), [&](const Status& s, uint64_t) {
          EXPECT_TRUE(s.ok() || s.code() == kIOReturnAborted) << s.message();
          ++calls;
        }));
  }
  other.Close();
  EXPECT_EQ(calls.load(), kOps);
  for (auto& op : ops) {
    EXPECT_TRUE(op.done());
    const Status s = op.Wait(seconds(0));
    EXPECT_TRUE(s.ok() || s.code() == kIOReturnAborted) << s.message();
  }
  // The board still works for the others.
  PageBuffer b(4096);
  EXPECT_TRUE(device().Read(0, b.span(0, 4096)));
}

struct CState {
  std::atomic<int> calls{0};
  std::atomic<int> status{-1};
};

TEST_F(AsyncTest, CApiReadAndWriteAsync) {
  fpgadext_device* dev = nullptr;
  ASSERT_EQ(fpgadext_open(0, &dev), 0);
  std::vector<std::byte> data(10000), back(10000);
  FillPattern(data.data(), data.size(), 77);
  CState state;
  auto callback = [](void* context, int status, uint64_t) {
    auto* s = static_cast<CState*>(context);
    s->status = status;
    ++s->calls;
  };
  fpgadext_op* op = nullptr;
  ASSERT_EQ(fpgadext_write_async(dev, 0x5001, data.size(), data.data(), callback, &state, &op), 0);
  uint64_t bytes = 0;
  EXPECT_EQ(fpgadext_wait(op, 10'000'000'000ull, &bytes), 0);
  EXPECT_EQ(bytes, data.size());
  fpgadext_op_free(op);
  ASSERT_EQ(fpgadext_read_async(dev, 0x5001, back.size(), back.data(), nullptr, nullptr, &op), 0);
  EXPECT_EQ(fpgadext_wait(op, UINT64_MAX, nullptr), 0);
  fpgadext_op_free(op);
  EXPECT_EQ(CheckPattern(back.data(), back.size(), 77), back.size());
  ASSERT_EQ(fpgadext_read_async(dev, ~0ull - 4, 100, back.data(), callback, &state, &op), 0);
  EXPECT_EQ(fpgadext_wait(op, UINT64_MAX, nullptr), kIOReturnBadArgument);
  fpgadext_op_free(op);
  EXPECT_EQ(state.calls.load(), 2);
  EXPECT_EQ(state.status.load(), kIOReturnBadArgument);
  EXPECT_EQ(fpgadext_read_async(nullptr, 0, 1, back.data(), nullptr, nullptr, &op),
            kIOReturnBadArgument);
  fpgadext_close(dev);
}

}  // namespace
}  // namespace fpgadext::integration
