// OSArray: an ordered, growable collection of objects (DriverKit OSArray). Stored objects are
// retained; getters return +0. Indexes are 0-based; NULL objects cannot be stored.
#pragma once

#include <DriverKit/OSCollection.h>
#include <stdint.h>

class OSArray;
typedef OSArray* OSArrayPtr;

class OSArray : public OSCollection {
  OSDeclareEmulatedClass(OSArray);

 public:
  // All return +1 or NULL on failure.
  static OSArrayPtr withCapacity(uint32_t capacity);
  // Fails if count > capacity (a capacity of 0 means `count`) or any value is NULL.
  static OSArrayPtr withObjects(const OSObject** values, uint32_t count, uint32_t capacity);
  // Fails if capacity is non-zero and smaller than array's count.
  static OSArrayPtr withArray(const OSArray* array, uint32_t capacity);

  uint32_t getCount() const override { return count_; }
  uint32_t getCapacity() const override { return capacity_; }
  uint32_t ensureCapacity(uint32_t newCapacity) override;
  void flushCollection() override;
  bool iterateObjects(OSCollectionIterateObjectsBlock block) const override;

  // Appends; retains the object on success. false for NULL or on allocation failure.
  bool setObject(const OSMetaClassBase* anObject);
  // Inserts at `index` (0..count); later members move up.
  bool setObject(uint32_t index, const OSMetaClassBase* anObject);
  // Appends every member of otherArray.
  bool merge(const OSArray* otherArray);
  // Replaces the member at index (releasing it); false if index >= count or anObject is NULL.
  bool replaceObject(uint32_t index, const OSMetaClassBase* anObject);
  // Removes and releases the member at index; later members move down. No-op if out of range.
  void removeObject(uint32_t index);

  // +0; NULL if index >= count.
  OSObject* getObject(uint32_t index) const;
  OSObject* getLastObject() const;
  // Index of the first member at or after `index` that is `anObject` (pointer identity), or
  // (uint32_t)-1.
  uint32_t getNextIndexOfObject(const OSMetaClassBase* anObject, uint32_t index) const;

  // Same count and each member isEqualTo the member at the same index.
  bool isEqualTo(const OSArray* anArray) const;
  bool isEqualTo(const OSMetaClassBase* anObject) const override;

  void free() override;

 private:
  bool initWithCapacity(uint32_t capacity);

  const OSObject** array_ = nullptr;
  uint32_t count_ = 0;
  uint32_t capacity_ = 0;
};
