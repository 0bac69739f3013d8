"""Every transfer path, every kind of buffer, and the zero-copy guarantee."""

import array
import ctypes
import mmap

import numpy as np
import pytest

import fpgadext
from conftest import CARD_SIZE, counters

SIZES = [0, 1, 7, 4096, 4097, (1 << 20) + 7]
PATHS = {
    "auto": (fpgadext.Path.AUTO, lambda n: True),
    "inband": (fpgadext.Path.INBAND, lambda n: n <= 4096),
    "out-of-line": (fpgadext.Path.OUT_OF_LINE, lambda n: n > 4096),
    "client-memory": (fpgadext.Path.CLIENT_MEMORY, lambda n: True),
}


def pattern(n, seed):
    return np.random.default_rng(seed).integers(0, 256, n, dtype=np.uint8)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("size", SIZES)
def test_every_path_round_trips_at_an_odd_card_address(dev, path, size):
    mode, allowed = PATHS[path]
    if not allowed(size):
        with pytest.raises(fpgadext.Error) as e:
            dev.write(0x1003, pattern(size, 1), path=mode)
        assert e.value.name == "kIOReturnBadArgument"
        return
    data = pattern(size, size)
    dev.write(0x1003, data, path=mode)
    back = np.full(size, 0xA5, dtype=np.uint8)
    dev.read_into(0x1003, back, path=mode)
    assert np.array_equal(back, data)
    assert dev.read(0x1003, size, path=mode) == data.tobytes()


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.uint32, np.float32, np.float64,
                                   np.complex128])
def test_numpy_arrays_of_any_dtype_move_as_their_bytes(dev, dtype):
    a = (np.arange(100_003) * 3).astype(dtype)
    dev.write(0x20001, a)
    b = np.zeros_like(a)
    dev.read_into(0x20001, b)
    assert np.array_equal(a, b)
    assert dev.read(0x20001, a.nbytes) == a.tobytes()


def test_every_buffer_protocol_object(dev):
    src = bytes(range(256)) * 40
    dev.write(0x3000, src)                      # bytes
    dev.write(0x3000 + len(src), bytearray(src))
    ba = bytearray(2 * len(src))
    dev.read_into(0x3000, ba)                   # bytearray
    assert ba == src + src
    mv = memoryview(bytearray(len(src)))
    dev.read_into(0x3000, mv)                   # memoryview
    assert mv.tobytes() == src
    arr = array.array("I", [0] * (len(src) // 4))
    dev.read_into(0x3000, arr)                  # array.array
    assert arr.tobytes() == src
    fortran = np.asfortranarray(np.arange(64 * 64, dtype=np.uint16).reshape(64, 64))
    dev.write(0x9000, fortran)                  # any contiguous layout
    assert dev.read(0x9000, fortran.nbytes) == fortran.tobytes(order="A")


def test_non_contiguous_and_read_only_buffers_are_refused(dev):
    strided = np.arange(10_000, dtype=np.uint8)[::2]
    with pytest.raises((BufferError, ValueError)):  # NumPy says ValueError
        dev.write(0, strided)
    with pytest.raises((BufferError, TypeError)):
        dev.read_into(0, b"read-only bytes")
    frozen = np.zeros(8192, dtype=np.uint8)
    frozen.flags.writeable = False
    with pytest.raises((BufferError, ValueError)):
        dev.read_into(0, frozen)


def test_the_card_moves_exactly_the_bytes_asked_by_dma(dev):
    """The model's engines count every byte they move: one transfer of n bytes is n bytes, so
    nothing goes over the link twice (no staging copy sent separately)."""
    n = (4 << 20) + 5
    a = pattern(n, 3)
    before = counters()
    dev.write(0x7, a)
    mid = counters()
    b = np.empty(n, dtype=np.uint8)
    dev.read_into(0x7, b)
    after = counters()
    assert mid["h2c_bytes"] - before["h2c_bytes"] == n
    assert after["c2h_bytes"] - mid["c2h_bytes"] == n
    assert np.array_equal(a, b)


def test_reads_land_in_the_callers_own_pages(dev):
    """A read into memory the process may not write reaches the dext as that memory and is
    refused there — so the card was aimed at the caller's pages, not at a copy. ctypes exposes a
    PROT_READ mapping as a writable buffer, which gets it past the buffer protocol's check."""
    n = 3 * mmap.PAGESIZE
    libc = ctypes.CDLL(None)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                          ctypes.c_int, ctypes.c_long]
    address = libc.mmap(None, n, mmap.PROT_READ, mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS, -1, 0)
    assert address not in (None, ctypes.c_void_p(-1).value)
    try:
        target = (ctypes.c_char * n).from_address(address)
        with pytest.raises(fpgadext.Error) as e:
            dev.read_into(0x1000, target, path=fpgadext.Path.CLIENT_MEMORY)
        assert e.value.name in ("kIOReturnNotWritable", "KERN_PROTECTION_FAILURE")
    finally:
        libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
        libc.munmap(address, n)


def test_a_view_into_a_larger_array_is_written_in_place(dev):
    data = pattern(100_000, 4)
    dev.write(0x50000, data)
    base = np.zeros(300_000, dtype=np.uint8)
    dev.read_into(0x50000, base[100_000:200_000])
    assert np.array_equal(base[100_000:200_000], data)
    assert not base[:100_000].any() and not base[200_000:].any()


def test_the_last_byte_of_the_card_and_one_past_it(dev):
    dev.write(CARD_SIZE - 1, b"\x5a")
    assert dev.read(CARD_SIZE - 1, 1) == b"\x5a"
    with pytest.raises(fpgadext.Error) as e:
        dev.read(CARD_SIZE - 1, 2)
    assert e.value.name == "kIOReturnBadArgument"
