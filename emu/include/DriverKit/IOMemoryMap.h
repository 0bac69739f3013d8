// IOMemoryMap (iokit/DriverKit/IOMemoryMap.iig) is declared with IOMemoryDescriptor.
#pragma once

#include <DriverKit/IOMemoryDescriptor.h>
