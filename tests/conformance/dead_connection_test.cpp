// What an app sees on a connection whose DriverKit user client the kernel ended (the board was
// removed, so the user client was terminated) and on a connection it closed itself
// (docs/emulation-user-client.md, "A connection whose user client is gone").
//
// xnu runs IOUserClient::destroyUserReferences as the user client goes inactive
// (iokit/Kernel/IOService.cpp, terminate phase 1): the connection port then names the user
// client's set of maps if the app ever mapped memory through it, and is destroyed otherwise
// (iokit/Kernel/IOUserClient.cpp). IOKitLib passes each routine's result through (IOKitLib.c).
#include <IOKit/IOKitLib.h>
#include <mach/mach.h>

#include <chrono>
#include <thread>

#include "harness.h"

namespace fpgadext::conformance {
namespace {

using namespace ::conformance;

class DeadConnectionRules : public ConformanceTest {
 protected:
  void TearDown() override {
    if (port_ != nullptr) IONotificationPortDestroy(port_);
    ConformanceTest::TearDown();
  }

  // Removes the board: its driver and the user client are terminated. The app keeps its name.
  void RemoveBoard() {
    machine_->SurpriseRemovePciFunction(device_.get());
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    io_service_t provider = IO_OBJECT_NULL;
    while (IOConnectGetService(connection_, &provider) == kIOReturnSuccess) {
      IOObjectRelease(provider);
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the user client was not ended";
      std::this_thread::yield();
    }
  }

  kern_return_t Method() {
    uint64_t out[kInspectCount];
    uint32_t count = kInspectCount;
    return IOConnectCallScalarMethod(connection_, kSelInspect, nullptr, 0, out, &count);
  }

  kern_return_t AsyncMethod() {
    if (port_ == nullptr) port_ = IONotificationPortCreate(kIOMainPortDefault);
    uint64_t reference[kOSAsyncRef64Count] = {};
    return IOConnectCallAsyncScalarMethod(connection_, kSelAsyncComplete,
                                          IONotificationPortGetMachPort(port_), reference,
                                          kOSAsyncRef64Count, nullptr, 0, nullptr, nullptr);
  }

  kern_return_t Map(mach_vm_address_t* address) {
    mach_vm_size_t size = 0;
    return IOConnectMapMemory64(connection_, kMemShared, mach_task_self(), address, &size,
                                kIOMapAnywhere);
  }

  kern_return_t Unmap(mach_vm_address_t address) {
    return IOConnectUnmapMemory64(connection_, kMemShared, mach_task_self(), address);
  }

  kern_return_t GetService() {
    io_service_t provider = IO_OBJECT_NULL;
    const kern_return_t ret = IOConnectGetService(connection_, &provider);
    if (provider != IO_OBJECT_NULL) IOObjectRelease(provider);
    return ret;
  }

  // IOServiceClose releases the name whatever the routine answered.
  kern_return_t Close() {
    const kern_return_t ret = IOServiceClose(connection_);
    connection_ = IO_OBJECT_NULL;
    return ret;
  }

  IONotificationPortRef port_ = nullptr;
};

// Never mapped: destroyUserReferences destroys the port (iokit_destroy_object_port), so the
// app's name is dead and every routine fails in mach_msg.
TEST_F(DeadConnectionRules, EndedUserClientNeverMappedIsADeadNameForEveryRoutine) {
  RemoveBoard();
  mach_vm_address_t address = 0;
  EXPECT_EQ(Method(), MACH_SEND_INVALID_DEST);
  EXPECT_EQ(AsyncMethod(), MACH_SEND_INVALID_DEST);
  EXPECT_EQ(Map(&address), MACH_SEND_INVALID_DEST);
  EXPECT_EQ(address, 0u);
  EXPECT_EQ(Unmap(0x10000), MACH_SEND_INVALID_DEST);
  EXPECT_EQ(GetService(), MACH_SEND_INVALID_DEST);
  EXPECT_EQ(IOConnectTrap0(connection_, 0), kIOReturnBadArgument);  // iokit_user_client_trap
  EXPECT_EQ(Close(), MACH_SEND_INVALID_DEST);
}

// Mapped once, even if unmapped since (xnu keeps the set of maps it made at the first map): the
// port names that set, and each routine's CHECK(IOUserClient, ...) fails.
TEST_F(DeadConnectionRules, EndedUserClientOnceMappedIsBadArgumentForEveryRoutine) {
  mach_vm_address_t address = 0;
  ASSERT_EQ(Map(&address), kIOReturnSuccess);
  ASSERT_EQ(Unmap(address), kIOReturnSuccess);
  RemoveBoard();
  mach_vm_address_t again = 0;
  EXPECT_EQ(Method(), kIOReturnBadArgument);
  EXPECT_EQ(AsyncMethod(), kIOReturnBadArgument);
  EXPECT_EQ(Map(&again), kIOReturnBadArgument);
  EXPECT_EQ(again, 0u);
  EXPECT_EQ(Unmap(address), kIOReturnBadArgument);
  EXPECT_EQ(GetService(), kIOReturnBadArgument);
  EXPECT_EQ(IOConnectTrap0(connection_, 0), kIOReturnBadArgument);
}

// is_io_service_close on the set of maps succeeds without asking anyone.
TEST_F(DeadConnectionRules, ClosingAnEndedUserClientOnceMappedSucceeds) {
  mach_vm_address_t address = 0;
  ASSERT_EQ(Map(&address), kIOReturnSuccess);
  RemoveBoard();
  EXPECT_EQ(Close(), kIOReturnSuccess);
}

// After IOServiceClose the app's name is gone (IOServiceClose releases it): mach_msg fails.
TEST_F(DeadConnectionRules, EveryRoutineAfterIOServiceCloseIsInvalidDest) {
  mach_vm_address_t address = 0;
  ASSERT_EQ(Map(&address), kIOReturnSuccess);
  const io_connect_t closed = connection_;
  ASSERT_EQ(Close(), kIOReturnSuccess);
  connection_ = closed;  // the stale name, as an app that kept it would use it
  mach_vm_address_t again = 0;
  EXPECT_EQ(Method(), MACH_SEND_INVALID_DEST);
  EXPECT_EQ(AsyncMethod(), MACH_SEND_INVALID_DEST);
  EXPECT_EQ(Map(&again), MACH_SEND_INVALID_DEST);
  EXPECT_EQ(Unmap(address), MACH_SEND_INVALID_DEST);
  EXPECT_EQ(GetService(), MACH_SEND_INVALID_DEST);
  EXPECT_EQ(Close(), MACH_SEND_INVALID_DEST);
}

// Routines given a live object that is not a connection fail their CHECK.
TEST_F(DeadConnectionRules, MappingThroughANonConnectionObjectIsBadArgument) {
  mach_vm_address_t address = 0;
  mach_vm_size_t size = 0;
  EXPECT_EQ(
      IOConnectMapMemory64(service_, kMemShared, mach_task_self(), &address, &size, kIOMapAnywhere),
      kIOReturnBadArgument);
  EXPECT_EQ(IOConnectUnmapMemory64(service_, kMemShared, mach_task_self(), 0x10000),
            kIOReturnBadArgument);
}

}  // namespace
}  // namespace fpgadext::conformance
