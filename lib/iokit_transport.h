// The IOKit user-client transport: a connection made with IOServiceOpen to a service the
// fpgadext dext publishes, calls through IOConnectCallMethod, memory through
// IOConnectMapMemory64, async completions and the service's termination news through one
// IONotificationPort on a serial dispatch queue of the library's.
#pragma once

#include <CoreFoundation/CoreFoundation.h>
#include <IOKit/IOKitLib.h>

#include <chrono>
#include <memory>
#include <vector>

#include "fpgadext/fpgadext.hpp"
#include "transport.h"

namespace fpgadext {

class IokitTransport final : public Transport {
 public:
  // Boards the dext drives, ordered by registry entry ID (stable while they live).
  static std::vector<BoardSummary> List();
  // Connects to board `index` of List(); a Status that says why not (entitlements, protocol).
  static Status Open(uint32_t index, std::unique_ptr<IokitTransport>* transport);
  // Until List() has board `index`, woken by the kernel's matching notification for the dext's
  // service; kIOReturnTimeout after `timeout`.
  static Status WaitForBoard(uint32_t index, std::chrono::nanoseconds timeout);

  ~IokitTransport() override;

  int Call(uint32_t selector, const uint64_t* in, uint32_t inCount, uint64_t* out,
           uint32_t* outCount, const void* structIn, size_t structInSize, void* structOut,
           size_t* structOutSize) override;
  int CallAsync(uint32_t selector, const uint64_t* in, uint32_t inCount, AsyncDone done,
                void* refcon) override;
  int Map(uint32_t type, uint64_t* address, uint64_t* size) override;
  int Unmap(uint32_t type, uint64_t address) override;
  dispatch_queue_t CompletionQueue() const override { return queue_; }
  void Close() override;

 private:
  IokitTransport() = default;
  // A dead connection (the user client or its provider terminated) means the board is gone.
  int Checked(int ret);
  static void OnInterest(void* refcon, io_service_t service, uint32_t messageType, void* argument);

  io_connect_t connection_ = IO_OBJECT_NULL;
  IONotificationPortRef port_ = nullptr;
  dispatch_queue_t queue_ = nullptr;
  io_object_t interest_ = IO_OBJECT_NULL;
};

}  // namespace fpgadext
