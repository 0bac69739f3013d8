// Selectors and memory types of the conformance dext for descriptors made with
// IOMemoryDescriptor::CreateWithMemoryDescriptors (multi_memory_test.cpp), handled by
// MultiMemoryMethods.cpp.
#pragma once

#include <stdint.h>

namespace conformance {

enum MultiMemorySelector : uint32_t {
  // in: capacity of buffer A, SetLength of A (kNoSetLength: none), capacity of buffer B, map
  // options, map offset, map length. A is filled with Pattern(1, i), B with Pattern(2, i); the
  // dext maps CreateWithMemoryDescriptors(InOut, {A, B}) and, when the map is writable and
  // starts at offset 0, stores 0xA5 at its first byte. out: kMulti* below.
  kSelMultiMap = 76,
};

enum MultiMapOutput : uint32_t {
  kMultiStatus = 0,  // CreateMapping's result
  kMultiLength,      // the map's length
  kMultiHash,        // FNV-1a 64 of the map's bytes (before the store)
  kMultiFirstOfA,    // A's first byte read through A's own address after the store
  kMultiCount
};

// CopyClientMemoryForType types.
enum MultiMemoryType : uint64_t {
  kMemMultiSharedTwice = 4,  // {shared buffer, shared buffer}: each part 64 KiB
  kMemMultiShortFirst = 5,   // {4 KiB buffer, shared buffer}: the first part ends inside a page
};

}  // namespace conformance
