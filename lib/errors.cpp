// IOReturn names for messages and for fpgadext_error_name().
#include <IOKit/IOKitLib.h>
#include <mach/mig_errors.h>  // MIG_ARRAY_TOO_LARGE: IOKitLib.h does not bring it in

#include "fpgadext/fpgadext.hpp"

namespace fpgadext {

const char* IOReturnName(IOReturnCode code) {
  switch (code) {
#define FPGADEXT_NAME(x) \
  case x:                \
    return #x;
    FPGADEXT_NAME(kIOReturnSuccess)
    FPGADEXT_NAME(kIOReturnError)
    FPGADEXT_NAME(kIOReturnNoMemory)
    FPGADEXT_NAME(kIOReturnNoResources)
    FPGADEXT_NAME(kIOReturnIPCError)
    FPGADEXT_NAME(kIOReturnNoDevice)
    FPGADEXT_NAME(kIOReturnNotPrivileged)
    FPGADEXT_NAME(kIOReturnBadArgument)
    FPGADEXT_NAME(kIOReturnLockedRead)
    FPGADEXT_NAME(kIOReturnLockedWrite)
    FPGADEXT_NAME(kIOReturnExclusiveAccess)
    FPGADEXT_NAME(kIOReturnBadMessageID)
    FPGADEXT_NAME(kIOReturnUnsupported)
    FPGADEXT_NAME(kIOReturnVMError)
    FPGADEXT_NAME(kIOReturnInternalError)
    FPGADEXT_NAME(kIOReturnIOError)
    FPGADEXT_NAME(kIOReturnCannotLock)
    FPGADEXT_NAME(kIOReturnNotOpen)
    FPGADEXT_NAME(kIOReturnNotReadable)
    FPGADEXT_NAME(kIOReturnNotWritable)
    FPGADEXT_NAME(kIOReturnNotAligned)
    FPGADEXT_NAME(kIOReturnBadMedia)
    FPGADEXT_NAME(kIOReturnStillOpen)
    FPGADEXT_NAME(kIOReturnRLDError)
    FPGADEXT_NAME(kIOReturnDMAError)
    FPGADEXT_NAME(kIOReturnBusy)
    FPGADEXT_NAME(kIOReturnTimeout)
    FPGADEXT_NAME(kIOReturnOffline)
    FPGADEXT_NAME(kIOReturnNotReady)
    FPGADEXT_NAME(kIOReturnNotAttached)
    FPGADEXT_NAME(kIOReturnNoChannels)
    FPGADEXT_NAME(kIOReturnNoSpace)
    FPGADEXT_NAME(kIOReturnPortExists)
    FPGADEXT_NAME(kIOReturnCannotWire)
    FPGADEXT_NAME(kIOReturnNoInterrupt)
    FPGADEXT_NAME(kIOReturnNoFrames)
    FPGADEXT_NAME(kIOReturnMessageTooLarge)
    FPGADEXT_NAME(kIOReturnNotPermitted)
    FPGADEXT_NAME(kIOReturnNoPower)
    FPGADEXT_NAME(kIOReturnNoMedia)
    FPGADEXT_NAME(kIOReturnUnformattedMedia)
    FPGADEXT_NAME(kIOReturnUnsupportedMode)
    FPGADEXT_NAME(kIOReturnUnderrun)
    FPGADEXT_NAME(kIOReturnOverrun)
    FPGADEXT_NAME(kIOReturnDeviceError)
    FPGADEXT_NAME(kIOReturnNoCompletion)
    FPGADEXT_NAME(kIOReturnAborted)
    FPGADEXT_NAME(kIOReturnNoBandwidth)
    FPGADEXT_NAME(kIOReturnNotResponding)
    FPGADEXT_NAME(kIOReturnIsoTooOld)
    FPGADEXT_NAME(kIOReturnIsoTooNew)
    FPGADEXT_NAME(kIOReturnNotFound)
    FPGADEXT_NAME(kIOReturnInvalid)
    FPGADEXT_NAME(MACH_SEND_INVALID_DEST)
    FPGADEXT_NAME(KERN_PROTECTION_FAILURE)
    FPGADEXT_NAME(MIG_ARRAY_TOO_LARGE)
#undef FPGADEXT_NAME
    default:
      return "unknown IOReturn";
  }
}

}  // namespace fpgadext
