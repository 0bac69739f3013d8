"""Registers of the user BAR, and how failures reach Python."""

import pytest

import fpgadext
from conftest import SCRATCH0, USER_BLOCK_ID


def test_info_and_list(dev):
    boards = fpgadext.list()
    assert len(boards) == 1 and boards[0].index == 0 and boards[0].vendor_id == 0x10EE
    info = dev.info
    assert info.has_dma_engine and info.card_memory_size == 64 << 20
    assert info.user_bar >= 0 and info.bar_sizes[info.user_bar] > 0
    assert info.dma_bar >= 0 and info.dma_bar != info.user_bar


def test_registers_by_call_and_by_index(dev):
    bar = dev.info.user_bar
    assert dev.read32(bar, 0) == USER_BLOCK_ID
    assert dev.reg32[bar, 0] == USER_BLOCK_ID
    dev.write32(bar, SCRATCH0, 0x12345678)
    assert dev.reg32[bar, SCRATCH0] == 0x12345678
    dev.reg32[bar, SCRATCH0 + 4] = 0xCAFEF00D
    assert dev.read32(bar, SCRATCH0 + 4) == 0xCAFEF00D
    dev.write64(bar, SCRATCH0 + 8, 0x0123456789ABCDEF)
    assert dev.reg64[bar, SCRATCH0 + 8] == 0x0123456789ABCDEF
    assert dev.read32(bar, SCRATCH0 + 8) == 0x89ABCDEF
    assert dev.is_bar_mapped(bar)
    with pytest.raises(ValueError):
        dev.reg32[bar, SCRATCH0] = 1 << 32


def test_error_carries_name_value_and_message(dev):
    with pytest.raises(fpgadext.Error) as e:
        dev.read32(dev.info.dma_bar, 0)
    err = e.value
    assert err.name == "kIOReturnNotPermitted"
    assert err.value == 0xE00002E2
    assert err.message and err.name in str(err)
    assert fpgadext.ioreturn_name(err.value) == err.name
    assert isinstance(err, Exception) and not isinstance(err, OSError)


@pytest.mark.parametrize("bar,offset,name", [
    (None, 2, "kIOReturnBadArgument"),          # misaligned
    (None, 1 << 40, "kIOReturnBadArgument"),    # outside the BAR
    (5, 0, "kIOReturnBadArgument"),             # absent BAR
])
def test_bad_register_accesses(dev, bar, offset, name):
    with pytest.raises(fpgadext.Error) as e:
        dev.read32(dev.info.user_bar if bar is None else bar, offset)
    assert e.value.name == name


def test_no_such_board(machine):
    with pytest.raises(fpgadext.Error) as e:
        fpgadext.open(7)
    assert e.value.name == "kIOReturnNotFound"


def test_the_machine_starts_once(machine):
    with pytest.raises(fpgadext.Error) as e:
        fpgadext.emulated.start()
    assert e.value.name == "kIOReturnBusy"
    d = fpgadext.emulated.description()
    assert d["board"] == "xdma" and d["card_size"] == 64 << 20 and d["dext_bundle"]
