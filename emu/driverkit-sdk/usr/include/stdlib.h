// <stdlib.h> of the DriverKit SDK: Apple's Libc include/_stdlib.h with its non-DriverKit parts
// removed (Libc-1725, UNIFDEF_DRIVERKIT). A dext gets no malloc/calloc/realloc/free (it uses
// IOMalloc/IONew), no exit/atexit, no getenv, no system; it keeps abort, the conversions, the
// sorts and arc4random. Declarations written from the names and the C standard's signatures.
#ifndef _STDLIB_H_
#define _STDLIB_H_

#include <alloca.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/cdefs.h>

typedef struct {
  int quot;
  int rem;
} div_t;
typedef struct {
  long quot;
  long rem;
} ldiv_t;
typedef struct {
  long long quot;
  long long rem;
} lldiv_t;

#define RAND_MAX 0x7fffffff

__BEGIN_DECLS
extern int __mb_cur_max;
#define MB_CUR_MAX __mb_cur_max

void abort(void) __dead2 __cold;
int abs(int) __pure2;
double atof(const char*);
int atoi(const char*);
long atol(const char*);
long long atoll(const char*);
void* bsearch(const void* key, const void* base, size_t nel, size_t width,
              int (*compar)(const void*, const void*));
div_t div(int, int) __pure2;
long labs(long) __pure2;
ldiv_t ldiv(long, long) __pure2;
long long llabs(long long);
lldiv_t lldiv(long long, long long);
int mblen(const char* s, size_t n);
size_t mbstowcs(wchar_t* __restrict, const char* __restrict, size_t n);
int mbtowc(wchar_t* __restrict, const char* __restrict, size_t n);
void qsort(void* base, size_t nel, size_t width, int (*compar)(const void*, const void*));
double strtod(const char*, char**);
float strtof(const char*, char**);
long strtol(const char* str, char** endptr, int base);
long double strtold(const char*, char**);
long long strtoll(const char* str, char** endptr, int base);
unsigned long strtoul(const char* str, char** endptr, int base);
unsigned long long strtoull(const char* str, char** endptr, int base);
size_t wcstombs(char* __restrict, const wchar_t* __restrict, size_t n);
int wctomb(char*, wchar_t);

uint32_t arc4random(void);
void arc4random_buf(void* buf, size_t nbytes);
void arc4random_stir(void);
uint32_t arc4random_uniform(uint32_t upper_bound);
#ifdef __BLOCKS__
void* bsearch_b(const void* key, const void* base, size_t nel, size_t width,
                int (^compar)(const void*, const void*));
int heapsort_b(void* base, size_t nel, size_t width, int (^compar)(const void*, const void*));
int mergesort_b(void* base, size_t nel, size_t width, int (^compar)(const void*, const void*));
void qsort_b(void* base, size_t nel, size_t width, int (^compar)(const void*, const void*));
#endif
int heapsort(void* base, size_t nel, size_t width, int (*compar)(const void*, const void*));
int mergesort(void* base, size_t nel, size_t width, int (*compar)(const void*, const void*));
void qsort_r(void* base, size_t nel, size_t width, void* thunk,
             int (*compar)(void*, const void*, const void*));
int radixsort(const unsigned char** base, int nel, const unsigned char* table, unsigned endbyte);
int rpmatch(const char*);
int sradixsort(const unsigned char** base, int nel, const unsigned char* table, unsigned endbyte);
long long strtoq(const char* str, char** endptr, int base);
unsigned long long strtouq(const char* str, char** endptr, int base);
__END_DECLS

#endif  // _STDLIB_H_
