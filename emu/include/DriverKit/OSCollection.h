// OSCollection: DriverKit's abstract base of OSArray and OSDictionary.
//
// Collections retain the objects they store and release them on removal, replacement and free.
// Getters return +0 (the caller must not release). No locking: callers serialise access.
#pragma once

#include <DriverKit/OSContainer.h>
#include <stdint.h>

class OSCollection;
typedef OSCollection* OSCollectionPtr;

// Called for each member; return true to continue, false to stop.
typedef bool (^OSCollectionIterateObjectsBlock)(OSObject* object);

class OSCollection : public OSContainer {
  OSDeclareEmulatedClass(OSCollection);

 public:
  virtual uint32_t getCount() const = 0;
  virtual uint32_t getCapacity() const = 0;
  // Grows the storage to hold at least `newCapacity` members; returns the resulting capacity
  // (unchanged on allocation failure).
  virtual uint32_t ensureCapacity(uint32_t newCapacity) = 0;
  // Removes and releases every member.
  virtual void flushCollection() = 0;
  // Calls `block` for each member (each key, for an OSDictionary) until it returns false. The
  // block must not modify the collection. Returns false iff the block stopped the iteration.
  virtual bool iterateObjects(OSCollectionIterateObjectsBlock block) const = 0;
  // A copy (+1) in which member collections are copied too, each once however often it occurs
  // (`cycleDict`, which may be NULL, maps originals to their copies). Other members are shared.
  virtual OSCollectionPtr copyCollection(OSDictionary* cycleDict) const;
};
