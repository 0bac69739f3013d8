// The broker's port-name table, shared by broker.cpp (connections, memory, async completions)
// and registry.cpp (matching, registry queries, matching and interest notifications). Only those
// two files include this header.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "broker.h"
#include "kernel.h"

namespace fpgadext::emu::broker {

struct Connection;
struct Notifier;

struct Port {
  std::mutex lock;
  void (*deliver)(void*, const AsyncMessage&) = nullptr;
  void* context = nullptr;
  std::deque<AsyncMessage> pending;
};

struct Handle {
  enum class Kind { kService, kIterator, kConnection, kPort, kNotifier };
  Kind kind = Kind::kService;
  int references = 1;
  // Service: the entry, and what stays readable after it is terminated (as a Mac keeps the
  // object until its last port goes).
  uint64_t registryID = 0;
  std::string name;
  std::vector<std::string> classes;  // most derived first
  std::vector<uint32_t> items;       // iterator: service handles it holds
  size_t position = 0;
  std::shared_ptr<Connection> connection;
  std::shared_ptr<Port> port;
  std::shared_ptr<Notifier> notifier;  // matching (an iterator) or interest notification
};

// The broker's state: the names the app holds (Mach port names in its space) and what each
// stands for, with the matching and interest notifications. The kernel owns it (Kernel::handles,
// kernel.h): nothing of it outlives the machine, and a second machine starts with its own.
struct HandleTable {
  std::mutex lock;
  std::map<uint32_t, Handle> handles;
  uint32_t nextName = 0x1003;
  std::vector<std::shared_ptr<Notifier>> notifiers;  // registry.cpp, the active ones
};

// The current machine's table; nullptr without a machine, when no kernel answers and every
// name is dead.
HandleTable* Table();

// All under table.lock.
uint32_t NewName(HandleTable& table);
Handle* Find(HandleTable& table, uint32_t name, Handle::Kind kind);
// A service handle for a registry entry: the same name for the same entry, +1 reference.
uint32_t ServiceHandle(HandleTable& table, const ServiceNode* node);
void ReleaseLocked(HandleTable& table, uint32_t name);

// The kernel classes a registry entry is an instance of, most derived first.
std::vector<std::string> KernelClasses(const ServiceNode* node);

// Takes the table's lock.
ServiceNode* NodeFor(uint32_t service);

// registry.cpp: a notification iterator's next service (+1) or 0 (which re-arms it), and what
// happens when the app releases its last reference to a notification. Under table.lock.
uint32_t NotifierNextLocked(Notifier& notifier);
void NotifierReleasedLocked(HandleTable& table, const std::shared_ptr<Notifier>& notifier);
// The machine is going away: no notification survives it.
void ForgetNotifiersLocked(HandleTable& table);

// The machine is going away (Kernel::~Kernel, before its drivers stop): every name goes, and
// every connection ends, its user client released and the app's mappings through it undone.
void EndAll(HandleTable& table);

}  // namespace fpgadext::emu::broker
