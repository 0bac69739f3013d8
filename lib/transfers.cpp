// Transfers between app memory and the card: one path for reads and writes, driven by a table
// of the ways a transfer reaches the dext. kAuto picks by size from what each path costs a Mac
// (protocol/fpgadext/path_costs.h; docs/library.md explains the choice):
//   ≤ 4096 bytes   in-band: the bytes travel in the IOConnectCallMethod message (one call);
//   > 4096 bytes   the bounce buffer: the dext prepared it once and the app maps it; the library
//                  copies through it, one call per 1 MiB — or client memory (the dext wires the
//                  caller's pages for the call) where that would cost less than the copy;
//   registered     a buffer prepared for DMA once, then id + offset + length per transfer.
#include <fpgadext/path_costs.h>
#include <fpgadext/protocol.h>

#include <algorithm>
#include <cstring>
#include <iterator>

#include <shared_mutex>

#include "session.h"

namespace fpgadext {

namespace {

enum Direction { kRead = 0, kWrite = 1 };
constexpr const char* kWhat[2] = {"read", "write"};

// How one TransferPath carries a transfer.
struct PathRule {
  TransferPath path;
  const char* name;
  uint32_t selector[2];      // per Direction
  uint64_t lengthAbove;      // the length must exceed this (UINT64_MAX: no lower bound)
  const char* above;         // the bound, said
  uint64_t lengthAtMost[2];  // per Direction
  const char* atMost[2];     // the bounds, said
  bool bytesInMessage;       // the bytes are IOConnectCallMethod's structure (in or out)
  bool exactReply;           // a read's reply must carry every byte asked
};

constexpr uint64_t kNoLowerBound = UINT64_MAX;

constexpr PathRule kPaths[] = {
    {TransferPath::kInband,
     "in-band",
     {protocol::kSelectorReadInband, protocol::kSelectorWriteInband},
     kNoLowerBound,
     nullptr,
     {protocol::kInbandMax, protocol::kInbandMax},
     {"4096 bytes", "4096 bytes"},
     true,
     true},
    // xnu refuses out-of-line outputs above 4 GiB - 1 (is_io_connect_method).
    {TransferPath::kOutOfLine,
     "out-of-line",
     {protocol::kSelectorReadOutOfLine, protocol::kSelectorWriteOutOfLine},
     protocol::kInbandMax,
     "4096 bytes",
     {UINT32_MAX, UINT64_MAX},
     {"4 GiB - 1 bytes", nullptr},
     true,
     false},
    {TransferPath::kClientMemory,
     "client memory",
     {protocol::kSelectorReadClientMemory, protocol::kSelectorWriteClientMemory},
     kNoLowerBound,
     nullptr,
     {UINT64_MAX, UINT64_MAX},
     {nullptr, nullptr},
     false,
     false},
    {TransferPath::kBounce,
     "bounce buffer",
     {protocol::kSelectorBounceTransfer, protocol::kSelectorBounceTransfer},
     kNoLowerBound,
     nullptr,
     {UINT64_MAX, UINT64_MAX},
     {nullptr, nullptr},
     false,
     false},
};

const PathRule& RuleFor(TransferPath path) {
  for (const PathRule& rule : kPaths) {
    if (rule.path == path) return rule;
  }
  return kPaths[2];  // not reached: kAuto is resolved before
}

TransferPath AutoPathFor(const Session& s, uint64_t length) {
  if (length <= protocol::kInbandMax) return TransferPath::kInband;
  if (!(s.capabilities & protocol::kCapabilityBounce)) return TransferPath::kClientMemory;
  return protocol::ClientMemoryIsCheaper(protocol::kMacM2PathCosts, length, protocol::kBounceSize)
             ? TransferPath::kClientMemory
             : TransferPath::kBounce;
}

// Through the bounce buffer, mapped by the first such transfer: copy in, a call per buffer's
// worth, copy out. The app's memory is touched by the copy only (like in-band's): a bad address
// faults here, as memcpy would.
int Bounce(Session& s, Direction d, uint64_t card, std::byte* data, uint64_t length) {
  std::lock_guard guard(s.bounce.lock);
  if (s.closing.load(std::memory_order_acquire)) return kIOReturnAborted;
  if (length != 0 && s.bounce.address == nullptr) {
    uint64_t address = 0, size = 0;
    const int ret = s.transport->Map(protocol::kMemoryTypeBounce, &address, &size);
    if (ret != kIOReturnSuccess) return ret;
    s.bounce.address = reinterpret_cast<std::byte*>(address);
    s.bounce.size = std::min(size, protocol::kBounceSize);
  }
  for (uint64_t done = 0; done < length;) {
    if (s.closing.load(std::memory_order_acquire)) return kIOReturnAborted;
    const uint64_t chunk = std::min(s.bounce.size, length - done);
    if (d == kWrite) std::memcpy(s.bounce.address, data + done, chunk);
    uint64_t in[protocol::kBounceLength + 1] = {};
    in[protocol::kBounceDirection] =
        d == kRead ? protocol::kBufferFromCard : protocol::kBufferToCard;
    in[protocol::kBounceCard] = card + done;
    in[protocol::kBounceOffset] = 0;
    in[protocol::kBounceLength] = chunk;
    const int ret =
        s.transport->Call(protocol::kSelectorBounceTransfer, in, std::size(in), nullptr, nullptr);
    if (ret != kIOReturnSuccess) return ret;
    if (d == kRead) std::memcpy(data + done, s.bounce.address, chunk);
    done += chunk;
  }
  return kIOReturnSuccess;
}

constexpr const char* kPolicyNames[] = {"default", "poll", "interrupt", "adaptive"};

bool ValidPolicy(CompletionPolicy policy) {
  return static_cast<unsigned>(policy) < std::size(kPolicyNames);
}

Status UnknownPolicy(CompletionPolicy policy) {
  return Fail(kIOReturnBadArgument,
              "completion policy %d is none of default (0), poll (1), interrupt (2), adaptive (3)",
              static_cast<int>(policy));
}

// Makes the dext's client wait with `policy`; under s.completion.lock held exclusively.
Status ChangePolicyLocked(Session& s, uint64_t policy, uint64_t* inEffect) {
  if (!(s.capabilities & protocol::kCapabilityCompletionPolicy)) {
    if (policy == protocol::kCompletionDefault) return Status::Ok();  // all an older dext has
    return Status(kIOReturnUnsupported,
                  "the dext cannot change the completion policy (an older dext): only the "
                  "board's default is available");
  }
  uint64_t in[protocol::kCompletionPolicyValue + 1] = {};
  in[protocol::kCompletionPolicyValue] = policy;
  uint64_t out[1] = {};
  uint32_t outCount = 1;
  const int ret =
      s.transport->Call(protocol::kSelectorCompletionPolicy, in, std::size(in), out, &outCount);
  if (ret != kIOReturnSuccess) {
    if (s.gone()) return Gone("completion policy change");
    return Fail(ret, "the dext refused completion policy %s: %s",
                kPolicyNames[policy < std::size(kPolicyNames) ? policy : 0], IOReturnName(ret));
  }
  s.completion.current = policy;
  if (inEffect != nullptr) *inEffect = out[0];
  return Status::Ok();
}

// Holds the connection's completion policy at what a transfer wants (`wanted`, else the
// Device's choice) until *hold is released.
Status HoldPolicy(Session& s, std::optional<CompletionPolicy> wanted,
                  std::shared_lock<std::shared_mutex>* hold) {
  if (wanted && !ValidPolicy(*wanted)) return UnknownPolicy(*wanted);
  for (;;) {
    std::shared_lock shared(s.completion.lock);
    uint64_t target = wanted ? static_cast<uint64_t>(*wanted) : s.completion.chosen;
    if (s.completion.current == target) {
      *hold = std::move(shared);
      return Status::Ok();
    }
    shared.unlock();
    std::unique_lock exclusive(s.completion.lock);
    target = wanted ? static_cast<uint64_t>(*wanted) : s.completion.chosen;
    if (s.completion.current != target) {
      if (Status r = ChangePolicyLocked(s, target, nullptr); !r) return r;
    }
  }
}

Status Transfer(Session& s, Direction d, uint64_t card, std::byte* data, uint64_t length,
                TransferPath path) {
  const char* what = kWhat[d];
  if (length != 0 && data == nullptr) {
    return Fail(kIOReturnBadArgument, "%s of 0x%" PRIx64 " bytes %s a null buffer", what, length,
                d == kRead ? "into" : "from");
  }
  if (s.gone()) return Gone(what);
  if (Status r = s.CardRange(card, length); !r) return r;
  const bool automatic = path == TransferPath::kAuto;
  if (automatic) path = AutoPathFor(s, length);
  const PathRule& rule = RuleFor(path);
  if (rule.lengthAbove != kNoLowerBound && length <= rule.lengthAbove) {
    return Fail(kIOReturnBadArgument,
                "%s %ss need more than %s (IOKit sends 0x%" PRIx64 " in-band)", rule.name, what,
                rule.above, length);
  }
  if (length > rule.lengthAtMost[d]) {
    return Fail(kIOReturnBadArgument, "%s %ss carry at most %s; 0x%" PRIx64 " asked", rule.name,
                what, rule.atMost[d], length);
  }
  int ret;
  if (path == TransferPath::kBounce) {
    if (!(s.capabilities & protocol::kCapabilityBounce)) {
      return Status(kIOReturnUnsupported, "the dext has no bounce buffer (an older dext)");
    }
    ret = Bounce(s, d, card, data, length);
    // A channel that did not stop still holds the buffer (kIOReturnBusy until it is idle or
    // reset): the automatic choice takes the app's own pages meanwhile.
    if (ret == kIOReturnBusy && automatic)
      return Transfer(s, d, card, data, length, TransferPath::kClientMemory);
  } else if (rule.bytesInMessage) {
    // {card, length} for an in-band read, {card} otherwise: the selector's layout says.
    uint64_t in[protocol::kInbandLength + 1] = {};
    in[protocol::kInbandCard] = card;
    in[protocol::kInbandLength] = length;
    const uint32_t inCount = protocol::LayoutOf(protocol::Selector(rule.selector[d])).scalarInputs;
    size_t received = length;
    ret = d == kRead
              ? s.transport->Call(rule.selector[d], in, inCount, nullptr, nullptr, nullptr, 0, data,
                                  &received)
              : s.transport->Call(rule.selector[d], in, inCount, nullptr, nullptr, data, length);
    if (ret == kIOReturnSuccess && d == kRead && rule.exactReply && received != length) {
      return Fail(kIOReturnUnderrun, "%s read of 0x%" PRIx64 " bytes: the dext returned 0x%zx (%s)",
                  rule.name, length, received, IOReturnName(kIOReturnUnderrun));
    }
  } else {
    uint64_t in[protocol::kClientMemoryLength + 1] = {};
    in[protocol::kClientMemoryCard] = card;
    in[protocol::kClientMemoryAddress] = reinterpret_cast<uintptr_t>(data);
    in[protocol::kClientMemoryLength] = length;
    ret = s.transport->Call(rule.selector[d], in, std::size(in), nullptr, nullptr);
  }
  if (ret != kIOReturnSuccess) return s.TransferError(ret, what, card, length, rule.name);
  return Status::Ok();
}

}  // namespace

const char* CompletionPolicyName(CompletionPolicy policy) {
  return ValidPolicy(policy) ? kPolicyNames[static_cast<unsigned>(policy)] : nullptr;
}

TransferPath Device::AutoPath(uint64_t length) const {
  return state_ ? AutoPathFor(*state_, length) : TransferPath::kClientMemory;
}

Status Device::SetCompletionPolicy(CompletionPolicy policy, CompletionPolicy* inEffect) {
  if (!state_) return NotOpen();
  if (!ValidPolicy(policy)) return UnknownPolicy(policy);
  std::shared_lock use(state_->inUse);
  if (state_->gone()) return Gone("completion policy change");
  std::unique_lock exclusive(state_->completion.lock);
  uint64_t resolved = protocol::kCompletionDefault;  // an older dext does not say
  if (Status r = ChangePolicyLocked(*state_, static_cast<uint64_t>(policy), &resolved); !r) {
    return r;
  }
  state_->completion.chosen = static_cast<uint64_t>(policy);
  if (inEffect != nullptr) *inEffect = static_cast<CompletionPolicy>(resolved);
  return Status::Ok();
}

Status Device::Read(uint64_t cardAddress, std::span<std::byte> destination,
                    TransferOptions options) {
  if (!state_) return NotOpen();
  std::shared_lock use(state_->inUse);
  std::shared_lock<std::shared_mutex> policy;
  if (Status r = HoldPolicy(*state_, options.completion, &policy); !r) return r;
  return Transfer(*state_, kRead, cardAddress, destination.data(), destination.size(),
                  options.path);
}

Status Device::Write(uint64_t cardAddress, std::span<const std::byte> source,
                     TransferOptions options) {
  if (!state_) return NotOpen();
  std::shared_lock use(state_->inUse);
  std::shared_lock<std::shared_mutex> policy;
  if (Status r = HoldPolicy(*state_, options.completion, &policy); !r) return r;
  // The dext only reads the bytes of a write (the selector's structure input).
  return Transfer(*state_, kWrite, cardAddress, const_cast<std::byte*>(source.data()),
                  source.size(), options.path);
}

Status Device::Read(uint64_t cardAddress, RegisteredBuffer& buffer, uint64_t offset,
                    uint64_t length, std::optional<CompletionPolicy> completion) {
  return RegisteredTransfer(true, cardAddress, buffer, offset, length, completion);
}

Status Device::Write(uint64_t cardAddress, RegisteredBuffer& buffer, uint64_t offset,
                     uint64_t length, std::optional<CompletionPolicy> completion) {
  return RegisteredTransfer(false, cardAddress, buffer, offset, length, completion);
}

Status Device::RegisteredTransfer(bool read, uint64_t cardAddress, RegisteredBuffer& buffer,
                                  uint64_t offset, uint64_t length,
                                  std::optional<CompletionPolicy> completion) {
  if (!state_) return NotOpen();
  const Direction d = read ? kRead : kWrite;
  if (buffer.device_ != this) {
    return Status(kIOReturnBadArgument, "the buffer is not registered with this device");
  }
  if (offset > buffer.memory_.size() || length > buffer.memory_.size() - offset) {
    return Fail(kIOReturnBadArgument,
                "bytes 0x%" PRIx64 "+0x%" PRIx64 " are outside the registered buffer's 0x%zx",
                offset, length, buffer.memory_.size());
  }
  const uint64_t needed = read ? protocol::kBufferFromCard : protocol::kBufferToCard;
  if (!(static_cast<uint64_t>(buffer.direction_) & needed)) {
    return Status(kIOReturnNotPermitted,
                  read ? "the buffer was registered for writes to the card only; it cannot be "
                         "read into"
                       : "the buffer was registered for reads from the card only; it cannot be "
                         "written from");
  }
  if (state_->gone()) return Gone(kWhat[d]);
  if (Status r = state_->CardRange(cardAddress, length); !r) return r;
  std::shared_lock<std::shared_mutex> policy;
  if (Status r = HoldPolicy(*state_, completion, &policy); !r) return r;
  uint64_t in[protocol::kRegisteredLength + 1] = {};
  in[protocol::kRegisteredId] = buffer.id_;
  in[protocol::kRegisteredOffset] = offset;
  in[protocol::kRegisteredCard] = cardAddress;
  in[protocol::kRegisteredLength] = length;
  constexpr uint32_t kSelector[2] = {protocol::kSelectorReadRegistered,
                                     protocol::kSelectorWriteRegistered};
  const int ret = state_->transport->Call(kSelector[d], in, std::size(in), nullptr, nullptr);
  if (ret != kIOReturnSuccess) {
    return state_->TransferError(ret, kWhat[d], cardAddress, length, "registered buffer");
  }
  return Status::Ok();
}

}  // namespace fpgadext
