// Mach port names (xnu osfmk/mach/port.h, mach/machine/vm_types.h for natural_t); a subset.
#ifndef _MACH_PORT_H_
#define _MACH_PORT_H_

#include <stdint.h>

typedef unsigned int natural_t;
typedef natural_t mach_port_name_t;
typedef mach_port_name_t* mach_port_name_array_t;
typedef mach_port_name_t mach_port_t;
typedef mach_port_t* mach_port_array_t;
typedef natural_t mach_port_right_t;
typedef natural_t mach_port_type_t;
typedef natural_t mach_port_seqno_t;

#define MACH_PORT_NULL 0
#define MACH_PORT_DEAD ((mach_port_name_t)~0)
#define MACH_PORT_VALID(name) (((name) != MACH_PORT_NULL) && ((name) != MACH_PORT_DEAD))

#define MACH_PORT_RIGHT_SEND ((mach_port_right_t)0)
#define MACH_PORT_RIGHT_RECEIVE ((mach_port_right_t)1)

#endif
