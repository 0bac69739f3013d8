// CoreFoundation objects to and from the kernel's OSObjects: what IOCFSerialize / IOCFUnserialize
// do between IOKitLib and the kernel (matching dictionaries in, properties out).
#pragma once

#include <CoreFoundation/CoreFoundation.h>

class OSObject;
class OSDictionary;

namespace fpgadext::emu::cf {

// +1; nullptr when `value` holds something the kernel cannot represent.
OSObject* ToOS(CFTypeRef value);
// `value` as a dictionary (the same reference), or nullptr.
OSDictionary* AsDictionary(OSObject* value);
void ReleaseOS(OSObject* value);
void ReleaseOS(OSDictionary* value);
// +1; numbers of up to 32 bits become kCFNumberSInt32Type, wider ones kCFNumberSInt64Type.
CFTypeRef FromOS(const OSObject* value);
CFTypeRef FromOS(const OSDictionary* value);

}  // namespace fpgadext::emu::cf
