"""Tests of emu/cmake/dext_plist.py: an Info.plist as Xcode would process it."""

import os
import plistlib
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "..", "..", "emu", "cmake", "dext_plist.py")
SETTINGS = ["EXECUTABLE_NAME=SampleDext", "PRODUCT_NAME=SampleDext",
            "PRODUCT_BUNDLE_IDENTIFIER=com.example.sample_driver",
            "PRODUCT_BUNDLE_PACKAGE_TYPE=DEXT", "DEVELOPMENT_LANGUAGE=en"]


class DextPlistTest(unittest.TestCase):
    def process(self, info, settings=SETTINGS):
        with tempfile.TemporaryDirectory() as d:
            src, out = os.path.join(d, "in.plist"), os.path.join(d, "out.plist")
            with open(src, "wb") as f:
                plistlib.dump(info, f)
            r = subprocess.run([sys.executable, "-B", SCRIPT, "--input", src, "--output", out]
                               + settings, capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stderr)
            with open(out, "rb") as f:
                return plistlib.load(f), r.stderr

    def test_keys_xcode_fills_are_added_when_the_file_leaves_them_out(self):
        info, _ = self.process({"IOKitPersonalities": {}})
        self.assertEqual(info["CFBundleExecutable"], "SampleDext")
        self.assertEqual(info["CFBundleIdentifier"], "com.example.sample_driver")
        self.assertEqual(info["CFBundleName"], "SampleDext")
        self.assertEqual(info["CFBundlePackageType"], "DEXT")

    def test_keys_the_file_sets_are_kept(self):
        info, _ = self.process({"CFBundleExecutable": "Other", "CFBundlePackageType": "DEXT"})
        self.assertEqual(info["CFBundleExecutable"], "Other")

    def test_template_settings_are_substituted_in_nested_values(self):
        info, _ = self.process({
            "CFBundleDevelopmentRegion": "$(DEVELOPMENT_LANGUAGE)",
            "CFBundleExecutable": "${EXECUTABLE_NAME}",
            "CFBundlePackageType": "$(PRODUCT_BUNDLE_PACKAGE_TYPE)",
            "IOKitPersonalities": {"P": {"CFBundleIdentifier": "$(PRODUCT_BUNDLE_IDENTIFIER)",
                                         "IOUserServerName":
                                             "$(PRODUCT_BUNDLE_IDENTIFIER:rfc1034identifier)",
                                         "List": ["$(PRODUCT_NAME:lower)"]}}})
        self.assertEqual(info["CFBundleDevelopmentRegion"], "en")
        self.assertEqual(info["CFBundleExecutable"], "SampleDext")
        self.assertEqual(info["CFBundlePackageType"], "DEXT")
        p = info["IOKitPersonalities"]["P"]
        self.assertEqual(p["CFBundleIdentifier"], "com.example.sample_driver")
        self.assertEqual(p["IOUserServerName"], "com.example.sample-driver")
        self.assertEqual(p["List"], ["sampledext"])

    def test_an_unset_setting_becomes_empty_with_a_warning(self):
        info, err = self.process({"CFBundleExecutable": "$(NOT_SET)"})
        self.assertEqual(info["CFBundleExecutable"], "")
        self.assertIn("$(NOT_SET) is not set", err)


if __name__ == "__main__":
    unittest.main()
