// InPlace<T>: an object that may or may not exist, built in storage of its own (no allocation:
// an async op's HostMemory is made per call on a path that must not allocate). Emplace builds
// it, Reset or the owner's end destroys it, so no caller pairs placement new with an explicit
// destructor call by hand.
#pragma once

#include <stddef.h>

namespace fpgadext::dext::client {

template <typename T>
class InPlace {
 public:
  InPlace() = default;
  ~InPlace() { Reset(); }
  InPlace(const InPlace&) = delete;
  InPlace& operator=(const InPlace&) = delete;

  // Destroys the object held, if any, and builds a new one from `arguments`.
  template <typename... Arguments>
  T* Emplace(Arguments&&... arguments) {
    Reset();
    object_ = new (static_cast<void*>(storage_)) T(static_cast<Arguments&&>(arguments)...);
    return object_;
  }
  void Reset() {
    T* object = object_;
    object_ = nullptr;
    if (object != nullptr) object->~T();
  }

  T* get() const { return object_; }
  T* operator->() const { return object_; }
  explicit operator bool() const { return object_ != nullptr; }

 private:
  alignas(T) unsigned char storage_[sizeof(T)];
  T* object_ = nullptr;
};

}  // namespace fpgadext::dext::client
