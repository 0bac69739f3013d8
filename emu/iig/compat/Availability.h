// Stand-in for the Mac SDK's <Availability.h>, which .iig files include: availability annotations
// expand to nothing on Linux. Added to the include path by fpgadext_iig() (emu/iig/Iig.cmake)
// while emu/include does not provide this header itself. The darwin check's SDK-shaped copy
// defines the same macros; one definition serves both.
#pragma once

#include "../../driverkit-sdk/usr/include/Availability.h"
