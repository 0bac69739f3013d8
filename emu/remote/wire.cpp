// The machine socket's frames and values (wire.h).
#include "wire.h"

#include <DriverKit/IOLib.h>
#include <DriverKit/OSArray.h>
#include <DriverKit/OSBoolean.h>
#include <DriverKit/OSData.h>
#include <DriverKit/OSDictionary.h>
#include <DriverKit/OSNumber.h>
#include <DriverKit/OSString.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>
#include <cstring>

#include "../iokit/os_iterate.h"

namespace fpgadext::emu::remote {
namespace {

enum Tag : uint32_t { kNone, kDictionary, kArray, kString, kNumber, kBoolean, kData };

// Deeper trees are refused: a frame is data from another process.
constexpr int kMaxDepth = 32;
// No frame is larger than a structure the MIG routines carry plus the serialized properties.
constexpr uint32_t kMaxFrame = 64u << 20;

OSObject* ReadObject(Reader& r, int depth, bool* ok) {
  if (depth > kMaxDepth) {
    *ok = false;
    return nullptr;
  }
  switch (r.U32()) {
    case kNone:
      return nullptr;
    case kString:
      return OSString::withCString(r.Bytes().c_str());
    case kNumber: {
      const uint32_t bits = r.U32();
      return OSNumber::withNumber(r.U64(), bits);
    }
    case kBoolean: {
      OSBoolean* b = r.U32() ? kOSBooleanTrue : kOSBooleanFalse;
      b->retain();
      return b;
    }
    case kData: {
      const std::string bytes = r.Bytes();
      return OSData::withBytes(bytes.data(), bytes.size());
    }
    case kArray: {
      const uint32_t count = r.U32();
      OSArray* array = OSArray::withCapacity(count < 1024 ? count : 1024);
      for (uint32_t i = 0; i < count && r.ok() && *ok; ++i) {
        OSObject* item = ReadObject(r, depth + 1, ok);
        if (item != nullptr) array->setObject(item);
        OSSafeReleaseNULL(item);
      }
      return array;
    }
    case kDictionary: {
      const uint32_t count = r.U32();
      OSDictionary* dictionary = OSDictionary::withCapacity(count < 1024 ? count : 1024);
      for (uint32_t i = 0; i < count && r.ok() && *ok; ++i) {
        const std::string key = r.Bytes();
        OSObject* item = ReadObject(r, depth + 1, ok);
        if (item != nullptr) dictionary->setObject(key.c_str(), item);
        OSSafeReleaseNULL(item);
      }
      return dictionary;
    }
    default:
      *ok = false;
      return nullptr;
  }
}

}  // namespace

void Writer::Bytes(const void* data, size_t size) {
  U32(static_cast<uint32_t>(size));
  Raw(data, size);
}

void Writer::Object(const OSObject* value) {
  auto* object = const_cast<OSObject*>(value);
  if (auto* s = OSDynamicCast(OSString, object)) {
    U32(kString);
    const char* c = s->getCStringNoCopy();
    String(c != nullptr ? c : "");
  } else if (auto* b = OSDynamicCast(OSBoolean, object)) {
    U32(kBoolean);
    U32(b == kOSBooleanTrue);
  } else if (auto* n = OSDynamicCast(OSNumber, object)) {
    U32(kNumber);
    U32(static_cast<uint32_t>(n->numberOfBits()));
    U64(n->unsigned64BitValue());
  } else if (auto* d = OSDynamicCast(OSData, object)) {
    U32(kData);
    Bytes(d->getBytesNoCopy(), d->getLength());
  } else if (auto* a = OSDynamicCast(OSArray, object)) {
    U32(kArray);
    U32(a->getCount());
    for (uint32_t i = 0; i < a->getCount(); ++i) Object(a->getObject(i));
  } else if (auto* dict = OSDynamicCast(OSDictionary, object)) {
    U32(kDictionary);
    uint32_t count = 0;
    ForEachEntry(dict, [&count](OSObject*, OSObject*) { ++count; });
    U32(count);
    ForEachEntry(dict, [this](OSObject* key, OSObject* item) {
      auto* k = OSDynamicCast(OSString, key);
      const char* name = k != nullptr ? k->getCStringNoCopy() : nullptr;
      String(name != nullptr ? name : "");
      Object(item);
    });
  } else {
    U32(kNone);  // nothing else crosses IOKitLib's serialization
  }
}

void Reader::Raw(void* out, size_t size) {
  if (!ok_ || size > left_) {
    ok_ = false;
    std::memset(out, 0, size);
    return;
  }
  std::memcpy(out, at_, size);
  at_ += size;
  left_ -= size;
}

std::string Reader::Bytes() {
  const uint32_t size = U32();
  if (!ok_ || size > left_) {
    ok_ = false;
    return {};
  }
  std::string s(reinterpret_cast<const char*>(at_), size);
  at_ += size;
  left_ -= size;
  return s;
}

OSObject* Reader::Object() {
  bool valid = true;
  OSObject* object = ReadObject(*this, 0, &valid);
  if (!valid || !ok_) {
    ok_ = false;
    OSSafeReleaseNULL(object);
  }
  return object;
}

bool SendFrame(int socket, const std::string& body, int fd) {
  const uint32_t length = static_cast<uint32_t>(body.size());
  iovec parts[2] = {{const_cast<uint32_t*>(&length), sizeof length},
                    {const_cast<char*>(body.data()), body.size()}};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr message{};
  message.msg_iov = parts;
  message.msg_iovlen = 2;
  if (fd >= 0) {
    message.msg_control = control;
    message.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&message);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
  }
  size_t sent = 0;
  const size_t total = sizeof length + body.size();
  while (sent < total) {
    ssize_t n = sendmsg(socket, &message, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
    message.msg_control = nullptr;  // the descriptor went with the first bytes
    message.msg_controllen = 0;
    // Skip what went: rebuild the vector over the rest.
    size_t skip = sent;
    for (iovec& part : parts) {
      const size_t take = skip < part.iov_len ? skip : part.iov_len;
      part.iov_base = static_cast<char*>(part.iov_base) + take;
      part.iov_len -= take;
      skip -= take;
    }
    if (parts[0].iov_len == 0) {
      message.msg_iov = &parts[1];
      message.msg_iovlen = 1;
    }
  }
  return true;
}

namespace {

bool ReceiveAll(int socket, void* out, size_t size, int* fd) {
  size_t got = 0;
  while (got < size) {
    iovec part{static_cast<char*>(out) + got, size - got};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msghdr message{};
    message.msg_iov = &part;
    message.msg_iovlen = 1;
    message.msg_control = control;
    message.msg_controllen = sizeof control;
    ssize_t n = recvmsg(socket, &message, MSG_CMSG_CLOEXEC);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    for (cmsghdr* c = CMSG_FIRSTHDR(&message); c != nullptr; c = CMSG_NXTHDR(&message, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && fd != nullptr) {
        std::memcpy(fd, CMSG_DATA(c), sizeof(int));
      }
    }
    got += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

bool ReceiveFrame(int socket, std::string* body, int* fd) {
  if (fd != nullptr) *fd = -1;
  uint32_t length = 0;
  if (!ReceiveAll(socket, &length, sizeof length, fd) || length > kMaxFrame) return false;
  body->resize(length);
  return length == 0 || ReceiveAll(socket, body->data(), length, fd);
}

}  // namespace fpgadext::emu::remote
