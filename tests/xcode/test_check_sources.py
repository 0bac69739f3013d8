"""Tests of macos/check_sources.py on a made-up repository: a project.yml and SOURCES.md that
match the CMake lists pass; a file missing on either side, or listed but not built, fails."""

import io
import os
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "macos"))
import check_sources as cs  # noqa: E402

YML = """name: x
targets:
  FpgaDext:
    type: driver-extension
    sources:
      - path: ../dext/Driver.iig
        buildPhase: sources
      - ../dext/Driver.cpp
      - ../engine/src/a.cpp
      - path: ../dext/Info.plist
        buildPhase: none
  fpgadext:
    type: tool
    sources:
      - ../tools/fpgadext/main.cpp
      - ../tools/fpgadext/native_host.cpp
      - ../lib/device.cpp
      - ../bench/src/bench.cpp
"""
MD = """# Source files
## FpgaDext (driver)
| iig | `dext/Driver.iig` |
| sources | `dext/Driver.cpp`, `engine/src/a.cpp`, header `dext/Driver.h` |
## fpgadext (tool)
| files | `tools/fpgadext/main.cpp`, `tools/fpgadext/native_host.cpp`, `lib/device.cpp`, `bench/src/bench.cpp` |
"""
FILES = ["dext/Driver.iig", "dext/Driver.cpp", "engine/src/a.cpp", "tools/fpgadext/main.cpp",
         "tools/fpgadext/native_host.cpp", "tools/fpgadext/emulated_host.cpp", "lib/device.cpp",
         "bench/src/bench.cpp"]


class CheckSourcesTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.root = self.tmp.name
        for f in FILES:
            os.makedirs(os.path.dirname(os.path.join(self.root, f)), exist_ok=True)
            open(os.path.join(self.root, f), "w").close()
        os.makedirs(os.path.join(self.root, "macos"))
        self.lists = os.path.join(self.root, "lists")
        os.makedirs(self.lists)
        r, b = self.root, os.path.join(self.root, "build")
        self.write_list("FpgaDext", f"{r}/dext", f"{b}/dext",
                        ["Driver.cpp", f"{b}/dext/iig/Driver.iig.cpp", f"{b}/dext/iig/Driver.h"])
        self.write_list("fpgadext_engine", f"{r}/engine", f"{b}/engine", ["src/a.cpp"])
        self.write_list("fpgadext-cli", f"{r}/tools/fpgadext", f"{b}/t",
                        ["main.cpp", "emulated_host.cpp"])
        self.write_list("fpgadext", f"{r}/lib", f"{b}/lib", ["device.cpp"])
        self.write_list("fpgadext_bench", f"{r}/bench", f"{b}/bench", ["src/bench.cpp"])

    def tearDown(self):
        self.tmp.cleanup()

    def write_list(self, target, src, binary, sources):
        with open(os.path.join(self.lists, target + ".sources"), "w") as f:
            f.write("\n".join([src, binary] + sources) + "\n")

    def run_check(self, yml=YML, md=MD):
        with open(os.path.join(self.root, "macos", "project.yml"), "w") as f:
            f.write(yml)
        with open(os.path.join(self.root, "macos", "SOURCES.md"), "w") as f:
            f.write(md)
        out = io.StringIO()
        return cs.check(self.lists, self.root, out), out.getvalue()

    def test_matching_project_passes(self):
        ok, out = self.run_check()
        self.assertTrue(ok, out)

    def test_a_source_missing_from_project_yml_fails(self):
        ok, out = self.run_check(yml=YML.replace("      - ../bench/src/bench.cpp\n", ""))
        self.assertFalse(ok)
        self.assertIn("project.yml target fpgadext: missing bench/src/bench.cpp", out)

    def test_an_iig_missing_from_sources_md_fails(self):
        ok, out = self.run_check(md=MD.replace("`dext/Driver.iig`", "Driver.iig"))
        self.assertFalse(ok)
        self.assertIn("SOURCES.md section FpgaDext: missing dext/Driver.iig", out)

    def test_a_source_cmake_does_not_build_fails(self):
        ok, out = self.run_check(yml=YML.replace("      - ../dext/Driver.cpp\n",
                                                 "      - ../dext/Driver.cpp\n"
                                                 "      - ../dext/Old.cpp\n"))
        self.assertFalse(ok)
        self.assertIn("lists dext/Old.cpp, which CMake does not build", out)
        self.assertIn("dext/Old.cpp, which does not exist", out)

    def test_the_linux_host_file_is_not_expected_on_the_mac(self):
        ok, out = self.run_check(yml=YML.replace("native_host.cpp", "emulated_host.cpp"))
        self.assertFalse(ok)
        self.assertIn("missing tools/fpgadext/native_host.cpp", out)


if __name__ == "__main__":
    unittest.main()
