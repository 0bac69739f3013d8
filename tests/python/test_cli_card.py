"""The module opens the emulated machine as the fpgadext CLI does: the same card file, so what
one writes the other reads."""

import os
import subprocess
import tempfile

import numpy as np
import pytest

import fpgadext
from conftest import CARD_SIZE

CLI = os.environ.get("FPGADEXT_CLI", "")


def cli(*args):
    card = fpgadext.emulated.description()["card_file"]
    run = subprocess.run([CLI, *args, "--card-file", card, "--card-size", str(CARD_SIZE)],
                         capture_output=True, timeout=120)
    assert run.returncode == 0, run.stderr.decode()
    return run.stdout


@pytest.mark.skipif(not CLI, reason="FPGADEXT_CLI names the fpgadext CLI (CTest sets it)")
def test_the_cli_and_python_see_the_same_card(dev):
    ours = np.random.default_rng(11).integers(0, 256, 100_001, dtype=np.uint8)
    dev.write(0x2003, ours)
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out.bin")
        cli("read", "--addr", "0x2003", "--size", str(ours.nbytes), "--out", out, "--quiet")
        with open(out, "rb") as f:
            assert f.read() == ours.tobytes()
        theirs = os.path.join(tmp, "in.bin")
        data = np.random.default_rng(12).integers(0, 256, 70_007, dtype=np.uint8).tobytes()
        with open(theirs, "wb") as f:
            f.write(data)
        cli("write", "--addr", "0x50001", "--file", theirs, "--quiet")
    assert dev.read(0x50001, len(data)) == data
