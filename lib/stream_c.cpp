// The C API's streams (include/fpgadext/fpgadext.h): a thin layer over fpgadext::Stream. The
// slots a receive handed out are kept here, by slot, until fpgadext_stream_release.
#include <IOKit/IOKitLib.h>

#include <new>
#include <vector>

#include "c_device.h"
#include "fpgadext/fpgadext.h"
#include "fpgadext/fpgadext.hpp"

struct fpgadext_stream {
  fpgadext_device* device;
  fpgadext::Stream stream;
  std::vector<fpgadext::StreamBuffer> held;  // by slot
};

using fpgadext::c_api::Record;
using fpgadext::c_api::Timeout;

extern "C" {

int fpgadext_stream_channels(fpgadext_device* device, uint32_t* to_card_mask,
                             uint32_t* from_card_mask) {
  if (device == nullptr) return kIOReturnBadArgument;
  return Record(device, device->device.StreamChannels(to_card_mask, from_card_mask));
}

int fpgadext_stream_open(fpgadext_device* device, int direction, int channel, uint32_t slots,
                         uint64_t slot_size, fpgadext_stream** stream) {
  if (device == nullptr || stream == nullptr) return kIOReturnBadArgument;
  *stream = nullptr;
  auto* s = new (std::nothrow) fpgadext_stream{device, {}, {}};
  if (s == nullptr) return kIOReturnNoMemory;
  fpgadext::StreamOptions options;
  options.channel = channel;
  options.slots = slots;
  options.slotSize = slot_size;
  const int ret =
      Record(device, device->device.OpenStream(static_cast<fpgadext::StreamDirection>(direction),
                                               options, &s->stream));
  if (ret != kIOReturnSuccess) {
    delete s;
    return ret;
  }
  if (direction == FPGADEXT_STREAM_FROM_CARD) s->held.resize(slots);
  *stream = s;
  return kIOReturnSuccess;
}

void fpgadext_stream_close(fpgadext_stream* stream) {
  delete stream;  // held slots first (members go in reverse), then the stream closes
}

int fpgadext_stream_send(fpgadext_stream* stream, const void* buf, size_t size, int end_of_packet) {
  if (stream == nullptr) return kIOReturnBadArgument;
  return Record(stream->device, stream->stream.Send({static_cast<const std::byte*>(buf), size},
                                                    end_of_packet != 0));
}

int fpgadext_stream_receive(fpgadext_stream* stream, uint64_t timeout_ns, const void** data,
                            size_t* size, uint32_t* flags, uint32_t* slot) {
  if (stream == nullptr || data == nullptr || size == nullptr) return kIOReturnBadArgument;
  fpgadext::StreamBuffer buffer;
  const int ret = Record(stream->device, stream->stream.Receive(Timeout(timeout_ns), &buffer));
  if (ret != kIOReturnSuccess) return ret;
  *data = buffer.data().data();
  *size = buffer.data().size();
  if (flags != nullptr) *flags = buffer.endOfPacket() ? FPGADEXT_STREAM_END_OF_PACKET : 0;
  if (slot != nullptr) *slot = buffer.slot();
  const int status = buffer.status();
  stream->held[buffer.slot()] = std::move(buffer);
  return status;
}

int fpgadext_stream_release(fpgadext_stream* stream, uint32_t slot) {
  if (stream == nullptr || slot >= stream->held.size() || !stream->held[slot].valid()) {
    return kIOReturnBadArgument;
  }
  stream->held[slot].Release();
  return kIOReturnSuccess;
}

int fpgadext_stream_counters(fpgadext_stream* stream, uint64_t counters[6]) {
  if (stream == nullptr || counters == nullptr) return kIOReturnBadArgument;
  fpgadext::StreamCounters c;
  const int ret = Record(stream->device, stream->stream.Counters(&c));
  if (ret != kIOReturnSuccess) return ret;
  const uint64_t values[6] = {c.packets, c.bytes, c.overruns, c.dropped, c.errors, c.descriptors};
  for (int i = 0; i < 6; ++i) counters[i] = values[i];
  return kIOReturnSuccess;
}

}  // extern "C"
