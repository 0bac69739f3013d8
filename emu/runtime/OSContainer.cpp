// Class information of the abstract container bases, and the C interface of OSCollections.h.
#include <DriverKit/IOLib.h>
#include <DriverKit/OSCollections.h>
#include <os/log.h>
#include <stdio.h>
#include <string.h>

OSDefineAbstractMetaClass(OSContainer, OSObject);
OSDefineAbstractMetaClass(OSCollection, OSContainer);

namespace {

const char* StringOf(OSObject* object) {
  auto* string = OSDynamicCast(OSString, object);
  return string ? string->getCStringNoCopy() : nullptr;
}

uint64_t NumberOf(OSObject* object) {
  auto* number = OSDynamicCast(OSNumber, object);
  return number ? number->unsigned64BitValue() : 0;
}

}  // namespace

extern "C" {

const char* OSCollectionTypeName(OSCollectionType t) {
  switch (t) {
    case kOSCollectionTypeDictionary:
      return "OSDictionary";
    case kOSCollectionTypeArray:
      return "OSArray";
    case kOSCollectionTypeSet:
      return "OSSet";
    case kOSCollectionTypeNumber:
      return "OSNumber";
    case kOSCollectionTypeSymbol:
      return "OSSymbol";
    case kOSCollectionTypeString:
      return "OSString";
    case kOSCollectionTypeData:
      return "OSData";
    case kOSCollectionTypeBoolean:
      return "OSBoolean";
    case kOSCollectionTypeSerialization:
      return "OSSerialization";
    default:
      return nullptr;
  }
}

OSCollectionType OSCollectionTypeID(OSObjectPtr obj) {
  if (OSDynamicCast(OSDictionary, obj)) return kOSCollectionTypeDictionary;
  if (OSDynamicCast(OSArray, obj)) return kOSCollectionTypeArray;
  if (OSDynamicCast(OSNumber, obj)) return kOSCollectionTypeNumber;
  if (OSDynamicCast(OSString, obj)) return kOSCollectionTypeString;
  if (OSDynamicCast(OSData, obj)) return kOSCollectionTypeData;
  if (OSDynamicCast(OSBoolean, obj)) return kOSCollectionTypeBoolean;
  return 0;
}

void OSObjectRetain(OSObjectPtr container) {
  if (container) container->retain();
}
void OSObjectRelease(OSObjectPtr container) {
  if (container) container->release();
}

void OSCollectionsInitialize() {}

const char* OSStringGetStringPtr(OSStringPtr obj) {
  return obj ? obj->getCStringNoCopy() : nullptr;
}
size_t OSStringGetLength(OSStringPtr string) {
  return string ? string->getLength() : 0;
}
OSStringPtr OSStringCreate(const char* cstring, size_t length) {
  return OSString::withCString(cstring, length);
}

size_t OSDataGetLength(OSDataPtr obj) {
  return obj ? obj->getLength() : 0;
}
const void* OSDataGetBytesPtr(OSDataPtr obj, size_t offset, size_t length) {
  return obj ? obj->getBytesNoCopy(offset, length) : nullptr;
}
size_t OSDataGetBytes(OSDataPtr obj, void* buffer, size_t offset, size_t length) {
  if (obj == nullptr || buffer == nullptr || offset >= obj->getLength()) return 0;
  size_t n = obj->getLength() - offset < length ? obj->getLength() - offset : length;
  memcpy(buffer, obj->getBytesNoCopy(offset, n), n);
  return n;
}
OSDataPtr OSDataCreate(const void* bytes, size_t length) {
  return OSData::withBytes(bytes, length);
}
bool OSDataAppendBytes(OSDataPtr data, const void* bytes, size_t length) {
  return data != nullptr && data->appendBytes(bytes, length);
}

uint64_t OSNumberGetUInt64Value(OSNumberPtr obj) {
  return obj ? obj->unsigned64BitValue() : 0;
}
OSNumberPtr OSNumberCreateWithUInt64Value(uint64_t value) {
  return OSNumber::withNumber(value, 64);
}

OSDictionaryPtr OSDictionaryCreate(void) {
  return OSDictionary::withCapacity(1);
}
uint32_t OSDictionaryGetCount(OSDictionaryPtr obj) {
  return obj ? obj->getCount() : 0;
}
bool OSDictionaryApply(OSDictionaryPtr obj, OSDictionaryApplier applier) {
  if (obj == nullptr || applier == nullptr) return false;
  __block bool stopped = false;
  obj->iterateObjects(^bool(OSObject* key, OSObject* value) {
    stopped = applier(StringOf(key), value);
    return !stopped;
  });
  return stopped;
}
bool OSDictionarySetValue(OSDictionaryPtr obj, const char* key, OSObjectPtr value) {
  return obj != nullptr && obj->setObject(key, value);
}
OSObjectPtr OSDictionaryGetValue(OSDictionaryPtr obj, const char* key) {
  return obj ? obj->getObject(key) : nullptr;
}
const char* OSDictionaryGetStringValue(OSDictionaryPtr obj, const char* key) {
  return StringOf(OSDictionaryGetValue(obj, key));
}
uint64_t OSDictionaryGetUInt64Value(OSDictionaryPtr obj, const char* key) {
  return NumberOf(OSDictionaryGetValue(obj, key));
}
void OSDictionarySetStringValue(OSDictionaryPtr obj, const char* key, const char* value) {
  OSString* string = OSString::withCString(value);
  OSDictionarySetValue(obj, key, string);
  OSObjectSafeReleaseNULL(string);
}
void OSDictionarySetUInt64Value(OSDictionaryPtr obj, const char* key, uint64_t value) {
  OSNumber* number = OSNumber::withNumber(value, 64);
  OSDictionarySetValue(obj, key, number);
  OSObjectSafeReleaseNULL(number);
}

OSArrayPtr OSArrayCreate(void) {
  return OSArray::withCapacity(1);
}
uint32_t OSArrayGetCount(OSArrayPtr obj) {
  return obj ? obj->getCount() : 0;
}
bool OSArrayApply(OSArrayPtr obj, OSArrayApplier applier) {
  if (obj == nullptr || applier == nullptr) return false;
  __block bool stopped = false;
  obj->iterateObjects(^bool(OSObject* value) {
    stopped = applier(value);
    return !stopped;
  });
  return stopped;
}
bool OSArraySetValue(OSArrayPtr obj, size_t index, OSObjectPtr value) {
  if (obj == nullptr) return false;
  if (index == kOSArrayAppend) return obj->setObject(value);
  return index <= UINT32_MAX && obj->setObject(static_cast<uint32_t>(index), value);
}
bool OSArrayReplaceValue(OSArrayPtr obj, size_t index, OSObjectPtr value) {
  return obj != nullptr && index <= UINT32_MAX &&
         obj->replaceObject(static_cast<uint32_t>(index), value);
}
bool OSArrayAppendValue(OSArrayPtr obj, OSObjectPtr value) {
  return obj != nullptr && obj->setObject(value);
}
OSObjectPtr OSArrayGetValue(OSArrayPtr obj, size_t index) {
  return obj && index <= UINT32_MAX ? obj->getObject(static_cast<uint32_t>(index)) : nullptr;
}
const char* OSArrayGetStringValue(OSArrayPtr obj, size_t index) {
  return StringOf(OSArrayGetValue(obj, index));
}
void OSArraySetStringValue(OSArrayPtr obj, size_t index, const char* value) {
  OSString* string = OSString::withCString(value);
  OSArraySetValue(obj, index, string);
  OSObjectSafeReleaseNULL(string);
}
uint64_t OSArrayGetUInt64Value(OSArrayPtr obj, size_t index) {
  return NumberOf(OSArrayGetValue(obj, index));
}
void OSArraySetUInt64Value(OSArrayPtr obj, size_t index, uint64_t value) {
  OSNumber* number = OSNumber::withNumber(value, 64);
  OSArraySetValue(obj, index, number);
  OSObjectSafeReleaseNULL(number);
}

void OSObjectLog(OSObjectPtr obj) {
  os_log(OS_LOG_DEFAULT, "<%{public}s %p>", obj ? obj->GetClassName() : "NULL",
         static_cast<void*>(obj));
}

}  // extern "C"

// ---- copyCollection ----

namespace {

// The copy of `member` for a collection copy: collections are copied (once, through `cycles`),
// other objects shared. +1 either way.
OSObject* CopyMember(const OSObject* member, OSDictionary* cycles) {
  auto* collection = OSDynamicCast(OSCollection, member);
  if (collection == nullptr) {
    member->retain();
    return const_cast<OSObject*>(member);
  }
  return collection->copyCollection(cycles);
}

// Runs `copy` with a cycle dictionary, making one when the caller gave none. The dictionary is
// keyed by the address of the original, as text, and holds its copy.
template <class Copy>
OSCollection* WithCycles(const OSCollection* original, OSDictionary* cycles, Copy copy) {
  OSDictionary* own = cycles ? nullptr : OSDictionary::withCapacity(4);
  OSDictionary* table = cycles ? cycles : own;
  if (table == nullptr) return nullptr;
  char key[32];
  snprintf(key, sizeof(key), "%p", static_cast<const void*>(original));
  OSCollection* result = OSDynamicCast(OSCollection, table->getObject(key));
  if (result != nullptr) {
    result->retain();
  } else {
    result = copy(table, key);
  }
  OSSafeReleaseNULL(own);
  return result;
}

}  // namespace

static OSCollectionPtr CopyArray(const OSArray* array, OSDictionary* cycleDict) {
  return WithCycles(
      array, cycleDict, [array](OSDictionary* table, const char* key) -> OSCollection* {
        OSArray* copy = OSArray::withCapacity(array->getCount() ? array->getCount() : 1);
        if (copy == nullptr || !table->setObject(key, copy)) {
          OSSafeReleaseNULL(copy);
          return nullptr;
        }
        for (uint32_t i = 0; i < array->getCount(); ++i) {
          OSObject* member = CopyMember(array->getObject(i), table);
          bool ok = member != nullptr && copy->setObject(member);
          OSSafeReleaseNULL(member);
          if (!ok) {
            table->removeObject(key);
            OSSafeReleaseNULL(copy);
            return nullptr;
          }
        }
        return copy;
      });
}

static OSCollectionPtr CopyDictionary(const OSDictionary* dictionary, OSDictionary* cycleDict) {
  return WithCycles(
      dictionary, cycleDict, [dictionary](OSDictionary* table, const char* key) -> OSCollection* {
        OSDictionary* copy =
            OSDictionary::withCapacity(dictionary->getCount() ? dictionary->getCount() : 1);
        if (copy == nullptr || !table->setObject(key, copy)) {
          OSSafeReleaseNULL(copy);
          return nullptr;
        }
        __block bool ok = true;
        dictionary->iterateObjects(^bool(OSObject* entryKey, OSObject* value) {
          OSObject* member = CopyMember(value, table);
          ok = member != nullptr && copy->setObject(entryKey, member);
          OSSafeReleaseNULL(member);
          return ok;
        });
        if (!ok) {
          table->removeObject(key);
          OSSafeReleaseNULL(copy);
        }
        return copy;
      });
}

OSCollectionPtr OSCollection::copyCollection(OSDictionary* cycleDict) const {
  if (auto* array = OSDynamicCast(OSArray, this)) return CopyArray(array, cycleDict);
  if (auto* dictionary = OSDynamicCast(OSDictionary, this))
    return CopyDictionary(dictionary, cycleDict);
  return nullptr;
}

bool OSDictionary::isEqualTo(const OSDictionary* aDictionary, const OSCollection* keys) const {
  if (aDictionary == nullptr || keys == nullptr) return false;
  __block bool equal = true;
  keys->iterateObjects(^bool(OSObject* key) {
    OSObject* mine = getObject(key);
    OSObject* theirs = aDictionary->getObject(key);
    equal = (mine == nullptr && theirs == nullptr) ||
            (mine != nullptr && theirs != nullptr && mine->isEqualTo(theirs));
    return equal;
  });
  return equal;
}
