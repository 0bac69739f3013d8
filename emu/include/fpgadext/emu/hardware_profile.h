// The Mac being emulated, as a value (docs/emulation.md, "Hardware profiles"). Kept apart from
// machine.h so that tests of the hardware side alone (the engine against the board models, with
// no DriverKit runtime) build their IOMMU the way a Machine of the same profile does.
#pragma once

#include <fpgadext/emu/iommu.h>

#include <cstdint>

namespace fpgadext::emu {

// - kAppleSilicon (the default): 16 KiB pages (IOVMPageSize, app mappings of buffers and BARs),
//   a DART IOMMU (16 KiB IOVA pages, read-only not enforced for the device, an access to an
//   unmapped IOVA stops the machine);
// - kIntel: 4 KiB pages, a VT-d IOMMU (4 KiB IOVA pages, read-only enforced, faults refused and
//   recorded).
enum class HardwareProfile : uint8_t { kAppleSilicon, kIntel };

// The profile named by the environment variable FPGADEXT_EMU_PROFILE ("apple-silicon" or
// "intel"), apple-silicon when it is unset or empty. Any other value is a setup error: the
// process prints what is accepted and exits with status 2.
HardwareProfile HardwareProfileFromEnvironment();
const char* HardwareProfileName(HardwareProfile profile);
// The profile's VM page size, which is also IOVMPageSize and the app's page size.
uint64_t HardwareProfilePageSize(HardwareProfile profile);
// `knobs` (the test knobs: segment length, IOVA base, aperture size; an aperture size of 0
// becomes the kind's, see Iommu::Config) with the kind and page size of the
// profile's IOMMU.
Iommu::Config HardwareProfileIommu(HardwareProfile profile, Iommu::Config knobs = {});

}  // namespace fpgadext::emu
