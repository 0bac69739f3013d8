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

// The message being built: appends never overrun, and the text stays NUL-terminated.
struct Message {
  char* text;
  size_t size;
  size_t length = 0;

  size_t Room() const { return size - 1 - length; }
  void Put(const char* s, size_t n) {
    if (n > Room()) n = Room();
    memcpy(text + length, s, n);
    length += n;
    text[length] = '\0';
  }
  // Appends one printf conversion with its value (and the `*` width/precision it names).
  template <typename T>
  void Convert(const char* spec, const int* stars, int starCount, T value) {
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wformat-nonliteral"
    int n;
    if (starCount == 2) {
      n = snprintf(text + length, Room() + 1, spec, stars[0], stars[1], value);
    } else if (starCount == 1) {
      n = snprintf(text + length, Room() + 1, spec, stars[0], value);
    } else {
      n = snprintf(text + length, Room() + 1, spec, value);
    }
#pragma clang diagnostic pop
    if (n > 0) length += static_cast<size_t>(n) > Room() ? Room() : static_cast<size_t>(n);
    text[length] = '\0';
  }
};

enum class Privacy { kUnmarked, kPublic, kPrivate };

// The privacy a `{...}` annotation names: its comma-separated words include "public", or
// "private"/"sensitive". Other words (bool, errno, time_t, ...) leave it unmarked.
Privacy PrivacyOf(const char* begin, const char* end) {
  Privacy privacy = Privacy::kUnmarked;
  while (begin < end) {
    while (begin < end && (*begin == ',' || *begin == ' ')) ++begin;
    const char* word = begin;
    while (begin < end && *begin != ',') ++begin;
    const size_t n = static_cast<size_t>(begin - word);
    if (n == 6 && strncmp(word, "public", 6) == 0) privacy = Privacy::kPublic;
    if ((n == 7 && strncmp(word, "private", 7) == 0) ||
        (n == 9 && strncmp(word, "sensitive", 9) == 0)) {
      privacy = Privacy::kPrivate;
    }
  }
  return privacy;
}

// Formats an os_log message as a Mac shows it in `log stream`: annotations are dropped, and an
// argument is replaced by "<private>" when it is private — a `%s` (dynamic string) unless marked
// `{public}`, any conversion marked `{private}`/`{sensitive}`. Scalars are public by default.
// An unsupported conversion ends the message (its arguments cannot be skipped safely).
void FormatMessage(char* out, size_t size, const char* format, va_list args) {
  Message message{out, size};
  out[0] = '\0';
  const char* p = format;
  while (*p != '\0') {
    if (*p != '%') {
      const char* next = strchr(p, '%');
      const size_t n = next != nullptr ? static_cast<size_t>(next - p) : strlen(p);
      message.Put(p, n);
      p += n;
      continue;
    }
    if (p[1] == '%') {
      message.Put("%", 1);
      p += 2;
      continue;
    }
    ++p;
    Privacy privacy = Privacy::kUnmarked;
    if (*p == '{') {
      const char* close = strchr(p, '}');
      if (close == nullptr) return;
      privacy = PrivacyOf(p + 1, close);
      p = close + 1;
    }
    // The conversion as printf reads it, without the annotation.
    char spec[32] = "%";
    size_t n = 1;
    int stars[2];
    int starCount = 0;
    auto copy = [&](char c) {
      if (n + 1 < sizeof(spec)) spec[n++] = c;
      spec[n] = '\0';
    };
    while (*p != '\0' && strchr("-+ #0'", *p) != nullptr) copy(*p++);
    if (*p == '*') {
      stars[starCount++] = va_arg(args, int);
      copy(*p++);
    }
    while (*p >= '0' && *p <= '9') copy(*p++);
    if (*p == '.') {
      copy(*p++);
      if (*p == '*') {
        stars[starCount++] = va_arg(args, int);
        copy(*p++);
      }
      while (*p >= '0' && *p <= '9') copy(*p++);
    }
    int longs = 0;  // l count; 'j', 'z', 't', 'q' count as wide
    bool longDouble = false;
    while (*p != '\0' && strchr("hljztqL", *p) != nullptr) {
      if (*p == 'l') ++longs;
      if (*p == 'j' || *p == 'q') longs = 2;
      if (*p == 'z' || *p == 't') longs = 1;
      if (*p == 'L') longDouble = true;
      copy(*p++);
    }
    const char conversion = *p;
    if (conversion == '\0') return;
    copy(*p++);
    const bool hidden =
        privacy == Privacy::kPrivate || (privacy == Privacy::kUnmarked && conversion == 's');
    switch (conversion) {
      case 'd':
      case 'i': {
        long long value = longs >= 2   ? va_arg(args, long long)
                          : longs == 1 ? va_arg(args, long)
                                       : va_arg(args, int);
        if (hidden) {
          message.Put("<private>", 9);
        } else if (longs >= 2) {
          message.Convert(spec, stars, starCount, value);
        } else if (longs == 1) {
          message.Convert(spec, stars, starCount, static_cast<long>(value));
        } else {
          message.Convert(spec, stars, starCount, static_cast<int>(value));
        }
        break;
      }
      case 'u':
      case 'x':
      case 'X':
      case 'o': {
        unsigned long long value = longs >= 2   ? va_arg(args, unsigned long long)
                                   : longs == 1 ? va_arg(args, unsigned long)
                                                : va_arg(args, unsigned int);
        if (hidden) {
          message.Put("<private>", 9);
        } else if (longs >= 2) {
          message.Convert(spec, stars, starCount, value);
        } else if (longs == 1) {
          message.Convert(spec, stars, starCount, static_cast<unsigned long>(value));
        } else {
          message.Convert(spec, stars, starCount, static_cast<unsigned int>(value));
        }
        break;
      }
      case 'c': {
        const int value = va_arg(args, int);
        hidden ? message.Put("<private>", 9) : message.Convert(spec, stars, starCount, value);
        break;
      }
      case 'f':
      case 'F':
      case 'e':
      case 'E':
      case 'g':
      case 'G':
      case 'a':
      case 'A': {
        if (longDouble) {
          const long double value = va_arg(args, long double);
          hidden ? message.Put("<private>", 9) : message.Convert(spec, stars, starCount, value);
        } else {
          const double value = va_arg(args, double);
          hidden ? message.Put("<private>", 9) : message.Convert(spec, stars, starCount, value);
        }
        break;
      }
      case 's': {
        const char* value = va_arg(args, const char*);
        hidden ? message.Put("<private>", 9) : message.Convert(spec, stars, starCount, value);
        break;
      }
      case 'p': {
        void* value = va_arg(args, void*);
        hidden ? message.Put("<private>", 9) : message.Convert(spec, stars, starCount, value);
        break;
      }
      default:
        return;
    }
  }
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
  char message[1024];
  va_list args;
  va_start(args, format);
  FormatMessage(message, sizeof(message), format, args);
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
