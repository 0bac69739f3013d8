// What an open fpgadext::Device holds (Device::State, private to the library): the transport
// to the dext and the board's description, shared by the components — transfers.cpp,
// registered_buffers.cpp, async.cpp, ring.cpp, registers.cpp — each of which adds its own part.
#pragma once

#include <IOKit/IOReturn.h>

#include <atomic>
#include <cinttypes>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <vector>

#include "fpgadext/fpgadext.hpp"
#include "status_text.h"
#include "transport.h"

namespace fpgadext {

// Async transfers in flight, by tag (async.cpp).
struct AsyncTable {
  struct Pending {
    std::shared_ptr<AsyncOperation::State> op;
    const char* what;
    uint64_t card;
    uint64_t length;
  };
  std::mutex lock;
  uint64_t nextTag = 1;
  std::map<uint64_t, Pending> pending;
  uint64_t cardMemorySize = 0;
};

// A ring wait (kSelectorRingWait) in flight: owned by the session, so that a completion the
// dext sends late finds it even when the ring is gone (ring.cpp).
struct RingWaiter {
  std::mutex lock;
  std::condition_variable woken;
  bool waiting = false;
};

// A stream receive wait (kSelectorStreamWait) in flight, owned by the session like RingWaiter
// (stream.cpp).
struct StreamWaiter {
  std::mutex lock;
  std::condition_variable woken;
  bool waiting = false;
  // How the last wait completed: an error is the stream's end (its channel failed, the board
  // went, the stream was closed), which every later wait would complete with at once.
  int result = 0;
};

struct Session {
  std::unique_ptr<Transport> transport;
  DeviceInfo info;
  uint64_t capabilities = 0;
  struct Mapping {
    uint64_t address = 0;
    uint64_t size = 0;
  };
  Mapping bars[kBarCount];
  // Registered buffers alive on this connection (their device_ points at the Device).
  std::mutex lock;
  std::vector<RegisteredBuffer*> buffers;
  AsyncTable async;
  RingWaiter ringWaiter;
  Ring::Impl* ring = nullptr;  // under `lock`
  StreamWaiter streamWaiter;
  StreamImpl* streams[2] = {};  // to card, from card; under `lock` (stream.cpp)

  // The dext's bounce buffer, mapped by the first transfer through it (transfers.cpp); one
  // transfer at a time uses it.
  struct Bounce {
    std::mutex lock;  // held for a whole transfer; Close waits on it for the chunk in flight
    std::byte* address = nullptr;
    uint64_t size = 0;
  } bounce;
  // Synchronous transfers (Device::Read/Write) hold `inUse` shared. Close ends the connection
  // first, which ends their driver calls (the dext aborts a transfer when its client stops),
  // then takes it exclusively, so that none still uses the session when it is freed. `closing`
  // stops a bounce transfer between chunks: the buffer's mapping goes with the connection.
  std::shared_mutex inUse;
  std::atomic<bool> closing{false};

  // The completion policy of this connection's synchronous transfers (transfers.cpp): a
  // transfer holds `lock` shared while the dext's client has the policy it wants (`current`),
  // and takes it exclusively only to change it (kSelectorCompletionPolicy), so transfers that
  // want different policies never run under each other's. `chosen`: Device::SetCompletionPolicy's.
  struct Completion {
    std::shared_mutex lock;
    uint64_t current = 0;  // protocol::CompletionPolicy; under `lock`
    uint64_t chosen = 0;   // under `lock`
  } completion;

  // Made by the first OpenEvents, under `lock` (events.cpp).
  std::shared_ptr<Events::State> events;

  bool gone() const { return transport->gone(); }

  Status CardRange(uint64_t card, uint64_t length) const {
    if (card > info.cardMemorySize || length > info.cardMemorySize - card) {
      return Fail(kIOReturnBadArgument,
                  "card range 0x%" PRIx64 "+0x%" PRIx64 " is outside the card's 0x%" PRIx64
                  " bytes",
                  card, length, info.cardMemorySize);
    }
    return Status::Ok();
  }

  // A transfer the dext refused.
  Status TransferError(int code, const char* what, uint64_t card, uint64_t length,
                       const char* path) const;

  // Components' parts of Device::Close.
  void DetachRing();        // ring.cpp
  void UnmapBars();         // registers.cpp
  void AbortAsync();        // async.cpp: after the connection closed
  void WakeRingWaiter();    // ring.cpp: the board is gone
  void DetachStreams();     // stream.cpp: before the buffers are forgotten
  void WakeStreamWaiter();  // stream.cpp: the board is gone
  void DetachEvents();      // events.cpp: before the connection closes
  void WakeEvents();        // events.cpp: the board is gone
};

struct Device::State : Session {};

}  // namespace fpgadext
