// The emulated CFRunLoop subset (CF-1153.18 semantics): one run loop per thread, created on first
// use; sources carry work posted to them (IOKitLib's notification port source) and run it on the
// thread running a loop they were added to. The main thread's loop also drains the main dispatch
// queue and, like CoreFoundation's, is never "finished" for lack of sources. Run-loop modes are
// accepted but not distinguished.
#include <CoreFoundation/CFRunLoop.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "cf_internal.h"

namespace cf = fpgadext::emu::cf;

struct __CFRunLoop : cf::Object {
  __CFRunLoop() : Object(cf::kRunLoop, /*isImmortal=*/true) {}
  std::mutex lock;
  std::condition_variable wake;
  std::vector<__CFRunLoopSource*> sources;  // retained
  bool stopRequested = false;
  bool woken = false;
  bool isMain = false;
};

struct __CFRunLoopSource : cf::Object {
  __CFRunLoopSource() : Object(cf::kRunLoopSource) {}
  std::mutex lock;
  std::deque<std::function<void()>> work;
  std::vector<__CFRunLoop*> loops;
  bool valid = true;
};

namespace {

std::mutex gMainLock;
__CFRunLoop* gMain = nullptr;  // never freed, like every run loop here

__CFRunLoop* MainLoop() {
  std::lock_guard guard(gMainLock);
  if (gMain == nullptr) {
    gMain = new __CFRunLoop;
    gMain->isMain = true;
  }
  return gMain;
}

void Wake(__CFRunLoop* loop) {
  {
    std::lock_guard guard(loop->lock);
    loop->woken = true;
  }
  loop->wake.notify_all();
}

// Runs the work queued on the loop's sources; true if any ran.
bool RunSources(__CFRunLoop* loop) {
  std::vector<__CFRunLoopSource*> sources;
  {
    std::lock_guard guard(loop->lock);
    sources = loop->sources;
    for (auto* s : sources) CFRetain(s);
  }
  bool handled = false;
  for (auto* s : sources) {
    std::deque<std::function<void()>> batch;
    {
      std::lock_guard guard(s->lock);
      if (s->valid) batch.swap(s->work);
    }
    for (auto& work : batch) work();
    handled = handled || !batch.empty();
    CFRelease(s);
  }
  return handled;
}

bool SourcesPending(__CFRunLoop* loop) {
  for (auto* s : loop->sources) {
    std::lock_guard guard(s->lock);
    if (s->valid && !s->work.empty()) return true;
  }
  return false;
}

}  // namespace

namespace fpgadext::emu::cf {

void WakeMainRunLoop() {
  Wake(MainLoop());
}

CFRunLoopSourceRef NewRunLoopSource() {
  return new __CFRunLoopSource;
}

void PostToRunLoopSource(CFRunLoopSourceRef source, std::function<void()> work) {
  std::vector<__CFRunLoop*> loops;
  {
    std::lock_guard guard(source->lock);
    if (!source->valid) return;
    source->work.push_back(std::move(work));
    loops = source->loops;
  }
  for (auto* loop : loops) Wake(loop);
}

}  // namespace fpgadext::emu::cf

extern "C" {

const CFRunLoopMode kCFRunLoopDefaultMode = CFSTR("kCFRunLoopDefaultMode");
const CFRunLoopMode kCFRunLoopCommonModes = CFSTR("kCFRunLoopCommonModes");

CFTypeID CFRunLoopGetTypeID(void) {
  return cf::kRunLoop;
}
CFTypeID CFRunLoopSourceGetTypeID(void) {
  return cf::kRunLoopSource;
}

CFRunLoopRef CFRunLoopGetMain(void) {
  return MainLoop();
}

CFRunLoopRef CFRunLoopGetCurrent(void) {
  if (cf::IsMainThread()) return MainLoop();
  thread_local __CFRunLoop* current = nullptr;
  if (current == nullptr) current = new __CFRunLoop;  // lives as long as the process
  return current;
}

CFRunLoopRunResult CFRunLoopRunInMode(CFRunLoopMode, CFTimeInterval seconds,
                                      Boolean returnAfterSourceHandled) {
  __CFRunLoop* loop = CFRunLoopGetCurrent();
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                            std::chrono::duration<double>(std::min(std::max(seconds, 0.0), 1.0e9)));
  {
    std::lock_guard guard(loop->lock);
    if (!loop->isMain && loop->sources.empty()) return kCFRunLoopRunFinished;
  }
  for (;;) {
    bool handled = loop->isMain && cf::DrainMainQueue();
    handled = RunSources(loop) || handled;
    std::unique_lock guard(loop->lock);
    if (loop->stopRequested) {
      loop->stopRequested = false;
      return kCFRunLoopRunStopped;
    }
    if (handled && returnAfterSourceHandled) return kCFRunLoopRunHandledSource;
    if (!loop->isMain && loop->sources.empty()) return kCFRunLoopRunFinished;
    if (!loop->woken && !SourcesPending(loop) && !(loop->isMain && cf::MainQueueHasWork())) {
      if (loop->wake.wait_until(guard, deadline, [loop] { return loop->woken; }) == false) {
        return kCFRunLoopRunTimedOut;
      }
    }
    loop->woken = false;
    if (std::chrono::steady_clock::now() >= deadline && !SourcesPending(loop) &&
        !(loop->isMain && cf::MainQueueHasWork())) {
      return kCFRunLoopRunTimedOut;
    }
  }
}

void CFRunLoopRun(void) {
  CFRunLoopRunResult result;
  do {
    result = CFRunLoopRunInMode(kCFRunLoopDefaultMode, 1.0e10, false);
  } while (result != kCFRunLoopRunStopped && result != kCFRunLoopRunFinished);
}

void CFRunLoopStop(CFRunLoopRef rl) {
  {
    std::lock_guard guard(rl->lock);
    rl->stopRequested = true;
    rl->woken = true;
  }
  rl->wake.notify_all();
}

void CFRunLoopWakeUp(CFRunLoopRef rl) {
  Wake(rl);
}

Boolean CFRunLoopContainsSource(CFRunLoopRef rl, CFRunLoopSourceRef source, CFRunLoopMode) {
  std::lock_guard guard(rl->lock);
  return std::find(rl->sources.begin(), rl->sources.end(), source) != rl->sources.end();
}

void CFRunLoopAddSource(CFRunLoopRef rl, CFRunLoopSourceRef source, CFRunLoopMode mode) {
  cf::As<__CFRunLoopSource>(source, cf::kRunLoopSource, "CFRunLoopAddSource");
  if (CFRunLoopContainsSource(rl, source, mode)) return;
  {
    std::lock_guard guard(source->lock);
    if (!source->valid) return;
    source->loops.push_back(rl);
  }
  {
    std::lock_guard guard(rl->lock);
    rl->sources.push_back(static_cast<__CFRunLoopSource*>(const_cast<void*>(CFRetain(source))));
  }
  Wake(rl);  // work posted before the source was added runs now
}

void CFRunLoopRemoveSource(CFRunLoopRef rl, CFRunLoopSourceRef source, CFRunLoopMode) {
  bool removed = false;
  {
    std::lock_guard guard(rl->lock);
    auto it = std::find(rl->sources.begin(), rl->sources.end(), source);
    if (it != rl->sources.end()) {
      rl->sources.erase(it);
      removed = true;
    }
  }
  if (!removed) return;
  {
    std::lock_guard guard(source->lock);
    source->loops.erase(std::remove(source->loops.begin(), source->loops.end(), rl),
                        source->loops.end());
  }
  CFRelease(source);
}

void CFRunLoopSourceInvalidate(CFRunLoopSourceRef source) {
  std::vector<__CFRunLoop*> loops;
  {
    std::lock_guard guard(source->lock);
    source->valid = false;
    source->work.clear();
    loops = source->loops;
  }
  for (auto* loop : loops) CFRunLoopRemoveSource(loop, source, kCFRunLoopCommonModes);
}

Boolean CFRunLoopSourceIsValid(CFRunLoopSourceRef source) {
  std::lock_guard guard(source->lock);
  return source->valid;
}

}  // extern "C"
