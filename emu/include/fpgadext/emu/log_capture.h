// Emulation-only test hooks for <os/log.h>: capture messages and change the stderr threshold.
// Not part of DriverKit; never include from dext, engine or library code.
#pragma once

#include <os/log.h>

#include <string>
#include <vector>

namespace fpgadext::emu {

struct LogRecord {
  os_log_type_t type;
  std::string subsystem;  // empty for OS_LOG_DEFAULT
  std::string category;
  std::string message;  // formatted, without a trailing newline
};

// While an instance exists, every message of every level is recorded (whatever FPGADEXT_LOG
// says; OS_LOG_DISABLED still records nothing). Only one instance may exist at a time. Safe to
// use while other threads log.
class LogCapture {
 public:
  LogCapture();
  ~LogCapture();
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  std::vector<LogRecord> records() const;
  std::vector<std::string> messages() const;
  void clear();

 private:
  friend void RecordLogMessage(const LogRecord& record);
  std::vector<LogRecord> records_;  // guarded by the log mutex
};

// Sets the lowest level written to stderr, overriding FPGADEXT_LOG: "debug", "info", "default",
// "error", "fault" or "off". Returns false (and changes nothing) for another name.
bool SetLogLevel(const char* level);

}  // namespace fpgadext::emu
