// OSDictionary: an associative collection (DriverKit OSDictionary). Keys are usually OSStrings
// and are compared by content; other key objects are compared by identity. The C-string
// overloads make an OSString key. Setting an existing key replaces (and releases) the old value.
// Keys and values are retained; getters return +0. Members keep their insertion order.
#pragma once

#include <DriverKit/OSCollection.h>
#include <stdint.h>

class OSDictionary;
typedef OSDictionary* OSDictionaryPtr;

// Called with each key and its value; return true to continue, false to stop.
typedef bool (^OSDictionaryIterateObjectsBlock)(OSObject* key, OSObject* value);

class OSDictionary : public OSCollection {
  OSDeclareEmulatedClass(OSDictionary);

 public:
  // All return +1 or NULL on failure.
  static OSDictionaryPtr withCapacity(uint32_t capacity);
  // Fails if count > capacity (a capacity of 0 means `count`) or any key or value is NULL.
  static OSDictionaryPtr withObjects(const OSObject** values, const OSObject** keys, uint32_t count,
                                     uint32_t capacity);
  // Fails if capacity is non-zero and smaller than dict's count.
  static OSDictionaryPtr withDictionary(const OSDictionary* dict, uint32_t capacity);

  uint32_t getCount() const override { return count_; }
  uint32_t getCapacity() const override { return capacity_; }
  uint32_t ensureCapacity(uint32_t newCapacity) override;
  void flushCollection() override;
  // Calls the block with each key.
  bool iterateObjects(OSCollectionIterateObjectsBlock block) const override;
  // Calls the block with each key and value.
  bool iterateObjects(OSDictionaryIterateObjectsBlock block) const;

  // Add or replace; retains the object (and key) on success. false for a NULL key or object, or
  // on allocation failure.
  bool setObject(const OSObject* aKey, const OSMetaClassBase* anObject);
  bool setObject(const char* aKey, const OSMetaClassBase* anObject);
  // Copies every entry of otherDictionary, replacing values of existing keys.
  bool merge(const OSDictionary* otherDictionary);

  // +0; NULL if absent.
  OSObject* getObject(const OSObject* aKey) const;
  OSObject* getObject(const char* aKey) const;

  // Removes and releases the entry, if present.
  void removeObject(const OSObject* aKey);
  void removeObject(const char* aKey);

  // Same count and, for each key, values that are isEqualTo each other.
  bool isEqualTo(const OSDictionary* aDictionary) const;
  // Equal for the given keys only: the members of `keys` (an OSArray) or its keys (an
  // OSDictionary); a key absent from both dictionaries counts as equal.
  bool isEqualTo(const OSDictionary* aDictionary, const OSCollection* keys) const;
  bool isEqualTo(const OSMetaClassBase* anObject) const override;

  void free() override;

 private:
  struct Entry {
    const OSObject* key;
    const OSObject* value;
  };
  bool initWithCapacity(uint32_t capacity);
  int64_t find(const OSObject* aKey) const;
  int64_t find(const char* aKey) const;
  bool setAt(int64_t index, const OSObject* aKey, const OSObject* anObject);
  void removeAt(uint32_t index);

  Entry* entries_ = nullptr;
  uint32_t count_ = 0;
  uint32_t capacity_ = 0;
};
