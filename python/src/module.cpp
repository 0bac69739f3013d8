// The _fpgadext extension module: errors, buffer views, the platform (the emulated machine on
// Linux), fpgadext.list() and fpgadext.open(). The objects are in objects.cpp; the Python
// package (python/fpgadext/__init__.py) adds asyncio support and re-exports everything.
#include <IOKit/IOReturn.h>
#include <pybind11/stl.h>

#include <string>

#include "binding.h"

#ifdef __linux__
#include "emulated_machine.h"
#endif

namespace fpgadext::python {

PyObject* gErrorType = nullptr;

py::object MakeError(const Status& status) {
  const char* name = IOReturnName(status.code());
  std::string text = status.message();
  if (text.empty()) text = name;
  if (text.find(name) == std::string::npos) text += std::string(" (") + name + ")";
  py::object error =
      py::reinterpret_steal<py::object>(PyObject_CallFunction(gErrorType, "s", text.c_str()));
  if (!error) throw py::error_already_set();
  error.attr("name") = name;
  error.attr("value") = static_cast<uint32_t>(status.code());  // as IOKit prints it: 0xe00002c2
  error.attr("message") = status.message();
  return error;
}

void Raise(const Status& status) {
  py::object error = MakeError(status);
  PyErr_SetObject(gErrorType, error.ptr());
  throw py::error_already_set();
}

BufferView::BufferView(py::handle object, bool writable) {
  // Any contiguous layout: the library moves bytes, the dtype and shape are the caller's.
  const int flags = PyBUF_ANY_CONTIGUOUS | (writable ? PyBUF_WRITABLE : 0);
  if (PyObject_GetBuffer(object.ptr(), &view_, flags) != 0) throw py::error_already_set();
}

BufferView::~BufferView() {
  PyBuffer_Release(&view_);
}

bool PythonAlive() {
#if PY_VERSION_HEX >= 0x030D0000
  return Py_IsInitialized() != 0 && Py_IsFinalizing() == 0;
#else
  return Py_IsInitialized() != 0 && _Py_IsFinalizing() == 0;
#endif
}

#ifdef __linux__
namespace {

std::unique_ptr<EmulatedMachine> gMachine;
bool gStopped = false;  // after interpreter exit began: no new machine

void StartMachine(const MachineOptions& options) {
  if (gStopped) Raise(Status(kIOReturnNotReady, "the interpreter is exiting"));
  if (gMachine) {
    Raise(Status(kIOReturnBusy,
                 "the emulated machine is already running (call fpgadext.emulated.start() "
                 "before the first fpgadext.list() or fpgadext.open())"));
  }
  auto machine = std::make_unique<EmulatedMachine>();
  Status status;
  {
    py::gil_scoped_release nogil;
    status = machine->Start(options);
  }
  if (!status) {
    py::gil_scoped_release nogil;  // a half-built machine is torn down without the GIL too
    machine.reset();
  }
  Check(status);
  gMachine = std::move(machine);
}

py::dict Description() {
  py::dict d;
  if (!gMachine) return d;
  const MachineDescription& m = gMachine->description();
  d["board"] = m.board;
  d["card_file"] = m.cardFile;
  d["card_size"] = m.cardSize;
  d["dext_bundle"] = m.dextBundle;
  d["timing"] = m.timing;
  return d;
}

}  // namespace

void EnsurePlatform() {
  if (!gMachine) StartMachine(MachineOptions{});
}

void StopEmulatedMachine() {
  gStopped = true;
  py::gil_scoped_release nogil;
  gMachine.reset();
}

void BindEmulated(py::module_& m) {
  py::module_ e = m.def_submodule(
      "emulated",
      "The emulated Mac the module runs against on Linux: a board model whose card memory is a "
      "file (the fpgadext CLI's by default) driven by the FpgaDext dext of the build.");
  e.def(
      "start",
      [](const std::string& board, const std::string& cardFile, uint64_t cardSize,
         const std::string& timing) {
        MachineOptions options;
        options.board = board;
        options.cardFile = cardFile;
        options.cardSize = cardSize;
        options.timing = timing;
        StartMachine(options);
        return Description();
      },
      py::arg("board") = "xdma", py::arg("card_file") = "", py::arg("card_size") = 0,
      py::arg("timing") = "none",
      "Builds the machine with this board (\"xdma\" or \"bram\"), card file (default: "
      "$FPGADEXT_CARD_FILE, else the CLI's ~/.cache/fpgadext/card0.bin) and card size (0: the "
      "board's default). Once per process, before the first list() or open().");
  e.def("running", [] { return gMachine != nullptr; });
  e.def("description", &Description, "board, card_file, card_size, dext_bundle, timing");
  e.def(
      "counters",
      [] {
        py::dict d;
        const BoardCounters c = gMachine ? gMachine->counters() : BoardCounters{};
        d["h2c_bytes"] = c.h2cBytes;
        d["c2h_bytes"] = c.c2hBytes;
        d["h2c_descriptors"] = c.h2cDescriptors;
        d["c2h_descriptors"] = c.c2hDescriptors;
        d["iommu_refusals"] = c.iommuRefusals;
        return d;
      },
      "What the board model's DMA engines moved so far (all channels); zero on the BRAM board.");
}
#else
// On a Mac the installed dext drives real boards: nothing to prepare.
void EnsurePlatform() {}
void StopEmulatedMachine() {}
void BindEmulated(py::module_& m) {
  m.attr("emulated") = py::none();
}
#endif

}  // namespace fpgadext::python

namespace fp = fpgadext::python;
namespace py = pybind11;

PYBIND11_MODULE(_fpgadext, m) {
  m.doc() = "fpgadext: PCIe FPGA boards from Python, zero-copy (see docs/python.md)";
  m.attr("__version__") = fpgadext::Version();  // the library's: one project version

  fp::gErrorType = PyErr_NewExceptionWithDoc(
      "fpgadext.Error",
      "A call the library, the dext or IOKit refused: .name (\"kIOReturnNotWritable\"), .value "
      "(the IOReturn as an unsigned 32-bit number) and .message.",
      PyExc_Exception, nullptr);
  m.attr("Error") = py::handle(fp::gErrorType);

  fp::BindObjects(m);
  fp::BindEmulated(m);

  m.def(
      "list",
      [] {
        fp::EnsurePlatform();
        py::gil_scoped_release nogil;
        return fpgadext::Device::List();
      },
      "The boards the fpgadext dext drives, in a stable order.");
  m.def(
      "open",
      [](uint32_t index) {
        fp::EnsurePlatform();
        auto device = std::make_unique<fp::PyDevice>();
        fpgadext::Status status;
        {
          py::gil_scoped_release nogil;
          status = fpgadext::Device::Open(index, &device->device);
        }
        fp::Check(status);
        return device;
      },
      py::arg("index") = 0, "Opens board `index` of list(); a context manager.");
  m.def("ioreturn_name", [](int64_t value) {
    return fpgadext::IOReturnName(static_cast<fpgadext::IOReturnCode>(value));
  });
  m.def(
      "_shutdown",
      [] {
        fp::CloseAllDevices();
        fp::StopEmulatedMachine();
      },
      "Closes every device and stops the emulated machine (atexit).");
}
