#!/usr/bin/env python3
"""A NumPy array to the card and back, compared; then the throughput of each size, plotted with
matplotlib when Debian's python3-matplotlib is installed (skipped cleanly otherwise).

    PYTHONPATH=build/default/python python3 examples/python/numpy_roundtrip.py [--plot out.png]

On Linux it runs against the emulated board of the fpgadext CLI (same card file); on a Mac
against the installed dext and the first board.
"""

import argparse
import sys
import time

import numpy as np

import fpgadext


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plot", metavar="PNG", help="write a throughput plot here")
    parser.add_argument("--address", type=lambda s: int(s, 0), default=0x1003)
    args = parser.parse_args()

    with fpgadext.open(0) as dev:
        info = dev.info
        print(f"board {info.vendor_id:04x}:{info.device_id:04x}, "
              f"{info.card_memory_size >> 20} MiB card memory, "
              f"{'DMA engine' if info.has_dma_engine else 'programmed I/O'}")

        # 1. A float32 image to the card and back: the card reads and writes the arrays' pages.
        image = np.random.default_rng(7).random((512, 512), dtype=np.float32)
        dev.write(args.address, image)
        back = np.empty_like(image)
        dev.read_into(args.address, back)
        assert np.array_equal(image, back), "the card returned different bytes"
        print(f"{image.nbytes} bytes of float32 written at card {args.address:#x} "
              "and read back: identical")

        # 2. Throughput per size, both directions (wall clock, this process).
        sizes = [1 << k for k in range(12, 25, 2) if (1 << k) + args.address <= info.card_memory_size]
        rows = []
        for size in sizes:
            buf = np.zeros(size, dtype=np.uint8)
            repeat = max(1, (16 << 20) // size)
            rates = []
            for move in (dev.write, dev.read_into):
                start = time.perf_counter()
                for _ in range(repeat):
                    move(args.address, buf)
                rates.append(size * repeat / (time.perf_counter() - start) / 1e9)
            rows.append((size, *rates))
            print(f"{size:>10} bytes  write {rates[0]:6.2f} GB/s  read {rates[1]:6.2f} GB/s")

    if args.plot:
        try:
            import matplotlib
            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            print("matplotlib is not installed (apt-get install python3-matplotlib): no plot")
            return 0
        fig, ax = plt.subplots()
        ax.plot([r[0] for r in rows], [r[1] for r in rows], marker="o", label="write (host → card)")
        ax.plot([r[0] for r in rows], [r[2] for r in rows], marker="o", label="read (card → host)")
        ax.set_xscale("log", base=2)
        ax.set_xlabel("transfer size (bytes)")
        ax.set_ylabel("GB/s")
        ax.legend()
        fig.savefig(args.plot)
        print(f"plot: {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
