// Internal to models/xdma: the state of one XDMA board shared by its BARs and engine threads.
//
// Locking: one mutex (`lock`) guards every register of the DMA and user BARs, so a register
// access is atomic with respect to the engines. Engines release it while they copy data or fetch
// descriptors. Interrupt messages are queued while the lock is held and sent to the DmaPort
// after it is released (Guard), so a port that reacts to a message by reading registers cannot
// deadlock. The DmaPort pointer has its own reader/writer lock so Connect(nullptr) waits for
// in-flight DMA. Lock order: lock → config-space lock; lock → portLock.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <shared_mutex>

#include "../memory/card_memory.h"
#include "../pci/config_space.h"
#include "irq_block.h"
#include "msix_table.h"
#include "stream_port.h"
#include "timing.h"
#include "user_block.h"
#include "xdma_model.h"

namespace fpgadext::models {

class Channel;

class XdmaBoard final : public VectorSink {
 public:
  using Config = XdmaModel::Config;

  explicit XdmaBoard(const Config& config);
  ~XdmaBoard();

  // Holds `lock`; interrupt messages queued meanwhile are sent when it is released.
  class Guard {
   public:
    explicit Guard(XdmaBoard& board) : board_(board), lk_(board.lock) {}
    ~Guard() { Unlock(); }
    Guard(const Guard&) = delete;
    Guard& operator=(const Guard&) = delete;
    // Releases the lock, sending queued messages.
    void Unlock();
    void Lock() { lk_.lock(); }
    // Waits on `cv`. Returns at once (a spurious wake-up) if it had messages to send first, so
    // the caller must re-check its condition in a loop.
    void Wait(std::condition_variable& cv);

   private:
    XdmaBoard& board_;
    std::unique_lock<std::mutex> lk_;
  };

  // BAR register access (32-bit, aligned offsets).
  uint32_t ReadDmaReg(uint32_t offset);
  void WriteDmaReg(uint32_t offset, uint32_t value);
  uint32_t ReadUserReg(uint32_t offset);
  void WriteUserReg(uint32_t offset, uint32_t value);
  // Whether a BAR access reaches the board (not removed; memory space enabled if honoured).
  bool Decodes() const;
  void MmioReadDelay() const;
  void MmioWriteDelay() const;

  // Host memory through the port. kIOReturnNotAttached without a port.
  IOReturn HostRead(uint64_t busAddress, void* dst, uint64_t length);
  IOReturn HostWrite(uint64_t busAddress, const void* src, uint64_t length);
  void Connect(emu::DmaPort* port);
  // Surprise removal: sets `removed` once no host access is in flight (see board.cpp).
  void Remove();

  // VectorSink; lock held.
  void RaiseVector(unsigned vector) override;
  // Config-space write observer: MSI-X function unmask, Bus Master set.
  void OnConfigWrite();
  // Function level reset (config space already reset): engines stopped and their registers,
  // the IRQ block, the MSI-X table and PBA, the config block and SGDMA common registers at their
  // power-on values, queued messages dropped. Card memory and the user block are left alone.
  void FunctionLevelReset();
  // Notifies every engine that something it may wait for changed; lock held or not.
  void WakeChannels();
  Channel* channel(xdma::Direction dir, unsigned index);
  // The user logic behind stream channels of this number; null if neither direction is stream.
  StreamPort* streamPort(unsigned index) {
    return index < xdma::kMaxChannels ? streamPorts_[index].get() : nullptr;
  }
  bool IsStream(xdma::Direction dir, unsigned index) const {
    return ((dir == xdma::Direction::kH2c ? cfg.h2cStreamChannels : cfg.c2hStreamChannels) >>
            index) &
           1u;
  }
  bool ChannelHalted(xdma::Direction dir, unsigned index) const;  // lock held
  bool CreditMode(xdma::Direction dir, unsigned index) const;     // lock held
  double LinkBytesPerSecond(xdma::Direction dir) const;

  struct AtomicCounters {
    std::atomic<uint64_t> bytes[2][xdma::kMaxChannels] = {};
    std::atomic<uint64_t> descriptors[2][xdma::kMaxChannels] = {};
    std::atomic<uint64_t> interruptsRaised{0};
    std::atomic<uint64_t> interruptsSuppressed{0};
    std::atomic<uint64_t> vectorMessages[xdma::kMaxVectors] = {};
    std::atomic<uint64_t> iommuRefusals{0};
    std::atomic<uint64_t> descriptorWarnings{0};
    std::atomic<uint64_t> unloggedErrors{0};
    std::atomic<uint64_t> droppedMmioWrites{0};
    std::atomic<uint64_t> jobs{0};    // jobs run (Run rising edges picked up)
    std::atomic<uint64_t> jobNs{0};   // engine thread time from pick-up to job end
    std::atomic<uint64_t> wakeNs{0};  // time from the Run rising edge to pick-up
  };

  const Config cfg;
  std::mutex lock;
  pci::ConfigSpace config;
  CardMemory card;
  IrqBlock irq;    // lock
  MsixTable msix;  // lock
  UserBlock user;  // lock
  AtomicCounters counters;
  std::atomic<bool> removed{false};
  // The function stopped answering on its BARs while configuration space still answers
  // (XdmaModel::WedgeFunction); a function level reset ends it.
  std::atomic<bool> wedged{false};
  std::atomic<double> slowLinkBytesPerSecond{0};
  LinkPacer pacer[2];

 private:
  uint32_t ReadConfigBlock(uint32_t reg);
  void WriteConfigBlock(uint32_t reg, uint32_t value);
  uint32_t ReadSgdmaCommon(uint32_t reg) const;
  void WriteSgdmaCommon(uint32_t reg, uint32_t value);
  void SendPendingMsix();
  void Queue(const MsiMessage& m);

  // SGDMA common block (lock).
  uint32_t halt_ = 0;
  uint32_t creditEnable_ = 0;
  // Config block RW registers (lock).
  uint32_t relaxedOrdering_ = 1;
  uint32_t writeFlushTimeout_ = 0;

  // Messages queued under `lock`, sent by Guard after releasing it.
  static constexpr unsigned kOutboxSize = 256;
  MsiMessage outbox_[kOutboxSize];
  unsigned outboxCount_ = 0;

  std::shared_mutex portLock_;
  emu::DmaPort* port_ = nullptr;

  std::unique_ptr<StreamPort> streamPorts_[xdma::kMaxChannels];  // before channels_: outlives them
  std::unique_ptr<Channel> channels_[2][xdma::kMaxChannels];
};

}  // namespace fpgadext::models
