// Shared pieces of the fpgadext Python module (_fpgadext): errors, buffer views, the objects
// wrapping the library's Device, RegisteredBuffer, AsyncOperation and Ring.
//
// Two rules run through all of it:
// - Every library call that may block (a driver call, a wait, Close) runs with the GIL released,
//   so other Python threads run meanwhile — and so the library's completion queue, which takes
//   the GIL to run Python callbacks, can never wait on a thread that holds it.
// - Memory handed to the library is a Py_buffer view of the caller's object, held as long as
//   the library may touch the memory: the object stays alive and cannot be resized.
#pragma once

#include <pybind11/pybind11.h>

#include <fpgadext/fpgadext.hpp>

#include <cstddef>
#include <memory>
#include <span>

namespace fpgadext::python {

namespace py = pybind11;

// fpgadext.Error, created at module import.
extern PyObject* gErrorType;

// Builds an fpgadext.Error for a failed Status (name, value, message attributes).
py::object MakeError(const Status& status);
// Raises it (a C++ exception pybind11 turns into the Python one).
[[noreturn]] void Raise(const Status& status);
inline void Check(const Status& status) {
  if (!status) Raise(status);
}

// A contiguous view of a buffer-protocol object (bytes, bytearray, memoryview, array.array,
// NumPy arrays of any dtype): no copy, the object pinned until the view is released. Construct
// and destroy with the GIL held.
class BufferView {
 public:
  BufferView(py::handle object, bool writable);
  ~BufferView();
  BufferView(const BufferView&) = delete;
  BufferView& operator=(const BufferView&) = delete;

  std::span<std::byte> bytes() const {
    return {static_cast<std::byte*>(view_.buf), static_cast<size_t>(view_.len)};
  }
  py::handle object() const { return view_.obj; }

 private:
  Py_buffer view_{};
};

// Whether the interpreter can still run Python code on this thread (not finalizing).
bool PythonAlive();

// Makes sure the platform shows boards before the first List/Open (Linux: starts the emulated
// machine with its defaults unless fpgadext.emulated.start() did already). Raises on failure.
void EnsurePlatform();

class PyDevice {
 public:
  PyDevice();
  ~PyDevice();
  Device device;
};

void BindObjects(py::module_& m);
void BindEmulated(py::module_& m);
// Closes every open device (atexit, before the emulated machine goes away).
void CloseAllDevices();
void StopEmulatedMachine();

}  // namespace fpgadext::python
