#include "timing.h"

#include <thread>

namespace fpgadext::models {

// Arithmetic and sources in docs/models.md "Timing presets".
LinkTiming LinkTiming::Thunderbolt3() {
  LinkTiming t;
  t.enabled = true;
  t.h2cBytesPerSecond = 2.8e9;
  t.c2hBytesPerSecond = 2.8e9;
  t.mmioReadNs = 1000;
  t.postedWriteNs = 100;
  t.descriptorFetchNs = 1000;
  t.writebackNs = 500;
  return t;
}

LinkTiming LinkTiming::Gen3x8() {
  LinkTiming t;
  t.enabled = true;
  t.h2cBytesPerSecond = 6.6e9;
  t.c2hBytesPerSecond = 6.6e9;
  t.mmioReadNs = 700;
  t.postedWriteNs = 50;
  t.descriptorFetchNs = 700;
  t.writebackNs = 300;
  return t;
}

LinkTiming LinkTiming::Gen4x16() {
  LinkTiming t;
  t.enabled = true;
  t.h2cBytesPerSecond = 26.0e9;
  t.c2hBytesPerSecond = 26.0e9;
  t.mmioReadNs = 600;
  t.postedWriteNs = 50;
  t.descriptorFetchNs = 600;
  t.writebackNs = 300;
  return t;
}

void DelayUntil(std::chrono::steady_clock::time_point deadline) {
  constexpr auto kSpinPart = std::chrono::microseconds(100);
  auto now = std::chrono::steady_clock::now();
  if (deadline - now > 2 * kSpinPart) {
    std::this_thread::sleep_until(deadline - kSpinPart);
  }
  while (std::chrono::steady_clock::now() < deadline) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
  }
}

namespace {
std::atomic<uint64_t> gModelledNs{0};
}  // namespace

uint64_t ModelledLinkNs() {
  return gModelledNs.load(std::memory_order_relaxed);
}

void DelayNs(uint64_t ns) {
  if (ns == 0) return;
  gModelledNs.fetch_add(ns, std::memory_order_relaxed);
  DelayUntil(std::chrono::steady_clock::now() + std::chrono::nanoseconds(ns));
}

std::chrono::steady_clock::time_point LinkPacer::Reserve(uint64_t bytes, double bytesPerSecond) {
  if (bytesPerSecond <= 0 || bytes == 0) return {};
  const auto duration = std::chrono::nanoseconds(
      static_cast<int64_t>(static_cast<double>(bytes) * 1e9 / bytesPerSecond));
  gModelledNs.fetch_add(static_cast<uint64_t>(duration.count()), std::memory_order_relaxed);
  std::lock_guard guard(lock_);
  const auto now = std::chrono::steady_clock::now();
  const auto start = nextFree_ > now ? nextFree_ : now;
  nextFree_ = start + duration;
  return nextFree_;
}

void LinkPacer::Transfer(uint64_t bytes, double bytesPerSecond) {
  const auto done = Reserve(bytes, bytesPerSecond);
  if (done != std::chrono::steady_clock::time_point{}) DelayUntil(done);
}

}  // namespace fpgadext::models
