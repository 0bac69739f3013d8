// DriverKit's OSMetaClass.h (a closed SDK header) as the emulation provides it: the base class of
// every DriverKit object (OSMetaClassBase: retain/release, isEqualTo, the class of an object) and
// the casting and allocation macros. Names and signatures follow the public copies of the SDK
// header and Apple's DriverKit reference (see docs/emulation.md, "Header layout").
//
// Emulation rules that make wrong code fail here as on a Mac:
// - OSMetaClassBase declares only the placement `operator new`, which hides the global one for
//   every DriverKit class: `new MyObject` does not compile. Objects come from OSTypeAlloc or a
//   class's factory methods.
// - OSRequiredCast aborts the process when the object is not NULL and not of the type.
// - OSDynamicCast and OSRequiredCast evaluate `inst` twice, as Apple's macros do.
#pragma once

#include <DriverKit/IOReturn.h>
#include <stddef.h>
#include <stdint.h>

#include <atomic>

#include <fpgadext/emu/object_model.h>
#include <fpgadext/emu/placement_new.h>

class IODispatchQueue;
class OSMetaClass;
class OSObject;

class OSMetaClassBase {
 public:
  // The object's reference count; read it with getRetainCount().
  mutable std::atomic<int32_t> refcount;

  inline void* operator new(size_t, void* placed) { return placed; }

  // Helpers of OSDynamicCast / OSRequiredCast. safeMetaCast returns NULL when `anObject` is
  // NULL or not of class `toMeta`; requiredMetaCast aborts in the second case.
  static OSMetaClassBase* safeMetaCast(const OSMetaClassBase* anObject, const OSMetaClass* toMeta);
  static OSMetaClassBase* requiredMetaCast(const OSMetaClassBase* anObject,
                                           const OSMetaClass* toMeta);

  // Whether the object lives in another process (a kernel object seen from the dext). Every
  // object of the emulated dext is local: false.
  bool IsRemote();
  const OSMetaClass* GetClass();
  const char* GetClassName();
  const char* GetClassName() const;

  virtual const OSMetaClass* getMetaClass() const;
  virtual void retain() const;
  // Drops a reference; at zero the object is destroyed (OSObject: free() runs first).
  virtual void release() const;
  uint32_t getRetainCount() const;
  // Identity, unless a class overrides it (the containers compare contents).
  virtual bool isEqualTo(const OSMetaClassBase* anObject) const;

  // Runtime internals of Apple's Mach-message dispatch, which the emulation replaces with
  // direct calls (fpgadext/emu/object_model.h): both return kIOReturnUnsupported.
  virtual kern_return_t Dispatch(IORPC invoke);
  kern_return_t Invoke(IORPC invoke);

 protected:
  OSMetaClassBase();
  virtual ~OSMetaClassBase();

 private:
  OSMetaClassBase(const OSMetaClassBase&) = delete;
  OSMetaClassBase& operator=(const OSMetaClassBase&) = delete;
};

// Runtime class information. Apple's is an abstract class the iig output subclasses per class;
// the emulation's is one concrete object per class (`Class::gMetaClass`), enough for casts,
// class lookup by name (IOUserClass in an Info.plist) and allocation by name.
class OSMetaClass : public OSMetaClassBase {
 public:
  typedef OSObject* (*Allocator)();
  OSMetaClass(const char* name, const OSMetaClass* superClass, Allocator allocator);
  ~OSMetaClass() override;

  // Emulation: the class's name, its superclass, whether it derives from `other`, a new
  // uninitialised instance (+1; nullptr for abstract classes), and the class of a given name.
  const char* getClassName() const { return name_; }
  const OSMetaClass* getSuperClass() const { return superClass_; }
  bool isSubclassOf(const OSMetaClass* other) const;
  OSObject* alloc() const { return allocator_ ? allocator_() : nullptr; }
  static const OSMetaClass* lookup(const char* name);

 private:
  const char* name_;
  const OSMetaClass* superClass_;
  Allocator allocator_;
  const OSMetaClass* next_;  // registry of every class, built at static-initialisation time
};

class OSInterface {};

#define SUPERDISPATCH ((OSDispatchMethod) & super::_Dispatch)

// Helper of OSTypeAlloc: a new, uninitialised instance of the class (+1) in *pObject.
kern_return_t OSObjectAllocate(const OSMetaClass* meta, OSObject** pObject);

#define OSTypeID(type) (&type::gMetaClass)
#define OSTypeIDInst(inst) (inst)->GetClass()
#define OSMTypeID(type) OSTypeID(type)

#define OSDynamicCast(type, inst) \
  ((inst) ? ((type*)OSMetaClassBase::safeMetaCast((inst), OSTypeID(type))) : NULL)
#define OSRequiredCast(type, inst) \
  ((inst) ? ((type*)OSMetaClassBase::requiredMetaCast((inst), OSTypeID(type))) : NULL)

// An uninitialised instance of `type` (+1), or NULL; the caller runs init().
#define OSTypeAlloc(type)                                                       \
  ({                                                                            \
    OSObject* osTypeAllocObject_ = NULL;                                        \
    (kIOReturnSuccess == OSObjectAllocate(OSTypeID(type), &osTypeAllocObject_)) \
        ? (type*)osTypeAllocObject_                                             \
        : (type*)NULL;                                                          \
  })

#define APPLE_KEXT_OVERRIDE override
