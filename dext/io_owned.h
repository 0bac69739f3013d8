// IOOwned<T>: the one owner of a plain C++ object in IOMalloc memory. DriverKit code has no
// exceptions and no throwing `new`, so an object is made in IOMallocZero storage with placement
// new; this type does that in one place and undoes it (destructor, then IOFree with the same
// size) when the owner goes, so no caller pairs the three steps by hand.
#pragma once

#include <DriverKit/IOLib.h>
#include <stddef.h>

namespace fpgadext::dext {

template <typename T>
class IOOwned {
 public:
  IOOwned() = default;
  ~IOOwned() { reset(); }
  IOOwned(const IOOwned&) = delete;
  IOOwned& operator=(const IOOwned&) = delete;
  IOOwned(IOOwned&& other) noexcept : object_(other.object_) { other.object_ = nullptr; }
  IOOwned& operator=(IOOwned&& other) noexcept {
    if (this != &other) {
      reset();
      object_ = other.object_;
      other.object_ = nullptr;
    }
    return *this;
  }

  // An object built from `arguments`, or an empty owner when IOMallocZero fails.
  template <typename... Arguments>
  [[nodiscard]] static IOOwned Make(Arguments&&... arguments) {
    IOOwned owner;
    if (void* storage = IOMallocZero(sizeof(T))) {
      owner.object_ = new (storage) T(static_cast<Arguments&&>(arguments)...);
    }
    return owner;
  }

  // Takes back an object that release() gave out.
  [[nodiscard]] static IOOwned Adopt(T* released) {
    IOOwned owner;
    owner.object_ = released;
    return owner;
  }

  T* get() const { return object_; }
  T* operator->() const { return object_; }
  T& operator*() const { return *object_; }
  explicit operator bool() const { return object_ != nullptr; }

  // Gives the object up without destroying it: the caller owns it, until Adopt.
  [[nodiscard]] T* release() {
    T* object = object_;
    object_ = nullptr;
    return object;
  }

  // Destroys the object (if any) and frees its storage.
  void reset() {
    T* object = object_;
    object_ = nullptr;
    if (object != nullptr) {
      object->~T();
      IOFree(object, sizeof(T));
    }
  }

 private:
  T* object_ = nullptr;
};

}  // namespace fpgadext::dext
