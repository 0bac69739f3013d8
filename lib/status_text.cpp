#include "status_text.h"

#include <IOKit/IOKitLib.h>

#include <cstdarg>
#include <cstdio>

namespace fpgadext {

Status Fail(IOReturnCode code, const char* format, ...) {
  char text[512];
  va_list args;
  va_start(args, format);
  vsnprintf(text, sizeof(text), format, args);
  va_end(args);
  return Status(code, text);
}

const char* Reason(IOReturnCode code) {
  switch (code) {
    case kIOReturnNotWritable:
      return "the destination buffer is read-only";
    case kIOReturnVMError:
    case kIOReturnCannotWire:  // what a Mac's wiring returns for unmapped pages
      return "the buffer is not mapped memory";
    case KERN_PROTECTION_FAILURE:  // a Mac's wiring: pages without the access the card needs
      return "the buffer's pages are read-only or inaccessible";
    case kIOReturnTimeout:
      return "the board did not finish the transfer in time";
    case kIOReturnNotResponding:  // the planner's answer when every channel is quarantined
      return "every DMA channel of this direction is stuck (set aside until the board recovers)";
    case kIOReturnAborted:
      return "the transfer was cancelled (the connection is closing or the board stopped)";
    case kIOReturnOffline:  // a call that reached the dext after its client was stopped
      return "the connection is closing";
    case kIOReturnNoDevice:
      return "the board is gone";
    case kIOReturnNotAttached:
    case MACH_SEND_INVALID_DEST:
      return "the board is gone (the dext closed the connection)";
    case kIOReturnDMAError:
      return "the DMA engine reported an error";
    case kIOReturnNotAligned:
      return "the DMA engine refused the alignment";
    case kIOReturnNoMemory:
    case kIOReturnNoResources:
      return "the dext is out of resources";
    case kIOReturnBadArgument:
      return "the dext refused the arguments";
    case kIOReturnNotPermitted:
      return "the dext does not permit this";
    case kIOReturnUnsupported:
      return "the dext does not support this";
    case kIOReturnNotFound:
      return "the dext does not know this buffer";
    default:
      return "the dext returned an error";
  }
}

Status NotOpen() {
  return Status(kIOReturnNotOpen, "the device is not open");
}

Status Gone(const char* what) {
  return Fail(kIOReturnNoDevice,
              "%s: the board is gone (removed, or its driver stopped); close the device "
              "(kIOReturnNoDevice)",
              what);
}

}  // namespace fpgadext
