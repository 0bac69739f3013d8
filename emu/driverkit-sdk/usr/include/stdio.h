// <stdio.h> of the DriverKit SDK: Apple's Libc include/_stdio.h, whose UNIFDEF_DRIVERKIT branch
// keeps only EOF and formatting into memory. No FILE, no printf/puts/fopen: a dext logs with
// os_log or IOLog.
#ifndef _STDIO_H_
#define _STDIO_H_

#include <stdarg.h>
#include <stddef.h>
#include <sys/cdefs.h>

#define EOF (-1)

__BEGIN_DECLS
int sscanf(const char* __restrict, const char* __restrict, ...) __scanflike(2, 3);
int snprintf(char* __restrict str, size_t size, const char* __restrict format, ...)
    __printflike(3, 4);
int vsnprintf(char* __restrict str, size_t size, const char* __restrict format, va_list)
    __printflike(3, 0);
int vsscanf(const char* __restrict str, const char* __restrict format, va_list) __scanflike(2, 0);
int asprintf(char** __restrict, const char* __restrict, ...) __printflike(2, 3);
int vasprintf(char** __restrict, const char* __restrict, va_list) __printflike(2, 0);

// Not in DriverKit's stdio.h. Declared unavailable only because libc++ 19's <cstdio> assumes a
// ::remove exists: without one, its `using ::remove` clashes with the std::remove algorithm.
// Calling it is an error, as on a Mac.
int remove(const char*) __attribute__((__unavailable__("remove() is not in the DriverKit SDK")));
__END_DECLS

#endif  // _STDIO_H_
