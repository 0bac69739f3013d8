// CF <-> OS conversion for IOKitLib (IOKitUser IOCFSerialize.c binary format semantics: the
// number width chosen from the CF type, CFNumbers back by the OSNumber's width).
#include "cf_bridge.h"

#include <DriverKit/IOLib.h>
#include <DriverKit/OSArray.h>
#include <DriverKit/OSBoolean.h>
#include <DriverKit/OSData.h>
#include <DriverKit/OSDictionary.h>
#include <DriverKit/OSNumber.h>
#include <DriverKit/OSString.h>

#include "cf_internal.h"
#include "os_iterate.h"

namespace fpgadext::emu::cf {

OSObject* ToOS(CFTypeRef value) {
  if (value == nullptr) return nullptr;
  const CFTypeID type = CFGetTypeID(value);
  if (type == CFStringGetTypeID()) {
    return OSString::withCString(static_cast<CFStringRef>(value)->value.c_str());
  }
  if (type == CFBooleanGetTypeID()) {
    OSBoolean* b =
        CFBooleanGetValue(static_cast<CFBooleanRef>(value)) ? kOSBooleanTrue : kOSBooleanFalse;
    b->retain();
    return b;
  }
  if (type == CFNumberGetTypeID()) {
    auto n = static_cast<CFNumberRef>(value);
    if (CFNumberIsFloatType(n)) return nullptr;  // the emulated OSNumber holds integers only
    int64_t v = 0;
    CFNumberGetValue(n, kCFNumberSInt64Type, &v);
    return OSNumber::withNumber(static_cast<uint64_t>(v),
                                static_cast<size_t>(CFNumberGetByteSize(n) * 8));
  }
  if (type == CFDataGetTypeID()) {
    auto d = static_cast<CFDataRef>(value);
    return OSData::withBytes(CFDataGetBytePtr(d), static_cast<size_t>(CFDataGetLength(d)));
  }
  if (type == CFArrayGetTypeID()) {
    auto a = static_cast<CFArrayRef>(value);
    OSArray* out = OSArray::withCapacity(static_cast<uint32_t>(CFArrayGetCount(a)));
    for (CFIndex i = 0; out != nullptr && i < CFArrayGetCount(a); ++i) {
      OSObject* item = ToOS(CFArrayGetValueAtIndex(a, i));
      if (item == nullptr) {
        OSSafeReleaseNULL(out);
        break;
      }
      out->setObject(item);
      item->release();
    }
    return out;
  }
  if (type == CFDictionaryGetTypeID()) {
    auto d = static_cast<const __CFDictionary*>(value);
    OSDictionary* out = OSDictionary::withCapacity(static_cast<uint32_t>(d->entries.size()));
    for (auto& [k, v] : d->entries) {
      if (out == nullptr) break;
      OSObject* item = ToOS(v);
      if (CFGetTypeID(k) != CFStringGetTypeID() || item == nullptr) {
        OSSafeReleaseNULL(item);
        OSSafeReleaseNULL(out);  // keys must be strings
        break;
      }
      out->setObject(static_cast<CFStringRef>(k)->value.c_str(), item);
      item->release();
    }
    return out;
  }
  return nullptr;
}

OSDictionary* AsDictionary(OSObject* value) {
  return OSDynamicCast(OSDictionary, value);
}

void ReleaseOS(OSObject* value) {
  if (value != nullptr) value->release();
}

void ReleaseOS(OSDictionary* value) {
  ReleaseOS(static_cast<OSObject*>(value));
}

CFTypeRef FromOS(const OSDictionary* value) {
  return FromOS(static_cast<const OSObject*>(value));
}

CFTypeRef FromOS(const OSObject* value) {
  auto* object = const_cast<OSObject*>(value);
  if (auto* s = OSDynamicCast(OSString, object)) {
    const char* c = s->getCStringNoCopy();
    return CFStringCreateWithCString(kCFAllocatorDefault, c ? c : "", kCFStringEncodingUTF8);
  }
  if (auto* b = OSDynamicCast(OSBoolean, object)) {
    return CFRetain(b == kOSBooleanTrue ? kCFBooleanTrue : kCFBooleanFalse);
  }
  if (auto* n = OSDynamicCast(OSNumber, object)) {
    const uint64_t v = n->unsigned64BitValue();
    if (n->numberOfBits() <= 32) {
      const int32_t narrow = static_cast<int32_t>(v);
      return CFNumberCreate(kCFAllocatorDefault, kCFNumberSInt32Type, &narrow);
    }
    const int64_t wide = static_cast<int64_t>(v);
    return CFNumberCreate(kCFAllocatorDefault, kCFNumberSInt64Type, &wide);
  }
  if (auto* d = OSDynamicCast(OSData, object)) {
    return CFDataCreate(kCFAllocatorDefault, static_cast<const UInt8*>(d->getBytesNoCopy()),
                        static_cast<CFIndex>(d->getLength()));
  }
  if (auto* a = OSDynamicCast(OSArray, object)) {
    CFMutableArrayRef out = CFArrayCreateMutable(kCFAllocatorDefault, 0, &kCFTypeArrayCallBacks);
    for (uint32_t i = 0; i < a->getCount(); ++i) {
      if (CFTypeRef item = FromOS(a->getObject(i))) {
        CFArrayAppendValue(out, item);
        CFRelease(item);
      }
    }
    return out;
  }
  if (auto* d = OSDynamicCast(OSDictionary, object)) {
    CFMutableDictionaryRef out = CFDictionaryCreateMutable(
        kCFAllocatorDefault, 0, &kCFTypeDictionaryKeyCallBacks, &kCFTypeDictionaryValueCallBacks);
    ForEachEntry(d, [out](OSObject* key, OSObject* item) {
      auto* k = OSDynamicCast(OSString, key);
      CFTypeRef v = FromOS(item);
      if (k != nullptr && v != nullptr) {
        const char* name = k->getCStringNoCopy();
        CFStringRef ck =
            CFStringCreateWithCString(kCFAllocatorDefault, name ? name : "", kCFStringEncodingUTF8);
        CFDictionarySetValue(out, ck, v);
        CFRelease(ck);
      }
      if (v != nullptr) CFRelease(v);
    });
    return out;
  }
  return nullptr;
}

}  // namespace fpgadext::emu::cf
