// The C API (include/fpgadext/fpgadext.h): a thin layer over fpgadext::Device. Each device keeps
// the message of its last failed call; fpgadext_last_error(NULL) gives that of the calling
// thread's last failed fpgadext_open or fpgadext_wait_for_board (there is no device to keep it in).
#include "fpgadext/fpgadext.h"

#include <IOKit/IOKitLib.h>

#include <new>
#include <optional>
#include <string>

#include "c_device.h"
#include "fpgadext/fpgadext.hpp"

namespace {

using fpgadext::c_api::Record;
using fpgadext::c_api::Timeout;

thread_local std::string tOpenError;

// A C completion argument: FPGADEXT_COMPLETION_DEVICE is none, anything else goes to the
// library as it is (which refuses what is not a policy, with its message).
std::optional<fpgadext::CompletionPolicy> CompletionOption(int completion) {
  if (completion == FPGADEXT_COMPLETION_DEVICE) return std::nullopt;
  return static_cast<fpgadext::CompletionPolicy>(completion);
}

}  // namespace

extern "C" {

unsigned fpgadext_count(void) {
  return static_cast<unsigned>(fpgadext::Device::List().size());
}

int fpgadext_open(unsigned index, fpgadext_device** device) {
  if (device == nullptr) {
    tOpenError = "fpgadext_open: device is NULL";
    return kIOReturnBadArgument;
  }
  *device = nullptr;
  auto* d = new (std::nothrow) fpgadext_device;
  if (d == nullptr) {
    tOpenError = "fpgadext_open: out of memory";
    return kIOReturnNoMemory;
  }
  fpgadext::Status status = fpgadext::Device::Open(index, &d->device);
  if (!status) {
    tOpenError = status.message();
    delete d;
    return status.code();
  }
  tOpenError.clear();
  *device = d;
  return kIOReturnSuccess;
}

void fpgadext_close(fpgadext_device* device) {
  delete device;
}

int fpgadext_gone(const fpgadext_device* device) {
  return device != nullptr && device->device.gone() ? 1 : 0;
}

int fpgadext_wait_for_board(unsigned index, uint64_t timeout_ns) {
  const fpgadext::Status status = fpgadext::Device::WaitForBoard(index, Timeout(timeout_ns));
  if (!status) tOpenError = status.message();
  return status.code();
}

int fpgadext_read(fpgadext_device* device, uint64_t card_addr, size_t size, void* buf) {
  if (device == nullptr) return kIOReturnBadArgument;
  return Record(device, device->device.Read(card_addr, {static_cast<std::byte*>(buf), size}));
}

int fpgadext_write(fpgadext_device* device, uint64_t card_addr, size_t size, const void* buf) {
  if (device == nullptr) return kIOReturnBadArgument;
  return Record(device,
                device->device.Write(card_addr, {static_cast<const std::byte*>(buf), size}));
}

int fpgadext_set_completion(fpgadext_device* device, int policy, int* in_effect) {
  if (device == nullptr) return kIOReturnBadArgument;
  fpgadext::CompletionPolicy resolved = fpgadext::CompletionPolicy::kDefault;
  const int ret = Record(device, device->device.SetCompletionPolicy(
                                     static_cast<fpgadext::CompletionPolicy>(policy), &resolved));
  if (ret == 0 && in_effect != nullptr) *in_effect = static_cast<int>(resolved);
  return ret;
}

int fpgadext_read_with_completion(fpgadext_device* device, uint64_t card_addr, size_t size,
                                  void* buf, int completion) {
  if (device == nullptr) return kIOReturnBadArgument;
  fpgadext::TransferOptions options;
  options.completion = CompletionOption(completion);
  return Record(device,
                device->device.Read(card_addr, {static_cast<std::byte*>(buf), size}, options));
}

int fpgadext_write_with_completion(fpgadext_device* device, uint64_t card_addr, size_t size,
                                   const void* buf, int completion) {
  if (device == nullptr) return kIOReturnBadArgument;
  fpgadext::TransferOptions options;
  options.completion = CompletionOption(completion);
  return Record(
      device, device->device.Write(card_addr, {static_cast<const std::byte*>(buf), size}, options));
}

int fpgadext_reg_read32(fpgadext_device* device, int bar, uint64_t offset, uint32_t* value) {
  if (device == nullptr) return kIOReturnBadArgument;
  return Record(device, device->device.Read32(bar, offset, value));
}

int fpgadext_reg_write32(fpgadext_device* device, int bar, uint64_t offset, uint32_t value) {
  if (device == nullptr) return kIOReturnBadArgument;
  return Record(device, device->device.Write32(bar, offset, value));
}

uint64_t fpgadext_card_memory_size(const fpgadext_device* device) {
  return device ? device->device.info().cardMemorySize : 0;
}

int fpgadext_user_bar(const fpgadext_device* device) {
  return device ? device->device.info().userBar : -1;
}

}  // extern "C"

struct fpgadext_op {
  fpgadext::AsyncOperation op;
};

namespace {

int StartAsync(fpgadext_device* device, bool read, uint64_t card_addr, size_t size, void* buf,
               fpgadext_callback callback, void* context, fpgadext_op** op) {
  if (op != nullptr) *op = nullptr;
  if (device == nullptr || op == nullptr) return kIOReturnBadArgument;
  auto* o = new (std::nothrow) fpgadext_op;
  if (o == nullptr) return kIOReturnNoMemory;
  fpgadext::AsyncCallback done;
  if (callback != nullptr) {
    done = [callback, context](const fpgadext::Status& status, uint64_t bytes) {
      callback(context, status.code(), bytes);
    };
  }
  o->op = read ? device->device.ReadAsync(card_addr, {static_cast<std::byte*>(buf), size},
                                          std::move(done))
               : device->device.WriteAsync(card_addr, {static_cast<const std::byte*>(buf), size},
                                           std::move(done));
  *op = o;
  return kIOReturnSuccess;
}

}  // namespace

extern "C" {

int fpgadext_read_async(fpgadext_device* device, uint64_t card_addr, size_t size, void* buf,
                        fpgadext_callback callback, void* context, fpgadext_op** op) {
  return StartAsync(device, true, card_addr, size, buf, callback, context, op);
}

int fpgadext_write_async(fpgadext_device* device, uint64_t card_addr, size_t size, const void* buf,
                         fpgadext_callback callback, void* context, fpgadext_op** op) {
  return StartAsync(device, false, card_addr, size, const_cast<void*>(buf), callback, context, op);
}

int fpgadext_wait(fpgadext_op* op, uint64_t timeout_ns, uint64_t* bytes) {
  if (op == nullptr) return kIOReturnBadArgument;
  const auto timeout = Timeout(timeout_ns);
  const fpgadext::Status status = op->op.Wait(timeout);
  if (bytes != nullptr) *bytes = op->op.done() ? op->op.bytes() : 0;
  return status.code();
}

void fpgadext_op_free(fpgadext_op* op) {
  if (op == nullptr) return;
  (void)op->op.Wait();
  delete op;
}

// User interrupts (fpgadext::Events).
struct fpgadext_events {
  fpgadext::Events events;
};

static void ToC(const fpgadext::EventCounts& in, fpgadext_event_counts* out) {
  out->lines = in.lines;
  for (unsigned i = 0; i < FPGADEXT_MAX_EVENT_LINES; ++i) out->count[i] = in.count[i];
}

int fpgadext_events_open(fpgadext_device* device, uint32_t mask, fpgadext_events** events) {
  if (device == nullptr || events == nullptr) return kIOReturnBadArgument;
  *events = nullptr;
  auto* e = new (std::nothrow) fpgadext_events;
  if (e == nullptr) return kIOReturnNoMemory;
  const int ret = Record(device, device->device.OpenEvents(mask, &e->events));
  if (ret != kIOReturnSuccess) {
    delete e;
    return ret;
  }
  *events = e;
  return kIOReturnSuccess;
}

int fpgadext_events_wait(fpgadext_events* events, uint32_t mask, uint64_t timeout_ns,
                         fpgadext_event_counts* counts) {
  if (events == nullptr || counts == nullptr) return kIOReturnBadArgument;
  const auto timeout = Timeout(timeout_ns);
  fpgadext::EventCounts out;
  const fpgadext::Status status = events->events.WaitForEvents(mask, timeout, &out);
  ToC(out, counts);
  return status.code();
}

int fpgadext_events_poll(fpgadext_events* events, uint32_t mask, fpgadext_event_counts* counts) {
  if (events == nullptr || counts == nullptr) return kIOReturnBadArgument;
  fpgadext::EventCounts out;
  const fpgadext::Status status = events->events.Poll(mask, &out);
  ToC(out, counts);
  return status.code();
}

int fpgadext_events_set_callback(fpgadext_events* events, uint32_t mask,
                                 fpgadext_events_callback callback, void* context) {
  if (events == nullptr) return kIOReturnBadArgument;
  fpgadext::EventCallback call;
  if (callback != nullptr) {
    call = [callback, context](const fpgadext::EventCounts& in) {
      fpgadext_event_counts counts;
      ToC(in, &counts);
      callback(context, &counts);
    };
  }
  return events->events.SetCallback(mask, std::move(call)).code();
}

void fpgadext_events_close(fpgadext_events* events) {
  delete events;
}

const char* fpgadext_last_error(const fpgadext_device* device) {
  return device ? device->lastError.c_str() : tOpenError.c_str();
}

const char* fpgadext_error_name(int code) {
  return fpgadext::IOReturnName(code);
}

}  // extern "C"
