"""The GIL is released around blocking calls: other Python threads run meanwhile."""

import threading

import numpy as np

import fpgadext


def test_a_thread_waiting_in_the_library_lets_python_run(dev):
    """The operation's callback runs Python on the library's completion thread, and is held
    until the main thread opens `gate` — which the main thread can only do if the waiting thread
    released the GIL. Holding it would deadlock until wait's timeout and fail the test."""
    gate = threading.Event()
    waiting = threading.Event()
    result = {}

    def cb(error, nbytes):
        gate.wait(60)

    op = dev.write_async(0, bytes(1 << 16), callback=cb)

    def waiter():
        waiting.set()
        try:
            result["bytes"] = op.wait(20)
        except fpgadext.Error as e:
            result["error"] = e

    t = threading.Thread(target=waiter)
    t.start()
    assert waiting.wait(30)
    # The waiter is inside wait() by now (it keeps the GIL until it blocks there); this line
    # runs only if wait() let the GIL go.
    gate.set()
    t.join(60)
    assert result == {"bytes": 1 << 16}


def test_threads_transfer_on_one_device_at_once(dev):
    errors = []

    def worker(i):
        try:
            a = np.full(300_000 + i, i, dtype=np.uint8)
            b = np.zeros_like(a)
            for _ in range(5):
                dev.write(i << 20, a)
                dev.read_into(i << 20, b)
                assert np.array_equal(a, b)
                assert dev.read32(dev.info.user_bar, 0) == 0xFD0E0001
        except Exception as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
