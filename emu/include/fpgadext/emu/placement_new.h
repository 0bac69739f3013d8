// DriverKit's global placement operator new, for the emulated DriverKit headers.
//
// The DriverKit SDK declares `void* operator new(size_t, void*) noexcept` at global scope (xnu
// iokit/DriverKit/safe_allocation.h, which the DriverKit SDK installs; Apple's documentation,
// DriverKit > operator new). So on a Mac, dext code can use placement new without <new>, and
// libc++'s <new> read after that declaration does not compile ("cannot add 'abi_tag' attribute
// in a redeclaration"). Which of the SDK's headers bring it in is not public.
//
// Declared for Apple targets only: the darwin check (tests/darwin) compiles for one, against
// libc++. An emulated header includes this after its own C++ library includes, which read <new>
// first; a dext's include order is checked by tests/darwin/darwin_check.py instead.
#pragma once

#include <stddef.h>

#if defined(__APPLE__)
void* operator new(size_t, void*) noexcept;
#endif
