#include "MultiMemoryMethods.h"

#include <DriverKit/IOLib.h>
#include <DriverKit/IOMemoryDescriptor.h>
#include <DriverKit/IOMemoryMap.h>

#include "conformance_protocol.h"
#include "multimem_protocol.h"

using namespace conformance;

namespace {

uint8_t PatternByte(uint64_t seed, uint64_t i) {
  return static_cast<uint8_t>(seed * 31 + i * 7 + (i >> 8));
}

kern_return_t Filled(uint64_t capacity, uint64_t setLength, uint64_t seed,
                     IOBufferMemoryDescriptor** buffer) {
  kern_return_t ret =
      IOBufferMemoryDescriptor::Create(kIOMemoryDirectionInOut, capacity, 0, buffer);
  if (ret != kIOReturnSuccess) return ret;
  IOAddressSegment range{};
  ret = (*buffer)->GetAddressRange(&range);
  if (ret != kIOReturnSuccess) return ret;
  auto* bytes = reinterpret_cast<uint8_t*>(range.address);
  for (uint64_t i = 0; i < range.length; ++i) bytes[i] = PatternByte(seed, i);
  if (setLength != kNoSetLength) ret = (*buffer)->SetLength(setLength);
  return ret;
}

kern_return_t MultiMap(IOUserClientMethodArguments* a) {
  const uint64_t* in = a->scalarInput;
  uint64_t* out = a->scalarOutput;
  if (a->scalarInputCount != 6 || a->scalarOutputCount < kMultiCount) return kIOReturnBadArgument;
  for (uint32_t i = 0; i < kMultiCount; ++i) out[i] = 0;
  a->scalarOutputCount = kMultiCount;
  IOBufferMemoryDescriptor* parts[2] = {};
  IOMemoryDescriptor* multi = nullptr;
  IOMemoryMap* map = nullptr;
  kern_return_t ret = Filled(in[0], in[1], 1, &parts[0]);
  if (ret == kIOReturnSuccess) ret = Filled(in[2], kNoSetLength, 2, &parts[1]);
  if (ret == kIOReturnSuccess) {
    IOMemoryDescriptor* const both[2] = {parts[0], parts[1]};
    ret = IOMemoryDescriptor::CreateWithMemoryDescriptors(kIOMemoryDirectionInOut, 2, both, &multi);
  }
  if (ret == kIOReturnSuccess) {
    out[kMultiStatus] =
        static_cast<uint32_t>(multi->CreateMapping(in[3], 0, in[4], in[5], 0, &map));
  } else {
    out[kMultiStatus] = static_cast<uint32_t>(ret);
  }
  if (map != nullptr) {
    out[kMultiLength] = map->GetLength();
    const auto* mapped = reinterpret_cast<volatile uint8_t*>(map->GetAddress());
    uint64_t hash = 0xcbf29ce484222325ull;  // FNV-1a 64
    for (uint64_t i = 0; i < map->GetLength(); ++i) hash = (hash ^ mapped[i]) * 0x100000001b3ull;
    out[kMultiHash] = hash;
    if ((in[3] & kIOMemoryMapReadOnly) == 0 && in[4] == 0) {
      reinterpret_cast<volatile uint8_t*>(map->GetAddress())[0] = 0xA5;
    }
    IOAddressSegment range{};
    if (parts[0]->GetAddressRange(&range) == kIOReturnSuccess) {
      out[kMultiFirstOfA] = reinterpret_cast<const uint8_t*>(range.address)[0];
    }
  }
  OSSafeReleaseNULL(map);
  OSSafeReleaseNULL(multi);
  OSSafeReleaseNULL(parts[0]);
  OSSafeReleaseNULL(parts[1]);
  return kIOReturnSuccess;
}

}  // namespace

kern_return_t MultiMemoryExternalMethod(uint64_t selector, IOUserClientMethodArguments* arguments,
                                        bool* handled) {
  *handled = selector == kSelMultiMap;
  return *handled ? MultiMap(arguments) : kIOReturnBadArgument;
}

kern_return_t MultiMemoryForType(uint64_t type, IOBufferMemoryDescriptor* shared,
                                 IOBufferMemoryDescriptor* small, IOMemoryDescriptor** memory,
                                 bool* handled) {
  *handled = true;
  if (type == kMemMultiSharedTwice) {
    IOMemoryDescriptor* const parts[2] = {shared, shared};
    return IOMemoryDescriptor::CreateWithMemoryDescriptors(kIOMemoryDirectionInOut, 2, parts,
                                                           memory);
  }
  if (type == kMemMultiShortFirst) {
    IOMemoryDescriptor* const parts[2] = {small, shared};
    return IOMemoryDescriptor::CreateWithMemoryDescriptors(kIOMemoryDirectionInOut, 2, parts,
                                                           memory);
  }
  *handled = false;
  return kIOReturnBadArgument;
}
