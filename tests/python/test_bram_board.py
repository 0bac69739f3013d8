"""The board without a DMA engine (BRAM window, programmed I/O), chosen as the CLI's --board.
Runs in a process of its own: a process has one emulated machine."""

import os
import subprocess
import sys
import tempfile

SCRIPT = r"""
import sys
import numpy as np
import fpgadext

card = sys.argv[1]
desc = fpgadext.emulated.start(board="bram", card_file=card, card_size=1 << 20)
assert desc["board"] == "bram" and desc["card_size"] == 1 << 20, desc
with fpgadext.open() as dev:
    assert not dev.info.has_dma_engine
    a = np.arange(50_001, dtype=np.uint8)
    dev.write(0x11, a)
    assert dev.read(0x11, a.nbytes) == a.tobytes()
assert fpgadext.emulated.counters()["h2c_bytes"] == 0  # no DMA engine moved anything
with open(card, "rb") as f:  # the card memory is the file
    f.seek(0x11)
    assert f.read(a.nbytes) == a.tobytes()
print("bram ok")
"""


def test_pio_board_round_trip():
    card = os.path.join(tempfile.mkdtemp(prefix="fpgadext-py-"), "bram.bin")
    run = subprocess.run([sys.executable, "-c", SCRIPT, card], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "bram ok"
