#!/usr/bin/env python3
"""The dext bundle's Info.plist and the Xcode settings carry the project version.

  check_versions.py VERSION BUNDLE_INFO_PLIST SHARED_XCCONFIG

BUNDLE_INFO_PLIST is the built FpgaDext.dext/Info.plist: CFBundleShortVersionString and
CFBundleVersion must be VERSION. SHARED_XCCONFIG is macos/config/Shared.xcconfig, from which
Xcode takes MARKETING_VERSION and CURRENT_PROJECT_VERSION (it does not read CMakeLists.txt).
"""

import plistlib
import re
import sys


def main():
    version, info_plist, xcconfig = sys.argv[1:4]
    errors = []
    with open(info_plist, "rb") as f:
        info = plistlib.load(f)
    for key in ("CFBundleShortVersionString", "CFBundleVersion"):
        if info.get(key) != version:
            errors.append(f"{info_plist}: {key} is {info.get(key)!r}, the project is {version}")
    settings = {}
    with open(xcconfig, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"\s*([A-Z_]+)\s*=\s*(.*?)\s*$", line)
            if m:
                settings[m.group(1)] = m.group(2)
    for key in ("MARKETING_VERSION", "CURRENT_PROJECT_VERSION"):
        if settings.get(key) != version:
            errors.append(f"{xcconfig}: {key} is {settings.get(key)!r}, the project is {version}")
    for e in errors:
        print(e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
