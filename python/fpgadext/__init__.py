"""fpgadext: PCIe FPGA boards from Python — DMA straight to and from NumPy arrays and any other
buffer-protocol object, registers, async transfers, the submission ring.

    import fpgadext, numpy as np
    with fpgadext.open() as dev:
        a = np.arange(1 << 20, dtype=np.uint32)
        dev.write(0x1000, a)            # the card reads the array's own pages
        b = np.empty_like(a)
        dev.read_into(0x1000, b)        # the card writes into b's pages
        assert (a == b).all()

On Linux the module runs against the emulated Mac the fpgadext command uses (see
fpgadext.emulated). docs/python.md describes the whole API.
"""

import asyncio as _asyncio
import atexit as _atexit

from ._fpgadext import (  # noqa: F401  (the public names)
    AsyncOperation,
    Board,
    Device,
    DeviceInfo,
    Direction,
    Error,
    Path,
    RegisteredBuffer,
    Registers,
    Ring,
    RingCompletion,
    RingDirections,
    __version__,
    emulated,
    ioreturn_name,
    list,
    open,
)
from . import _fpgadext


def _await_operation(op):
    """`await op`: resumes when the completion arrives, without a thread per operation."""
    if not op.done:
        loop = _asyncio.get_running_loop()
        future = loop.create_future()

        def wake():  # on the library's completion thread
            def resolve():
                if not future.done():
                    future.set_result(None)

            try:
                loop.call_soon_threadsafe(resolve)
            except RuntimeError:  # the loop has closed meanwhile
                pass

        op._add_done_callback(wake)
        yield from future.__await__()
    # Done: its callback has returned; wait() gives the bytes or raises its error.
    return op.wait()


AsyncOperation.__await__ = _await_operation

# Devices close, and the emulated machine stops, before the interpreter tears itself down.
_atexit.register(_fpgadext._shutdown)
