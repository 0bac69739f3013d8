/* fpgadext C API: a kext-era read/write application's shape — read(dev, card_addr, size, buf) and
 * write(dev, card_addr, size, buf) — over the C++ library (fpgadext.hpp). Every function
 * returns an IOReturn value (0 = success); fpgadext_last_error() says what went wrong. */
#ifndef FPGADEXT_H
#define FPGADEXT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fpgadext_device fpgadext_device;

/* Number of boards the dext drives. */
unsigned fpgadext_count(void);
int fpgadext_open(unsigned index, fpgadext_device** device);
void fpgadext_close(fpgadext_device* device);

/* When the board goes away (unplugged, its FPGA reprogrammed, its function reset: docs/library.md
 * "When the board goes away"): fpgadext_gone turns 1 and every call on the device fails with
 * kIOReturnNoDevice. Close it, wait for the board with fpgadext_wait_for_board (0 once the dext
 * drives board `index`, at once if it does; kIOReturnTimeout after timeout_ns, UINT64_MAX: no
 * limit; its message in fpgadext_last_error(NULL)), and open it again. */
int fpgadext_gone(const fpgadext_device* device);
int fpgadext_wait_for_board(unsigned index, uint64_t timeout_ns);

/* Any size (0 included), any alignment of buf and card_addr. */
int fpgadext_read(fpgadext_device* device, uint64_t card_addr, size_t size, void* buf);
int fpgadext_write(fpgadext_device* device, uint64_t card_addr, size_t size, const void* buf);

/* How the synchronous transfers above wait for the card's DMA (fpgadext::CompletionPolicy,
 * docs/library.md "Completion policy"). fpgadext_set_completion: for every later transfer of the
 * device; *in_effect (may be NULL) gets the policy they get (the default resolved; POLL where the
 * board cannot interrupt). The _with_completion calls: for that one transfer
 * (FPGADEXT_COMPLETION_DEVICE: as the device is set). Another value: kIOReturnBadArgument. */
enum {
  FPGADEXT_COMPLETION_DEVICE = -1,
  FPGADEXT_COMPLETION_DEFAULT = 0,
  FPGADEXT_COMPLETION_POLL = 1,
  FPGADEXT_COMPLETION_INTERRUPT = 2,
  FPGADEXT_COMPLETION_ADAPTIVE = 3
};
int fpgadext_set_completion(fpgadext_device* device, int policy, int* in_effect);
int fpgadext_read_with_completion(fpgadext_device* device, uint64_t card_addr, size_t size,
                                  void* buf, int completion);
int fpgadext_write_with_completion(fpgadext_device* device, uint64_t card_addr, size_t size,
                                   const void* buf, int completion);

/* Async transfers: return at once (0, *op set) and complete later — callback(context, status,
 * bytes) on the library's completion queue, and fpgadext_wait. buf must stay valid until then.
 * callback may be NULL. Every op must be freed with fpgadext_op_free (after it completed, or it
 * waits). A non-zero return means no op was made (device or op NULL, no memory). */
typedef struct fpgadext_op fpgadext_op;
typedef void (*fpgadext_callback)(void* context, int status, uint64_t bytes);
int fpgadext_read_async(fpgadext_device* device, uint64_t card_addr, size_t size, void* buf,
                        fpgadext_callback callback, void* context, fpgadext_op** op);
int fpgadext_write_async(fpgadext_device* device, uint64_t card_addr, size_t size, const void* buf,
                         fpgadext_callback callback, void* context, fpgadext_op** op);
/* The op's status once done; kIOReturnTimeout if not done within timeout_ns (UINT64_MAX: no
 * limit). *bytes (may be NULL) gets the bytes moved. */
int fpgadext_wait(fpgadext_op* op, uint64_t timeout_ns, uint64_t* bytes);
/* Waits for the op to complete, then frees it. */
void fpgadext_op_free(fpgadext_op* op);

/* AXI-Stream channels (docs/streams.md): fpgadext::Stream (fpgadext.hpp). direction: 1 to the
 * card, 2 from the card. channel: a stream channel index or -1 (any). From the card: `slots`
 * receive slots (a power of two, 2..512) of `slot_size` bytes (a multiple of 64), allocated and
 * registered by the library. One stream per direction per device; free it before the device. */
typedef struct fpgadext_stream fpgadext_stream;
enum { FPGADEXT_STREAM_TO_CARD = 1, FPGADEXT_STREAM_FROM_CARD = 2 };
enum { FPGADEXT_STREAM_END_OF_PACKET = 1 };
int fpgadext_stream_channels(fpgadext_device* device, uint32_t* to_card_mask,
                             uint32_t* from_card_mask);
int fpgadext_stream_open(fpgadext_device* device, int direction, int channel, uint32_t slots,
                         uint64_t slot_size, fpgadext_stream** stream);
void fpgadext_stream_close(fpgadext_stream* stream);
/* The next bytes of the current packet; end_of_packet ends it (TLAST). Any size ≥ 1. */
int fpgadext_stream_send(fpgadext_stream* stream, const void* buf, size_t size, int end_of_packet);
/* The next received slot, zero copy: *data and *size stay valid until
 * fpgadext_stream_release(stream, *slot); *flags gets FPGADEXT_STREAM_END_OF_PACKET when the slot
 * holds the end of a packet. kIOReturnTimeout after timeout_ns (UINT64_MAX: no limit). Slots go
 * back to the card in the order they were received. */
int fpgadext_stream_receive(fpgadext_stream* stream, uint64_t timeout_ns, const void** data,
                            size_t* size, uint32_t* flags, uint32_t* slot);
int fpgadext_stream_release(fpgadext_stream* stream, uint32_t slot);
/* counters[6]: packets, bytes, overruns, dropped, errors, descriptors (fpgadext::StreamCounters).
 */
int fpgadext_stream_counters(fpgadext_stream* stream, uint64_t counters[6]);

/* Registers of a BAR an app may use (not the DMA engine's). */
int fpgadext_reg_read32(fpgadext_device* device, int bar, uint64_t offset, uint32_t* value);
int fpgadext_reg_write32(fpgadext_device* device, int bar, uint64_t offset, uint32_t value);

uint64_t fpgadext_card_memory_size(const fpgadext_device* device);
/* The BAR of the board's user registers, or -1. */
int fpgadext_user_bar(const fpgadext_device* device);

/* User interrupts (docs/library.md "Events"): a subscription to the lines in mask (bit i = line
 * i); each call takes the new events of the lines given (counts per line, bit i of `lines` set
 * when count[i] > 0). wait blocks (UINT64_MAX: no limit; kIOReturnTimeout), poll makes no driver
 * call, the callback runs on the library's completion queue (NULL stops it). close ends the
 * subscription and frees it; fpgadext_close ends it too (close still frees it). */
#define FPGADEXT_MAX_EVENT_LINES 16
typedef struct fpgadext_events fpgadext_events;
typedef struct fpgadext_event_counts {
  uint32_t lines;
  uint64_t count[FPGADEXT_MAX_EVENT_LINES];
} fpgadext_event_counts;
typedef void (*fpgadext_events_callback)(void* context, const fpgadext_event_counts* counts);
int fpgadext_events_open(fpgadext_device* device, uint32_t mask, fpgadext_events** events);
int fpgadext_events_wait(fpgadext_events* events, uint32_t mask, uint64_t timeout_ns,
                         fpgadext_event_counts* counts);
int fpgadext_events_poll(fpgadext_events* events, uint32_t mask, fpgadext_event_counts* counts);
int fpgadext_events_set_callback(fpgadext_events* events, uint32_t mask,
                                 fpgadext_events_callback callback, void* context);
void fpgadext_events_close(fpgadext_events* events);

/* The message of the last failed call on this device (empty if none); valid until the next
 * call on it. With NULL: the message of the calling thread's last failed fpgadext_open or
 * fpgadext_wait_for_board. */
const char* fpgadext_last_error(const fpgadext_device* device);
/* "kIOReturnNotWritable" and the like. */
const char* fpgadext_error_name(int code);

/* The fpgadext release, "MAJOR.MINOR.PATCH": fpgadext::Version() (fpgadext.hpp). */
const char* fpgadext_version(void);

#ifdef __cplusplus
}
#endif

#endif /* FPGADEXT_H */
