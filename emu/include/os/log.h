// <os/log.h> as the emulation provides it: os_log and friends over stderr.
//
// Formats are Apple's: printf conversions with optional `{...}` annotations right after the `%`
// (`%{public}s`, `%{private}llx`, `%{bool}d`); the annotations are checked by clang's os_log
// format checking and dropped when printing. Privacy is a Mac's: a `%s` argument is shown as
// "<private>" unless written `%{public}s`, any argument marked `{private}` or `{sensitive}` is
// "<private>", scalars (integers, floating point, `%c`, `%p`) are shown. Apple-only conversions
// such as `%P` and `%@` are not supported (they end the message). The format must be a string
// literal, as on a Mac. Messages longer than 1023 bytes are truncated.
//
// Output: one line per message on stderr, "<subsystem>:<category> <level>: <message>" (just
// "<level>: <message>" for OS_LOG_DEFAULT). Environment variable FPGADEXT_LOG sets the lowest
// level printed: debug, info, default, error (the default when unset) or fault; "off" prints
// nothing. Arguments of a message below the threshold are not evaluated, as on a Mac where the
// level is disabled. Tests can capture messages with <fpgadext/emu/log_capture.h>.
// All functions are thread-safe.
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct os_log_s;
typedef struct os_log_s* os_log_t;

typedef uint8_t os_log_type_t;
enum {
  OS_LOG_TYPE_DEFAULT = 0x00,
  OS_LOG_TYPE_INFO = 0x01,
  OS_LOG_TYPE_DEBUG = 0x02,
  OS_LOG_TYPE_ERROR = 0x10,
  OS_LOG_TYPE_FAULT = 0x11,
};

extern "C" {
extern struct os_log_s _os_log_default;
extern struct os_log_s _os_log_disabled;

// A log for `subsystem` (reverse-DNS, e.g. "com.example.fpgadext") and `category`. The result
// lives for the rest of the process; the same pair gives the same log.
os_log_t os_log_create(const char* subsystem, const char* category);
bool os_log_type_enabled(os_log_t log, os_log_type_t type);

// Emulation entry point behind the macros; use the macros.
void fpgadext_os_log_emit(os_log_t log, os_log_type_t type, const char* format, ...)
    __attribute__((format(os_log, 3, 4)));
}

#define os_log_info_enabled(log) os_log_type_enabled(log, OS_LOG_TYPE_INFO)
#define os_log_debug_enabled(log) os_log_type_enabled(log, OS_LOG_TYPE_DEBUG)

#define OS_LOG_DEFAULT (&_os_log_default)
#define OS_LOG_DISABLED (&_os_log_disabled)

#define os_log_with_type(log, type, format, ...)                                                 \
  do {                                                                                           \
    os_log_t fpgadext_log_ = (log);                                                              \
    os_log_type_t fpgadext_type_ = (type);                                                       \
    if (os_log_type_enabled(fpgadext_log_, fpgadext_type_)) {                                    \
      fpgadext_os_log_emit(fpgadext_log_, fpgadext_type_, "" format __VA_OPT__(, ) __VA_ARGS__); \
    }                                                                                            \
  } while (0)

#define os_log(log, format, ...) \
  os_log_with_type(log, OS_LOG_TYPE_DEFAULT, format __VA_OPT__(, ) __VA_ARGS__)
#define os_log_info(log, format, ...) \
  os_log_with_type(log, OS_LOG_TYPE_INFO, format __VA_OPT__(, ) __VA_ARGS__)
#define os_log_debug(log, format, ...) \
  os_log_with_type(log, OS_LOG_TYPE_DEBUG, format __VA_OPT__(, ) __VA_ARGS__)
#define os_log_error(log, format, ...) \
  os_log_with_type(log, OS_LOG_TYPE_ERROR, format __VA_OPT__(, ) __VA_ARGS__)
#define os_log_fault(log, format, ...) \
  os_log_with_type(log, OS_LOG_TYPE_FAULT, format __VA_OPT__(, ) __VA_ARGS__)
