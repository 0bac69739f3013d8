// Compiles the header-only engine drivers with the dext's flags (no exceptions, no RTTI), so a
// construct DriverKit cannot build fails here first.
#include <fpgadext/engine/register_io.h>

#include "pio/pio_engine.h"
#include "xdma/xdma_engine.h"

namespace fpgadext::engine {
namespace {

// The smallest RegisterIo: what the dext's IOPCIDevice wrapper looks like.
struct CheckIo {
  uint32_t Read32(uint32_t offset) { return offset; }
  void Write32(uint32_t offset, uint32_t value) {}
};
static_assert(RegisterIo<CheckIo>);

}  // namespace

template class XdmaEngine<CheckIo>;

}  // namespace fpgadext::engine
