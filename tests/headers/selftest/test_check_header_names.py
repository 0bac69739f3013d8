"""Tests of tests/headers/check_header_names.py on a fake header and manifests that must pass
or fail."""

import io
import os
import shutil
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import check_header_names as chk  # noqa: E402

INCLUDE = os.path.join(HERE, "include")
PASS = os.path.join(HERE, "pass")


class CheckerTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()
        os.makedirs(os.path.join(self.dir, "Fake"))
        with open(os.path.join(PASS, "Fake", "Fake.h.names")) as f:
            self.good = f.read()

    def tearDown(self):
        shutil.rmtree(self.dir)

    def run_check(self, text, name="Fake.h"):
        path = os.path.join(self.dir, "Fake", name + ".names")
        with open(path, "w") as f:
            f.write(text)
        out = io.StringIO()
        ok = chk.check(path, self.dir, INCLUDE, out)
        return ok, out.getvalue()

    def test_matching_manifest_passes(self):
        out = io.StringIO()
        self.assertTrue(chk.check(os.path.join(PASS, "Fake", "Fake.h.names"), PASS, INCLUDE, out),
                        out.getvalue())

    def test_a_declared_name_the_manifest_does_not_list_fails(self):
        ok, out = self.run_check(self.good.replace("FakeStruct::length\n", ""))
        self.assertFalse(ok)
        self.assertIn("declares names Apple's header does not", out)
        self.assertIn("FakeStruct::length", out)

    def test_a_listed_name_the_header_does_not_declare_fails(self):
        ok, out = self.run_check(self.good + "FakeAppleOnly\n")
        self.assertFalse(ok)
        self.assertIn("does not declare names its manifest lists", out)
        self.assertIn("FakeAppleOnly", out)

    def test_a_stale_missing_line_fails(self):
        ok, out = self.run_check(self.good.replace("\nFakeFunction\n", "\n!missing FakeFunction\n"))
        self.assertFalse(ok)
        self.assertIn("marks !missing", out)
        self.assertIn("FakeFunction", out)

    def test_a_macro_or_member_of_another_header_is_not_collected(self):
        ok, out = self.run_check(self.good + "kOtherMacro\nOtherClass::OtherMethod\n")
        self.assertFalse(ok)
        self.assertIn("OtherClass::OtherMethod, kOtherMacro", out)

    def test_private_members_and_ignored_names_are_not_collected(self):
        for name in ("FakeClass::Private", "FakeClass::privateField", "FakeClass::Start_Impl",
                     "FakeClass::gMetaClass", "NotCollected", "fpgadext::NotCollected",
                     "FakeEmulationHook", "__fake_reserved", "FakeClass_Start_Args",
                     "FakeScoped::kNotCollected", "FAKE_FAKE_H", "FakeClass::FakeClass"):
            ok, out = self.run_check(self.good + name + "\n")
            self.assertFalse(ok, name)
            self.assertIn("does not declare", out, name)

    def test_a_header_that_does_not_compile_alone_fails(self):
        ok, out = self.run_check("# source: made up\nBroken\nkBrokenMacro\n", "Broken.h")
        self.assertFalse(ok)
        self.assertIn("does not compile on its own", out)
        self.assertIn("FakeType", out)

    def test_a_c_header_that_compiles_only_as_cpp_fails(self):
        text = "# source: made up\nkCppOnly\n"
        ok, out = self.run_check(text, "CppOnly.h")
        self.assertTrue(ok, out)  # Fake/ is not a C directory by default
        path = os.path.join(self.dir, "Fake", "CppOnly.h.names")
        out = io.StringIO()
        self.assertFalse(chk.check(path, self.dir, INCLUDE, out, c_dirs=("Fake",)))
        self.assertIn("does not compile on its own as C", out.getvalue())

    def test_a_manifest_without_a_source_line_fails(self):
        ok, out = self.run_check(self.good.replace("# source:", "# from:"))
        self.assertFalse(ok)
        self.assertIn("no '# source:' line", out)

    def test_an_absent_header_passes_only_with_every_name_missing(self):
        ok, out = self.run_check("# source: made up\n!missing kAbsent\n", "Absent.h")
        self.assertTrue(ok, out)
        ok, out = self.run_check("# source: made up\nkAbsent\n", "Absent.h")
        self.assertFalse(ok)
        self.assertIn("does not exist", out)

    def test_table_shows_status_and_missing_names(self):
        self.run_check(self.good)
        self.run_check("# source: made up\n!missing kAbsent\n", "Absent.h")
        out = io.StringIO()
        chk.table(self.dir, INCLUDE, out)
        text = out.getvalue()
        self.assertIn("| `<Fake/Fake.h>` | partial | `FakeNotYetEmulated` | "
                      "a made-up header for the checker's own tests |", text)
        self.assertIn("| `<Fake/Absent.h>` | absent | `kAbsent` |", text)

    def test_table_shows_a_subset_by_design_as_subset(self):
        self.run_check("# source: made up\n# subset: what the emulation provides\n" +
                       self.good.replace("# source:", "# note:"))
        out = io.StringIO()
        chk.table(self.dir, INCLUDE, out)
        self.assertIn("| `<Fake/Fake.h>` | subset (1 !missing) | `FakeNotYetEmulated` |",
                      out.getvalue())

    def test_coverage_fails_for_a_header_without_manifest(self):
        os.makedirs(os.path.join(self.dir, "inc", "DriverKit"))
        open(os.path.join(self.dir, "inc", "DriverKit", "New.h"), "w").close()
        out = io.StringIO()
        self.assertFalse(chk.coverage(self.dir, os.path.join(self.dir, "inc"), out))
        self.assertIn("DriverKit/New.h: no manifest", out.getvalue())
        os.makedirs(os.path.join(self.dir, "DriverKit"))
        open(os.path.join(self.dir, "DriverKit", "New.h.names"), "w").close()
        self.assertTrue(chk.coverage(self.dir, os.path.join(self.dir, "inc"), io.StringIO()))


if __name__ == "__main__":
    unittest.main()
