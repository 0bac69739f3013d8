// The submission ring (docs/ring.md): shared memory with the dext where requests on registered
// buffers are posted and their completions found without a driver call per request.
//
// When the board goes away the ring settles: completions the dext wrote are still read (the
// app's mapping of the ring stays until the connection is closed, as on a Mac: xnu
// IOUserClient::destroyUserReferences hands the maps to the connection port), and every request
// still in flight completes once with kIOReturnNoDevice, in order, with its own tag — the
// library keeps each slot's tag, since the dext will never answer.
#include <fpgadext/protocol.h>

#include <iterator>

#include <algorithm>

#include "session.h"

namespace fpgadext {

struct Ring::Impl {
  Session* device = nullptr;  // null once the device closed or the ring was destroyed
  uint64_t address = 0;
  protocol::RingHeader* header = nullptr;
  protocol::RingSubmission* submissions = nullptr;
  protocol::RingCompletion* completions = nullptr;
  uint32_t entries = 0;
  uint32_t sqTail = 0;  // ours: the shared word is only written
  uint32_t cqHead = 0;
  uint64_t token = 0;
  bool doorbell = false;  // the dext sleeps when idle and must be woken (kCapabilityRingDoorbell)
  uint64_t doorbells = 0;
  std::vector<uint64_t> tags;  // each slot's request, as posted
  // After removal: how many of the dext's completions are still to be read; the rest fail.
  bool settled = false;
  uint32_t realLeft = 0;

  // The completion queue's tail: the dext's while the board is there; after removal every
  // request in flight counts as completed.
  uint32_t Completed() {
    if (device->gone()) {
      if (!settled) {
        uint32_t tail = __atomic_load_n(&header->cqTail, __ATOMIC_ACQUIRE);
        protocol::RingSanitizerAcquire(token);
        if (tail - cqHead > sqTail - cqHead) tail = cqHead;  // not a tail the ring can have
        realLeft = tail - cqHead;
        settled = true;
      }
      return sqTail;
    }
    const uint32_t tail = __atomic_load_n(&header->cqTail, __ATOMIC_ACQUIRE);
    protocol::RingSanitizerAcquire(token);
    return tail;
  }
  bool Available() { return Completed() != cqHead; }

  RingCompletion Take() {
    const uint32_t slot = cqHead & (entries - 1);
    RingCompletion out;
    if (settled && realLeft == 0) {
      out = RingCompletion{tags[slot], kIOReturnNoDevice, 0};
    } else {
      const protocol::RingCompletion c = completions[slot];
      out = RingCompletion{c.tag, c.status, c.bytes};
      if (settled) --realLeft;
    }
    ++cqHead;
    return out;
  }

  Status Post(uint64_t bufferId, uint64_t offset, uint64_t card, uint64_t length,
              uint32_t direction, uint64_t tag) {
    if (device == nullptr) return Status(kIOReturnNotOpen, "the ring is not active");
    if (device->gone()) return Gone("posting to the ring");
    if (sqTail - cqHead >= entries) {
      return Fail(kIOReturnNoSpace, "the ring holds %u requests in flight already", entries);
    }
    const uint32_t slot = sqTail & (entries - 1);
    submissions[slot] = protocol::RingSubmission{bufferId, offset, card, length, direction, 0, tag};
    tags[slot] = tag;
    ++sqTail;
    protocol::RingSanitizerRelease(token);
    __atomic_store_n(&header->sqTail, sqTail, __ATOMIC_RELEASE);
    if (doorbell) WakePoller();
    return Status::Ok();
  }

  // After sqTail is stored (protocol::RingDoorbellNeeded). A failed doorbell is not the post's
  // failure: if the board went away the request completes with kIOReturnNoDevice like every
  // other in flight.
  void WakePoller() {
    if (!protocol::RingDoorbellNeeded(header)) return;
    ++doorbells;
    (void)device->transport->Call(protocol::kSelectorRingDoorbell, nullptr, 0, nullptr, nullptr);
  }

  // Called with the device's lock not held.
  void Stop() {
    if (device == nullptr) return;
    Transport& transport = *device->transport;
    if (!device->gone()) {
      (void)transport.Call(protocol::kSelectorRingDestroy, nullptr, 0, nullptr, nullptr);
    }
    // A ring wait the dext just aborted is delivered before we go.
    dispatch_sync(transport.CompletionQueue(), ^{
                  });
    {
      std::lock_guard guard(device->ringWaiter.lock);
      device->ringWaiter.waiting = false;
    }
    // After removal the mapping goes with the connection (Device::Close).
    if (!device->gone()) (void)transport.Unmap(protocol::kMemoryTypeRing, address);
    device = nullptr;
    header = nullptr;
  }
};

namespace {

void OnRingWait(void* refcon, int, void**, uint32_t) {
  auto* waiter = static_cast<RingWaiter*>(refcon);
  {
    std::lock_guard guard(waiter->lock);
    waiter->waiting = false;
  }
  waiter->woken.notify_all();
}

Status CheckRingBuffer(const RegisteredBuffer& buffer, uint64_t offset, uint64_t length) {
  if (!buffer.valid()) return Status(kIOReturnBadArgument, "the buffer is not registered");
  if (offset > buffer.memory().size() || length > buffer.memory().size() - offset) {
    return Fail(kIOReturnBadArgument,
                "bytes 0x%" PRIx64 "+0x%" PRIx64 " are outside the registered buffer's 0x%zx",
                offset, length, buffer.memory().size());
  }
  return Status::Ok();
}

}  // namespace

void Session::DetachRing() {
  Ring::Impl* r;
  {
    std::lock_guard guard(lock);
    r = ring;
    ring = nullptr;
  }
  if (r != nullptr) r->Stop();
}

void Session::WakeRingWaiter() {
  std::lock_guard guard(ringWaiter.lock);
  ringWaiter.woken.notify_all();
}

Status Device::CreateRing(uint32_t entries, RingDirections directions, Ring* ring) {
  if (!state_) return NotOpen();
  if (ring == nullptr) return Status(kIOReturnBadArgument, "CreateRing: no Ring");
  (void)ring->Destroy();
  Session& s = *state_;
  if (!(s.capabilities & protocol::kCapabilityRing)) {
    return Status(kIOReturnUnsupported, "the dext has no submission rings (protocol < 1.2)");
  }
  if (s.gone()) return Gone("creating a ring");
  {
    std::lock_guard guard(s.lock);
    if (s.ring != nullptr) {
      return Status(kIOReturnBusy, "this device has a ring already (one per connection)");
    }
  }
  uint64_t in[protocol::kRingCreateDirections + 1] = {};
  in[protocol::kRingCreateEntries] = entries;
  in[protocol::kRingCreateDirections] = static_cast<uint64_t>(directions);
  uint64_t out[1] = {};
  uint32_t count = 1;
  int ret = s.transport->Call(protocol::kSelectorRingCreate, in, std::size(in), out, &count);
  if (ret != kIOReturnSuccess) {
    const char* reason = Reason(ret);
    if (ret == kIOReturnExclusiveAccess) {
      reason = "every DMA channel of a direction the ring needs is owned by another ring";
    } else if (ret == kIOReturnBadArgument) {
      reason = "entries must be a power of two from 2 to 4096, directions 1 to 3";
    }
    return Fail(ret, "creating a ring of %u entries: %s (%s)", entries, reason, IOReturnName(ret));
  }
  auto impl = std::make_unique<Ring::Impl>();
  uint64_t size = 0;
  ret = s.transport->Map(protocol::kMemoryTypeRing, &impl->address, &size);
  if (ret != kIOReturnSuccess || size < protocol::RingBytes(entries)) {
    if (ret == kIOReturnSuccess) (void)s.transport->Unmap(protocol::kMemoryTypeRing, impl->address);
    (void)s.transport->Call(protocol::kSelectorRingDestroy, nullptr, 0, nullptr, nullptr);
    return Fail(ret == kIOReturnSuccess ? kIOReturnNoMemory : ret,
                "mapping the ring into the app failed (%s)", IOReturnName(ret));
  }
  auto* base = reinterpret_cast<uint8_t*>(static_cast<uintptr_t>(impl->address));
  impl->header = reinterpret_cast<protocol::RingHeader*>(base);
  impl->entries = entries;
  impl->tags.assign(entries, 0);
  impl->submissions =
      reinterpret_cast<protocol::RingSubmission*>(base + impl->header->submissionOffset);
  impl->completions =
      reinterpret_cast<protocol::RingCompletion*>(base + impl->header->completionOffset);
  impl->token = impl->header->sanitizerToken;
  // One doorbell tells the dext this app knows the wake-up: only then does its poller sleep.
  impl->doorbell = (s.capabilities & protocol::kCapabilityRingDoorbell) != 0 &&
                   s.transport->Call(protocol::kSelectorRingDoorbell, nullptr, 0, nullptr,
                                     nullptr) == kIOReturnSuccess;
  impl->device = &s;
  {
    std::lock_guard guard(s.lock);
    s.ring = impl.get();
  }
  ring->impl_ = std::move(impl);
  return Status::Ok();
}

Ring::Ring() = default;

Ring::~Ring() {
  (void)Destroy();
}

Ring::Ring(Ring&& other) noexcept = default;

Ring& Ring::operator=(Ring&& other) noexcept {
  if (this != &other) {
    (void)Destroy();
    impl_ = std::move(other.impl_);
  }
  return *this;
}

bool Ring::valid() const {
  return impl_ && impl_->device != nullptr;
}

uint32_t Ring::entries() const {
  return impl_ ? impl_->entries : 0;
}

uint32_t Ring::inFlight() const {
  return impl_ ? impl_->sqTail - impl_->cqHead : 0;
}

Status Ring::Destroy() {
  if (!impl_) return Status::Ok();
  if (Session* device = impl_->device; device != nullptr) {
    {
      std::lock_guard guard(device->lock);
      device->ring = nullptr;
    }
    impl_->Stop();
  }
  impl_.reset();
  return Status::Ok();
}

Status Ring::SubmitRead(uint64_t cardAddress, const RegisteredBuffer& buffer, uint64_t offset,
                        uint64_t length, uint64_t tag) {
  if (!valid()) return Status(kIOReturnNotOpen, "the ring is not active");
  if (Status s = CheckRingBuffer(buffer, offset, length); !s) return s;
  return impl_->Post(buffer.id(), offset, cardAddress, length, protocol::kRingFromCard, tag);
}

Status Ring::SubmitWrite(uint64_t cardAddress, const RegisteredBuffer& buffer, uint64_t offset,
                         uint64_t length, uint64_t tag) {
  if (!valid()) return Status(kIOReturnNotOpen, "the ring is not active");
  if (Status s = CheckRingBuffer(buffer, offset, length); !s) return s;
  return impl_->Post(buffer.id(), offset, cardAddress, length, protocol::kRingToCard, tag);
}

Status Ring::SubmitRaw(uint64_t bufferId, uint64_t offset, uint64_t cardAddress, uint64_t length,
                       uint32_t direction, uint64_t tag) {
  if (!valid()) return Status(kIOReturnNotOpen, "the ring is not active");
  return impl_->Post(bufferId, offset, cardAddress, length, direction, tag);
}

size_t Ring::PollCompletions(std::span<RingCompletion> out) {
  if (!valid()) return 0;
  const uint32_t tail = impl_->Completed();
  size_t n = 0;
  while (n < out.size() && impl_->cqHead != tail) out[n++] = impl_->Take();
  // The dext's view of what was taken; after removal nobody reads it.
  if (n != 0 && !impl_->settled) {
    __atomic_store_n(&impl_->header->cqHead, impl_->cqHead, __ATOMIC_RELEASE);
  }
  return n;
}

Status Ring::Wait(std::chrono::nanoseconds timeout, std::chrono::nanoseconds spin) {
  if (!valid()) return Status(kIOReturnNotOpen, "the ring is not active");
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const auto deadline =
      timeout > std::chrono::hours(24 * 365) ? Clock::time_point::max() : start + timeout;
  const auto spinUntil = start + std::min(spin, timeout);
  while (Clock::now() < spinUntil) {
    if (impl_->Available()) return Status::Ok();
    if (impl_->device->gone()) break;
  }
  Session& device = *impl_->device;
  RingWaiter& waiter = device.ringWaiter;
  for (;;) {
    const uint32_t seen = impl_->Completed();
    if (seen != impl_->cqHead) return Status::Ok();
    if (device.gone()) return Gone("waiting on the ring");
    std::unique_lock guard(waiter.lock);
    if (!waiter.waiting) {
      waiter.waiting = true;
      guard.unlock();
      uint64_t in[protocol::kRingWaitSeen + 1] = {};
      in[protocol::kRingWaitSeen] = seen;
      const int ret = device.transport->CallAsync(protocol::kSelectorRingWait, in, std::size(in),
                                                  &OnRingWait, &waiter);
      guard.lock();
      if (ret != kIOReturnSuccess) {
        waiter.waiting = false;
        if (ret == kIOReturnNoDevice) continue;  // gone: in-flight requests complete now
        return Fail(ret, "waiting on the ring: %s (%s)", Reason(ret), IOReturnName(ret));
      }
    }
    const auto woken = [&] { return !waiter.waiting || device.gone(); };
    if (deadline == Clock::time_point::max()) {
      waiter.woken.wait(guard, woken);
    } else if (!waiter.woken.wait_until(guard, deadline, woken)) {
      guard.unlock();
      if (impl_->Available()) return Status::Ok();
      return Status(kIOReturnTimeout, "no ring completion in time");
    }
  }
}

uint64_t Ring::doorbells() const {
  return impl_ ? impl_->doorbells : 0;
}

uint32_t Ring::errors() const {
  // The mapping outlives the board (it goes with the connection): the last word stays readable.
  return valid() ? __atomic_load_n(&impl_->header->errors, __ATOMIC_ACQUIRE) : 0;
}

}  // namespace fpgadext
