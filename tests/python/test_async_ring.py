"""Async transfers (wait, done, callbacks, asyncio) and the submission ring."""

import asyncio
import sys
import threading

import numpy as np
import pytest

import fpgadext
from conftest import CARD_SIZE


def test_async_write_then_read(dev):
    a = np.random.default_rng(1).integers(0, 256, (2 << 20) + 3, dtype=np.uint8)
    w = dev.write_async(0x1001, a)
    assert w.wait(30) == a.nbytes and w.done and w.bytes == a.nbytes
    b = np.zeros_like(a)
    r = dev.read_async(0x1001, b)
    assert r.wait() == a.nbytes
    assert np.array_equal(a, b)


def test_the_callback_runs_once_with_the_error_or_none(dev):
    calls = []
    finished = threading.Event()

    def cb(error, nbytes):
        calls.append((error, nbytes))
        finished.set()

    op = dev.write_async(0, bytes(100_000), callback=cb)
    op.wait(30)
    assert finished.wait(30)
    assert calls == [(None, 100_000)]

    calls.clear()
    finished.clear()
    bad = dev.read_async(CARD_SIZE - 10, bytearray(100), callback=cb)
    with pytest.raises(fpgadext.Error) as e:
        bad.wait(30)
    assert finished.wait(30)
    (error, nbytes), = calls
    assert isinstance(error, fpgadext.Error) and error.name == e.value.name
    assert nbytes == 0


def test_a_callback_that_raises_is_reported_and_the_device_goes_on(dev, monkeypatch):
    reported = []
    monkeypatch.setattr(sys, "unraisablehook", lambda u: reported.append(u.exc_value))

    def cb(error, nbytes):
        raise RuntimeError("the app's bug")

    dev.write_async(0, bytes(10), callback=cb).wait(30)
    assert [str(e) for e in reported] == ["the app's bug"]
    assert dev.read(0, 10) == bytes(10)


def test_asyncio_awaits_transfers(dev):
    async def main():
        chunks = [np.full(1 << 18, i, dtype=np.uint8) for i in range(8)]
        moved = await asyncio.gather(*(dev.write_async(i << 18, c) for i, c in enumerate(chunks)))
        assert moved == [1 << 18] * 8
        back = np.zeros(8 << 18, dtype=np.uint8)
        assert await dev.read_async(0, back) == back.nbytes
        assert all((back[i << 18:(i + 1) << 18] == i).all() for i in range(8))
        with pytest.raises(fpgadext.Error):
            await dev.read_async(CARD_SIZE, bytearray(1))

    asyncio.run(main())


def test_ring_submissions_on_registered_buffers(dev):
    src = np.arange(1 << 16, dtype=np.uint16)
    dst = np.zeros_like(src)
    with dev.create_ring(16) as ring:
        rs, rd = dev.register(src), dev.register(dst)
        assert ring.entries == 16
        for i in range(4):
            ring.submit_write(i * 0x8000, rs, offset=i * 0x8000, length=0x8000, tag=i)
        done = {}
        while len(done) < 4:
            ring.wait(timeout=30)
            for c in ring.poll():
                done[c.tag] = c
        assert all(c.ok and c.bytes == 0x8000 for c in done.values())
        ring.submit_read(0, rd, tag=99)  # the whole buffer
        ring.wait(timeout=30)
        (c,) = ring.poll()
        assert c.tag == 99 and c.ok and c.bytes == dst.nbytes
        assert ring.errors == 0 and ring.in_flight == 0
    assert np.array_equal(src, dst)
    assert not ring.valid


def test_ring_refuses_what_the_library_refuses(dev):
    with dev.create_ring(4) as ring:
        reg = dev.register(np.zeros(4096, dtype=np.uint8))
        with pytest.raises(fpgadext.Error) as e:
            ring.submit_read(0, reg, offset=4000, length=200)
        assert e.value.name == "kIOReturnBadArgument"
        with pytest.raises(fpgadext.Error) as e:
            ring.wait(timeout=0.01)
        assert e.value.name == "kIOReturnTimeout"
    with pytest.raises(fpgadext.Error):
        dev.create_ring(3)  # not a power of two
