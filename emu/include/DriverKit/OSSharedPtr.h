// DriverKit's OSSharedPtr.h (a closed SDK header; public copies of it and Apple's DriverKit
// reference give its names): a smart pointer that retains and releases an OSObject.
//
// Constructing from a raw pointer says whether the pointer is already owned: OSNoRetain adopts a
// +1 reference (what Create/with* return), OSRetain takes a new one. attach() passes the pointer
// to an out-parameter of type T** (or OSSharedPtr<T>*) that returns +1. OSMakeShared and
// OSDynamicPtrCast exist only when DRIVERKIT_FIX_OSTYPEID is set before the include, as in the SDK.
#pragma once

#include <cstddef>
#include <type_traits>

#include <DriverKit/OSMetaClass.h>

struct OS_no_retain_t {
  explicit constexpr OS_no_retain_t() {}
};
struct OS_retain_t {
  explicit constexpr OS_retain_t() {}
};

static inline constexpr auto OSNoRetain = OS_no_retain_t{};
static inline constexpr auto OSRetain = OS_retain_t{};

template <typename T>
struct OSSharedPtr {
  using pointer = T*;
  using element_type = T;
  using retain_t = OS_retain_t;
  using no_retain_t = OS_no_retain_t;

  constexpr OSSharedPtr() noexcept : ptr_(nullptr) {}
  constexpr OSSharedPtr(std::nullptr_t) noexcept : ptr_(nullptr) {}
  explicit OSSharedPtr(pointer p, retain_t) noexcept : ptr_(p) {
    if (ptr_ != nullptr) ptr_->retain();
  }
  explicit constexpr OSSharedPtr(pointer p, no_retain_t) noexcept : ptr_(p) {}

  OSSharedPtr(const OSSharedPtr& other) : ptr_(other.ptr_) {
    if (ptr_ != nullptr) ptr_->retain();
  }
  template <typename U, typename = std::enable_if_t<std::is_convertible_v<U*, T*>>>
  OSSharedPtr(const OSSharedPtr<U>& other) : ptr_(other.ptr_) {
    if (ptr_ != nullptr) ptr_->retain();
  }
  constexpr OSSharedPtr(OSSharedPtr&& other) noexcept : ptr_(other.ptr_) { other.ptr_ = nullptr; }
  constexpr OSSharedPtr(OSSharedPtr&& other, no_retain_t) noexcept : ptr_(other.ptr_) {
    other.ptr_ = nullptr;
  }
  template <typename U, typename = std::enable_if_t<std::is_convertible_v<U*, T*>>>
  constexpr OSSharedPtr(OSSharedPtr<U>&& other) noexcept : ptr_(other.ptr_) {
    other.ptr_ = nullptr;
  }

  ~OSSharedPtr() { reset(); }

  OSSharedPtr& operator=(const OSSharedPtr& other) { return reset(other.ptr_, OSRetain); }
  template <typename U, typename = std::enable_if_t<std::is_convertible_v<U*, T*>>>
  OSSharedPtr& operator=(const OSSharedPtr<U>& other) {
    return reset(other.ptr_, OSRetain);
  }
  OSSharedPtr& operator=(OSSharedPtr&& other) {
    pointer taken = other.ptr_;
    other.ptr_ = nullptr;
    return reset(taken, OSNoRetain);
  }
  template <typename U, typename = std::enable_if_t<std::is_convertible_v<U*, T*>>>
  OSSharedPtr& operator=(OSSharedPtr<U>&& other) {
    pointer taken = other.ptr_;
    other.ptr_ = nullptr;
    return reset(taken, OSNoRetain);
  }
  OSSharedPtr& operator=(std::nullptr_t) noexcept { return reset(); }

  constexpr T& operator*() const noexcept { return *ptr_; }
  constexpr pointer operator->() const noexcept { return ptr_; }
  explicit constexpr operator bool() const noexcept { return ptr_ != nullptr; }

  // Drops the reference held, if any.
  OSSharedPtr& reset() noexcept {
    pointer old = ptr_;
    ptr_ = nullptr;
    if (old != nullptr) old->release();
    return *this;
  }
  OSSharedPtr& reset(pointer p, no_retain_t) noexcept {
    pointer old = ptr_;
    ptr_ = p;
    if (old != nullptr) old->release();
    return *this;
  }
  OSSharedPtr& reset(pointer p, retain_t) noexcept {
    if (p != nullptr) p->retain();  // before the release: p may be the object held
    return reset(p, OSNoRetain);
  }

  // The raw pointer (+0). Not on a temporary, whose reference ends with the expression.
  constexpr pointer get() const& noexcept { return ptr_; }
  constexpr pointer get() const&& noexcept = delete;

  // Gives up ownership: the caller now owns the reference.
  constexpr pointer detach() noexcept {
    pointer p = ptr_;
    ptr_ = nullptr;
    return p;
  }
  pointer detachAsOSPtr() noexcept { return detach(); }

  struct attacher {
    OSSharedPtr& sp;
    attacher(OSSharedPtr& sp) noexcept : sp(sp) {}
    operator pointer*() const noexcept { return &sp.ptr_; }
    operator OSSharedPtr*() const noexcept { return &sp; }
  };
  // For an out-parameter that returns +1: drops the current reference first.
  attacher attach() noexcept {
    reset();
    return attacher(*this);
  }

 private:
  friend constexpr void swap(OSSharedPtr& a, OSSharedPtr& b) noexcept {
    pointer p = a.ptr_;
    a.ptr_ = b.ptr_;
    b.ptr_ = p;
  }
  template <typename U>
  friend struct OSSharedPtr;

  pointer ptr_;
};

// Comparisons by the pointer held: with another OSSharedPtr, a raw pointer (either side) or
// nullptr (either side).
template <typename T, typename U>
bool operator==(const OSSharedPtr<T>& a, const OSSharedPtr<U>& b) {
  return a.get() == b.get();
}
template <typename T, typename U>
bool operator!=(const OSSharedPtr<T>& a, const OSSharedPtr<U>& b) {
  return a.get() != b.get();
}
template <typename T, typename U>
bool operator==(const OSSharedPtr<T>& a, U* b) {
  return a.get() == b;
}
template <typename T, typename U>
bool operator!=(const OSSharedPtr<T>& a, U* b) {
  return a.get() != b;
}
template <typename T, typename U>
bool operator==(T* a, const OSSharedPtr<U>& b) {
  return a == b.get();
}
template <typename T, typename U>
bool operator!=(T* a, const OSSharedPtr<U>& b) {
  return a != b.get();
}
template <typename T>
bool operator==(const OSSharedPtr<T>& a, std::nullptr_t) noexcept {
  return a.get() == nullptr;
}
template <typename T>
bool operator==(std::nullptr_t, const OSSharedPtr<T>& a) noexcept {
  return a.get() == nullptr;
}
template <typename T>
bool operator!=(const OSSharedPtr<T>& a, std::nullptr_t) noexcept {
  return a.get() != nullptr;
}
template <typename T>
bool operator!=(std::nullptr_t, const OSSharedPtr<T>& a) noexcept {
  return a.get() != nullptr;
}

#if DRIVERKIT_FIX_OSTYPEID
template <typename T>
OSSharedPtr<T> OSMakeShared() {
  return OSSharedPtr<T>(OSTypeAlloc(T), OSNoRetain);
}

template <typename Destination, typename Source>
OSSharedPtr<Destination> OSDynamicPtrCast(const OSSharedPtr<Source>& source) {
  Destination* cast = OSDynamicCast(Destination, source.get());
  return cast != nullptr ? OSSharedPtr<Destination>(cast, OSRetain) : nullptr;
}

template <typename Destination, typename Source>
OSSharedPtr<Destination> OSDynamicPtrCast(OSSharedPtr<Source>&& source) {
  Destination* cast = OSDynamicCast(Destination, source.get());
  if (cast == nullptr) return nullptr;
  source.detach();  // its reference moves to the result
  return OSSharedPtr<Destination>(cast, OSNoRetain);
}
#endif

template <typename To, typename From>
OSSharedPtr<To> OSStaticPtrCast(const OSSharedPtr<From>& ptr) noexcept {
  return OSSharedPtr<To>(static_cast<To*>(ptr.get()), OSRetain);
}
template <typename To, typename From>
OSSharedPtr<To> OSStaticPtrCast(OSSharedPtr<From>&& ptr) noexcept {
  return OSSharedPtr<To>(static_cast<To*>(ptr.detach()), OSNoRetain);
}
template <typename To, typename From>
OSSharedPtr<To> OSConstPtrCast(const OSSharedPtr<From>& ptr) noexcept {
  return OSSharedPtr<To>(const_cast<To*>(ptr.get()), OSRetain);
}
template <typename To, typename From>
OSSharedPtr<To> OSConstPtrCast(OSSharedPtr<From>&& ptr) noexcept {
  return OSSharedPtr<To>(const_cast<To*>(ptr.detach()), OSNoRetain);
}
