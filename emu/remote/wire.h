// The machine socket's wire format (issue 11): IOKitLib in an app process and the emulated
// kernel in the machine daemon exchange the broker's requests and replies (emu/kernel/broker.h)
// as frames on a Unix stream socket. A frame is a 32-bit length and that many bytes; a file
// descriptor (a buffer's memfd) travels beside a reply as SCM_RIGHTS. Both ends are the same
// build, so values are in the machine's byte order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

class OSObject;

namespace fpgadext::emu::remote {

// What a socket is for, the first frame an app sends on it.
enum class Hello : uint32_t {
  kSession = 1,  // the app's first socket: the daemon sends its notifications here
  kCalls = 2,    // another socket of that app for calls (one call at a time per socket)
  kStop = 3,     // `fpgadext machine stop`: the daemon ends
};

// One per broker routine the app side reaches through the socket.
enum class Op : uint32_t {
  kGetMatchingServices = 1,
  kIteratorCreate,
  kIteratorNext,
  kIteratorReset,
  kIteratorIsValid,
  kObjectRetain,
  kObjectRelease,
  kObjectGetClass,
  kObjectConformsTo,
  kObjectUserRetainCount,
  kSameObject,
  kRegistryEntryGetName,
  kRegistryEntryGetID,
  kCopyProperties,
  kCopyProperty,
  kConnectionGetService,
  kCheckConnection,
  kServiceOpen,
  kServiceClose,
  kConnectMethod,
  kMapMemory,
  kUnmapMemory,
  kNotificationPortCreate,
  kNotificationPortDestroy,
  kNotificationIsLive,
  kAddMatchingNotification,
  kAddInterestNotification,
};

class Writer {
 public:
  void U32(uint32_t v) { Raw(&v, sizeof v); }
  void U64(uint64_t v) { Raw(&v, sizeof v); }
  void Raw(const void* data, size_t size) { bytes_.append(static_cast<const char*>(data), size); }
  // Length-prefixed bytes.
  void Bytes(const void* data, size_t size);
  void String(const std::string& s) { Bytes(s.data(), s.size()); }
  // An OSDictionary, OSArray, OSString, OSNumber, OSBoolean or OSData tree (what IOKitLib's
  // CF serialization carries); nullptr travels as "none".
  void Object(const OSObject* object);
  const std::string& bytes() const { return bytes_; }

 private:
  std::string bytes_;
};

class Reader {
 public:
  explicit Reader(const std::string& bytes)
      : at_(reinterpret_cast<const uint8_t*>(bytes.data())), left_(bytes.size()) {}
  uint32_t U32() {
    uint32_t v = 0;
    Raw(&v, sizeof v);
    return v;
  }
  uint64_t U64() {
    uint64_t v = 0;
    Raw(&v, sizeof v);
    return v;
  }
  void Raw(void* out, size_t size);
  std::string Bytes();
  // +1, or nullptr ("none", or a malformed frame: then ok() is false).
  OSObject* Object();
  // False once a read ran past the frame's end or met a malformed value.
  bool ok() const { return ok_; }

 private:
  const uint8_t* at_;
  size_t left_;
  bool ok_ = true;
};

// A whole frame, and at most one descriptor with it (-1: none). False when the peer is gone.
bool SendFrame(int socket, const std::string& body, int fd = -1);
// *fd is -1 unless the frame carried one (then the caller owns it).
bool ReceiveFrame(int socket, std::string* body, int* fd = nullptr);

}  // namespace fpgadext::emu::remote
