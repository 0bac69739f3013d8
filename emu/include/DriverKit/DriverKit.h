// DriverKit's umbrella header (Apple generates it from DriverKit.iig; public copies of its output
// list what it includes). It declares nothing itself.
#pragma once

#include <DriverKit/IOLib.h>
#include <DriverKit/OSCollections.h>

#include <DriverKit/IODispatchQueue.h>
#include <DriverKit/IODispatchSource.h>
#include <DriverKit/OSAction.h>
#include <DriverKit/OSObject.h>
#if __has_include(<DriverKit/IODataQueueDispatchSource.h>)
#include <DriverKit/IODataQueueDispatchSource.h>
#endif
#include <DriverKit/IOInterruptDispatchSource.h>
#if __has_include(<DriverKit/IOTimerDispatchSource.h>)
#include <DriverKit/IOTimerDispatchSource.h>
#endif
#if __has_include(<DriverKit/IOServiceNotificationDispatchSource.h>)
#include <DriverKit/IOServiceNotificationDispatchSource.h>
#endif
#include <DriverKit/IOBufferMemoryDescriptor.h>
#include <DriverKit/IODMACommand.h>
#include <DriverKit/IOMemoryDescriptor.h>
#include <DriverKit/IOMemoryMap.h>
#include <DriverKit/IOService.h>
#include <DriverKit/IOUserClient.h>
