// os_log for the emulated DriverKit runtime. See <os/log.h>.
#include <fpgadext/emu/log_capture.h>
#include <os/log.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <atomic>
#include <mutex>

struct os_log_s {
  const char* subsystem;  // NULL for OS_LOG_DEFAULT
  const char* category;
  bool disabled;
  os_log_s* next;  // list of logs made by os_log_create
};

extern "C" {
struct os_log_s _os_log_default = {nullptr, nullptr, false, nullptr};
struct os_log_s _os_log_disabled = {nullptr, nullptr, true, nullptr};
}

namespace fpgadext::emu {
void RecordLogMessage(const LogRecord& record);
}

namespace {

// Severity ranks, lowest first. The threshold is a rank; kOff disables stderr output.
enum Rank : int { kDebug = 0, kInfo, kDefault, kError, kFault, kOff, kUnset = -1 };

int RankOf(os_log_type_t type) {
  switch (type) {
    case OS_LOG_TYPE_DEBUG:
      return kDebug;
    case OS_LOG_TYPE_INFO:
      return kInfo;
    case OS_LOG_TYPE_ERROR:
      return kError;
    case OS_LOG_TYPE_FAULT:
      return kFault;
    default:
      return kDefault;
  }
}

const char* LevelName(os_log_type_t type) {
  static const char* const kNames[] = {"debug", "info", "default", "error", "fault"};
  return kNames[RankOf(type)];
}

int ParseLevel(const char* name) {
  static const char* const kNames[] = {"debug", "info", "default", "error", "fault", "off"};
  if (name == nullptr) return kUnset;
  for (int i = 0; i < 6; ++i) {
    if (strcmp(name, kNames[i]) == 0) return i;
  }
  return kUnset;
}

std::atomic<int> gThreshold{kUnset};
std::atomic<bool> gCapturing{false};
std::mutex gMutex;  // guards gCapture, gLogs and writes to stderr
fpgadext::emu::LogCapture* gCapture = nullptr;
os_log_s* gLogs = nullptr;

int Threshold() {
  int threshold = gThreshold.load(std::memory_order_relaxed);
  if (threshold == kUnset) {
    threshold = ParseLevel(getenv("FPGADEXT_LOG"));
    if (threshold == kUnset) threshold = kError;
    int expected = kUnset;
    gThreshold.compare_exchange_strong(expected, threshold, std::memory_order_relaxed);
    threshold = gThreshold.load(std::memory_order_relaxed);
  }
  return threshold;
}

// Copies an os_log format to a printf format: drops each `{...}` that follows a `%`. If the
// result does not fit, it is cut before the last conversion that fits, so vsnprintf never sees
// half a conversion.
void StripAnnotations(const char* in, char* out, size_t size) {
  size_t o = 0;
  size_t lastPercent = 0;
  bool truncated = false;
  for (const char* p = in; *p != '\0'; ++p) {
    if (o + 1 >= size) {
      truncated = true;
      break;
    }
    if (*p == '%') {
      lastPercent = o;
      out[o++] = '%';
      if (p[1] == '%') {
        if (o + 1 >= size) {
          truncated = true;
          break;
        }
        out[o++] = '%';
        ++p;
        continue;
      }
      if (p[1] == '{') {
        const char* close = strchr(p + 2, '}');
        if (close != nullptr) p = close;  // the loop's ++p moves past '}'
      }
      continue;
    }
    out[o++] = *p;
  }
  if (truncated) o = lastPercent;
  out[o] = '\0';
}

}  // namespace

extern "C" {

os_log_t os_log_create(const char* subsystem, const char* category) {
  if (subsystem == nullptr) subsystem = "";
  if (category == nullptr) category = "";
  std::lock_guard<std::mutex> lock(gMutex);
  for (os_log_s* log = gLogs; log != nullptr; log = log->next) {
    if (strcmp(log->subsystem, subsystem) == 0 && strcmp(log->category, category) == 0) return log;
  }
  // Never freed: logs are immortal, as the handles a dext keeps in globals expect.
  auto* log = new os_log_s{strdup(subsystem), strdup(category), false, gLogs};
  gLogs = log;
  return log;
}

bool os_log_type_enabled(os_log_t log, os_log_type_t type) {
  if (log == nullptr || log->disabled) return false;
  return RankOf(type) >= Threshold() || gCapturing.load(std::memory_order_relaxed);
}

void fpgadext_os_log_emit(os_log_t log, os_log_type_t type, const char* format, ...) {
  if (log == nullptr || log->disabled || format == nullptr) return;
  char printfFormat[1024];
  StripAnnotations(format, printfFormat, sizeof(printfFormat));
  char message[1024];
  va_list args;
  va_start(args, format);
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wformat-nonliteral"
  vsnprintf(message, sizeof(message), printfFormat, args);
#pragma clang diagnostic pop
  va_end(args);

  const bool toStderr = RankOf(type) >= Threshold();
  std::lock_guard<std::mutex> lock(gMutex);
  if (gCapture != nullptr) {
    fpgadext::emu::RecordLogMessage(fpgadext::emu::LogRecord{
        type, log->subsystem ? log->subsystem : "", log->category ? log->category : "", message});
  }
  if (toStderr) {
    if (log->subsystem != nullptr) {
      fprintf(stderr, "%s:%s %s: %s\n", log->subsystem, log->category, LevelName(type), message);
    } else {
      fprintf(stderr, "%s: %s\n", LevelName(type), message);
    }
  }
}

}  // extern "C"

namespace fpgadext::emu {

void RecordLogMessage(const LogRecord& record) {
  gCapture->records_.push_back(record);
}

LogCapture::LogCapture() {
  std::lock_guard<std::mutex> lock(gMutex);
  if (gCapture != nullptr) {
    fprintf(stderr, "fpgadext emulation: only one LogCapture may exist at a time\n");
    abort();
  }
  gCapture = this;
  gCapturing.store(true, std::memory_order_relaxed);
}

LogCapture::~LogCapture() {
  std::lock_guard<std::mutex> lock(gMutex);
  gCapture = nullptr;
  gCapturing.store(false, std::memory_order_relaxed);
}

std::vector<LogRecord> LogCapture::records() const {
  std::lock_guard<std::mutex> lock(gMutex);
  return records_;
}

std::vector<std::string> LogCapture::messages() const {
  std::lock_guard<std::mutex> lock(gMutex);
  std::vector<std::string> result;
  result.reserve(records_.size());
  for (const LogRecord& record : records_) result.push_back(record.message);
  return result;
}

void LogCapture::clear() {
  std::lock_guard<std::mutex> lock(gMutex);
  records_.clear();
}

bool SetLogLevel(const char* level) {
  int rank = ParseLevel(level);
  if (rank == kUnset) return false;
  gThreshold.store(rank, std::memory_order_relaxed);
  return true;
}

}  // namespace fpgadext::emu
