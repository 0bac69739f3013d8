// User interrupts in the app (fpgadext.hpp Events; docs/library.md "Events"): the counters page
// the dext publishes (protocol::EventCounters, mapped read-only), the one kSelectorEventsWait a
// connection may have in flight, and what this connection has taken of each line's count.
#include <fpgadext/protocol.h>

#include <algorithm>
#include <iterator>

#include "session.h"

namespace fpgadext {

// One per connection (Session::events), made by the first OpenEvents; the Events handles and
// the session share it, so that a completion the dext sends after Events::Close, or a handle
// that outlives Device::Close, still finds it.
struct Events::State {
  std::mutex lock;
  std::condition_variable changed;
  Session* session = nullptr;  // null once the connection closes
  const protocol::EventCounters* page = nullptr;
  uint64_t pageAddress = 0;
  uint32_t lines = 0;
  uint32_t mask = 0;  // subscribed (0: closed)
  uint64_t taken[kMaxEventLines] = {};
  bool waitInFlight = false;
  int waitStatus = kIOReturnSuccess;  // how the last wait completed
  unsigned calls = 0;                 // transport calls in progress (Detach waits for them)
  EventCallback callback;
  uint32_t callbackMask = 0;

  bool open() const { return session != nullptr && mask != 0; }
  uint64_t Sequence() const { return __atomic_load_n(&page->sequence, __ATOMIC_ACQUIRE); }
  // Takes the new events of `lines` (caller holds `lock`, page mapped).
  EventCounts Take(uint32_t which) {
    EventCounts out;
    (void)Sequence();  // every count up to the published sequence is visible after this
    for (uint32_t i = 0; i < lines; ++i) {
      if (!(which & (1u << i))) continue;
      const uint64_t now = __atomic_load_n(&page->count[i], __ATOMIC_RELAXED);
      if (now == taken[i]) continue;
      out.count[i] = now - taken[i];
      out.lines |= 1u << i;
      taken[i] = now;
    }
    return out;
  }
  // Starts the dext's wait past `seen` unless one is in flight (caller holds `guard`).
  int Arm(std::unique_lock<std::mutex>& guard);
};

namespace {

void OnEventsWait(void* refcon, int result, void**, uint32_t) {
  auto* state = static_cast<Events::State*>(refcon);
  EventCallback callback;
  EventCounts counts;
  {
    std::unique_lock guard(state->lock);
    state->waitInFlight = false;
    state->waitStatus = result;
    if (state->callback && state->open() && result == kIOReturnSuccess) {
      counts = state->Take(state->callbackMask);
      callback = state->callback;
      (void)state->Arm(guard);  // the next batch
    }
  }
  state->changed.notify_all();
  if (callback && counts.lines != 0) callback(counts);
}

}  // namespace

int Events::State::Arm(std::unique_lock<std::mutex>& guard) {
  if (waitInFlight) return kIOReturnSuccess;
  Transport* transport = session->transport.get();
  uint64_t in[protocol::kEventsWaitSeen + 1] = {};
  in[protocol::kEventsWaitSeen] = Sequence();
  waitInFlight = true;
  ++calls;
  guard.unlock();
  const int ret =
      transport->CallAsync(protocol::kSelectorEventsWait, in, std::size(in), &OnEventsWait, this);
  guard.lock();
  --calls;
  if (ret != kIOReturnSuccess) waitInFlight = false;  // refused: no completion will come
  changed.notify_all();
  return ret;
}

namespace {

// Session::events is made once, under the session's lock (removal news may read it from any
// thread).
std::shared_ptr<Events::State> EventsOf(Session& session) {
  std::lock_guard guard(session.lock);
  return session.events;
}

}  // namespace

void Session::DetachEvents() {
  const std::shared_ptr<Events::State> state = EventsOf(*this);
  if (!state) return;
  std::unique_lock guard(state->lock);
  state->changed.wait(guard, [&] { return state->calls == 0; });
  state->session = nullptr;  // waits in progress return; the page goes with the connection
  state->callback = nullptr;
  state->changed.notify_all();
}

void Session::WakeEvents() {
  const std::shared_ptr<Events::State> state = EventsOf(*this);
  if (!state) return;
  std::lock_guard guard(state->lock);
  state->changed.notify_all();
}

Status Device::OpenEvents(uint32_t mask, Events* events) {
  if (!state_) return NotOpen();
  if (events == nullptr) return Status(kIOReturnBadArgument, "OpenEvents: no Events");
  Session& s = *state_;
  if (!(s.capabilities & protocol::kCapabilityEvents)) {
    return Status(kIOReturnUnsupported, "the board has no user interrupts the dext serves");
  }
  if (mask == 0) return Status(kIOReturnBadArgument, "OpenEvents: no line in the mask");
  if (s.gone()) return Gone("subscribing to events");
  std::shared_ptr<Events::State> shared;
  {
    std::lock_guard guard(s.lock);
    if (!s.events) s.events = std::make_shared<Events::State>();
    shared = s.events;
  }
  Events::State& state = *shared;
  if (state.page == nullptr) {
    uint64_t address = 0, size = 0;
    const int ret = s.transport->Map(protocol::kMemoryTypeEventCounters, &address, &size);
    if (ret != kIOReturnSuccess) {
      return Fail(ret, "mapping the event counters: %s (%s)", Reason(ret), IOReturnName(ret));
    }
    if (size < sizeof(protocol::EventCounters)) {
      return Fail(kIOReturnBadArgument, "the event counters page is 0x%" PRIx64 " bytes", size);
    }
    std::lock_guard guard(state.lock);
    state.page = reinterpret_cast<const protocol::EventCounters*>(static_cast<uintptr_t>(address));
    state.pageAddress = address;
    state.lines = std::min<uint32_t>(state.page->lines, kMaxEventLines);
  }
  {
    // Events from now on: the lines this subscription adds start at their counts before the
    // dext enables them (enabling an asserted line raises its event at once).
    std::lock_guard guard(state.lock);
    (void)state.Take(mask & ~(state.open() ? state.mask : 0u));
  }
  uint64_t in[protocol::kEventsSubscribeMask + 1] = {};
  in[protocol::kEventsSubscribeMask] = mask;
  uint64_t out[1] = {};
  uint32_t outCount = 1;
  const int ret =
      s.transport->Call(protocol::kSelectorEventsSubscribe, in, std::size(in), out, &outCount);
  if (ret != kIOReturnSuccess) {
    return Fail(ret, "subscribing to lines 0x%x: %s (%s)", mask, Reason(ret), IOReturnName(ret));
  }
  {
    std::lock_guard guard(state.lock);
    state.session = &s;
    state.mask = mask;
  }
  events->state_ = std::move(shared);
  return Status::Ok();
}

Events::Events() = default;
Events::~Events() {
  (void)Close();
}
Events::Events(Events&& other) noexcept = default;
Events& Events::operator=(Events&& other) noexcept {
  if (this != &other) {
    (void)Close();
    state_ = std::move(other.state_);
  }
  return *this;
}

bool Events::valid() const {
  if (!state_) return false;
  std::lock_guard guard(state_->lock);
  return state_->open();
}

uint32_t Events::lines() const {
  if (!state_) return 0;
  std::lock_guard guard(state_->lock);
  return state_->lines;
}

uint32_t Events::mask() const {
  if (!state_) return 0;
  std::lock_guard guard(state_->lock);
  return state_->mask;
}

Status Events::Poll(uint32_t mask, EventCounts* events) {
  if (events == nullptr) return Status(kIOReturnBadArgument, "Poll: no EventCounts");
  *events = EventCounts{};
  if (!state_) return Status(kIOReturnNotOpen, "no event subscription");
  std::lock_guard guard(state_->lock);
  if (!state_->open()) return Status(kIOReturnNotOpen, "the event subscription is closed");
  *events = state_->Take(mask & state_->mask);
  return Status::Ok();
}

uint64_t Events::Count(unsigned line) const {
  if (!state_ || line >= kMaxEventLines) return 0;
  std::lock_guard guard(state_->lock);
  if (state_->session == nullptr || state_->page == nullptr) return 0;
  return __atomic_load_n(&state_->page->count[line], __ATOMIC_ACQUIRE);
}

Status Events::WaitForEvents(uint32_t mask, std::chrono::nanoseconds timeout, EventCounts* events) {
  if (events == nullptr) return Status(kIOReturnBadArgument, "WaitForEvents: no EventCounts");
  *events = EventCounts{};
  if (!state_) return Status(kIOReturnNotOpen, "no event subscription");
  using Clock = std::chrono::steady_clock;
  const auto deadline =
      timeout > std::chrono::hours(24 * 365) ? Clock::time_point::max() : Clock::now() + timeout;
  State& state = *state_;
  std::unique_lock guard(state.lock);
  for (;;) {
    if (!state.open()) return Status(kIOReturnNotOpen, "the event subscription was closed");
    const uint32_t which = mask & state.mask;
    if (which == 0) return Status(kIOReturnBadArgument, "WaitForEvents: no subscribed line");
    *events = state.Take(which);
    if (events->lines != 0) return Status::Ok();
    if (state.session->gone()) return Gone("waiting for events");
    if (state.waitStatus != kIOReturnSuccess && !state.waitInFlight) {
      const int failed = state.waitStatus;
      state.waitStatus = kIOReturnSuccess;
      return Fail(failed, "waiting for events: %s (%s)", Reason(failed), IOReturnName(failed));
    }
    const int ret = state.Arm(guard);
    if (ret != kIOReturnSuccess) {
      if (ret == kIOReturnNoDevice) continue;  // gone: said above
      if (!state.open()) continue;
      return Fail(ret, "waiting for events: %s (%s)", Reason(ret), IOReturnName(ret));
    }
    const auto woken = [&] {
      return !state.waitInFlight || !state.open() || state.session->gone();
    };
    if (deadline == Clock::time_point::max()) {
      state.changed.wait(guard, woken);
    } else if (!state.changed.wait_until(guard, deadline, woken)) {
      if (!state.open()) continue;
      *events = state.Take(which);
      if (events->lines != 0) return Status::Ok();
      return Status(kIOReturnTimeout, "no event in time");
    }
  }
}

Status Events::SetCallback(uint32_t mask, EventCallback callback) {
  if (!state_) return Status(kIOReturnNotOpen, "no event subscription");
  std::unique_lock guard(state_->lock);
  if (!state_->open()) return Status(kIOReturnNotOpen, "the event subscription is closed");
  state_->callbackMask = mask & state_->mask;
  state_->callback = std::move(callback);
  if (!state_->callback) return Status::Ok();
  const int ret = state_->Arm(guard);
  if (ret != kIOReturnSuccess) {
    state_->callback = nullptr;
    return Fail(ret, "arming the event callback: %s (%s)", Reason(ret), IOReturnName(ret));
  }
  return Status::Ok();
}

Status Events::Close() {
  if (!state_) return Status::Ok();
  std::shared_ptr<State> state = std::move(state_);
  std::unique_lock guard(state->lock);
  if (!state->open()) return Status::Ok();
  state->callback = nullptr;
  state->mask = 0;  // waits in progress return kIOReturnNotOpen
  Transport* transport = state->session->transport.get();
  ++state->calls;
  guard.unlock();
  state->changed.notify_all();
  const int ret =
      transport->Call(protocol::kSelectorEventsUnsubscribe, nullptr, 0, nullptr, nullptr);
  guard.lock();
  --state->calls;
  // The dext completed the wait in flight (kIOReturnAborted): let it arrive before a new
  // subscription can start another.
  state->changed.wait_for(guard, std::chrono::seconds(5), [&] {
    return !state->waitInFlight || state->session == nullptr || state->session->gone();
  });
  state->changed.notify_all();
  if (ret != kIOReturnSuccess && ret != kIOReturnNoDevice) {
    return Fail(ret, "ending the event subscription: %s (%s)", Reason(ret), IOReturnName(ret));
  }
  return Status::Ok();
}

}  // namespace fpgadext
