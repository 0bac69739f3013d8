// CoreFoundation's declaration macros (CF-1153.18 CFAvailability.h); a subset.
#ifndef __COREFOUNDATION_CFAVAILABILITY__
#define __COREFOUNDATION_CFAVAILABILITY__

// C++11 and later: CF_ENUM types are enums with a fixed underlying type; CF_OPTIONS types stay
// the integer type. C: a typedef followed by an anonymous enum.
#if defined(__cplusplus) && __cplusplus >= 201103L
#define CF_ENUM(_type, _name) \
  enum _name : _type _name;   \
  enum _name : _type
#define CF_OPTIONS(_type, _name) \
  _type _name;                   \
  enum : _type
#else
#define CF_ENUM(_type, _name) \
  _type _name;                \
  enum
#define CF_OPTIONS(_type, _name) \
  _type _name;                   \
  enum
#endif

#endif
