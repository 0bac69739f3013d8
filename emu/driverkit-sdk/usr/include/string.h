// <string.h> of the DriverKit SDK: Apple's Libc include/_string.h with its non-DriverKit parts
// removed (Libc-1725, xcodescripts/headers.sh installs it for DriverKit with UNIFDEF_DRIVERKIT).
// Declarations written from the function names and the C standard's signatures; like Apple's,
// it also brings in <strings.h> (bzero, bcmp, bcopy...). DriverKit leaves out strcat, strcpy and
// stpcpy (use strlcat/strlcpy).
#ifndef _STRING_H_
#define _STRING_H_

#include <stddef.h>
#include <sys/cdefs.h>

__BEGIN_DECLS
void* memchr(const void* s, int c, size_t n);
int memcmp(const void* s1, const void* s2, size_t n);
void* memcpy(void* dst, const void* src, size_t n);
void* memmove(void* dst, const void* src, size_t len);
void* memset(void* b, int c, size_t len);
char* strchr(const char* s, int c);
int strcmp(const char* s1, const char* s2);
int strcoll(const char* s1, const char* s2);
size_t strcspn(const char* s, const char* charset);
char* strerror(int errnum);
size_t strlen(const char* s);
char* strncat(char* s1, const char* s2, size_t n);
int strncmp(const char* s1, const char* s2, size_t n);
char* strncpy(char* dst, const char* src, size_t n);
char* strpbrk(const char* s, const char* charset);
char* strrchr(const char* s, int c);
size_t strspn(const char* s, const char* charset);
char* strstr(const char* big, const char* little);
char* strtok(char* str, const char* sep);
size_t strxfrm(char* s1, const char* s2, size_t n);
char* strtok_r(char* str, const char* sep, char** lasts);
int strerror_r(int errnum, char* strerrbuf, size_t buflen);
char* strdup(const char* s1);
void* memccpy(void* dst, const void* src, int c, size_t n);
char* stpncpy(char* dst, const char* src, size_t n);
char* strndup(const char* s1, size_t n);
size_t strnlen(const char* s1, size_t n);
char* strsignal(int sig);
void* memmem(const void* big, size_t big_len, const void* little, size_t little_len);
void memset_pattern4(void* b, const void* pattern4, size_t len);
void memset_pattern8(void* b, const void* pattern8, size_t len);
void memset_pattern16(void* b, const void* pattern16, size_t len);
char* strcasestr(const char* big, const char* little);
char* strnstr(const char* big, const char* little, size_t len);
size_t strlcat(char* dst, const char* source, size_t size);
size_t strlcpy(char* dst, const char* source, size_t size);
void strmode(int mode, char* bp);
char* strsep(char** stringp, const char* delim);
void swab(const void* src, void* dst, long len);
int timingsafe_bcmp(const void* b1, const void* b2, size_t len);
int strsignal_r(int sig, char* strsignalbuf, size_t buflen);
__END_DECLS

#include <strings.h>

#endif  // _STRING_H_
