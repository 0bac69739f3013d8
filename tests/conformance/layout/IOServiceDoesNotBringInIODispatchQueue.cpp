// Must not compile: <DriverKit/IOService.h> only forward-declares IODispatchQueue, as Apple's does.
#include <DriverKit/IOService.h>

kern_return_t MakeQueue(IODispatchQueue** queue) {
  return IODispatchQueue::Create("q", 0, 0, queue);
}
