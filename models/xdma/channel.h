// Internal to models/xdma: one H2C or C2H SGDMA engine (channel block, xdma-facts §3.2–3.5, and
// SGDMA block, §3.6) with its own thread, which fetches descriptors (§4), moves data, writes
// back completions (§5.1) and reports errors (§3.4, §8).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <thread>

#include "board.h"
#include "xdma/xdma_registers.h"

namespace fpgadext::models {

class Channel {
 public:
  Channel(XdmaBoard& board, xdma::Direction dir, unsigned index);
  ~Channel();  // stops and joins the engine thread
  // Stops and joins the engine thread now; the board stops every channel's before it frees
  // any, since an engine thread wakes the other channels (XdmaBoard::WakeChannels).
  void StopThread();
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  // Register access; the board lock is held by the caller.
  uint32_t ReadChannelReg(uint32_t reg);
  void WriteChannelReg(uint32_t reg, uint32_t value);
  uint32_t ReadSgdmaReg(uint32_t reg) const;
  void WriteSgdmaReg(uint32_t reg, uint32_t value);
  void ClearCredits() { credits_ = 0; }

  // Faults; the board lock is held by the caller.
  void SetHang(bool hang) { hang_ = hang; }
  void ArmError(uint64_t bytes, uint32_t statusBits) {
    errorArmed_ = true;
    errorRemaining_ = bytes;
    errorBits_ = statusBits;
  }
  void ClearFaults() {
    hang_ = false;
    errorArmed_ = false;
  }

  // Function level reset, board lock held through `g`: registers return to their power-on
  // values, injected faults (a hang, an armed error) are cleared and a job in progress is
  // abandoned; returns once the engine thread has left it, so no
  // host access of the old job starts afterwards.
  void Reset(XdmaBoard::Guard& g);

  std::condition_variable cv;  // engine waits here; notified by XdmaBoard::WakeChannels

  // After a job the engine thread spins this long for the next Run edge before it sleeps on
  // `cv`: a thread wake-up costs tens of µs on a VM, a real engine none (docs/performance.md).
  static constexpr uint64_t kSpinNs = 50'000;

 private:
  using Guard = XdmaBoard::Guard;

  void ThreadMain();
  // Spins (yielding) without the lock until wakeHint_ moves past `seen` or kSpinNs pass. Not
  // inlined: instruction counts leave it out (bench/callgrind.sh).
  [[gnu::noinline]] void SpinForRunEdge(uint64_t seen);
  void RunJob(Guard& g, uint64_t gen);
  // At a descriptor boundary: false when the job is over (Run cleared → idle, restarted,
  // removed, shut down); waits while fetching is halted or bus mastering is off.
  bool Ready(Guard& g, uint64_t gen);
  // After re-taking the lock: false when the job was abandoned meanwhile.
  bool Current(uint64_t gen) const;
  // Moves one descriptor's data. False when the job ended (error already reported).
  bool Execute(Guard& g, uint64_t gen, const xdma::Descriptor& d);
  // Stream channels (stream_channel.cpp): H2C into the port's sink, C2H from its source with
  // the C2H stream writeback.
  bool ExecuteStreamH2c(Guard& g, uint64_t gen, const xdma::Descriptor& d);
  bool ExecuteStreamC2h(Guard& g, uint64_t gen, const xdma::Descriptor& d);
  // Waits (board lock) while `blocked()` holds; false when the job is over meanwhile.
  template <class Blocked>
  bool WaitWhile(Guard& g, uint64_t gen, Blocked blocked);
  IOReturn MoveNonIncrementing(uint64_t host, uint8_t* card, uint64_t length);
  void StopWithError(uint32_t statusBits);
  void Writeback(bool error);
  void UpdateIrq();
  bool Run() const { return xdma::ChannelControl::run_field::Get(control_) != 0; }

  XdmaBoard& board_;
  const xdma::Direction dir_;
  const unsigned index_;
  const unsigned irqBit_;
  const uint32_t width_;    // datapath bytes
  StreamPort* const port_;  // stream channels only (identifier bit 15)

  // Registers (board lock).
  uint32_t control_ = 0;
  uint32_t status_ = 0;  // bits 23:1
  bool busy_ = false;
  uint32_t completed_ = 0;
  uint32_t intEnable_ = 0;
  uint32_t wbLo_ = 0, wbHi_ = 0;
  uint32_t perfCtrl_ = 0;
  uint64_t perfCycles_ = 0, perfBeats_ = 0;
  uint32_t descLo_ = 0, descHi_ = 0, descAdj_ = 0;
  uint32_t credits_ = 0;

  // Engine control (board lock).
  uint64_t runGen_ = 0;  // +1 on every Run rising edge
  // Mirror of runGen_ (plus shutdown) the idle engine thread spins on without the lock, and
  // the time of the last rising edge (device-time counters).
  std::atomic<uint64_t> wakeHint_{0};
  std::chrono::steady_clock::time_point runEdge_{};
  bool jobPending_ = false;
  bool inJob_ = false;                // the engine thread is in RunJob
  std::condition_variable jobEnded_;  // inJob_ went false
  bool shutdown_ = false;
  bool hang_ = false;
  bool errorArmed_ = false;
  uint64_t errorRemaining_ = 0;
  uint32_t errorBits_ = 0;

  // Engine thread only.
  xdma::Descriptor descs_[xdma::kDescriptorMaxAdjacent + 1];
  std::unique_ptr<uint8_t[]> scratch_;  // non-incrementing mode staging, C2H stream staging
  static constexpr uint64_t kScratchSize = 64 * 1024;

  std::thread thread_;
};

}  // namespace fpgadext::models
