#include <fpgadext/emu/hardware_profile.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace fpgadext::emu {

HardwareProfile HardwareProfileFromEnvironment() {
  const char* value = std::getenv("FPGADEXT_EMU_PROFILE");
  if (value == nullptr || *value == '\0' || std::strcmp(value, "apple-silicon") == 0) {
    return HardwareProfile::kAppleSilicon;
  }
  if (std::strcmp(value, "intel") == 0) return HardwareProfile::kIntel;
  std::fprintf(stderr,
               "fpgadext emulation: FPGADEXT_EMU_PROFILE=%s is not a hardware profile; use "
               "apple-silicon (the default) or intel\n",
               value);
  std::exit(2);
}

const char* HardwareProfileName(HardwareProfile profile) {
  return profile == HardwareProfile::kIntel ? "intel" : "apple-silicon";
}

uint64_t HardwareProfilePageSize(HardwareProfile profile) {
  // arm64 macOS tasks have 16 KiB pages (xnu osfmk/mach/arm/vm_param.h, __ARM_16K_PG__);
  // x86_64 has 4 KiB (osfmk/mach/i386/vm_param.h, I386_PGBYTES).
  return profile == HardwareProfile::kIntel ? 4096 : 16384;
}

Iommu::Config HardwareProfileIommu(HardwareProfile profile, Iommu::Config knobs) {
  const bool intel = profile == HardwareProfile::kIntel;
  knobs.kind = intel ? Iommu::Kind::kVtd : Iommu::Kind::kDart;
  knobs.pageSize = intel ? 4096 : 16384;
  return knobs;
}

}  // namespace fpgadext::emu
