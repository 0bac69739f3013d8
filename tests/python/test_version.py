"""__version__ is the project version (CMake's project(VERSION)), the library's and the CLI's."""

import os
import subprocess

import pytest

import fpgadext

EXPECTED = os.environ.get("FPGADEXT_EXPECTED_VERSION", "")
CLI = os.environ.get("FPGADEXT_CLI", "")


@pytest.mark.skipif(not EXPECTED, reason="CTest passes the project version")
def test_module_version_is_the_project_version():
    assert fpgadext.__version__ == EXPECTED


@pytest.mark.skipif(not CLI, reason="FPGADEXT_CLI names the fpgadext CLI (CTest sets it)")
def test_module_and_cli_report_one_version():
    run = subprocess.run([CLI, "--version"], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "fpgadext " + fpgadext.__version__
