// Registered buffers: app memory the dext prepares for DMA once (kSelectorRegisterBuffer) and
// names by an id that transfers and ring entries carry, until it is unregistered.
#include <fpgadext/protocol.h>

#include <iterator>

#include <algorithm>

#include "session.h"

namespace fpgadext {

RegisteredBuffer::~RegisteredBuffer() {
  (void)Release();
}

RegisteredBuffer::RegisteredBuffer(RegisteredBuffer&& other) noexcept {
  *this = std::move(other);
}

RegisteredBuffer& RegisteredBuffer::operator=(RegisteredBuffer&& other) noexcept {
  if (this == &other) return *this;
  (void)Release();
  if (other.device_ != nullptr) {
    Session& s = *other.device_->state_;
    std::lock_guard guard(s.lock);
    std::replace(s.buffers.begin(), s.buffers.end(), &other, this);
    device_ = other.device_;
    id_ = other.id_;
    memory_ = other.memory_;
    direction_ = other.direction_;
    other.device_ = nullptr;
    other.id_ = 0;
    other.memory_ = {};
  }
  return *this;
}

Status RegisteredBuffer::Release() {
  if (device_ == nullptr) return Status::Ok();
  Session& s = *device_->state_;
  std::lock_guard guard(s.lock);
  std::erase(s.buffers, this);
  uint64_t in[protocol::kUnregisterBufferId + 1] = {};
  in[protocol::kUnregisterBufferId] = id_;
  // After removal the dext has dropped the registration with the connection: nothing to undo.
  const int ret = s.gone() ? kIOReturnSuccess
                           : s.transport->Call(protocol::kSelectorUnregisterBuffer, in,
                                               std::size(in), nullptr, nullptr);
  device_ = nullptr;
  id_ = 0;
  memory_ = {};
  if (ret != kIOReturnSuccess) {
    return Fail(ret, "unregistering a buffer: %s (%s)", Reason(ret), IOReturnName(ret));
  }
  return Status::Ok();
}

// Device::Close (a friend of RegisteredBuffer) drops what the dext forgets at close.
void Device::ForgetBuffers() {
  Session& s = *state_;
  // The dext drops a client's registrations when it closes; unregistering first keeps each
  // RegisteredBuffer's view (valid() == false) in step with the dext's.
  std::lock_guard guard(s.lock);
  for (RegisteredBuffer* b : s.buffers) {
    uint64_t in[protocol::kUnregisterBufferId + 1] = {};
    in[protocol::kUnregisterBufferId] = b->id_;
    if (!s.gone()) {
      (void)s.transport->Call(protocol::kSelectorUnregisterBuffer, in, std::size(in), nullptr,
                              nullptr);
    }
    b->device_ = nullptr;
    b->id_ = 0;
    b->memory_ = {};
  }
  s.buffers.clear();
}

Status Device::Register(std::span<std::byte> memory, BufferDirection direction,
                        RegisteredBuffer* buffer) {
  if (!state_) return NotOpen();
  if (buffer == nullptr) return Status(kIOReturnBadArgument, "Register: no RegisteredBuffer");
  if (memory.empty() || memory.data() == nullptr) {
    return Status(kIOReturnBadArgument, "cannot register an empty buffer");
  }
  const uint64_t dir = static_cast<uint64_t>(direction);
  if (dir < protocol::kBufferToCard || dir > protocol::kBufferBoth) {
    return Fail(kIOReturnBadArgument, "unknown buffer direction %" PRIu64, dir);
  }
  (void)buffer->Release();
  if (state_->gone()) return Gone("registering a buffer");
  uint64_t in[protocol::kRegisterBufferDirection + 1] = {};
  in[protocol::kRegisterBufferAddress] = reinterpret_cast<uintptr_t>(memory.data());
  in[protocol::kRegisterBufferLength] = memory.size();
  in[protocol::kRegisterBufferDirection] = dir;
  uint64_t out[1] = {};
  uint32_t count = 1;
  const int ret =
      state_->transport->Call(protocol::kSelectorRegisterBuffer, in, std::size(in), out, &count);
  if (ret != kIOReturnSuccess) {
    const char* reason = Reason(ret);
    if (ret == kIOReturnNoResources) {
      reason =
          "the dext holds its maximum of registered buffers for this client, or the "
          "buffer is too fragmented to keep prepared";
    } else if (ret == kIOReturnVMError) {
      reason = "the buffer is not mapped memory (or is read-only and the card must write it)";
    }
    return Fail(ret, "registering 0x%zx bytes: %s (%s)", memory.size(), reason, IOReturnName(ret));
  }
  std::lock_guard guard(state_->lock);
  buffer->device_ = this;
  buffer->id_ = out[0];
  buffer->memory_ = memory;
  buffer->direction_ = direction;
  state_->buffers.push_back(buffer);
  return Status::Ok();
}

}  // namespace fpgadext
