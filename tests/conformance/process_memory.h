// Helpers for the memory, DMA, PCI and interrupt conformance tests: what /proc/self/maps says
// about an address (the protection a mapping really has), app memory the tests own, and bounded
// waits for asynchronous deliveries.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <thread>

namespace fpgadext::conformance {

struct ProcessMapping {
  bool mapped = false;
  std::string perms;  // "rw-p", "r--s", …
  std::string path;   // the pathname column ("" for anonymous memory)
};

// The mapping of this process that contains `address`, if any.
inline ProcessMapping MappingAt(uint64_t address) {
  ProcessMapping result;
  FILE* maps = std::fopen("/proc/self/maps", "r");
  if (maps == nullptr) return result;
  char line[1024];
  while (std::fgets(line, sizeof line, maps) != nullptr) {
    unsigned long long lo = 0, hi = 0;
    char perms[8] = {};
    int consumed = 0;
    if (std::sscanf(line, "%llx-%llx %7s %*s %*s %*s%n", &lo, &hi, perms, &consumed) < 3) continue;
    if (address < lo || address >= hi) continue;
    result.mapped = true;
    result.perms = perms;
    std::string rest = line + consumed;
    const size_t begin = rest.find_first_not_of(" \t");
    const size_t end = rest.find_last_not_of(" \t\n");
    result.path = begin == std::string::npos ? "" : rest.substr(begin, end - begin + 1);
    break;
  }
  std::fclose(maps);
  return result;
}

inline bool Readable(uint64_t address) {
  return MappingAt(address).perms.rfind("r", 0) == 0;
}
inline bool Writable(uint64_t address) {
  const std::string perms = MappingAt(address).perms;
  return perms.size() >= 2 && perms[1] == 'w';
}

// Replaces [address, address + length) with an inaccessible reservation (see AppPages::Unmap).
inline bool ReserveInaccessible(void* address, size_t length) {
  return mmap(address, length, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) ==
         address;
}

// Page-aligned anonymous memory the test owns (mmap), with a chosen protection.
class AppPages {
 public:
  explicit AppPages(size_t length, int protection = PROT_READ | PROT_WRITE)
      : length_(RoundUp(length)) {
    void* p = mmap(nullptr, length_, protection, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    data_ = p == MAP_FAILED ? nullptr : static_cast<uint8_t*>(p);
  }
  ~AppPages() {
    if (data_ != nullptr) munmap(data_, length_);
  }
  AppPages(const AppPages&) = delete;
  AppPages& operator=(const AppPages&) = delete;

  uint8_t* data() const { return data_; }
  uint64_t address() const { return reinterpret_cast<uint64_t>(data_); }
  size_t length() const { return length_; }
  // Turns the range into app memory the device can never be given: an inaccessible (PROT_NONE)
  // reservation, which the wiring check refuses as it refuses a hole. A real hole could be
  // filled by another thread's allocation before the test uses it (sanitizer allocators map
  // memory all the time); the reservation keeps the address range ours until the destructor.
  void Unmap() { ReserveInaccessible(data_, length_); }

 private:
  static size_t RoundUp(size_t n) {
    const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    return (n + page - 1) / page * page;
  }
  uint8_t* data_ = nullptr;
  size_t length_;
};

// Polls `done` until it holds or a generous timeout passes; returns its last value.
template <class Predicate>
bool WaitFor(Predicate done, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return done();
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

}  // namespace fpgadext::conformance
