// fpgadext.Device, RegisteredBuffer, AsyncOperation, Ring and the register views.
#include <pybind11/stl.h>

#include <chrono>
#include <cmath>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "binding.h"

namespace fpgadext::python {
namespace {

std::set<PyDevice*> gDevices;  // alive ones (guarded by the GIL)

std::chrono::nanoseconds Timeout(std::optional<double> seconds) {
  if (!seconds) return std::chrono::nanoseconds::max();
  if (!(*seconds >= 0)) throw py::value_error("timeout must be a number of seconds >= 0");
  if (*seconds >= 1e9) return std::chrono::nanoseconds::max();
  return std::chrono::nanoseconds(static_cast<int64_t>(std::llround(*seconds * 1e9)));
}

// Closes without the GIL: Close completes async operations in flight, whose Python callbacks
// take the GIL on the library's completion queue.
void CloseDevice(Device& device) {
  py::gil_scoped_release nogil;
  device.Close();
}

// A registered buffer: the library's registration and the view that pins the caller's object.
struct PyRegistered {
  py::object device;  // the PyDevice: its Device outlives the registration
  RegisteredBuffer buffer;
  std::unique_ptr<BufferView> view;
  BufferDirection direction = BufferDirection::kBoth;

  ~PyRegistered() { Release(); }
  void Release() {
    {
      py::gil_scoped_release nogil;
      (void)buffer.Release();  // fails only when the device is gone, which released it
    }
    view.reset();  // the object may be freed or resized from here on
  }
};

// What an async operation and its completion share. Its Python objects are touched only with
// the GIL, and dropped at completion, so freeing this on the completion queue needs no GIL.
struct AsyncShared {
  std::unique_ptr<BufferView> view;  // the caller's memory, pinned until completion
  py::object callback;               // callback(error or None, bytes)
  std::vector<py::object> doneCallbacks;
  bool completed = false;

  ~AsyncShared() {
    if (!view && !callback && doneCallbacks.empty()) return;
    if (!PythonAlive()) {  // the interpreter is gone: leak rather than touch it
      (void)view.release();
      (void)callback.release();
      for (py::object& o : doneCallbacks) (void)o.release();
      return;
    }
    py::gil_scoped_acquire gil;
    view.reset();
    callback = py::object();
    doneCallbacks.clear();
  }

  void Complete(const Status& status, uint64_t bytes) {
    if (!PythonAlive()) return;
    py::gil_scoped_acquire gil;
    completed = true;
    view.reset();
    py::object cb = std::move(callback);
    std::vector<py::object> later = std::move(doneCallbacks);
    try {
      if (cb) cb(status ? py::none() : MakeError(status), bytes);
    } catch (py::error_already_set& e) {
      e.discard_as_unraisable("fpgadext async callback");
    }
    for (py::object& f : later) {
      try {
        f();
      } catch (py::error_already_set& e) {
        e.discard_as_unraisable("fpgadext async done-callback");
      }
    }
  }
};

struct PyAsync {
  AsyncOperation op;
  std::shared_ptr<AsyncShared> shared;

  uint64_t Wait(std::optional<double> seconds) {
    const std::chrono::nanoseconds timeout = Timeout(seconds);
    Status status;
    {
      py::gil_scoped_release nogil;
      status = op.Wait(timeout);
    }
    Check(status);
    return op.bytes();
  }
};

struct PyRing {
  py::object device;
  Ring ring;
  std::vector<py::object> buffers;  // registered buffers submitted: alive while the ring is

  ~PyRing() { (void)Destroy(); }  // a failure is the device's last error; nothing to raise to
  Status Destroy() {
    Status status;
    {
      py::gil_scoped_release nogil;
      if (ring.valid()) status = ring.Destroy();
    }
    buffers.clear();
    return status;
  }
  void Submit(bool read, uint64_t card, py::object bufferObject, uint64_t offset,
              std::optional<uint64_t> length, uint64_t tag) {
    PyRegistered& buffer = bufferObject.cast<PyRegistered&>();
    const uint64_t size = buffer.buffer.memory().size();
    const uint64_t n = length ? *length : (offset <= size ? size - offset : 0);
    Check(read ? ring.SubmitRead(card, buffer.buffer, offset, n, tag)
               : ring.SubmitWrite(card, buffer.buffer, offset, n, tag));
    for (py::object& b : buffers) {
      if (b.is(bufferObject)) return;
    }
    buffers.push_back(std::move(bufferObject));
  }
};

struct Registers {
  py::object device;
  bool wide = false;  // 64-bit
};

PyDevice& DeviceOf(py::object o) {
  return o.cast<PyDevice&>();
}

template <typename T>
T RegRead(Device& d, int bar, uint64_t offset) {
  T v = 0;
  Status s;
  {
    py::gil_scoped_release nogil;
    if constexpr (sizeof(T) == 4) {
      s = d.Read32(bar, offset, &v);
    } else {
      s = d.Read64(bar, offset, &v);
    }
  }
  Check(s);
  return v;
}

template <typename T>
void RegWrite(Device& d, int bar, uint64_t offset, T v) {
  Status s;
  {
    py::gil_scoped_release nogil;
    if constexpr (sizeof(T) == 4) {
      s = d.Write32(bar, offset, v);
    } else {
      s = d.Write64(bar, offset, v);
    }
  }
  Check(s);
}

Status Transfer(Device& d, bool read, uint64_t card, std::span<std::byte> bytes,
                TransferPath path) {
  py::gil_scoped_release nogil;
  return read ? d.Read(card, bytes, path) : d.Write(card, bytes, path);
}

Status RegisteredTransfer(Device& d, bool read, uint64_t card, PyRegistered& buffer,
                          uint64_t offset, std::optional<uint64_t> length) {
  const uint64_t size = buffer.buffer.memory().size();
  const uint64_t n = length ? *length : (offset <= size ? size - offset : 0);
  py::gil_scoped_release nogil;
  return read ? d.Read(card, buffer.buffer, offset, n) : d.Write(card, buffer.buffer, offset, n);
}

py::object StartAsync(py::object self, bool read, uint64_t card, py::handle buffer,
                      py::object callback) {
  Device& d = DeviceOf(self).device;
  auto shared = std::make_shared<AsyncShared>();
  shared->view = std::make_unique<BufferView>(buffer, read);
  if (!callback.is_none()) shared->callback = std::move(callback);
  const std::span<std::byte> bytes = shared->view->bytes();
  auto op = std::make_unique<PyAsync>();
  op->shared = shared;
  AsyncCallback done = [shared](const Status& s, uint64_t n) { shared->Complete(s, n); };
  {
    py::gil_scoped_release nogil;
    op->op = read ? d.ReadAsync(card, bytes, std::move(done))
                  : d.WriteAsync(card, bytes, std::move(done));
  }
  return py::cast(std::move(op));
}

}  // namespace

PyDevice::PyDevice() {
  gDevices.insert(this);
}

PyDevice::~PyDevice() {
  gDevices.erase(this);
  CloseDevice(device);
}

void CloseAllDevices() {
  for (PyDevice* d : gDevices) CloseDevice(d->device);
}

void BindObjects(py::module_& m) {
  py::enum_<TransferPath>(m, "Path", "How a transfer reaches the dext (docs/library.md).")
      .value("AUTO", TransferPath::kAuto)
      .value("INBAND", TransferPath::kInband)
      .value("OUT_OF_LINE", TransferPath::kOutOfLine)
      .value("CLIENT_MEMORY", TransferPath::kClientMemory)
      .value("BOUNCE", TransferPath::kBounce);
  py::enum_<BufferDirection>(m, "Direction")
      .value("TO_CARD", BufferDirection::kToCard)
      .value("FROM_CARD", BufferDirection::kFromCard)
      .value("BOTH", BufferDirection::kBoth);
  py::enum_<RingDirections>(m, "RingDirections")
      .value("TO_CARD", RingDirections::kToCard)
      .value("FROM_CARD", RingDirections::kFromCard)
      .value("BOTH", RingDirections::kBoth);

  py::class_<BoardSummary>(m, "Board")
      .def_readonly("index", &BoardSummary::index)
      .def_readonly("vendor_id", &BoardSummary::vendorId)
      .def_readonly("device_id", &BoardSummary::deviceId)
      .def_readonly("name", &BoardSummary::name)
      .def_readonly("registry_id", &BoardSummary::registryId)
      .def("__repr__", [](const BoardSummary& b) {
        return py::str("<fpgadext.Board {} {:04x}:{:04x} {}>")
            .format(b.index, b.vendorId, b.deviceId, b.name);
      });

  py::class_<DeviceInfo>(m, "DeviceInfo")
      .def_readonly("protocol_version", &DeviceInfo::protocolVersion)
      .def_readonly("vendor_id", &DeviceInfo::vendorId)
      .def_readonly("device_id", &DeviceInfo::deviceId)
      .def_readonly("has_dma_engine", &DeviceInfo::hasDmaEngine)
      .def_readonly("card_memory_size", &DeviceInfo::cardMemorySize)
      .def_readonly("h2c_channels", &DeviceInfo::h2cChannels)
      .def_readonly("c2h_channels", &DeviceInfo::c2hChannels)
      .def_property_readonly("bar_sizes",
                             [](const DeviceInfo& i) {
                               return std::vector<uint64_t>(std::begin(i.barSizes),
                                                            std::end(i.barSizes));
                             })
      .def_readonly("dma_bar", &DeviceInfo::dmaBar)
      .def_readonly("user_bar", &DeviceInfo::userBar);

  py::class_<PyRegistered>(m, "RegisteredBuffer",
                           "Memory registered with the dext once (Device.register); pins the "
                           "object it was made from until released or the device closes.")
      .def_property_readonly("valid", [](const PyRegistered& r) { return r.buffer.valid(); })
      .def_property_readonly("id", [](const PyRegistered& r) { return r.buffer.id(); })
      .def_property_readonly("nbytes",
                             [](const PyRegistered& r) { return r.buffer.memory().size(); })
      .def_property_readonly("obj",
                             [](const PyRegistered& r) {
                               return r.view ? py::reinterpret_borrow<py::object>(r.view->object())
                                             : py::none();
                             })
      .def_property_readonly("direction", [](const PyRegistered& r) { return r.direction; })
      .def("release", &PyRegistered::Release)
      .def("__enter__", [](py::object self) { return self; })
      .def("__exit__", [](PyRegistered& r, py::args) { r.Release(); });

  py::class_<PyAsync>(m, "AsyncOperation",
                      "An async transfer: wait(timeout), done, bytes; awaitable in asyncio.")
      .def_property_readonly("done", [](const PyAsync& a) { return a.op.done(); })
      .def_property_readonly("bytes", [](const PyAsync& a) { return a.op.bytes(); })
      .def("wait", &PyAsync::Wait, py::arg("timeout") = py::none(),
           "Waits for the completion (seconds, None: for ever); returns the bytes moved, raises "
           "fpgadext.Error for a failed transfer or kIOReturnTimeout (the transfer goes on).")
      .def(
          "_add_done_callback",
          [](PyAsync& a, py::object f) {
            if (a.shared->completed) {
              f();
            } else {
              a.shared->doneCallbacks.push_back(std::move(f));
            }
          },
          "Calls f() (on the library's completion thread, or now) once the operation is done.");

  py::class_<RingCompletion>(m, "RingCompletion")
      .def_readonly("tag", &RingCompletion::tag)
      .def_readonly("status", &RingCompletion::status)
      .def_readonly("bytes", &RingCompletion::bytes)
      .def_property_readonly("ok", [](const RingCompletion& c) { return c.status == 0; })
      .def_property_readonly("name", [](const RingCompletion& c) { return IOReturnName(c.status); })
      .def("__repr__", [](const RingCompletion& c) {
        return py::str("<fpgadext.RingCompletion tag={} {} bytes={}>")
            .format(c.tag, IOReturnName(c.status), c.bytes);
      });

  py::class_<PyRing>(m, "Ring", "The submission ring (docs/ring.md); one thread at a time.")
      .def_property_readonly("entries", [](const PyRing& r) { return r.ring.entries(); })
      .def_property_readonly("in_flight", [](const PyRing& r) { return r.ring.inFlight(); })
      .def_property_readonly("errors", [](const PyRing& r) { return r.ring.errors(); })
      .def_property_readonly("valid", [](const PyRing& r) { return r.ring.valid(); })
      .def(
          "submit_read",
          [](PyRing& r, uint64_t card, py::object buffer, uint64_t offset,
             std::optional<uint64_t> length,
             uint64_t tag) { r.Submit(true, card, std::move(buffer), offset, length, tag); },
          py::arg("card_address"), py::arg("buffer"), py::arg("offset") = 0,
          py::arg("length") = py::none(), py::arg("tag") = 0)
      .def(
          "submit_write",
          [](PyRing& r, uint64_t card, py::object buffer, uint64_t offset,
             std::optional<uint64_t> length,
             uint64_t tag) { r.Submit(false, card, std::move(buffer), offset, length, tag); },
          py::arg("card_address"), py::arg("buffer"), py::arg("offset") = 0,
          py::arg("length") = py::none(), py::arg("tag") = 0)
      .def(
          "poll",
          [](PyRing& r, size_t max) {
            std::vector<RingCompletion> out(max);
            out.resize(r.ring.PollCompletions(out));
            return out;
          },
          py::arg("max") = 64, "Completions available now (no driver call).")
      .def(
          "wait",
          [](PyRing& r, std::optional<double> timeout, double spin) {
            const std::chrono::nanoseconds t = Timeout(timeout);
            const std::chrono::nanoseconds s = Timeout(spin);
            Status status;
            {
              py::gil_scoped_release nogil;
              status = r.ring.Wait(t, s);
            }
            Check(status);
          },
          py::arg("timeout") = py::none(), py::arg("spin") = 50e-6,
          "Waits until a completion is available; kIOReturnTimeout after `timeout` seconds.")
      .def("destroy", [](PyRing& r) { Check(r.Destroy()); })
      .def("__enter__", [](py::object self) { return self; })
      .def("__exit__", [](PyRing& r, py::args) { Check(r.Destroy()); });

  py::class_<Registers>(m, "Registers", "dev.reg32[bar, offset] / dev.reg64[bar, offset]")
      .def("__getitem__",
           [](Registers& r, std::pair<int, uint64_t> at) -> uint64_t {
             Device& d = DeviceOf(r.device).device;
             return r.wide ? RegRead<uint64_t>(d, at.first, at.second)
                           : RegRead<uint32_t>(d, at.first, at.second);
           })
      .def("__setitem__", [](Registers& r, std::pair<int, uint64_t> at, uint64_t value) {
        Device& d = DeviceOf(r.device).device;
        if (r.wide) {
          RegWrite<uint64_t>(d, at.first, at.second, value);
        } else {
          if (value > 0xFFFF'FFFFu) throw py::value_error("a 32-bit register value");
          RegWrite<uint32_t>(d, at.first, at.second, static_cast<uint32_t>(value));
        }
      });

  py::class_<PyDevice>(m, "Device", "An open board (fpgadext.open); a context manager.")
      .def_property_readonly("is_open", [](const PyDevice& p) { return p.device.isOpen(); })
      .def_property_readonly("info", [](const PyDevice& p) { return p.device.info(); })
      .def("close", [](PyDevice& p) { CloseDevice(p.device); })
      .def("__enter__", [](py::object self) { return self; })
      .def("__exit__", [](PyDevice& p, py::args) { CloseDevice(p.device); })
      .def(
          "read",
          [](PyDevice& p, uint64_t card, size_t size, TransferPath path) {
            // The dext moves the bytes straight into the new bytes object.
            py::object out = py::reinterpret_steal<py::object>(
                PyBytes_FromStringAndSize(nullptr, static_cast<Py_ssize_t>(size)));
            if (!out) throw py::error_already_set();
            auto* data = reinterpret_cast<std::byte*>(PyBytes_AS_STRING(out.ptr()));
            Check(Transfer(p.device, true, card, {data, size}, path));
            return out;
          },
          py::arg("card_address"), py::arg("size"), py::arg("path") = TransferPath::kAuto)
      .def(
          "read_into",
          [](PyDevice& p, uint64_t card, PyRegistered& buffer, uint64_t offset,
             std::optional<uint64_t> length) {
            Check(RegisteredTransfer(p.device, true, card, buffer, offset, length));
          },
          py::arg("card_address"), py::arg("buffer"), py::arg("offset") = 0,
          py::arg("length") = py::none())
      .def(
          "read_into",
          [](PyDevice& p, uint64_t card, py::handle buffer, TransferPath path) {
            BufferView view(buffer, true);
            Check(Transfer(p.device, true, card, view.bytes(), path));
          },
          py::arg("card_address"), py::arg("buffer"), py::arg("path") = TransferPath::kAuto)
      .def(
          "write",
          [](PyDevice& p, uint64_t card, PyRegistered& buffer, uint64_t offset,
             std::optional<uint64_t> length) {
            Check(RegisteredTransfer(p.device, false, card, buffer, offset, length));
          },
          py::arg("card_address"), py::arg("buffer"), py::arg("offset") = 0,
          py::arg("length") = py::none())
      .def(
          "write",
          [](PyDevice& p, uint64_t card, py::handle buffer, TransferPath path) {
            BufferView view(buffer, false);
            Check(Transfer(p.device, false, card, view.bytes(), path));
          },
          py::arg("card_address"), py::arg("buffer"), py::arg("path") = TransferPath::kAuto)
      .def(
          "register",
          [](py::object self, py::handle buffer, std::optional<BufferDirection> direction) {
            PyDevice& p = DeviceOf(self);
            // Read-only objects can only be written to the card.
            const bool writable = PyObject_CheckBuffer(buffer.ptr()) && [&] {
              Py_buffer probe;
              if (PyObject_GetBuffer(buffer.ptr(), &probe, PyBUF_WRITABLE) != 0) {
                PyErr_Clear();
                return false;
              }
              PyBuffer_Release(&probe);
              return true;
            }();
            const BufferDirection dir =
                direction ? *direction
                          : (writable ? BufferDirection::kBoth : BufferDirection::kToCard);
            auto r = std::make_unique<PyRegistered>();
            r->device = self;
            r->direction = dir;
            r->view = std::make_unique<BufferView>(buffer, dir != BufferDirection::kToCard);
            Status status;
            {
              py::gil_scoped_release nogil;
              status = p.device.Register(r->view->bytes(), dir, &r->buffer);
            }
            Check(status);
            return r;
          },
          py::arg("buffer"), py::arg("direction") = py::none())
      .def(
          "read_async",
          [](py::object self, uint64_t card, py::handle buffer, py::object callback) {
            return StartAsync(std::move(self), true, card, buffer, std::move(callback));
          },
          py::arg("card_address"), py::arg("buffer"), py::arg("callback") = py::none())
      .def(
          "write_async",
          [](py::object self, uint64_t card, py::handle buffer, py::object callback) {
            return StartAsync(std::move(self), false, card, buffer, std::move(callback));
          },
          py::arg("card_address"), py::arg("buffer"), py::arg("callback") = py::none())
      .def(
          "create_ring",
          [](py::object self, uint32_t entries, RingDirections directions) {
            auto r = std::make_unique<PyRing>();
            r->device = self;
            Status status;
            {
              py::gil_scoped_release nogil;
              status = DeviceOf(self).device.CreateRing(entries, directions, &r->ring);
            }
            Check(status);
            return r;
          },
          py::arg("entries") = 64, py::arg("directions") = RingDirections::kBoth)
      .def(
          "read32",
          [](PyDevice& p, int bar, uint64_t off) { return RegRead<uint32_t>(p.device, bar, off); },
          py::arg("bar"), py::arg("offset"))
      .def(
          "read64",
          [](PyDevice& p, int bar, uint64_t off) { return RegRead<uint64_t>(p.device, bar, off); },
          py::arg("bar"), py::arg("offset"))
      .def(
          "write32",
          [](PyDevice& p, int bar, uint64_t off, uint32_t v) {
            RegWrite<uint32_t>(p.device, bar, off, v);
          },
          py::arg("bar"), py::arg("offset"), py::arg("value"))
      .def(
          "write64",
          [](PyDevice& p, int bar, uint64_t off, uint64_t v) {
            RegWrite<uint64_t>(p.device, bar, off, v);
          },
          py::arg("bar"), py::arg("offset"), py::arg("value"))
      .def_property_readonly("reg32", [](py::object self) { return Registers{self, false}; })
      .def_property_readonly("reg64", [](py::object self) { return Registers{self, true}; })
      .def("is_bar_mapped", [](const PyDevice& p, int bar) { return p.device.IsBarMapped(bar); });
}

}  // namespace fpgadext::python
