// The sliver of CoreFoundation that IOKitLib's matching functions need, for the emulated app
// side: opaque matching dictionaries and CFRetain/CFRelease.
#pragma once

typedef const void* CFTypeRef;
typedef const struct __CFDictionary* CFDictionaryRef;
typedef struct __CFDictionary* CFMutableDictionaryRef;

#ifdef __cplusplus
extern "C" {
#endif
CFTypeRef CFRetain(CFTypeRef object);
void CFRelease(CFTypeRef object);
#ifdef __cplusplus
}
#endif
