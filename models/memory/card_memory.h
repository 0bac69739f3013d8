// Card memory of a model: a byte array of the board's AXI memory size, reserved up front and
// given physical pages only as it is touched (demand paging of an anonymous or file mapping), so
// a 1 GiB card costs what the tests write. Optionally backed by a file, so that consecutive
// programs see the same contents, like a board that stays powered.
//
// The bytes are contiguous: DMA moves a descriptor's data with one memcpy.
#pragma once

#include <cstdint>
#include <string>

namespace fpgadext::models {

class CardMemory {
 public:
  // `size` bytes, zero-filled (or the file's contents). With a `backingFile`, the file is created
  // or extended to `size` (sparse) and mapped shared; writes reach the file. Aborts if the
  // mapping cannot be made (a model without its memory is a programming error).
  explicit CardMemory(uint64_t size, const std::string& backingFile = {});
  ~CardMemory();
  CardMemory(const CardMemory&) = delete;
  CardMemory& operator=(const CardMemory&) = delete;

  uint64_t size() const { return size_; }
  uint8_t* data() { return data_; }
  // True when [address, address+length) lies inside the memory (no overflow).
  bool Contains(uint64_t address, uint64_t length) const {
    return address <= size_ && length <= size_ - address;
  }
  // Flushes a file-backed memory to its file (also done on destruction).
  void Sync();

 private:
  uint64_t size_;
  uint8_t* data_ = nullptr;
  int fd_ = -1;
};

}  // namespace fpgadext::models
