#!/usr/bin/env python3
"""Writes a dext bundle's Info.plist as Xcode's Info.plist processing would: build settings
written $(NAME) or ${NAME} (also with Xcode's :rfc1034identifier, :c99extidentifier, :identifier,
:lower, :upper modifiers) are replaced by their values, and the keys Xcode fills when the file
leaves them out (CFBundleExecutable, CFBundleIdentifier, CFBundleName, CFBundlePackageType) are
added. Used by fpgadext_add_dext (Dext.cmake).

  dext_plist.py --input Info.plist --output <bundle>/Info.plist NAME=VALUE...
  dext_plist.py --entitlements --input X.entitlements --output <bundle>/Entitlements.plist ...

With --entitlements the file is an entitlements property list: settings are substituted (Xcode
does so when it signs) and no key is added.

A setting that is not given is replaced by an empty string, as Xcode does, with a warning.
"""

import argparse
import plistlib
import re
import sys

SETTING = re.compile(r"\$(?:\(([A-Za-z_][A-Za-z0-9_]*)((?::[a-z0-9]+)*)\)"
                     r"|\{([A-Za-z_][A-Za-z0-9_]*)((?::[a-z0-9]+)*)\})")
FILLED = {"CFBundleExecutable": "EXECUTABLE_NAME", "CFBundleIdentifier": "PRODUCT_BUNDLE_IDENTIFIER",
          "CFBundleName": "PRODUCT_NAME", "CFBundlePackageType": "PRODUCT_BUNDLE_PACKAGE_TYPE"}


def modify(value, modifiers):
    for m in filter(None, modifiers.split(":")):
        if m == "rfc1034identifier":
            value = re.sub(r"[^A-Za-z0-9.-]", "-", value)
        elif m in ("c99extidentifier", "identifier"):
            value = re.sub(r"[^A-Za-z0-9_]", "_", value)
            if value[:1].isdigit():
                value = "_" + value
        elif m == "lower":
            value = value.lower()
        elif m == "upper":
            value = value.upper()
    return value


def substitute(obj, settings, unknown):
    if isinstance(obj, str):
        def one(m):
            name = m.group(1) or m.group(3)
            if name not in settings:
                unknown.add(name)
                return ""
            return modify(settings[name], m.group(2) or m.group(4) or "")
        return SETTING.sub(one, obj)
    if isinstance(obj, dict):
        return {substitute(k, settings, unknown): substitute(v, settings, unknown)
                for k, v in obj.items()}
    if isinstance(obj, list):
        return [substitute(v, settings, unknown) for v in obj]
    return obj


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--input", required=True)
    p.add_argument("--output", required=True)
    p.add_argument("--entitlements", action="store_true",
                   help="the input is an entitlements file: substitute only, add no keys")
    p.add_argument("settings", nargs="*", help="NAME=VALUE build settings")
    a = p.parse_args(argv)
    settings = {}
    for s in a.settings:
        name, _, value = s.partition("=")
        settings[name] = value
    with open(a.input, "rb") as f:
        try:
            info = plistlib.load(f)
        except Exception as e:  # plistlib raises several types for a malformed file
            print(f"{a.input}: not a property list: {e}", file=sys.stderr)
            return 1
    if not isinstance(info, dict):
        print(f"{a.input}: the top level is not a dictionary", file=sys.stderr)
        return 1
    unknown = set()
    info = substitute(info, settings, unknown)
    for name in sorted(unknown):
        print(f"{a.input}: warning: build setting $({name}) is not set; replaced by an empty "
              f"string as Xcode does", file=sys.stderr)
    for key, setting in ({} if a.entitlements else FILLED).items():
        if key not in info and settings.get(setting):
            info[key] = settings[setting]
    with open(a.output, "wb") as f:
        plistlib.dump(info, f, fmt=plistlib.FMT_XML, sort_keys=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
