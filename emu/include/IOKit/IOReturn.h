// IOKit's IOReturn values (app side); the same values as DriverKit's.
#pragma once

#include <DriverKit/IOReturn.h>
