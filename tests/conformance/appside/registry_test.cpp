// App-side IOKitLib rules of the registry: CF properties (IOKitUser IOKitLib.c
// IORegistryEntryCreateCFProperty / SearchCFProperty, IOCFSerialize.c number widths), matching
// dictionaries (IOServiceMatching & co.; xnu IOService.cpp matchInternal keys), the service plane.
#include <CoreFoundation/CoreFoundation.h>
#include <IOKit/IOKitLib.h>

#include <cstring>
#include <string>

#include "harness.h"

namespace fpgadext::conformance {
namespace {

class RegistryRules : public ConformanceTest {
 protected:
  void TearDown() override {
    if (nub_ != IO_OBJECT_NULL) IOObjectRelease(nub_);
    ConformanceTest::TearDown();
  }

  io_service_t Nub() {
    if (nub_ == IO_OBJECT_NULL) {
      nub_ = IOServiceGetMatchingService(kIOMainPortDefault, IOServiceMatching("IOPCIDevice"));
    }
    return nub_;
  }

  static std::string String(CFTypeRef value) {
    if (value == nullptr || CFGetTypeID(value) != CFStringGetTypeID()) return "(not a string)";
    char buffer[128];
    if (!CFStringGetCString(static_cast<CFStringRef>(value), buffer, sizeof buffer,
                            kCFStringEncodingUTF8)) {
      return "(does not fit)";
    }
    return buffer;
  }

  static uint32_t DataWord(CFTypeRef value) {
    if (value == nullptr || CFGetTypeID(value) != CFDataGetTypeID() ||
        CFDataGetLength(static_cast<CFDataRef>(value)) != 4) {
      return 0xffffffff;
    }
    uint32_t word;
    std::memcpy(&word, CFDataGetBytePtr(static_cast<CFDataRef>(value)), 4);
    return word;
  }

  // How many registered services match, releasing them.
  static int CountMatching(CFDictionaryRef matching) {
    io_iterator_t it = IO_OBJECT_NULL;
    if (IOServiceGetMatchingServices(kIOMainPortDefault, matching, &it) != kIOReturnSuccess)
      return -1;
    int count = 0;
    while (io_object_t s = IOIteratorNext(it)) {
      ++count;
      IOObjectRelease(s);
    }
    IOObjectRelease(it);
    return count;
  }

  io_service_t nub_ = IO_OBJECT_NULL;
};

TEST_F(RegistryRules, CreateCFPropertyReadsTheServicesPersonality) {
  CFTypeRef userClass =
      IORegistryEntryCreateCFProperty(service_, CFSTR(kIOUserClassKey), kCFAllocatorDefault, 0);
  EXPECT_EQ(String(userClass), "ConformanceDriver");
  CFTypeRef tunnel = IORegistryEntryCreateCFProperty(service_, CFSTR("IOPCITunnelCompatible"),
                                                     kCFAllocatorDefault, 0);
  EXPECT_EQ(tunnel, kCFBooleanTrue);
  CFTypeRef score =
      IORegistryEntryCreateCFProperty(service_, CFSTR(kIOProbeScoreKey), kCFAllocatorDefault, 0);
  ASSERT_NE(score, nullptr);
  ASSERT_EQ(CFGetTypeID(score), CFNumberGetTypeID());
  // A plist <integer> is a 64-bit OSNumber in the kernel, and a kCFNumberSInt64Type CFNumber
  // back in the app (IOCFSerialize.c: up to 32 bits SInt32, wider SInt64).
  EXPECT_EQ(CFNumberGetType(static_cast<CFNumberRef>(score)), kCFNumberSInt64Type);
  int32_t value = 0;
  EXPECT_TRUE(CFNumberGetValue(static_cast<CFNumberRef>(score), kCFNumberSInt32Type, &value));
  EXPECT_EQ(value, 1000);
  EXPECT_EQ(
      IORegistryEntryCreateCFProperty(service_, CFSTR("NoSuchProperty"), kCFAllocatorDefault, 0),
      nullptr);
  for (CFTypeRef v : {userClass, tunnel, score}) {
    if (v != nullptr) CFRelease(v);
  }
}

TEST_F(RegistryRules, ThePciNubHasItsIdsAsFourByteData) {
  ASSERT_NE(Nub(), IO_OBJECT_NULL);
  CFTypeRef vendor =
      IORegistryEntryCreateCFProperty(Nub(), CFSTR("vendor-id"), kCFAllocatorDefault, 0);
  CFTypeRef device =
      IORegistryEntryCreateCFProperty(Nub(), CFSTR("device-id"), kCFAllocatorDefault, 0);
  EXPECT_EQ(DataWord(vendor), 0x1234u);  // the probe device's ids (probe_registers.h)
  EXPECT_EQ(DataWord(device), 0xF00Du);
  if (vendor) CFRelease(vendor);
  if (device) CFRelease(device);
}

TEST_F(RegistryRules, CreateCFPropertiesCopiesTheWholeTable) {
  CFMutableDictionaryRef properties = nullptr;
  ASSERT_EQ(IORegistryEntryCreateCFProperties(service_, &properties, kCFAllocatorDefault, 0),
            kIOReturnSuccess);
  ASSERT_NE(properties, nullptr);
  EXPECT_EQ(String(CFDictionaryGetValue(properties, CFSTR(kIOProviderClassKey))), "IOPCIDevice");
  CFRelease(properties);
}

TEST_F(RegistryRules, SearchCFPropertyLooksAtParentsOnlyWhenAskedTo) {
  CFTypeRef here = IORegistryEntrySearchCFProperty(service_, kIOServicePlane, CFSTR("vendor-id"),
                                                   kCFAllocatorDefault, 0);
  EXPECT_EQ(here, nullptr);
  CFTypeRef up = IORegistryEntrySearchCFProperty(
      service_, kIOServicePlane, CFSTR("vendor-id"), kCFAllocatorDefault,
      kIORegistryIterateRecursively | kIORegistryIterateParents);
  EXPECT_EQ(DataWord(up), 0x1234u);
  if (up) CFRelease(up);
}

TEST_F(RegistryRules, MatchingDictionariesAreCFDictionariesWithIOKitKeys) {
  CFMutableDictionaryRef byClass = IOServiceMatching("IOPCIDevice");
  ASSERT_NE(byClass, nullptr);
  EXPECT_EQ(String(CFDictionaryGetValue(byClass, CFSTR(kIOProviderClassKey))), "IOPCIDevice");
  CFRelease(byClass);
  CFMutableDictionaryRef byName = IOServiceNameMatching("ConformanceDriver");
  EXPECT_EQ(String(CFDictionaryGetValue(byName, CFSTR(kIONameMatchKey))), "ConformanceDriver");
  CFRelease(byName);
  uint64_t id = 0;
  ASSERT_EQ(IORegistryEntryGetRegistryEntryID(service_, &id), kIOReturnSuccess);
  io_service_t same =
      IOServiceGetMatchingService(kIOMainPortDefault, IORegistryEntryIDMatching(id));
  EXPECT_TRUE(IOObjectIsEqualTo(same, service_));
  IOObjectRelease(same);
}

TEST_F(RegistryRules, PropertyAndPciKeysNarrowAMatch) {
  CFMutableDictionaryRef matching = IOServiceMatching("IOPCIDevice");
  CFStringRef primary = CFSTR("0xF00D1234");
  CFDictionarySetValue(matching, CFSTR("IOPCIPrimaryMatch"), primary);
  EXPECT_EQ(CountMatching(matching), 1);  // consumed
  matching = IOServiceMatching("IOPCIDevice");
  CFDictionarySetValue(matching, CFSTR("IOPCIPrimaryMatch"), CFSTR("0x00001111"));
  EXPECT_EQ(CountMatching(matching), 0);

  const uint32_t vendor = 0x1234;
  CFDataRef data = CFDataCreate(kCFAllocatorDefault, reinterpret_cast<const UInt8*>(&vendor), 4);
  const void* keys[] = {CFSTR("vendor-id")};
  const void* values[] = {data};
  CFDictionaryRef wanted =
      CFDictionaryCreate(kCFAllocatorDefault, keys, values, 1, &kCFTypeDictionaryKeyCallBacks,
                         &kCFTypeDictionaryValueCallBacks);
  matching = IOServiceMatching("IOService");
  CFDictionarySetValue(matching, CFSTR(kIOPropertyMatchKey), wanted);
  EXPECT_EQ(CountMatching(matching), 1);  // the nub only
  matching = IOServiceMatching("IOService");
  CFDictionarySetValue(matching, CFSTR(kIOPropertyExistsMatchKey), CFSTR("IOUserClass"));
  EXPECT_EQ(CountMatching(matching), 1);  // the driver only
  CFRelease(wanted);
  CFRelease(data);
}

TEST_F(RegistryRules, TheDriversParentInTheServicePlaneIsThePciNub) {
  io_registry_entry_t parent = IO_OBJECT_NULL;
  ASSERT_EQ(IORegistryEntryGetParentEntry(service_, kIOServicePlane, &parent), kIOReturnSuccess);
  EXPECT_TRUE(IOObjectConformsTo(parent, "IOPCIDevice"));
  EXPECT_TRUE(IOObjectIsEqualTo(parent, Nub()));
  io_registry_entry_t child = IO_OBJECT_NULL;
  ASSERT_EQ(IORegistryEntryGetChildEntry(parent, kIOServicePlane, &child), kIOReturnSuccess);
  EXPECT_TRUE(IOObjectIsEqualTo(child, service_));
  EXPECT_TRUE(IORegistryEntryInPlane(service_, kIOServicePlane));
  EXPECT_EQ(IORegistryEntryGetParentEntry(service_, "IODeviceTree", &parent), kIOReturnBadArgument);
  IOObjectRelease(child);
  IOObjectRelease(parent);
}

TEST_F(RegistryRules, AConnectionKnowsItsServiceAndHasNoTraps) {
  io_service_t service = IO_OBJECT_NULL;
  ASSERT_EQ(IOConnectGetService(connection_, &service), kIOReturnSuccess);
  EXPECT_TRUE(IOObjectIsEqualTo(service, service_));
  IOObjectRelease(service);
  // iokit_user_client_trap: no trap at the index leaves kIOReturnSuccess; not a user client is
  // kIOReturnBadArgument.
  EXPECT_EQ(IOConnectTrap0(connection_, 0), kIOReturnSuccess);
  EXPECT_EQ(IOConnectTrap0(service_, 0), kIOReturnBadArgument);
  EXPECT_EQ(IOConnectSetNotificationPort(connection_, 0, MACH_PORT_NULL, 0), kIOReturnUnsupported);
}

}  // namespace
}  // namespace fpgadext::conformance
