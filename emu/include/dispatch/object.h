// Dispatch objects (libdispatch-1542.0.4 dispatch/object.h): the C++ form, where every object
// type derives from dispatch_object_s, so any of them converts to dispatch_object_t; a subset.
#ifndef __DISPATCH_OBJECT__
#define __DISPATCH_OBJECT__

#ifndef __DISPATCH_INDIRECT__
#error "Please #include <dispatch/dispatch.h> instead of this file directly."
#endif

#include <dispatch/base.h>

#ifdef __cplusplus
typedef struct dispatch_object_s {
 private:
  dispatch_object_s();
  ~dispatch_object_s();
  dispatch_object_s(const dispatch_object_s&);
  void operator=(const dispatch_object_s&);
}* dispatch_object_t;
#define DISPATCH_DECL(name) typedef struct name##_s : public dispatch_object_s{} * name##_t
#define DISPATCH_DECL_SUBCLASS(name, base) typedef struct name##_s : public base##_s{} * name##_t
#define DISPATCH_GLOBAL_OBJECT(type, object) (static_cast<type>(&(object)))
#else
typedef union {
  struct _os_object_s* _os_obj;
  struct dispatch_object_s* _do;
  struct dispatch_queue_s* _dq;
  struct dispatch_queue_attr_s* _dqa;
  struct dispatch_semaphore_s* _dsema;
} dispatch_object_t __attribute__((__transparent_union__));
#define DISPATCH_DECL(name) typedef struct name##_s* name##_t
#define DISPATCH_DECL_SUBCLASS(name, base) typedef base##_t name##_t
#define DISPATCH_GLOBAL_OBJECT(type, object) ((type) & (object))
#endif

typedef void (^dispatch_block_t)(void);

#ifdef __cplusplus
extern "C" {
#endif

void dispatch_retain(dispatch_object_t object);
void dispatch_release(dispatch_object_t object);
void* dispatch_get_context(dispatch_object_t object);
void dispatch_set_context(dispatch_object_t object, void* context);

#ifdef __cplusplus
}
#endif

#endif
