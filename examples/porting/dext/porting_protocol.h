// The contract between the porting example's app and its dext: selectors and limits. Plain C so
// that the app, in C or C++, and the dext share it.
#ifndef PORTING_PROTOCOL_H
#define PORTING_PROTOCOL_H

#include <stdint.h>

// The user client's registry name, for IOServiceNameMatching.
#define PORTING_DRIVER_NAME "PortingDriver"

enum {
  // Card → app, ≤ 4096 bytes, returned as an OSData. In: card offset, length.
  kPortingReadSmall = 0,
  // Card → app, > 4096 bytes, into the output descriptor the kernel made. In: card offset.
  kPortingReadLarge = 1,
  // Card → app, any size, into app memory named by address and length. In: card offset,
  // app address, length.
  kPortingReadAnySize = 2,
  // The same without kIOMemoryDisableCopyOnWrite: the copy-on-write trap.
  kPortingReadAnySizeCopyOnWrite = 3,
  // Keeps app memory prepared for DMA. In: app address, length. Out: buffer id.
  kPortingRegisterBuffer = 4,
  // Card → part of a registered buffer. In: buffer id, offset in the buffer, card offset, length.
  kPortingReadRegistered = 5,
  // In: buffer id.
  kPortingUnregisterBuffer = 6,
  // App → card, ≤ 4096 bytes, as the in-band structure input. In: card offset.
  kPortingWriteSmall = 7,
  // The kext-era handler: expects structureOutputDescriptor for every size. In: card offset.
  kPortingReadKextStyle = 8,
  // Reports what the handler sees of the output. Out: structureOutput set (0/1),
  // structureOutputDescriptor set (0/1), structureOutputMaximumSize.
  kPortingShowOutputFields = 9,
  kPortingMethodCount = 10,
};

// The largest structure IOConnectCallMethod sends in the message (io_struct_inband_t).
#define PORTING_INBAND_MAX 4096u

// Registered buffers a client may hold at once.
#define PORTING_MAX_REGISTERED 4u

#endif  // PORTING_PROTOCOL_H
