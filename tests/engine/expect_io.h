// ExpectIo: a RegisterIo that checks an exact sequence of register accesses (style.md "What to
// absorb" 6, like hwreg::Mock). The test lists the accesses it expects, in order, with typed
// register addresses (xdma_registers.h): each read returns its scripted value, each write must
// carry the expected value. Every access is also recorded, so a failure shows what happened.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace fpgadext::engine::test {

class ExpectIo {
 public:
  struct Access {
    bool write;
    uint32_t offset;
    uint32_t value;  // read: what the device returns; write: what must be written
  };

  // Expect a read of `reg`'s address, answered with `value`.
  template <class Addr>
  ExpectIo& Read(const Addr& reg, uint32_t value) {
    expected_.push_back(Access{false, reg.addr(), value});
    return *this;
  }
  // Expect a write of exactly `value` to `reg`'s address.
  template <class Addr>
  ExpectIo& Write(const Addr& reg, uint32_t value) {
    expected_.push_back(Access{true, reg.addr(), value});
    return *this;
  }

  uint32_t Read32(uint32_t offset) {
    log_.push_back(Access{false, offset, 0});
    const Access* next = Next();
    uint32_t value = 0xFFFF'FFFFu;  // unexpected reads see a removed board
    if (next == nullptr || next->write || next->offset != offset) {
      Mismatch(Access{false, offset, 0}, next);
    } else {
      value = next->value;
    }
    log_.back().value = value;
    return value;
  }
  void Write32(uint32_t offset, uint32_t value) {
    log_.push_back(Access{true, offset, value});
    const Access* next = Next();
    if (next == nullptr || !next->write || next->offset != offset || next->value != value) {
      Mismatch(Access{true, offset, value}, next);
    }
  }

  // Empty when every expected access happened, in order, and nothing else; else what differed.
  std::string Verify() const {
    std::string out = errors_;
    if (position_ < expected_.size()) {
      out += "missing: " + Describe(expected_[position_]) + " and " +
             std::to_string(expected_.size() - position_ - 1) + " more\n";
    }
    return out;
  }
  const std::vector<Access>& log() const { return log_; }
  // Forgets what was expected and seen (e.g. after a setup step checked on its own).
  void Reset() {
    expected_.clear();
    log_.clear();
    errors_.clear();
    position_ = 0;
  }

  static std::string Describe(const Access& a) {
    char text[64];
    std::snprintf(text, sizeof text, "%s 0x%04x = 0x%08x", a.write ? "write" : "read ", a.offset,
                  a.value);
    return text;
  }

 private:
  const Access* Next() {
    if (position_ >= expected_.size()) return nullptr;
    return &expected_[position_++];
  }
  void Mismatch(const Access& actual, const Access* expected) {
    errors_ += "access " + std::to_string(log_.size()) + ": " + Describe(actual) + ", expected " +
               (expected == nullptr ? std::string("nothing") : Describe(*expected)) + "\n";
  }

  std::vector<Access> expected_;
  std::vector<Access> log_;
  std::string errors_;
  size_t position_ = 0;
};

}  // namespace fpgadext::engine::test
