// DriverKit object-model rules of the emulated runtime, in process (docs/emulation-headers.md,
// "Object model and core headers"): OSRequiredCast, OSTypeAlloc, OSSharedPtr and IOService's
// StringFromReturn, as Apple's headers and xnu define them.
#include <DriverKit/IODispatchQueue.h>
#include <DriverKit/IOLib.h>
#include <DriverKit/IOService.h>
#include <DriverKit/IOUserServer.h>
#include <DriverKit/OSCollections.h>
#include <DriverKit/OSSharedPtr.h>
#include <gtest/gtest.h>

#include <string>

namespace {

std::string Text(IOService* service, IOReturn value) {
  OSString* text = nullptr;
  EXPECT_EQ(service->StringFromReturn(value, &text), kIOReturnSuccess);
  std::string result = text && text->getCStringNoCopy() ? text->getCStringNoCopy() : "";
  OSSafeReleaseNULL(text);
  return result;
}

class ServiceRules : public ::testing::Test {
 protected:
  void SetUp() override {
    service_ = OSTypeAlloc(IOService);
    ASSERT_NE(service_, nullptr);
    ASSERT_TRUE(service_->init());
  }
  void TearDown() override { OSSafeReleaseNULL(service_); }
  IOService* service_ = nullptr;
};

TEST(ObjectModelRules, OSRequiredCastAbortsWhenTheObjectIsNotOfTheClass) {
  OSString* string = OSString::withCString("not a number");
  OSObject* object = string;
  EXPECT_DEATH((void)OSRequiredCast(OSNumber, object), "OSRequiredCast");
  string->release();
}

TEST(ObjectModelRules, OSRequiredCastPassesNullAndObjectsOfTheClass) {
  OSObject* none = nullptr;
  EXPECT_EQ(OSRequiredCast(OSString, none), nullptr);
  OSString* string = OSString::withCString("s");
  OSObject* object = string;
  EXPECT_EQ(OSRequiredCast(OSString, object), string);
  EXPECT_EQ(OSRequiredCast(OSContainer, object), string);
  string->release();
}

TEST(ObjectModelRules, OSDynamicCastGivesNullForAnotherClass) {
  OSNumber* number = OSNumber::withNumber(1, 32);
  OSObject* object = number;
  EXPECT_EQ(OSDynamicCast(OSString, object), nullptr);
  EXPECT_EQ(OSDynamicCast(OSNumber, object), number);
  number->release();
}

TEST(ObjectModelRules, OSTypeAllocGivesAnInstanceAtPlusOneWithoutRunningInit) {
  IOService* service = OSTypeAlloc(IOService);
  ASSERT_NE(service, nullptr);
  EXPECT_EQ(service->getRetainCount(), 1u);
  EXPECT_STREQ(service->GetClassName(), "IOService");
  // init() has not run: the service has no Default queue yet.
  IODispatchQueue* queue = nullptr;
  EXPECT_EQ(service->CopyDispatchQueue(kIOServiceDefaultQueueName, &queue), kIOReturnError);
  ASSERT_TRUE(service->init());
  EXPECT_EQ(service->CopyDispatchQueue(kIOServiceDefaultQueueName, &queue), kIOReturnSuccess);
  OSSafeReleaseNULL(queue);
  service->release();
}

TEST(ObjectModelRules, OSTypeAllocOfAnAbstractClassIsNull) {
  EXPECT_EQ(OSTypeAlloc(OSCollection), nullptr);
  EXPECT_EQ(OSTypeAlloc(IOUserServer), nullptr);
}

TEST(ObjectModelRules, OSSharedPtrRetainsAdoptsAndReleases) {
  OSString* string = OSString::withCString("shared");
  {
    OSSharedPtr<OSString> adopted(string, OSNoRetain);
    EXPECT_EQ(string->getRetainCount(), 1u);
    OSSharedPtr<OSString> copy = adopted;
    EXPECT_EQ(string->getRetainCount(), 2u);
    OSSharedPtr<OSObject> base = copy;
    EXPECT_EQ(string->getRetainCount(), 3u);
    OSSharedPtr<OSString> taken(string, OSRetain);
    EXPECT_EQ(string->getRetainCount(), 4u);
    EXPECT_EQ(taken.detach(), string);
    EXPECT_FALSE(taken);
    string->release();  // the reference detach() handed over
    EXPECT_EQ(string->getRetainCount(), 3u);
    string->retain();  // kept past the scope
  }
  EXPECT_EQ(string->getRetainCount(), 1u);
  OSSharedPtr<OSString> out;
  string->retain();
  *static_cast<OSString**>(out.attach()) = string;  // an out-parameter that returns +1
  EXPECT_EQ(out.get(), string);
  out.reset();
  EXPECT_EQ(string->getRetainCount(), 1u);
  string->release();
}

TEST_F(ServiceRules, StringFromReturnGivesXnuTextForEachIOReturn) {
  EXPECT_EQ(Text(service_, kIOReturnSuccess), "success");
  EXPECT_EQ(Text(service_, kIOReturnError), "general error");
  EXPECT_EQ(Text(service_, kIOReturnBadArgument), "invalid argument");
  EXPECT_EQ(Text(service_, kIOReturnUnsupported), "unsupported function");
  EXPECT_EQ(Text(service_, kIOReturnNotWritable), "device is not writeable");
  EXPECT_EQ(Text(service_, kIOReturnInvalid), "unanticipated driver error");
}

TEST_F(ServiceRules, StringFromReturnOfAnUnnamedValueIsHexUndefined) {
  EXPECT_EQ(Text(service_, kIOReturnNotFound), "0xe00002f0 (UNDEFINED)");
  EXPECT_EQ(Text(service_, 42), "0x2a (UNDEFINED)");
}

TEST_F(ServiceRules, RequireMaxBusStallAcceptsThirtyTwoBitValuesOnly) {
  EXPECT_EQ(service_->RequireMaxBusStall(kIOMaxBusStall25usec), kIOReturnSuccess);
  EXPECT_EQ(service_->RequireMaxBusStall(1ull << 32), kIOReturnBadArgument);
}

TEST_F(ServiceRules, UnavailableFeaturesReturnWhatTheKernelReturns) {
  EXPECT_EQ(service_->ClientCrashed(nullptr, 0), kIOReturnUnsupported);
  EXPECT_EQ(service_->JoinPMTree(), kIOReturnUnsupported);
  EXPECT_EQ(service_->ChangePowerState(kIOServicePowerCapabilityLow), kIOReturnUnsupported);
  EXPECT_EQ(service_->ChangePowerState(7), kIOReturnBadArgument);
  EXPECT_EQ(service_->CoreAnalyticsSendEvent(0, nullptr, nullptr), kIOReturnNotReady);
  EXPECT_EQ(service_->Terminate(1), kIOReturnUnsupported);
}

TEST_F(ServiceRules, SetDispatchQueueOfAnOSObjectThatIsNoServiceIsUnsupported) {
  OSString* string = OSString::withCString("no queues");
  IODispatchQueue* queue = nullptr;
  EXPECT_EQ(string->CopyDispatchQueue(kIOServiceDefaultQueueName, &queue), kIOReturnUnsupported);
  string->release();
}

TEST(ObjectModelRules, OSCollectionsCInterfaceStoresAndReadsValues) {
  OSDictionaryPtr dict = OSDictionaryCreate();
  OSDictionarySetStringValue(dict, "name", "fpga");
  OSDictionarySetUInt64Value(dict, "bars", 2);
  EXPECT_STREQ(OSDictionaryGetStringValue(dict, "name"), "fpga");
  EXPECT_EQ(OSDictionaryGetUInt64Value(dict, "bars"), 2u);
  EXPECT_EQ(OSDictionaryGetUInt64Value(dict, "name"), 0u);  // not a number
  EXPECT_EQ(OSCollectionTypeID(dict), static_cast<OSCollectionType>(kOSCollectionTypeDictionary));
  OSArrayPtr array = OSArrayCreate();
  OSArraySetUInt64Value(array, kOSArrayAppend, 7);
  OSArraySetStringValue(array, 0, "first");
  EXPECT_STREQ(OSArrayGetStringValue(array, 0), "first");
  EXPECT_EQ(OSArrayGetUInt64Value(array, 1), 7u);
  __block uint32_t seen = 0;
  EXPECT_TRUE(OSArrayApply(array, ^bool(OSObjectPtr) {
    return ++seen == 1;  // stop after the first
  }));
  EXPECT_EQ(seen, 1u);
  OSObjectSafeReleaseNULL(array);
  OSObjectSafeReleaseNULL(dict);
  EXPECT_EQ(dict, nullptr);
}

TEST(ObjectModelRules, CopyCollectionCopiesNestedCollectionsAndSharesOtherMembers) {
  OSDictionary* inner = OSDictionary::withCapacity(1);
  OSString* text = OSString::withCString("leaf");
  inner->setObject("k", text);
  OSArray* outer = OSArray::withCapacity(2);
  outer->setObject(inner);
  outer->setObject(inner);  // the same collection twice: copied once
  outer->setObject(text);
  // Not OSDynamicCast(OSArray, outer->copyCollection(nullptr)): DriverKit's OSDynamicCast
  // evaluates its argument twice, which would make two copies and leak one.
  OSCollection* copied = outer->copyCollection(nullptr);
  auto* copy = OSDynamicCast(OSArray, copied);
  ASSERT_NE(copy, nullptr);
  EXPECT_NE(copy, outer);
  EXPECT_TRUE(copy->isEqualTo(outer));
  EXPECT_NE(copy->getObject(0), inner);
  EXPECT_EQ(copy->getObject(0), copy->getObject(1));
  EXPECT_EQ(copy->getObject(2), text);
  copy->release();
  outer->release();
  inner->release();
  text->release();
}

TEST(ObjectModelRules, DictionaryIsEqualToForGivenKeysOnly) {
  OSDictionary* a = OSDictionary::withCapacity(2);
  OSDictionary* b = OSDictionary::withCapacity(2);
  OSDictionarySetUInt64Value(a, "same", 1);
  OSDictionarySetUInt64Value(b, "same", 1);
  OSDictionarySetUInt64Value(a, "other", 2);
  OSDictionarySetUInt64Value(b, "other", 3);
  OSArray* keys = OSArray::withCapacity(1);
  OSArraySetStringValue(keys, kOSArrayAppend, "same");
  EXPECT_TRUE(a->isEqualTo(b, keys));
  EXPECT_FALSE(a->isEqualTo(b));
  OSArraySetStringValue(keys, kOSArrayAppend, "other");
  EXPECT_FALSE(a->isEqualTo(b, keys));
  keys->release();
  a->release();
  b->release();
}

}  // namespace
