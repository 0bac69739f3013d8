// What a fpgadext::Stream holds (stream.cpp opens, sends and closes; stream_receive.cpp
// receives and hands slots back).
#pragma once

#include <fpgadext/protocol.h>

#include <cstdlib>
#include <mutex>
#include <shared_mutex>
#include <vector>

#include "session.h"

namespace fpgadext {

struct StreamImpl {
  std::mutex lock;            // the ring's consumer side: Receive and StreamBuffer::Release
  Session* device = nullptr;  // null once closed
  StreamDirection direction = StreamDirection::kToCard;
  uint32_t channel = 0;
  // From the card:
  uint64_t address = 0;  // the ring's mapping
  protocol::StreamRingHeader* header = nullptr;
  const protocol::StreamCompletion* completions = nullptr;
  uint32_t slots = 0;
  uint64_t slotSize = 0;
  std::byte* base = nullptr;       // slot 0
  uint64_t token = 0;              // sanitizer builds
  uint32_t taken = 0;              // completions handed out
  uint32_t cqHead = 0;             // completions handed back (ours; the shared word is written)
  std::vector<bool> released;      // per slot: handed back out of order, waiting for those before
  std::vector<std::byte> partial;  // ReceivePacket's packet so far
  // The buffer the stream registered itself (options.buffer null); freed after the dext stopped.
  RegisteredBuffer ownBuffer;
  void* ownMemory = nullptr;

  ~StreamImpl() { std::free(ownMemory); }

  // The session, held against Device::Close on another thread (Session::inUse, as synchronous
  // transfers hold it) while the stream is still attached; an empty lock once it is not. A
  // try-lock under `lock`, so that the two locks are never taken in an order.
  std::shared_lock<std::shared_mutex> Attach(Session** session) {
    std::lock_guard guard(lock);
    if (device == nullptr || !device->inUse.try_lock_shared()) return {};
    *session = device;
    return std::shared_lock(device->inUse, std::adopt_lock);
  }

  uint32_t Published() {
    const uint32_t tail = __atomic_load_n(&header->cqTail, __ATOMIC_ACQUIRE);
    protocol::RingSanitizerAcquire(token);
    // A tail that is not one the ring can have (past every posted slot) is not trusted.
    return tail - taken <= slots ? tail : taken;
  }

  // Under `lock`.
  void HandBack(uint32_t index) {
    if (index - cqHead >= taken - cqHead) return;  // not outstanding
    released[index & (slots - 1)] = true;
    const uint32_t before = cqHead;
    while (cqHead != taken && released[cqHead & (slots - 1)]) {
      released[cqHead & (slots - 1)] = false;
      ++cqHead;
    }
    if (cqHead != before && device != nullptr && !device->gone()) {
      protocol::RingSanitizerRelease(token);
      __atomic_store_n(&header->cqHead, cqHead, __ATOMIC_RELEASE);
    }
  }

  // Called with the session's lock not held.
  void Stop() {
    Session* s;
    {
      std::lock_guard guard(lock);
      s = device;
    }
    if (s == nullptr) return;
    Transport& transport = *s->transport;
    if (!s->gone()) {
      uint64_t in[protocol::kStreamCloseDirection + 1] = {};
      in[protocol::kStreamCloseDirection] = static_cast<uint64_t>(direction);
      (void)transport.Call(protocol::kSelectorStreamClose, in, std::size(in), nullptr, nullptr);
    }
    {
      // From here on a StreamBuffer released on another thread no longer touches the ring.
      std::lock_guard guard(lock);
      device = nullptr;
      header = nullptr;
    }
    if (direction == StreamDirection::kFromCard) {
      dispatch_sync(transport.CompletionQueue(), ^{
                        // a wait the dext just aborted lands first
                    });
      {
        std::lock_guard guard(s->streamWaiter.lock);
        s->streamWaiter.waiting = false;
      }
      s->streamWaiter.woken.notify_all();  // a receive on another thread sees the stream end
      // Slots still held point into our own memory; the ring mapping goes (after removal it
      // goes with the connection, at Device::Close).
      if (!s->gone()) (void)transport.Unmap(protocol::kMemoryTypeStreamReceive, address);
      (void)ownBuffer.Release();
    }
  }
};

// An error the dext returned for a stream call.
Status StreamCallError(int ret, const char* what);

}  // namespace fpgadext
