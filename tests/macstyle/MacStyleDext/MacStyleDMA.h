//
//  MacStyleDMA.h
//  MacStyleDext
//
//  One transfer through the board's XDMA engine, channel 0.
//

#ifndef MacStyleDMA_h
#define MacStyleDMA_h

#include <DriverKit/IOReturn.h>
#include <stdint.h>

class IOPCIDevice;

// Moves `length` bytes (1 … 4096) between `bytes` and card memory at `cardAddress`:
// card → host into `bytes` when `cardToHost`, else host → card from `bytes`. The data and the
// descriptor travel through an IOBufferMemoryDescriptor prepared with an IODMACommand; the
// engine is polled until it stops.
kern_return_t MacStyleRunTransfer(IOPCIDevice* device, uint8_t dmaMemoryIndex, bool cardToHost,
                                  uint64_t cardAddress, void* bytes, uint32_t length);

#endif /* MacStyleDMA_h */
