// The emulated CoreFoundation subset (CF-1153.18 semantics): reference-counted strings, numbers,
// booleans, data, arrays and dictionaries. Misuse that crashes CoreFoundation (a NULL or
// wrong-typed object, a release past zero) aborts here with a message.
#include <CoreFoundation/CoreFoundation.h>

#include <time.h>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
#include <mutex>

#include "cf_internal.h"

namespace cf = fpgadext::emu::cf;

struct __CFNull : cf::Object {
  __CFNull() : Object(cf::kNull, true) {}
};
struct __CFAllocator : cf::Object {
  __CFAllocator() : Object(cf::kAllocator, true) {}
};

namespace fpgadext::emu::cf {

Object* Get(CFTypeRef ref, const char* function) {
  if (ref == nullptr) {
    std::fprintf(stderr, "%s called with NULL\n", function);
    std::abort();
  }
  return const_cast<Object*>(static_cast<const Object*>(ref));
}

void WrongType(const char* function) {
  std::fprintf(stderr, "%s: object of the wrong type\n", function);
  std::abort();
}

}  // namespace fpgadext::emu::cf

namespace {

__CFNull gNull;
__CFBoolean gTrue(true);
__CFBoolean gFalse(false);

CFIndex ByteSize(CFNumberType type) {
  switch (type) {
    case kCFNumberSInt8Type:
    case kCFNumberCharType:
      return 1;
    case kCFNumberSInt16Type:
    case kCFNumberShortType:
      return 2;
    case kCFNumberSInt32Type:
    case kCFNumberIntType:
    case kCFNumberFloat32Type:
    case kCFNumberFloatType:
      return 4;
    default:
      return 8;
  }
}

// The type CoreFoundation stores a value of `type` as.
CFNumberType Canonical(CFNumberType type) {
  switch (type) {
    case kCFNumberSInt8Type:
    case kCFNumberCharType:
      return kCFNumberSInt8Type;
    case kCFNumberSInt16Type:
    case kCFNumberShortType:
      return kCFNumberSInt16Type;
    case kCFNumberSInt32Type:
    case kCFNumberIntType:
      return kCFNumberSInt32Type;
    case kCFNumberFloat32Type:
    case kCFNumberFloatType:
      return kCFNumberFloat32Type;
    case kCFNumberFloat64Type:
    case kCFNumberDoubleType:
    case kCFNumberCGFloatType:
      return kCFNumberFloat64Type;
    default:
      return kCFNumberSInt64Type;
  }
}

bool IsFloat(CFNumberType type) {
  const CFNumberType c = Canonical(type);
  return c == kCFNumberFloat32Type || c == kCFNumberFloat64Type;
}

bool ValidType(CFNumberType type) {
  return type >= kCFNumberSInt8Type && type <= kCFNumberMaxType;
}

template <class T>
bool StoreInteger(int64_t v, void* out) {
  const T t = static_cast<T>(v);
  std::memcpy(out, &t, sizeof t);
  return static_cast<int64_t>(t) == v;
}

CFStringRef NewString(std::string s) {
  return new __CFString(std::move(s));
}

}  // namespace

__CFArray::~__CFArray() {
  for (CFTypeRef v : values) CFRelease(v);
}

__CFDictionary::~__CFDictionary() {
  for (auto& [k, v] : entries) {
    CFRelease(k);
    CFRelease(v);
  }
}

extern "C" {

const CFNullRef kCFNull = &gNull;
const CFBooleanRef kCFBooleanTrue = &gTrue;
const CFBooleanRef kCFBooleanFalse = &gFalse;
// The default allocator is NULL, as in CoreFoundation; the others are distinct constants.
const CFAllocatorRef kCFAllocatorDefault = nullptr;
static __CFAllocator gSystemAllocator, gMallocAllocator, gNullAllocator;
const CFAllocatorRef kCFAllocatorSystemDefault = &gSystemAllocator;
const CFAllocatorRef kCFAllocatorMalloc = &gMallocAllocator;
const CFAllocatorRef kCFAllocatorNull = &gNullAllocator;

const CFArrayCallBacks kCFTypeArrayCallBacks = {0, nullptr, nullptr, nullptr, nullptr};
const CFDictionaryKeyCallBacks kCFTypeDictionaryKeyCallBacks = {0,       nullptr, nullptr,
                                                                nullptr, nullptr, nullptr};
const CFDictionaryKeyCallBacks kCFCopyStringDictionaryKeyCallBacks = {0,       nullptr, nullptr,
                                                                      nullptr, nullptr, nullptr};
const CFDictionaryValueCallBacks kCFTypeDictionaryValueCallBacks = {0, nullptr, nullptr, nullptr,
                                                                    nullptr};
const CFTimeInterval kCFAbsoluteTimeIntervalSince1970 = 978307200.0;
const CFTimeInterval kCFAbsoluteTimeIntervalSince1904 = 3061152000.0;

CFTypeID CFNullGetTypeID(void) {
  return cf::kNull;
}
CFTypeID CFAllocatorGetTypeID(void) {
  return cf::kAllocator;
}
CFTypeID CFStringGetTypeID(void) {
  return cf::kString;
}
CFTypeID CFNumberGetTypeID(void) {
  return cf::kNumber;
}
CFTypeID CFBooleanGetTypeID(void) {
  return cf::kBoolean;
}
CFTypeID CFDataGetTypeID(void) {
  return cf::kData;
}
CFTypeID CFArrayGetTypeID(void) {
  return cf::kArray;
}
CFTypeID CFDictionaryGetTypeID(void) {
  return cf::kDictionary;
}

CFTypeID CFGetTypeID(CFTypeRef ref) {
  return cf::Get(ref, "CFGetTypeID")->type;
}

CFTypeRef CFRetain(CFTypeRef ref) {
  cf::Object* o = cf::Get(ref, "CFRetain");
  if (!o->immortal) o->references.fetch_add(1, std::memory_order_relaxed);
  return ref;
}

void CFRelease(CFTypeRef ref) {
  cf::Object* o = cf::Get(ref, "CFRelease");
  if (o->immortal) return;
  const CFIndex before = o->references.fetch_sub(1, std::memory_order_acq_rel);
  if (before <= 0) {
    std::fprintf(stderr, "CFRelease: object released too many times\n");
    std::abort();
  }
  if (before == 1) delete o;
}

CFIndex CFGetRetainCount(CFTypeRef ref) {
  cf::Object* o = cf::Get(ref, "CFGetRetainCount");
  return o->immortal ? std::numeric_limits<CFIndex>::max() : o->references.load();
}

CFAllocatorRef CFGetAllocator(CFTypeRef ref) {
  cf::Get(ref, "CFGetAllocator");
  return kCFAllocatorSystemDefault;
}

Boolean CFEqual(CFTypeRef a, CFTypeRef b) {
  cf::Object* x = cf::Get(a, "CFEqual");
  cf::Object* y = cf::Get(b, "CFEqual");
  if (x == y) return true;
  if (x->type != y->type) return false;
  switch (x->type) {
    case cf::kString:
      return static_cast<__CFString*>(x)->value == static_cast<__CFString*>(y)->value;
    case cf::kNumber:
      return CFNumberCompare(static_cast<CFNumberRef>(a), static_cast<CFNumberRef>(b), nullptr) ==
             kCFCompareEqualTo;
    case cf::kData:
      return static_cast<__CFData*>(x)->bytes == static_cast<__CFData*>(y)->bytes;
    case cf::kArray: {
      auto& p = static_cast<__CFArray*>(x)->values;
      auto& q = static_cast<__CFArray*>(y)->values;
      if (p.size() != q.size()) return false;
      for (size_t i = 0; i < p.size(); ++i) {
        if (!CFEqual(p[i], q[i])) return false;
      }
      return true;
    }
    case cf::kDictionary: {
      auto* p = static_cast<__CFDictionary*>(x);
      auto* q = static_cast<__CFDictionary*>(y);
      if (p->entries.size() != q->entries.size()) return false;
      for (auto& [k, v] : p->entries) {
        const void* other = nullptr;
        if (!CFDictionaryGetValueIfPresent(q, k, &other) || !CFEqual(v, other)) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

CFHashCode CFHash(CFTypeRef ref) {
  cf::Object* o = cf::Get(ref, "CFHash");
  if (o->type == cf::kString) return std::hash<std::string>()(static_cast<__CFString*>(o)->value);
  if (o->type == cf::kNumber) {
    auto* n = static_cast<__CFNumber*>(o);
    return n->isFloat ? std::hash<double>()(n->real) : std::hash<int64_t>()(n->integer);
  }
  return reinterpret_cast<CFHashCode>(o);
}

CFStringRef CFCopyTypeIDDescription(CFTypeID id) {
  switch (id) {
    case cf::kString:
      return NewString("CFString");
    case cf::kNumber:
      return NewString("CFNumber");
    case cf::kBoolean:
      return NewString("CFBoolean");
    case cf::kData:
      return NewString("CFData");
    case cf::kArray:
      return NewString("CFArray");
    case cf::kDictionary:
      return NewString("CFDictionary");
    case cf::kNull:
      return NewString("CFNull");
    case cf::kRunLoop:
      return NewString("CFRunLoop");
    case cf::kRunLoopSource:
      return NewString("CFRunLoopSource");
    default:
      return nullptr;
  }
}

CFStringRef CFCopyDescription(CFTypeRef ref) {
  cf::Object* o = cf::Get(ref, "CFCopyDescription");
  char text[64];
  switch (o->type) {
    case cf::kString:
      return NewString(static_cast<__CFString*>(o)->value);
    case cf::kNumber: {
      auto* n = static_cast<__CFNumber*>(o);
      if (n->isFloat) {
        std::snprintf(text, sizeof text, "%g", n->real);
      } else {
        std::snprintf(text, sizeof text, "%lld", static_cast<long long>(n->integer));
      }
      return NewString(text);
    }
    case cf::kBoolean:
      return NewString(static_cast<__CFBoolean*>(o)->value ? "true" : "false");
    default: {
      CFStringRef type = CFCopyTypeIDDescription(o->type);
      std::snprintf(text, sizeof text, "<%s %p>", type ? type->value.c_str() : "CFType",
                    static_cast<void*>(o));
      if (type) CFRelease(type);
      return NewString(text);
    }
  }
}

void CFShow(CFTypeRef obj) {
  CFStringRef d = CFCopyDescription(obj);
  std::fprintf(stderr, "%s\n", d->value.c_str());
  CFRelease(d);
}

// Strings.

CFStringRef __CFStringMakeConstantString(const char* cStr) {
  static std::mutex lock;
  static auto* table = new std::map<std::string, __CFString*>;  // interned, never freed
  std::lock_guard guard(lock);
  auto [it, inserted] = table->try_emplace(cStr, nullptr);
  if (inserted) it->second = new __CFString(cStr, /*isImmortal=*/true);
  return it->second;
}

CFStringRef CFStringCreateWithCString(CFAllocatorRef, const char* cStr, CFStringEncoding) {
  if (cStr == nullptr) {
    std::fprintf(stderr, "CFStringCreateWithCString called with NULL\n");
    std::abort();
  }
  return NewString(cStr);
}

CFStringRef CFStringCreateWithBytes(CFAllocatorRef, const UInt8* bytes, CFIndex numBytes,
                                    CFStringEncoding, Boolean) {
  return NewString(
      std::string(reinterpret_cast<const char*>(bytes), static_cast<size_t>(numBytes)));
}

CFStringRef CFStringCreateCopy(CFAllocatorRef, CFStringRef s) {
  return NewString(cf::As<__CFString>(s, cf::kString, "CFStringCreateCopy")->value);
}

CFStringRef CFStringCreateWithFormat(CFAllocatorRef, CFDictionaryRef, CFStringRef format, ...) {
  // Only C-style conversions; %@ is not supported.
  const std::string& f = cf::As<__CFString>(format, cf::kString, "CFStringCreateWithFormat")->value;
  va_list args, copy;
  va_start(args, format);
  va_copy(copy, args);
  const int n = std::vsnprintf(nullptr, 0, f.c_str(), args);
  std::string out(n > 0 ? static_cast<size_t>(n) : 0, '\0');
  if (n > 0) std::vsnprintf(out.data(), out.size() + 1, f.c_str(), copy);
  va_end(copy);
  va_end(args);
  return NewString(out);
}

CFIndex CFStringGetLength(CFStringRef s) {
  // UTF-16 units; the emulation's strings are ASCII in practice.
  return static_cast<CFIndex>(
      cf::As<__CFString>(s, cf::kString, "CFStringGetLength")->value.size());
}

Boolean CFStringGetCString(CFStringRef s, char* buffer, CFIndex bufferSize, CFStringEncoding) {
  const std::string& v = cf::As<__CFString>(s, cf::kString, "CFStringGetCString")->value;
  if (buffer == nullptr || bufferSize <= 0 || static_cast<CFIndex>(v.size()) + 1 > bufferSize) {
    return false;  // does not fit with its terminator: nothing usable is written
  }
  std::memcpy(buffer, v.c_str(), v.size() + 1);
  return true;
}

const char* CFStringGetCStringPtr(CFStringRef s, CFStringEncoding) {
  // Allowed to return NULL at any time; callers must fall back to CFStringGetCString.
  return cf::As<__CFString>(s, cf::kString, "CFStringGetCStringPtr")->value.c_str();
}

CFIndex CFStringGetMaximumSizeForEncoding(CFIndex length, CFStringEncoding encoding) {
  return encoding == kCFStringEncodingUTF8 ? length * 3 : length;
}

CFComparisonResult CFStringCompare(CFStringRef a, CFStringRef b, CFStringCompareFlags flags) {
  std::string x = cf::As<__CFString>(a, cf::kString, "CFStringCompare")->value;
  std::string y = cf::As<__CFString>(b, cf::kString, "CFStringCompare")->value;
  if (flags & kCFCompareCaseInsensitive) {
    for (char& c : x) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (char& c : y) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  const int c = x.compare(y);
  return c < 0 ? kCFCompareLessThan : c > 0 ? kCFCompareGreaterThan : kCFCompareEqualTo;
}

Boolean CFStringHasPrefix(CFStringRef s, CFStringRef prefix) {
  const std::string& v = cf::As<__CFString>(s, cf::kString, "CFStringHasPrefix")->value;
  const std::string& p = cf::As<__CFString>(prefix, cf::kString, "CFStringHasPrefix")->value;
  return v.compare(0, p.size(), p) == 0;
}

Boolean CFStringHasSuffix(CFStringRef s, CFStringRef suffix) {
  const std::string& v = cf::As<__CFString>(s, cf::kString, "CFStringHasSuffix")->value;
  const std::string& p = cf::As<__CFString>(suffix, cf::kString, "CFStringHasSuffix")->value;
  return v.size() >= p.size() && v.compare(v.size() - p.size(), p.size(), p) == 0;
}

// Numbers and booleans.

Boolean CFBooleanGetValue(CFBooleanRef b) {
  return cf::As<__CFBoolean>(b, cf::kBoolean, "CFBooleanGetValue")->value;
}

CFNumberRef CFNumberCreate(CFAllocatorRef, CFNumberType type, const void* valuePtr) {
  if (!ValidType(type) || valuePtr == nullptr) return nullptr;
  auto* n = new __CFNumber;
  n->type = Canonical(type);
  n->isFloat = IsFloat(type);
  switch (type) {
    case kCFNumberSInt8Type:
    case kCFNumberCharType:
      n->integer = *static_cast<const int8_t*>(valuePtr);
      break;
    case kCFNumberSInt16Type:
    case kCFNumberShortType:
      n->integer = *static_cast<const int16_t*>(valuePtr);
      break;
    case kCFNumberSInt32Type:
    case kCFNumberIntType:
      n->integer = *static_cast<const int32_t*>(valuePtr);
      break;
    case kCFNumberFloat32Type:
    case kCFNumberFloatType:
      n->real = *static_cast<const float*>(valuePtr);
      break;
    case kCFNumberFloat64Type:
    case kCFNumberDoubleType:
    case kCFNumberCGFloatType:
      n->real = *static_cast<const double*>(valuePtr);
      break;
    default:
      n->integer = *static_cast<const int64_t*>(valuePtr);
      break;
  }
  return n;
}

CFNumberType CFNumberGetType(CFNumberRef number) {
  return cf::As<__CFNumber>(number, cf::kNumber, "CFNumberGetType")->type;
}

CFIndex CFNumberGetByteSize(CFNumberRef number) {
  return ByteSize(CFNumberGetType(number));
}

Boolean CFNumberIsFloatType(CFNumberRef number) {
  return cf::As<__CFNumber>(number, cf::kNumber, "CFNumberIsFloatType")->isFloat;
}

Boolean CFNumberGetValue(CFNumberRef number, CFNumberType type, void* valuePtr) {
  auto* n = cf::As<__CFNumber>(number, cf::kNumber, "CFNumberGetValue");
  if (!ValidType(type) || valuePtr == nullptr) return false;
  if (IsFloat(type)) {
    const double v = n->isFloat ? n->real : static_cast<double>(n->integer);
    if (Canonical(type) == kCFNumberFloat32Type) {
      const float f = static_cast<float>(v);
      std::memcpy(valuePtr, &f, sizeof f);
      return n->isFloat ? (static_cast<double>(f) == v || std::isnan(v))
                        : static_cast<int64_t>(f) == n->integer;
    }
    std::memcpy(valuePtr, &v, sizeof v);
    return n->isFloat || static_cast<int64_t>(v) == n->integer;
  }
  int64_t v = n->integer;
  bool exact = true;
  if (n->isFloat) {
    v = static_cast<int64_t>(n->real);  // truncated toward zero
    exact = static_cast<double>(v) == n->real;
  }
  bool fits;
  switch (ByteSize(type)) {
    case 1:
      fits = StoreInteger<int8_t>(v, valuePtr);
      break;
    case 2:
      fits = StoreInteger<int16_t>(v, valuePtr);
      break;
    case 4:
      fits = StoreInteger<int32_t>(v, valuePtr);
      break;
    default:
      fits = StoreInteger<int64_t>(v, valuePtr);
      break;
  }
  return exact && fits;
}

CFComparisonResult CFNumberCompare(CFNumberRef a, CFNumberRef b, void*) {
  auto* x = cf::As<__CFNumber>(a, cf::kNumber, "CFNumberCompare");
  auto* y = cf::As<__CFNumber>(b, cf::kNumber, "CFNumberCompare");
  if (!x->isFloat && !y->isFloat) {
    return x->integer < y->integer   ? kCFCompareLessThan
           : x->integer > y->integer ? kCFCompareGreaterThan
                                     : kCFCompareEqualTo;
  }
  const double p = x->isFloat ? x->real : static_cast<double>(x->integer);
  const double q = y->isFloat ? y->real : static_cast<double>(y->integer);
  return p < q ? kCFCompareLessThan : p > q ? kCFCompareGreaterThan : kCFCompareEqualTo;
}

// Data.

CFDataRef CFDataCreate(CFAllocatorRef, const UInt8* bytes, CFIndex length) {
  if (length < 0 || (length > 0 && bytes == nullptr)) return nullptr;
  auto* d = new __CFData;
  d->bytes.assign(bytes, bytes + length);
  return d;
}

CFIndex CFDataGetLength(CFDataRef data) {
  return static_cast<CFIndex>(cf::As<__CFData>(data, cf::kData, "CFDataGetLength")->bytes.size());
}

const UInt8* CFDataGetBytePtr(CFDataRef data) {
  return cf::As<__CFData>(data, cf::kData, "CFDataGetBytePtr")->bytes.data();
}

void CFDataGetBytes(CFDataRef data, CFRange range, UInt8* buffer) {
  auto* d = cf::As<__CFData>(data, cf::kData, "CFDataGetBytes");
  if (range.location < 0 || range.length < 0 ||
      static_cast<size_t>(range.location + range.length) > d->bytes.size()) {
    std::fprintf(stderr, "CFDataGetBytes: range out of bounds\n");
    std::abort();
  }
  std::memcpy(buffer, d->bytes.data() + range.location, static_cast<size_t>(range.length));
}

// Arrays.

CFArrayRef CFArrayCreate(CFAllocatorRef, const void** values, CFIndex numValues,
                         const CFArrayCallBacks*) {
  auto* a = new __CFArray;
  for (CFIndex i = 0; i < numValues; ++i) a->values.push_back(CFRetain(values[i]));
  return a;
}

CFMutableArrayRef CFArrayCreateMutable(CFAllocatorRef, CFIndex, const CFArrayCallBacks*) {
  auto* a = new __CFArray;
  a->mutableArray = true;
  return a;
}

CFIndex CFArrayGetCount(CFArrayRef array) {
  return static_cast<CFIndex>(
      cf::As<__CFArray>(array, cf::kArray, "CFArrayGetCount")->values.size());
}

const void* CFArrayGetValueAtIndex(CFArrayRef array, CFIndex index) {
  auto* a = cf::As<__CFArray>(array, cf::kArray, "CFArrayGetValueAtIndex");
  if (index < 0 || static_cast<size_t>(index) >= a->values.size()) {
    std::fprintf(stderr, "CFArrayGetValueAtIndex: index %ld out of bounds\n", index);
    std::abort();
  }
  return a->values[static_cast<size_t>(index)];
}

void CFArrayAppendValue(CFMutableArrayRef array, const void* value) {
  auto* a = cf::As<__CFArray>(array, cf::kArray, "CFArrayAppendValue");
  if (!a->mutableArray) cf::WrongType("CFArrayAppendValue (immutable array)");
  a->values.push_back(CFRetain(value));
}

void CFArrayApplyFunction(CFArrayRef array, CFRange range, CFArrayApplierFunction applier,
                          void* context) {
  for (CFIndex i = range.location; i < range.location + range.length; ++i) {
    applier(CFArrayGetValueAtIndex(array, i), context);
  }
}

// Dictionaries.

CFDictionaryRef CFDictionaryCreate(CFAllocatorRef, const void** keys, const void** values,
                                   CFIndex numValues, const CFDictionaryKeyCallBacks*,
                                   const CFDictionaryValueCallBacks*) {
  auto* d = new __CFDictionary;
  d->mutableDictionary = true;
  for (CFIndex i = 0; i < numValues; ++i) CFDictionarySetValue(d, keys[i], values[i]);
  d->mutableDictionary = false;
  return d;
}

CFMutableDictionaryRef CFDictionaryCreateMutable(CFAllocatorRef, CFIndex,
                                                 const CFDictionaryKeyCallBacks*,
                                                 const CFDictionaryValueCallBacks*) {
  auto* d = new __CFDictionary;
  d->mutableDictionary = true;
  return d;
}

CFMutableDictionaryRef CFDictionaryCreateMutableCopy(CFAllocatorRef, CFIndex,
                                                     CFDictionaryRef source) {
  auto* s = cf::As<__CFDictionary>(source, cf::kDictionary, "CFDictionaryCreateMutableCopy");
  auto* d = new __CFDictionary;
  d->mutableDictionary = true;
  for (auto& [k, v] : s->entries) d->entries.emplace_back(CFRetain(k), CFRetain(v));
  return d;
}

CFDictionaryRef CFDictionaryCreateCopy(CFAllocatorRef allocator, CFDictionaryRef source) {
  CFMutableDictionaryRef d = CFDictionaryCreateMutableCopy(allocator, 0, source);
  d->mutableDictionary = false;
  return d;
}

CFIndex CFDictionaryGetCount(CFDictionaryRef dict) {
  return static_cast<CFIndex>(
      cf::As<__CFDictionary>(dict, cf::kDictionary, "CFDictionaryGetCount")->entries.size());
}

Boolean CFDictionaryGetValueIfPresent(CFDictionaryRef dict, const void* key, const void** value) {
  auto* d = cf::As<__CFDictionary>(dict, cf::kDictionary, "CFDictionaryGetValueIfPresent");
  for (auto& [k, v] : d->entries) {
    if (CFEqual(k, key)) {
      if (value) *value = v;
      return true;
    }
  }
  return false;
}

Boolean CFDictionaryContainsKey(CFDictionaryRef dict, const void* key) {
  return CFDictionaryGetValueIfPresent(dict, key, nullptr);
}

const void* CFDictionaryGetValue(CFDictionaryRef dict, const void* key) {
  const void* value = nullptr;
  return CFDictionaryGetValueIfPresent(dict, key, &value) ? value : nullptr;
}

void CFDictionaryGetKeysAndValues(CFDictionaryRef dict, const void** keys, const void** values) {
  auto* d = cf::As<__CFDictionary>(dict, cf::kDictionary, "CFDictionaryGetKeysAndValues");
  for (size_t i = 0; i < d->entries.size(); ++i) {
    if (keys) keys[i] = d->entries[i].first;
    if (values) values[i] = d->entries[i].second;
  }
}

void CFDictionaryApplyFunction(CFDictionaryRef dict, CFDictionaryApplierFunction applier,
                               void* context) {
  auto* d = cf::As<__CFDictionary>(dict, cf::kDictionary, "CFDictionaryApplyFunction");
  for (auto& [k, v] : d->entries) applier(k, v, context);
}

static __CFDictionary* Mutable(CFMutableDictionaryRef dict, const char* function) {
  auto* d = cf::As<__CFDictionary>(dict, cf::kDictionary, function);
  if (!d->mutableDictionary) cf::WrongType(function);
  return d;
}

static void Put(CFMutableDictionaryRef dict, const void* key, const void* value, bool replace,
                bool add, const char* function) {
  auto* d = Mutable(dict, function);
  for (auto& entry : d->entries) {
    if (CFEqual(entry.first, key)) {
      if (!replace) return;
      CFRetain(value);
      CFRelease(entry.second);
      entry.second = value;
      return;
    }
  }
  if (add) d->entries.emplace_back(CFRetain(key), CFRetain(value));
}

void CFDictionaryAddValue(CFMutableDictionaryRef dict, const void* key, const void* value) {
  Put(dict, key, value, false, true, "CFDictionaryAddValue");
}

void CFDictionarySetValue(CFMutableDictionaryRef dict, const void* key, const void* value) {
  Put(dict, key, value, true, true, "CFDictionarySetValue");
}

void CFDictionaryRemoveValue(CFMutableDictionaryRef dict, const void* key) {
  auto* d = Mutable(dict, "CFDictionaryRemoveValue");
  for (auto it = d->entries.begin(); it != d->entries.end(); ++it) {
    if (CFEqual(it->first, key)) {
      CFRelease(it->first);
      CFRelease(it->second);
      d->entries.erase(it);
      return;
    }
  }
}

void CFDictionaryRemoveAllValues(CFMutableDictionaryRef dict) {
  auto* d = Mutable(dict, "CFDictionaryRemoveAllValues");
  for (auto& [k, v] : d->entries) {
    CFRelease(k);
    CFRelease(v);
  }
  d->entries.clear();
}

CFAbsoluteTime CFAbsoluteTimeGetCurrent(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<double>(ts.tv_sec) + ts.tv_nsec * 1e-9 - kCFAbsoluteTimeIntervalSince1970;
}

}  // extern "C"
