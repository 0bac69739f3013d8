// OSContainer: DriverKit's base class of the data objects (OSData, OSString, OSNumber, OSBoolean,
// and the collections). It adds nothing to OSObject; it exists so OSDynamicCast(OSContainer, x)
// and the class tree match Apple's.
#pragma once

#include <DriverKit/OSObject.h>

class OSContainer : public OSObject {
  OSDeclareEmulatedClass(OSContainer);
};

typedef OSContainer* OSContainerPtr;
