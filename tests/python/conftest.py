"""Each pytest process gets its own emulated machine: an XDMA board whose 64 MiB card memory is
a file of the test's own temporary directory (fpgadext.emulated.start, before any open())."""

import os
import tempfile

import pytest

import fpgadext

CARD_SIZE = 64 << 20
USER_BLOCK_ID = 0xFD0E0001  # engine/reference_design/user_block_registers.h
SCRATCH0 = 0x10


@pytest.fixture(scope="session")
def machine():
    if fpgadext.emulated is None:  # a Mac: the installed dext and a real board
        return None
    if not fpgadext.emulated.running():
        card = os.path.join(tempfile.mkdtemp(prefix="fpgadext-py-"), "card.bin")
        fpgadext.emulated.start(board=os.environ.get("FPGADEXT_TEST_BOARD", "xdma"),
                                card_file=card, card_size=CARD_SIZE)
    return fpgadext.emulated


@pytest.fixture
def dev(machine):
    with fpgadext.open(0) as d:
        yield d


def counters():
    return fpgadext.emulated.counters()
