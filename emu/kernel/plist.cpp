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
    case PLIST_REAL: {
      // The personalities reach the kernel serialized from CF objects, and IOKitUser's
      // IOCFSerialize.c writes every CFNumber, a real too, as an <integer> of its integer part.
      double v = 0;
      plist_get_real_val(node, &v);
      const bool fits = v > -9.3e18 && v < 9.3e18;  // NaN and out-of-range: 0, not UB
      return OSNumber::withNumber(static_cast<uint64_t>(fits ? static_cast<int64_t>(v) : 0), 64);
    }
    default:
      // Dates and the rest: IOCFSerialize.c has no case for them and writes a placeholder string
      // in their place. Never dropped: the value still replaces an earlier one of its key.
      return OSString::withCString("(a value of a type the serializer does not carry)");
  }
}

// Whether a binary property list holds a string or key with a NUL character. It reaches the
// kernel as XML text (xnu libkern/c++/OSUnserializeXML.y reads it as a NUL-terminated C string),
// so it is written as XML here too and a NUL in that text refuses it. (libplist hands keys out
// only through plist_get_key_val, which asserts on a NUL; its XML writer does not.)
bool BinaryPlistHoldsNul(plist_t root) {
  char* xml = nullptr;
  uint32_t length = 0;
  plist_to_xml(root, &xml, &length);
  const bool nul = xml == nullptr || std::memchr(xml, 0, length) != nullptr;
  plist_to_xml_free(xml);
  return nul;
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
  plist_t root = nullptr;
  plist_from_memory(bytes.data(), static_cast<uint32_t>(bytes.size()), &root);
  if (root == nullptr) return kIOReturnBadArgument;
  if (bytes.size() >= 8 && std::memcmp(bytes.data(), "bplist00", 8) == 0 &&
      BinaryPlistHoldsNul(root)) {
    plist_free(root);
    return kIOReturnBadArgument;
  }
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
