// DriverKit's OSCollections.h (a closed SDK header; a public copy gives its contents): every
// container class header, and a C interface to the containers (OSDictionaryCreate,
// OSArrayGetValue, …). Not emulated: OSSerialization (no OSSerialization.h here) and so the
// four OSSerialization functions; OSSet and OSOrderedSet, which Apple includes only when present.
//
// Behaviour of the C functions where Apple's header says nothing more than the names:
// - Get* functions return +0, Create* functions +1; a Get*Value of a missing or mistyped entry
//   returns NULL / 0.
// - OSDictionaryApply / OSArrayApply call the applier for each entry until it returns true, and
//   return true when it did (the iteration was cut short).
// - OSArraySetValue inserts at `index` (kOSArrayAppend appends); OSArrayReplaceValue replaces.
#pragma once

#include <stdint.h>
#include <stdlib.h>

#include <DriverKit/OSArray.h>
#include <DriverKit/OSBoolean.h>
#include <DriverKit/OSCollection.h>
#include <DriverKit/OSContainer.h>
#include <DriverKit/OSData.h>
#include <DriverKit/OSDictionary.h>
#include <DriverKit/OSNumber.h>
#include <DriverKit/OSString.h>

extern "C" {

class OSObject;
typedef OSObject* OSObjectPtr;

typedef uint64_t OSCollectionType;

enum {
  kOSCollectionTypeDictionary = 1,
  kOSCollectionTypeArray = 2,
  kOSCollectionTypeSet = 3,
  kOSCollectionTypeNumber = 4,
  kOSCollectionTypeSymbol = 8,
  kOSCollectionTypeString = 9,
  kOSCollectionTypeData = 10,
  kOSCollectionTypeBoolean = 11,
  kOSCollectionTypeSerialization = 13,
};

// The class name of a kOSCollectionType* value ("OSDictionary", …), NULL for others.
const char* OSCollectionTypeName(OSCollectionType t);
// The kOSCollectionType* of an object, 0 for an object that is none of them.
OSCollectionType OSCollectionTypeID(OSObjectPtr obj);

void OSObjectRetain(OSObjectPtr container);
void OSObjectRelease(OSObjectPtr container);

#define OSObjectSafeReleaseNULL(ptr) \
  do {                               \
    if ((ptr)) {                     \
      OSObjectRelease(ptr);          \
      (ptr) = NULL;                  \
    }                                \
  } while (0)

void OSCollectionsInitialize();

const char* OSStringGetStringPtr(OSStringPtr obj);
size_t OSStringGetLength(OSStringPtr string);
OSStringPtr OSStringCreate(const char* cstring, size_t length);

size_t OSDataGetLength(OSDataPtr obj);
const void* OSDataGetBytesPtr(OSDataPtr obj, size_t offset, size_t length);
// Copies up to `length` bytes from `offset`; returns the number copied.
size_t OSDataGetBytes(OSDataPtr obj, void* buffer, size_t offset, size_t length);
OSDataPtr OSDataCreate(const void* bytes, size_t length);
bool OSDataAppendBytes(OSDataPtr data, const void* bytes, size_t length);

uint64_t OSNumberGetUInt64Value(OSNumberPtr obj);
OSNumberPtr OSNumberCreateWithUInt64Value(uint64_t value);

// Return true to end the iteration.
typedef bool (^OSDictionaryApplier)(const char* key, OSObjectPtr value);

OSDictionaryPtr OSDictionaryCreate(void);
uint32_t OSDictionaryGetCount(OSDictionaryPtr obj);
bool OSDictionaryApply(OSDictionaryPtr obj, OSDictionaryApplier applier);
bool OSDictionarySetValue(OSDictionaryPtr obj, const char* key, OSObjectPtr value);
OSObjectPtr OSDictionaryGetValue(OSDictionaryPtr obj, const char* key);
const char* OSDictionaryGetStringValue(OSDictionaryPtr obj, const char* key);
uint64_t OSDictionaryGetUInt64Value(OSDictionaryPtr obj, const char* key);
void OSDictionarySetStringValue(OSDictionaryPtr obj, const char* key, const char* value);
void OSDictionarySetUInt64Value(OSDictionaryPtr obj, const char* key, uint64_t value);

// Return true to end the iteration.
typedef bool (^OSArrayApplier)(OSObjectPtr value);

enum {
  kOSArrayAppend = ((size_t)(-1)),
};

OSArrayPtr OSArrayCreate(void);
uint32_t OSArrayGetCount(OSArrayPtr obj);
bool OSArrayApply(OSArrayPtr obj, OSArrayApplier applier);
bool OSArraySetValue(OSArrayPtr obj, size_t index, OSObjectPtr value);
bool OSArrayReplaceValue(OSArrayPtr obj, size_t index, OSObjectPtr value);
bool OSArrayAppendValue(OSArrayPtr obj, OSObjectPtr value);
OSObjectPtr OSArrayGetValue(OSArrayPtr obj, size_t index);
const char* OSArrayGetStringValue(OSArrayPtr obj, size_t index);
void OSArraySetStringValue(OSArrayPtr obj, size_t index, const char* value);
uint64_t OSArrayGetUInt64Value(OSArrayPtr obj, size_t index);
void OSArraySetUInt64Value(OSArrayPtr obj, size_t index, uint64_t value);

// Logs the object's class (os_log, default level).
void OSObjectLog(OSObjectPtr obj);

}  // extern "C"

// The ownership annotations, as OSObject.h defines them.
#if __has_attribute(os_returns_retained)
#define DRIVERKIT_RETURNS_RETAINED __attribute__((os_returns_retained))
#else
#define DRIVERKIT_RETURNS_RETAINED
#endif
#if __has_attribute(os_returns_not_retained)
#define DRIVERKIT_RETURNS_NOT_RETAINED __attribute__((os_returns_not_retained))
#else
#define DRIVERKIT_RETURNS_NOT_RETAINED
#endif
#if __has_attribute(os_consumed)
#define DRIVERKIT_CONSUMED __attribute__((os_consumed))
#else
#define DRIVERKIT_CONSUMED
#endif
#if __has_attribute(os_consumes_this)
#define DRIVERKIT_CONSUMES_THIS __attribute__((os_consumes_this))
#else
#define DRIVERKIT_CONSUMES_THIS
#endif
#if __has_attribute(os_returns_retained_on_zero)
#define DRIVERKIT_RETURNS_RETAINED_ON_ZERO __attribute__((os_returns_retained_on_zero))
#else
#define DRIVERKIT_RETURNS_RETAINED_ON_ZERO
#endif
#if __has_attribute(os_returns_retained_on_non_zero)
#define DRIVERKIT_RETURNS_RETAINED_ON_NONZERO __attribute__((os_returns_retained_on_non_zero))
#else
#define DRIVERKIT_RETURNS_RETAINED_ON_NONZERO
#endif
