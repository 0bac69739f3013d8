// <strings.h> of the DriverKit SDK (Libc include/_strings.h, installed for DriverKit).
#ifndef _STRINGS_H_
#define _STRINGS_H_

#include <stddef.h>
#include <sys/cdefs.h>

__BEGIN_DECLS
int bcmp(const void* b1, const void* b2, size_t n);
void bcopy(const void* src, void* dst, size_t n);
void bzero(void* b, size_t n);
char* index(const char* s, int c);
char* rindex(const char* s, int c);
int ffs(int value);
int strcasecmp(const char* s1, const char* s2);
int strncasecmp(const char* s1, const char* s2, size_t n);
__END_DECLS

#endif  // _STRINGS_H_
