// DriverKit containers of the emulation: OSData, OSString, OSNumber, OSBoolean, OSArray,
// OSDictionary, their reference counting and OSDynamicCast across them.
#include <DriverKit/IOLib.h>
#include <DriverKit/OSCollections.h>
#include <gtest/gtest.h>
#include <string.h>

#include <string>

namespace {

// Drops the +1 of a with/Create call when the test ends.
template <class T>
struct Owned {
  explicit Owned(T* object) : p(object) {}
  ~Owned() { OSSafeReleaseNULL(p); }
  T* operator->() const { return p; }
  T* get() const { return p; }
  T* p;
};

TEST(OSData, WithBytesCopies) {
  uint8_t bytes[4] = {1, 2, 3, 4};
  Owned data(OSData::withBytes(bytes, sizeof(bytes)));
  ASSERT_NE(data.get(), nullptr);
  EXPECT_EQ(data->getRetainCount(), 1);
  EXPECT_EQ(data->getLength(), 4u);
  EXPECT_GE(data->getCapacity(), 4u);
  bytes[0] = 9;
  EXPECT_NE(data->getBytesNoCopy(), static_cast<const void*>(bytes));
  EXPECT_EQ(static_cast<const uint8_t*>(data->getBytesNoCopy())[0], 1);
}

TEST(OSData, WithBytesNoCopyAlsoCopiesAsDriverKitDocuments) {
  uint8_t bytes[3] = {7, 8, 9};
  Owned data(OSData::withBytesNoCopy(bytes, sizeof(bytes)));
  ASSERT_NE(data.get(), nullptr);
  EXPECT_NE(data->getBytesNoCopy(), static_cast<const void*>(bytes));
  bytes[1] = 0;
  EXPECT_TRUE(data->isEqualTo("\x07\x08\x09", 3));
}

TEST(OSData, ZeroLengthIsValid) {
  Owned empty(OSData::withBytes(nullptr, 0));
  ASSERT_NE(empty.get(), nullptr);
  EXPECT_EQ(empty->getLength(), 0u);
  EXPECT_EQ(empty->getBytesNoCopy(), nullptr);
  EXPECT_EQ(empty->getBytesNoCopy(0, 0), nullptr);
  EXPECT_TRUE(empty->isEqualTo(nullptr, 0));
  Owned other(OSData::withCapacity(0));
  ASSERT_NE(other.get(), nullptr);
  EXPECT_TRUE(empty->isEqualTo(other.get()));
  EXPECT_EQ(OSData::withBytes(nullptr, 1), nullptr);
}

TEST(OSData, CapacityThenAppendGrows) {
  Owned data(OSData::withCapacity(4));
  ASSERT_NE(data.get(), nullptr);
  EXPECT_EQ(data->getLength(), 0u);
  EXPECT_EQ(data->getCapacity(), 4u);
  std::string expected;
  for (int i = 0; i < 100; ++i) {
    char c = static_cast<char>('a' + i % 26);
    ASSERT_TRUE(data->appendBytes(&c, 1));
    expected.push_back(c);
  }
  EXPECT_EQ(data->getLength(), 100u);
  EXPECT_GE(data->getCapacity(), 100u);
  EXPECT_TRUE(data->isEqualTo(expected.data(), expected.size()));
  ASSERT_TRUE(data->appendBytes(nullptr, 3));  // NULL appends zeros
  EXPECT_EQ(static_cast<const uint8_t*>(data->getBytesNoCopy())[101], 0);
  ASSERT_TRUE(data->appendBytes(data.get()));  // self-append
  EXPECT_EQ(data->getLength(), 206u);
  EXPECT_EQ(memcmp(data->getBytesNoCopy(), data->getBytesNoCopy(103, 103), 103), 0);
}

TEST(OSData, RangeAccessIsBoundsChecked) {
  Owned data(OSData::withBytes("0123456789", 10));
  ASSERT_NE(data.get(), nullptr);
  const char* base = static_cast<const char*>(data->getBytesNoCopy());
  EXPECT_EQ(data->getBytesNoCopy(0, 10), base);
  EXPECT_EQ(data->getBytesNoCopy(9, 1), base + 9);
  EXPECT_EQ(data->getBytesNoCopy(3, 0), base + 3);
  EXPECT_EQ(data->getBytesNoCopy(9, 2), nullptr);
  EXPECT_EQ(data->getBytesNoCopy(10, 0), nullptr);
  EXPECT_EQ(data->getBytesNoCopy(11, 0), nullptr);
  EXPECT_EQ(data->getBytesNoCopy(1, SIZE_MAX), nullptr);  // start + length overflows
  EXPECT_EQ(data->getBytesNoCopy(SIZE_MAX, 2), nullptr);
}

TEST(OSData, WithDataAndSubrange) {
  Owned data(OSData::withBytes("abcdef", 6));
  Owned copy(OSData::withData(data.get()));
  ASSERT_NE(copy.get(), nullptr);
  EXPECT_TRUE(copy->isEqualTo(data.get()));
  EXPECT_NE(copy->getBytesNoCopy(), data->getBytesNoCopy());
  Owned middle(OSData::withData(data.get(), 2, 3));
  ASSERT_NE(middle.get(), nullptr);
  EXPECT_TRUE(middle->isEqualTo("cde", 3));
  EXPECT_EQ(OSData::withData(data.get(), 4, 3), nullptr);
  EXPECT_EQ(OSData::withData(nullptr), nullptr);
}

TEST(OSData, Equality) {
  Owned a(OSData::withBytes("xyz", 3));
  Owned b(OSData::withBytes("xyz", 3));
  Owned c(OSData::withBytes("xy", 2));
  EXPECT_TRUE(a->isEqualTo(b.get()));
  EXPECT_TRUE(a->isEqualTo(static_cast<const OSObject*>(b.get())));
  EXPECT_FALSE(a->isEqualTo(c.get()));
  EXPECT_FALSE(a->isEqualTo("xyw", 3));
  EXPECT_FALSE(a->isEqualTo(static_cast<const OSData*>(nullptr)));
  Owned s(OSString::withCString("xyz"));
  EXPECT_FALSE(a->isEqualTo(static_cast<const OSObject*>(s.get())));
}

TEST(OSString, Basics) {
  Owned s(OSString::withCString("hello"));
  ASSERT_NE(s.get(), nullptr);
  EXPECT_EQ(s->getLength(), 5u);
  EXPECT_STREQ(s->getCStringNoCopy(), "hello");
  EXPECT_TRUE(s->isEqualTo("hello"));
  EXPECT_FALSE(s->isEqualTo("hell"));
  EXPECT_FALSE(s->isEqualTo("hello!"));
  EXPECT_FALSE(s->isEqualTo(static_cast<const char*>(nullptr)));
  Owned prefix(OSString::withCString("hello world", 5));
  EXPECT_TRUE(prefix->isEqualTo(s.get()));
  Owned longer(OSString::withCString("hi", 100));
  EXPECT_TRUE(longer->isEqualTo("hi"));
  Owned copy(OSString::withString(s.get()));
  EXPECT_TRUE(copy->isEqualTo(static_cast<const OSObject*>(s.get())));
  EXPECT_NE(copy->getCStringNoCopy(), s->getCStringNoCopy());
  Owned nocopy(OSString::withCStringNoCopy("hello"));
  EXPECT_TRUE(nocopy->isEqualTo(s.get()));
  EXPECT_EQ(OSString::withCString(nullptr), nullptr);
}

TEST(OSString, EmptyStringHasNoCString) {
  Owned empty(OSString::withCString(""));
  ASSERT_NE(empty.get(), nullptr);
  EXPECT_EQ(empty->getLength(), 0u);
  EXPECT_EQ(empty->getCStringNoCopy(), nullptr);  // as Apple documents
  EXPECT_TRUE(empty->isEqualTo(""));
  EXPECT_FALSE(empty->isEqualTo("a"));
}

TEST(OSNumber, SizesAndTruncation) {
  Owned n64(OSNumber::withNumber(0x1122334455667788ull, 64));
  ASSERT_NE(n64.get(), nullptr);
  EXPECT_EQ(n64->unsigned64BitValue(), 0x1122334455667788ull);
  EXPECT_EQ(n64->unsigned32BitValue(), 0x55667788u);
  EXPECT_EQ(n64->unsigned16BitValue(), 0x7788u);
  EXPECT_EQ(n64->unsigned8BitValue(), 0x88u);
  EXPECT_EQ(n64->numberOfBits(), 64u);
  Owned n8(OSNumber::withNumber(0x1ff, 8));
  EXPECT_EQ(n8->unsigned64BitValue(), 0xffu);
  EXPECT_EQ(OSNumber::withNumber(1, 12), nullptr);
  EXPECT_EQ(OSNumber::withNumber(1, 0), nullptr);
  Owned parsed(OSNumber::withNumber("0x20", 32));
  ASSERT_NE(parsed.get(), nullptr);
  EXPECT_EQ(parsed->unsigned32BitValue(), 32u);
  EXPECT_EQ(OSNumber::withNumber("nope", 32), nullptr);
  Owned same(OSNumber::withNumber(0xff, 16));
  EXPECT_TRUE(n8->isEqualTo(same.get()));
  EXPECT_FALSE(n8->isEqualTo(n64.get()));
}

TEST(OSBoolean, SingletonsSurviveRetainRelease) {
  ASSERT_NE(kOSBooleanTrue, nullptr);
  ASSERT_NE(kOSBooleanFalse, nullptr);
  EXPECT_NE(kOSBooleanTrue, kOSBooleanFalse);
  EXPECT_FALSE(kOSBooleanTrue->isEqualTo(kOSBooleanFalse));
  EXPECT_TRUE(kOSBooleanTrue->isEqualTo(static_cast<const OSObject*>(kOSBooleanTrue)));
  // Over-releasing a singleton must not free it.
  OSBoolean* const before = kOSBooleanTrue;
  for (int i = 0; i < 5; ++i) kOSBooleanTrue->release();
  EXPECT_EQ(kOSBooleanTrue, before);
  EXPECT_EQ(kOSBooleanTrue->getRetainCount(), before->getRetainCount());
  EXPECT_NE(OSDynamicCast(OSBoolean, kOSBooleanTrue), nullptr);
  kOSBooleanTrue->retain();
  kOSBooleanTrue->release();
  EXPECT_NE(OSDynamicCast(OSBoolean, kOSBooleanTrue), nullptr);
}

TEST(OSDynamicCast, AcrossContainerClasses) {
  Owned data(OSData::withCapacity(1));
  Owned string(OSString::withCString("s"));
  Owned number(OSNumber::withNumber(1, 32));
  Owned array(OSArray::withCapacity(1));
  Owned dict(OSDictionary::withCapacity(1));
  OSObject* objects[] = {data.get(),  string.get(), number.get(),
                         array.get(), dict.get(),   kOSBooleanTrue};
  for (OSObject* o : objects) {
    EXPECT_NE(OSDynamicCast(OSContainer, o), nullptr);
    EXPECT_NE(OSDynamicCast(OSObject, o), nullptr);
  }
  EXPECT_NE(OSDynamicCast(OSData, objects[0]), nullptr);
  EXPECT_EQ(OSDynamicCast(OSString, objects[0]), nullptr);
  EXPECT_NE(OSDynamicCast(OSString, objects[1]), nullptr);
  EXPECT_EQ(OSDynamicCast(OSNumber, objects[1]), nullptr);
  EXPECT_NE(OSDynamicCast(OSNumber, objects[2]), nullptr);
  EXPECT_EQ(OSDynamicCast(OSCollection, objects[2]), nullptr);
  EXPECT_NE(OSDynamicCast(OSCollection, objects[3]), nullptr);
  EXPECT_NE(OSDynamicCast(OSArray, objects[3]), nullptr);
  EXPECT_EQ(OSDynamicCast(OSDictionary, objects[3]), nullptr);
  EXPECT_NE(OSDynamicCast(OSCollection, objects[4]), nullptr);
  EXPECT_NE(OSDynamicCast(OSDictionary, objects[4]), nullptr);
  EXPECT_EQ(OSDynamicCast(OSArray, objects[4]), nullptr);
  EXPECT_NE(OSDynamicCast(OSBoolean, objects[5]), nullptr);
  EXPECT_EQ(OSDynamicCast(OSData, objects[5]), nullptr);
  EXPECT_EQ(OSDynamicCast(OSData, static_cast<OSObject*>(nullptr)), nullptr);
}

TEST(OSMetaClass, ConcreteContainersAllocateByName) {
  for (const char* name : {"OSData", "OSString", "OSNumber", "OSArray", "OSDictionary"}) {
    const OSMetaClass* meta = OSMetaClass::lookup(name);
    ASSERT_NE(meta, nullptr) << name;
    OSObject* object = meta->alloc();
    ASSERT_NE(object, nullptr) << name;
    EXPECT_STREQ(object->getMetaClass()->getClassName(), name);
    object->release();
  }
  for (const char* name : {"OSContainer", "OSCollection", "OSBoolean"}) {
    const OSMetaClass* meta = OSMetaClass::lookup(name);
    ASSERT_NE(meta, nullptr) << name;
    EXPECT_EQ(meta->alloc(), nullptr) << name;
  }
}

TEST(OSArray, RetainsAndReleases) {
  Owned array(OSArray::withCapacity(0));
  ASSERT_NE(array.get(), nullptr);
  OSString* s = OSString::withCString("x");
  ASSERT_TRUE(array->setObject(s));
  EXPECT_EQ(s->getRetainCount(), 2);
  ASSERT_TRUE(array->setObject(s));
  EXPECT_EQ(s->getRetainCount(), 3);
  EXPECT_EQ(array->getCount(), 2u);
  EXPECT_EQ(array->getObject(0), s);
  EXPECT_EQ(s->getRetainCount(), 3);  // getObject is +0
  array->removeObject(0);
  EXPECT_EQ(s->getRetainCount(), 2);
  EXPECT_EQ(array->getCount(), 1u);
  array->flushCollection();
  EXPECT_EQ(s->getRetainCount(), 1);
  EXPECT_EQ(array->getCount(), 0u);
  ASSERT_TRUE(array->setObject(s));
  EXPECT_EQ(s->getRetainCount(), 2);
  OSSafeReleaseNULL(array.p);  // freeing the array releases its members
  EXPECT_EQ(s->getRetainCount(), 1);
  s->release();
}

TEST(OSArray, IndexingInsertReplaceAndBounds) {
  Owned array(OSArray::withCapacity(2));
  Owned a(OSNumber::withNumber(1, 32));
  Owned b(OSNumber::withNumber(2, 32));
  Owned c(OSNumber::withNumber(3, 32));
  EXPECT_FALSE(array->setObject(nullptr));
  EXPECT_FALSE(array->setObject(1, a.get()));  // index > count
  ASSERT_TRUE(array->setObject(a.get()));
  ASSERT_TRUE(array->setObject(c.get()));
  ASSERT_TRUE(array->setObject(1, b.get()));  // insert in the middle, grows past capacity 2
  ASSERT_EQ(array->getCount(), 3u);
  EXPECT_GE(array->getCapacity(), 3u);
  EXPECT_EQ(array->getObject(0), a.get());
  EXPECT_EQ(array->getObject(1), b.get());
  EXPECT_EQ(array->getObject(2), c.get());
  EXPECT_EQ(array->getObject(3), nullptr);
  EXPECT_EQ(array->getObject(UINT32_MAX), nullptr);
  EXPECT_EQ(array->getLastObject(), c.get());
  EXPECT_EQ(array->getNextIndexOfObject(b.get(), 0), 1u);
  EXPECT_EQ(array->getNextIndexOfObject(b.get(), 2), UINT32_MAX);
  ASSERT_TRUE(array->replaceObject(0, c.get()));
  EXPECT_EQ(a->getRetainCount(), 1);
  EXPECT_EQ(c->getRetainCount(), 3);
  EXPECT_FALSE(array->replaceObject(3, a.get()));
  array->removeObject(7);  // out of range: nothing happens
  EXPECT_EQ(array->getCount(), 3u);
  EXPECT_EQ(array->ensureCapacity(100), 100u);
  EXPECT_EQ(array->getCapacity(), 100u);
}

TEST(OSArray, WithObjectsWithArrayMergeAndIterate) {
  Owned a(OSString::withCString("a"));
  Owned b(OSString::withCString("b"));
  const OSObject* values[] = {a.get(), b.get()};
  Owned array(OSArray::withObjects(values, 2, 0));
  ASSERT_NE(array.get(), nullptr);
  EXPECT_EQ(array->getCount(), 2u);
  EXPECT_EQ(OSArray::withObjects(values, 2, 1), nullptr);  // count > capacity
  Owned copy(OSArray::withArray(array.get(), 0));
  ASSERT_NE(copy.get(), nullptr);
  EXPECT_TRUE(copy->isEqualTo(array.get()));
  ASSERT_TRUE(copy->merge(array.get()));
  EXPECT_EQ(copy->getCount(), 4u);
  EXPECT_FALSE(copy->isEqualTo(array.get()));
  ASSERT_TRUE(copy->merge(copy.get()));
  EXPECT_EQ(copy->getCount(), 8u);
  EXPECT_EQ(a->getRetainCount(), 1 + 1 + 4);

  __block int seen = 0;
  EXPECT_TRUE(array->iterateObjects(^bool(OSObject* object) {
    seen += OSDynamicCast(OSString, object) != nullptr;
    return true;
  }));
  EXPECT_EQ(seen, 2);
  seen = 0;
  EXPECT_FALSE(copy->iterateObjects(^bool(OSObject*) {
    return ++seen < 3;
  }));
  EXPECT_EQ(seen, 3);
}

TEST(OSArray, DeepEquality) {
  Owned s1(OSString::withCString("same"));
  Owned s2(OSString::withCString("same"));
  Owned x(OSArray::withCapacity(1));
  Owned y(OSArray::withCapacity(1));
  x->setObject(s1.get());
  y->setObject(s2.get());
  EXPECT_TRUE(x->isEqualTo(y.get()));
  EXPECT_TRUE(x->isEqualTo(static_cast<const OSObject*>(y.get())));
  Owned other(OSString::withCString("other"));
  y->replaceObject(0, other.get());
  EXPECT_FALSE(x->isEqualTo(y.get()));
}

TEST(OSDictionary, StringKeysRetainReplaceRemove) {
  Owned dict(OSDictionary::withCapacity(1));
  ASSERT_NE(dict.get(), nullptr);
  OSNumber* one = OSNumber::withNumber(1, 32);
  OSNumber* two = OSNumber::withNumber(2, 32);
  ASSERT_TRUE(dict->setObject("key", one));
  EXPECT_EQ(one->getRetainCount(), 2);
  EXPECT_EQ(dict->getObject("key"), one);
  Owned key(OSString::withCString("key"));
  EXPECT_EQ(dict->getObject(key.get()), one);    // an equal OSString finds the entry
  ASSERT_TRUE(dict->setObject(key.get(), two));  // replaces, releases the old value
  EXPECT_EQ(dict->getCount(), 1u);
  EXPECT_EQ(one->getRetainCount(), 1);
  EXPECT_EQ(two->getRetainCount(), 2);
  EXPECT_EQ(dict->getObject("key"), two);
  EXPECT_EQ(dict->getObject("missing"), nullptr);
  EXPECT_FALSE(dict->setObject("k", nullptr));
  EXPECT_FALSE(dict->setObject(static_cast<const char*>(nullptr), one));
  ASSERT_TRUE(dict->setObject("second", one));
  ASSERT_TRUE(dict->setObject("flag", kOSBooleanTrue));
  EXPECT_EQ(dict->getCount(), 3u);
  EXPECT_EQ(dict->getObject("flag"), kOSBooleanTrue);
  dict->removeObject("key");
  EXPECT_EQ(two->getRetainCount(), 1);
  EXPECT_EQ(dict->getObject("key"), nullptr);
  dict->removeObject("absent");
  EXPECT_EQ(dict->getCount(), 2u);
  OSSafeReleaseNULL(dict.p);
  EXPECT_EQ(one->getRetainCount(), 1);
  one->release();
  two->release();
}

TEST(OSDictionary, KeyIsRetainedAndIterationGivesKeysAndValues) {
  Owned dict(OSDictionary::withCapacity(0));
  OSString* key = OSString::withCString("k");
  Owned value(OSData::withBytes("v", 1));
  ASSERT_TRUE(dict->setObject(key, value.get()));
  EXPECT_EQ(key->getRetainCount(), 2);
  key->release();  // the dictionary keeps the key alive
  ASSERT_TRUE(dict->setObject("a", kOSBooleanFalse));
  __block std::string keys;
  EXPECT_TRUE(dict->iterateObjects(^bool(OSObject* k, OSObject* v) {
    const OSString* s = OSDynamicCast(OSString, k);
    keys += s ? s->getCStringNoCopy() : "?";
    EXPECT_NE(v, nullptr);
    return true;
  }));
  EXPECT_EQ(keys, "ka");  // insertion order
  __block int count = 0;
  EXPECT_FALSE(dict->iterateObjects(^bool(OSObject* k) {
    EXPECT_NE(OSDynamicCast(OSString, k), nullptr);
    ++count;
    return false;
  }));
  EXPECT_EQ(count, 1);
}

TEST(OSDictionary, GrowsWithDictionaryMergeAndEquality) {
  Owned dict(OSDictionary::withCapacity(2));
  for (int i = 0; i < 40; ++i) {
    char name[16];
    snprintf(name, sizeof(name), "k%d", i);
    Owned n(OSNumber::withNumber(static_cast<uint64_t>(i), 32));
    ASSERT_TRUE(dict->setObject(name, n.get()));
  }
  EXPECT_EQ(dict->getCount(), 40u);
  EXPECT_GE(dict->getCapacity(), 40u);
  EXPECT_EQ(OSDynamicCast(OSNumber, dict->getObject("k39"))->unsigned32BitValue(), 39u);

  Owned copy(OSDictionary::withDictionary(dict.get(), 0));
  ASSERT_NE(copy.get(), nullptr);
  EXPECT_TRUE(copy->isEqualTo(dict.get()));
  EXPECT_EQ(OSDictionary::withDictionary(dict.get(), 10), nullptr);
  Owned other(OSNumber::withNumber(1000, 32));
  copy->setObject("k0", other.get());
  EXPECT_FALSE(copy->isEqualTo(dict.get()));
  ASSERT_TRUE(copy->merge(dict.get()));
  EXPECT_TRUE(copy->isEqualTo(static_cast<const OSObject*>(dict.get())));
  copy->removeObject("k5");
  EXPECT_FALSE(copy->isEqualTo(dict.get()));

  Owned k1(OSString::withCString("one"));
  Owned v1(OSString::withCString("uno"));
  const OSObject* keys[] = {k1.get()};
  const OSObject* values[] = {v1.get()};
  Owned small(OSDictionary::withObjects(values, keys, 1, 0));
  ASSERT_NE(small.get(), nullptr);
  EXPECT_EQ(small->getObject("one"), v1.get());
  copy->flushCollection();
  EXPECT_EQ(copy->getCount(), 0u);
}

TEST(OSDictionary, NestedCollectionsCompareDeeply) {
  Owned inner1(OSArray::withCapacity(1));
  Owned inner2(OSArray::withCapacity(1));
  Owned d1(OSData::withBytes("z", 1));
  Owned d2(OSData::withBytes("z", 1));
  inner1->setObject(d1.get());
  inner2->setObject(d2.get());
  Owned a(OSDictionary::withCapacity(1));
  Owned b(OSDictionary::withCapacity(1));
  a->setObject("list", inner1.get());
  b->setObject("list", inner2.get());
  EXPECT_TRUE(a->isEqualTo(b.get()));
  inner2->setObject(kOSBooleanTrue);
  EXPECT_FALSE(a->isEqualTo(b.get()));
}

}  // namespace
