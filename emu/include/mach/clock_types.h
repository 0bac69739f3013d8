// Mach clock types (xnu osfmk/mach/clock_types.h); a subset.
#ifndef _MACH_CLOCK_TYPES_H_
#define _MACH_CLOCK_TYPES_H_

typedef int alarm_type_t;
typedef int sleep_type_t;
typedef int clock_id_t;
typedef int clock_flavor_t;
typedef int* clock_attr_t;
typedef int clock_res_t;

struct mach_timespec {
  unsigned int tv_sec;
  clock_res_t tv_nsec;
};
typedef struct mach_timespec mach_timespec_t;

#define NSEC_PER_USEC 1000ull
#define USEC_PER_SEC 1000000ull
#define NSEC_PER_SEC 1000000000ull
#define NSEC_PER_MSEC 1000000ull

#endif
