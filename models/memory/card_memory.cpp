#include "card_memory.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

namespace fpgadext::models {
namespace {

[[noreturn]] void Fail(const char* what, const std::string& file) {
  std::fprintf(stderr, "fpgadext model: card memory: %s %s\n", what, file.c_str());
  std::abort();
}

}  // namespace

CardMemory::CardMemory(uint64_t size, const std::string& backingFile) : size_(size) {
  if (size_ == 0) return;
  void* p = MAP_FAILED;
  if (backingFile.empty()) {
    p = mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
             -1, 0);
  } else {
    fd_ = open(backingFile.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) Fail("cannot open", backingFile);
    struct stat st{};
    if (fstat(fd_, &st) != 0) Fail("cannot stat", backingFile);
    if (static_cast<uint64_t>(st.st_size) < size_ &&
        ftruncate(fd_, static_cast<off_t>(size_)) != 0) {
      Fail("cannot extend", backingFile);
    }
    p = mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0);
  }
  if (p == MAP_FAILED) Fail("cannot map", backingFile);
  data_ = static_cast<uint8_t*>(p);
}

CardMemory::~CardMemory() {
  if (data_ != nullptr) {
    if (fd_ >= 0) msync(data_, size_, MS_SYNC);
    munmap(data_, size_);
  }
  if (fd_ >= 0) close(fd_);
}

void CardMemory::Sync() {
  if (data_ != nullptr && fd_ >= 0) msync(data_, size_, MS_SYNC);
}

}  // namespace fpgadext::models
