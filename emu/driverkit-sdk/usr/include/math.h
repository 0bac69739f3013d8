// <math.h> for the darwin check. Darwin's math.h comes from Apple's Libm, not Libc, and whether
// the DriverKit SDK has one is not public; libc++'s
// <compare> includes <cmath>, so <atomic>, <tuple>, <utility> and most of the library need it.
// This one has only what libc++'s own <math.h> needs to compile: the classification values of
// Darwin's math.h and the evaluation types. No math function is declared, so a dext calling
// one fails here (it might or might not build on a Mac).
#ifndef __MATH_H__
#define __MATH_H__

#define FP_NAN 1
#define FP_INFINITE 2
#define FP_ZERO 3
#define FP_NORMAL 4
#define FP_SUBNORMAL 5
#define FP_SUPERNORMAL 6

#define HUGE_VAL __builtin_huge_val()
#define HUGE_VALF __builtin_huge_valf()
#define HUGE_VALL __builtin_huge_vall()
#define INFINITY __builtin_inff()
#define NAN __builtin_nanf("")

typedef float float_t;
typedef double double_t;

#endif  // __MATH_H__
