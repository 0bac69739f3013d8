"""Who keeps what alive: registered buffers pin their arrays, closed devices refuse their
buffers, async operations hold their memory until they complete."""

import gc
import weakref

import numpy as np
import pytest

import fpgadext


def test_an_array_freed_while_registered_stays_alive_and_usable(dev):
    a = np.arange(64 * 1024, dtype=np.uint32)
    expected = a.tobytes()
    alive = weakref.ref(a)
    reg = dev.register(a)
    assert reg.valid and reg.nbytes == a.nbytes and reg.obj is a
    del a
    gc.collect()
    assert alive() is not None, "the registration must keep the array alive"
    dev.write(0x4000, reg)  # the registration still points at the array's memory
    assert dev.read(0x4000, len(expected)) == expected
    reg.release()
    assert not reg.valid
    gc.collect()
    assert alive() is None, "release() lets the array go"


def test_registering_does_not_copy_the_array(dev):
    a = np.zeros(20_000, dtype=np.uint8)
    reg = dev.register(a)
    a[:] = 0x3C  # changed after registering: the card must see the change
    dev.write(0x8000, reg)
    assert dev.read(0x8000, a.nbytes) == a.tobytes()
    b = np.zeros(20_000, dtype=np.uint8)
    with dev.register(b) as rb:
        dev.read_into(0x8000, rb)
    assert (b == 0x3C).all()


def test_part_of_a_registered_buffer(dev):
    a = np.zeros(10_000, dtype=np.uint8)
    reg = dev.register(a)
    dev.write(0x100, bytes(range(100)))
    dev.read_into(0x100, reg, offset=5000, length=100)
    assert a[5000:5100].tobytes() == bytes(range(100))
    assert not a[:5000].any() and not a[5100:].any()
    with pytest.raises(fpgadext.Error) as e:
        dev.read_into(0x100, reg, offset=9950, length=100)
    assert e.value.name == "kIOReturnBadArgument"


def test_a_bytearray_cannot_be_resized_while_registered(dev):
    ba = bytearray(8192)
    reg = dev.register(ba)
    with pytest.raises(BufferError):
        ba.extend(b"x" * 100_000)  # would move the memory the card writes to
    reg.release()
    ba.extend(b"x")


def test_read_only_objects_register_for_writes_to_the_card_only(dev):
    reg = dev.register(b"\x11" * 8192)
    assert reg.direction == fpgadext.Direction.TO_CARD
    dev.write(0x200, reg)
    with pytest.raises(fpgadext.Error) as e:
        dev.read_into(0x200, reg)
    assert e.value.name == "kIOReturnNotPermitted"


def test_a_registered_buffer_used_after_close_raises(machine):
    a = np.ones(8192, dtype=np.uint8)
    with fpgadext.open() as d:
        reg = d.register(a)
        d.write(0, reg)
    assert not d.is_open and not reg.valid
    with pytest.raises(fpgadext.Error):
        d.write(0, reg)
    with fpgadext.open() as other:  # nor on another device
        with pytest.raises(fpgadext.Error) as e:
            other.write(0, reg)
        assert e.value.name == "kIOReturnBadArgument"


def test_a_closed_device_raises_not_open(machine):
    d = fpgadext.open()
    d.close()
    with pytest.raises(fpgadext.Error) as e:
        d.read(0, 16)
    assert e.value.name == "kIOReturnNotOpen"
    d.close()  # twice is fine


def test_an_async_operation_holds_its_buffer_until_done(dev):
    a = np.zeros(1 << 20, dtype=np.uint8)
    alive = weakref.ref(a)
    op = dev.read_async(0, a)
    del a
    op.wait(30)
    gc.collect()
    assert alive() is None, "the completion releases the buffer"
    assert op.done and op.bytes == 1 << 20


def test_dropping_a_device_with_registrations_and_operations_in_flight(machine):
    d = fpgadext.open()
    regs = [d.register(np.zeros(8192, dtype=np.uint8)) for _ in range(4)]
    ops = [d.write_async(0x1000 * i, np.full(1 << 16, i, dtype=np.uint8)) for i in range(8)]
    del d
    gc.collect()  # regs and ops still refer to the device: it stays open
    for op in ops:
        op.wait(30)
    for r in regs:
        assert r.valid
    del regs, ops
    gc.collect()
