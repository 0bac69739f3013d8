// Info.plist loading: libplist parses XML or binary property lists; the result becomes OS
// containers, the form the kernel keeps personalities and properties in.
#include <DriverKit/OSCollections.h>
#include <plist/plist.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <vector>

#include "kernel.h"

namespace fpgadext::emu {
namespace {

// A string holding a NUL sets *malformed: the kernel reads the XML it unserializes as a
// NUL-terminated C string (xnu libkern/c++/OSUnserializeXML.y), so such a string never reaches
// it whole (and libplist's plist_get_string_val asserts on one).
OSObject* Convert(plist_t node, bool* malformed) {
  switch (plist_get_node_type(node)) {
    case PLIST_BOOLEAN: {
      uint8_t v = 0;
      plist_get_bool_val(node, &v);
      OSBoolean* b = v ? kOSBooleanTrue : kOSBooleanFalse;
      b->retain();
      return b;
    }
    case PLIST_UINT: {
      uint64_t v = 0;
      plist_get_uint_val(node, &v);
      return OSNumber::withNumber(v, 64);
    }
    case PLIST_STRING: {
      uint64_t length = 0;
      const char* v = plist_get_string_ptr(node, &length);
      if (v != nullptr && std::strlen(v) != length) {
        *malformed = true;
        return nullptr;
      }
      return OSString::withCString(v ? v : "");
    }
    case PLIST_DATA: {
      char* v = nullptr;
      uint64_t length = 0;
      plist_get_data_val(node, &v, &length);
      OSData* d = OSData::withBytes(v, length);
      std::free(v);
      return d;
    }
    case PLIST_ARRAY: {
      const uint32_t n = plist_array_get_size(node);
      OSArray* array = OSArray::withCapacity(n ? n : 1);
      for (uint32_t i = 0; i < n; ++i) {
        OSObject* item = Convert(plist_array_get_item(node, i), malformed);
        if (item == nullptr) continue;
        array->setObject(item);
        item->release();
      }
      return array;
    }
    case PLIST_DICT: {
      OSDictionary* dict = OSDictionary::withCapacity(plist_dict_get_size(node) + 1);
      plist_dict_iter it = nullptr;
      plist_dict_new_iter(node, &it);
      for (;;) {
        char* key = nullptr;
        plist_t value = nullptr;
        plist_dict_next_item(node, it, &key, &value);
        if (key == nullptr) break;
        if (OSObject* item = Convert(value, malformed)) {
          dict->setObject(key, item);
          item->release();
        }
        std::free(key);
      }
      std::free(it);
      return dict;
    }
    default:
      return nullptr;  // reals and dates: no personality key of ours uses them
  }
}

// Whether a binary property list holds a string or key with a NUL character (an ASCII string
// object with a 0 byte, a UTF-16 one with a 0 unit). libplist hands such keys out only through
// plist_get_key_val, which asserts on them, so they are found here, in the file's object table
// (format: the trailer's last 32 bytes give the offset size, the object count and the offset
// table's place). An inconsistent table is left to libplist, which refuses it.
bool BinaryPlistHoldsNul(const std::vector<char>& bytes) {
  const size_t size = bytes.size();
  if (size < 8 + 32 || std::memcmp(bytes.data(), "bplist00", 8) != 0) return false;
  const auto* b = reinterpret_cast<const uint8_t*>(bytes.data());
  auto number = [&](size_t at, unsigned width, uint64_t* value) {
    if (width == 0 || width > 8 || at > size || size - at < width) return false;
    *value = 0;
    for (unsigned i = 0; i < width; ++i) *value = *value << 8 | b[at + i];
    return true;
  };
  const uint8_t* trailer = b + size - 32;
  const unsigned offsetSize = trailer[6];
  uint64_t objects = 0, table = 0;
  if (!number(size - 24, 8, &objects) || !number(size - 8, 8, &table)) return false;
  for (uint64_t i = 0; i < objects; ++i) {
    uint64_t at = 0;
    if (i > size || !number(table + i * offsetSize, offsetSize, &at) || at >= size) return false;
    const unsigned kind = b[at] >> 4;
    if (kind != 0x5 && kind != 0x6) continue;  // ASCII or UTF-16 string
    uint64_t length = b[at] & 0xf;
    size_t start = at + 1;
    if (length == 0xf) {  // the length follows as an integer object
      if (start >= size || (b[start] >> 4) != 0x1) return false;
      const unsigned width = 1u << (b[start] & 0xf);
      if (!number(start + 1, width, &length)) return false;
      start += 1 + width;
    }
    const uint64_t unit = kind == 0x6 ? 2 : 1;
    if (length > size || start > size || (size - start) / unit < length) return false;
    for (uint64_t c = 0; c < length; ++c) {
      if (b[start + c * unit] == 0 && (unit == 1 || b[start + c * unit + 1] == 0)) return true;
    }
  }
  return false;
}

}  // namespace

IOReturn LoadPropertyList(const std::string& path, OSDictionary** result) {
  FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) return kIOReturnNotFound;
  std::vector<char> bytes;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, file)) > 0)
    bytes.insert(bytes.end(), buffer, buffer + n);
  std::fclose(file);
  if (BinaryPlistHoldsNul(bytes)) return kIOReturnBadArgument;  // see Convert's comment
  plist_t root = nullptr;
  plist_from_memory(bytes.data(), static_cast<uint32_t>(bytes.size()), &root);
  if (root == nullptr) return kIOReturnBadArgument;
  bool malformed = false;
  OSObject* converted = Convert(root, &malformed);
  plist_free(root);
  auto* dict = OSDynamicCast(OSDictionary, converted);
  if (dict == nullptr || malformed) {
    OSSafeReleaseNULL(converted);
    return kIOReturnBadArgument;
  }
  *result = dict;
  return kIOReturnSuccess;
}

}  // namespace fpgadext::emu
