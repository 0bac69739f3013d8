// PCIDriverKit's umbrella header (IOPCIFamily PCIDriverKit/PCIDriverKit.h): the family's
// definitions (Command register bits, capability IDs, kIOInterruptTypePCIMessaged, ...) and
// IOPCIDevice. It declares nothing itself.
#pragma once

#include <PCIDriverKit/IOPCIDevice.h>
#include <PCIDriverKit/IOPCIFamilyDefinitions.h>
