#!/usr/bin/env python3
"""The darwin check: compiles one source file for a Mac target, as Xcode would, on Linux.

    darwin_check.py --clang clang++-19 --target arm64-apple-driverkit21.0 \
        --sdk emu/driverkit-sdk --libcxx /usr/lib/llvm-19/include/c++/v1 \
        --emulated-sdk emu/include --include-dirs 'dir1|dir2' [--drop-dirs 'dir'] \
        [--lang c++|c] [--check-new-order] source.cpp

The compiler sees no Linux header: -nostdinc -nostdinc++, then only
  - the project's own include directories (--include-dirs, as CMake gives them to the target,
    minus --drop-dirs, e.g. the Linux stand-ins for SDK headers),
  - libc++'s headers (Debian's libc++-19-dev) with a Darwin __config_site from the SDK directory,
  - the compiler's own headers (stdint.h, stddef.h, stdarg.h, stdbool.h...),
  - the SDK directory's C library, shaped as the DriverKit SDK's (emu/driverkit-sdk/README.md),
  - the emulated DriverKit, PCIDriverKit and app-side headers (--emulated-sdk), searched last and
    as system headers, as an SDK's frameworks are on a Mac.
The target triple gives Darwin's type model (uint64_t is unsigned long long, long and pointers
are 64-bit) and the Xcode warnings of macos/config/*.xcconfig are errors.

With --check-new-order it also finds where libc++'s <new> would first be read after a DriverKit
header. DriverKit declares the global placement `void* operator new(size_t, void*) noexcept`
(xnu iokit/DriverKit/safe_allocation.h; Apple's documentation "DriverKit > operator new"), and
libc++'s <new> then fails with "cannot add 'abi_tag' attribute in a redeclaration". Apple's
DriverKit headers include no C++ library header, but the emulated ones do (<tuple>,
<functional>), so by the time a dext's own `#include <new>` is reached here libc++ has already
read it and the compiler cannot fail as a Mac does; the include order is checked from the
preprocessor's record of every #include directive instead.

Exit status 0 if the file compiles (and the order is right), 1 otherwise, with the reason.
"""

import argparse
import os
import re
import shlex
import subprocess
import sys

# Xcode's warnings for the project (macos/config/Shared.xcconfig): WARNING_CFLAGS,
# GCC_TREAT_WARNINGS_AS_ERRORS, CLANG_WARN_SUSPICIOUS_IMPLICIT_CONVERSION (-Wconversion; Xcode
# keeps -Wno-sign-conversion unless CLANG_WARN_IMPLICIT_SIGN_CONVERSION is set).
WARNINGS = ["-Wall", "-Wextra", "-Werror", "-Wno-unused-parameter", "-Wconversion",
            "-Wno-sign-conversion"]

# DriverKit headers that declare no class and so, on a Mac, do not bring in the placement
# operator new (plain C definitions: return codes, types, registry keys, PCI constants).
PLAIN_C_HEADERS = {"IOReturn.h", "IOTypes.h", "IOKitKeys.h", "IORPC.h",
                   "IOPCIFamilyDefinitions.h"}


def split_dirs(value):
    return [d for d in (value or "").split("|") if d]


def norm(path):
    return os.path.normpath(os.path.abspath(path))


def under(path, root):
    return path == root or path.startswith(root + os.sep)


class Check:
    def __init__(self, args):
        self.args = args
        self.clang = args.clang
        self.sdk = norm(args.sdk)
        self.emulated = norm(args.emulated_sdk)
        self.libcxx = norm(args.libcxx)
        self.resource = norm(args.resource_dir or subprocess.run(
            [self.clang, "-print-resource-dir"], capture_output=True, text=True,
            check=True).stdout.strip())
        dropped = {norm(d) for d in split_dirs(args.drop_dirs)}
        self.user_dirs = []
        for d in split_dirs(args.include_dirs):
            d = norm(d)
            if d in dropped or d == self.emulated or d in self.user_dirs:
                continue
            self.user_dirs.append(d)
        self.system_dirs = []
        if args.lang == "c++":
            self.system_dirs += [os.path.join(self.sdk, "libcxx"), self.libcxx]
        self.system_dirs += [os.path.join(self.resource, "include"),
                             os.path.join(self.sdk, "usr", "include"), self.emulated]
        self.new_cache = {}

    def flags(self):
        f = [f"--target={self.args.target}", "-nostdinc", "-fblocks"]
        if self.args.lang == "c++":
            f += ["-x", "c++", f"-std={self.args.std or 'c++20'}", "-nostdinc++",
                  "-fno-exceptions", "-fno-rtti"]
        else:
            f += ["-x", "c", f"-std={self.args.std or 'c11'}"]
        f += WARNINGS
        f += [f"-I{d}" for d in self.user_dirs]
        for d in self.system_dirs:
            f += ["-isystem", d]
        return f

    def compile(self, source):
        if source.endswith((".h", ".hpp")):
            # A header is compiled as the only #include of a file, read from standard input.
            cmd = [self.clang] + self.flags() + ["-fsyntax-only", "-"]
            stdin = f'#include "{source}"\n'
        else:
            cmd = [self.clang] + self.flags() + ["-fsyntax-only", source]
            stdin = None
        r = subprocess.run(cmd, input=stdin, capture_output=True, text=True)
        return cmd, r.returncode, r.stdout + r.stderr

    # --- the <new> order ---------------------------------------------------------------------

    def is_user(self, path):
        return not any(under(path, root) for root in
                       (self.sdk, self.emulated, self.libcxx, self.resource))

    def resolve(self, name, quoted, includer):
        dirs = ([os.path.dirname(includer)] if quoted else []) + self.user_dirs + self.system_dirs
        for d in dirs:
            p = os.path.join(d, name)
            if os.path.isfile(p):
                return norm(p)
        return None

    def is_driverkit(self, path):
        rel = os.path.relpath(path, self.emulated)
        top = rel.split(os.sep)[0]
        return (under(path, self.emulated) and top in ("DriverKit", "PCIDriverKit")
                and os.path.basename(path) not in PLAIN_C_HEADERS)

    def pulls_new(self, name):
        """Whether libc++'s header <name> reads libc++'s <new> (itself, or on the way)."""
        if name not in self.new_cache:
            new_path = os.path.join(self.libcxx, "new")
            cmd = [self.clang] + self.flags() + ["-E", "-o", "-", "-"]
            r = subprocess.run(cmd, input=f"#include <{name}>\n", capture_output=True, text=True)
            self.new_cache[name] = any(
                norm(m.group(1)) == new_path
                for m in re.finditer(r'^# \d+ "([^"]+)" 1', r.stdout, re.M))
        return self.new_cache[name]

    def new_order(self, source):
        """Returns a message if <new> would be read after a DriverKit header on a Mac."""
        cmd = [self.clang] + self.flags() + ["-E", "-dI", "-o", "-", source]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            return f"preprocessing failed:\n{r.stderr}"
        marker = re.compile(r'^# (\d+) "([^"]*)"(.*)$')
        directive = re.compile(r'^#\s*(include|import|include_next)\s*([<"])([^>"]+)[>"]')
        current, line = None, 0
        first_dk = None  # (file, line, header) of the first DriverKit header a project file includes
        new_read = False  # libc++'s <new> read (on a Mac) before that
        lines = r.stdout.split("\n")
        for i, text in enumerate(lines):
            m = marker.match(text)
            if m:
                current, line = m.group(2), int(m.group(1))
                continue
            d = directive.match(text) if text.endswith("/* clang -E -dI */") else None
            if not d:
                line += 1
                continue
            where = line
            nxt = marker.match(lines[i + 1]) if i + 1 < len(lines) else None
            if nxt and nxt.group(2) == current and not nxt.group(3).strip():
                where = int(nxt.group(1))
            if current is None or current.startswith("<") or not self.is_user(norm(current)):
                continue
            name = d.group(3)
            path = self.resolve(name, d.group(2) == '"', norm(current))
            if path is None:
                continue
            if under(path, self.libcxx) or under(path, os.path.join(self.sdk, "libcxx")):
                if self.pulls_new(name):
                    if first_dk is None:
                        new_read = True
                    elif not new_read:
                        dk_file, dk_line, dk_name = first_dk
                        return (
                            f"{current}:{where}: error: <{name}> reads libc++'s <new> after "
                            f"DriverKit headers ({dk_file}:{dk_line} includes <{dk_name}>).\n"
                            "On a Mac, DriverKit has then declared the placement "
                            "`void* operator new(size_t, void*) noexcept` and libc++'s <new> "
                            "fails with \"cannot add 'abi_tag' attribute in a redeclaration\".\n"
                            "Include <new> (and the other C++ library headers) before the "
                            "DriverKit headers.")
            elif first_dk is None and self.is_driverkit(path):
                first_dk = (current, where, os.path.relpath(path, self.emulated))
        return None


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--clang", required=True)
    p.add_argument("--target", required=True)
    p.add_argument("--sdk", required=True)
    p.add_argument("--libcxx", required=True)
    p.add_argument("--resource-dir")
    p.add_argument("--emulated-sdk", required=True)
    p.add_argument("--include-dirs", default="")
    p.add_argument("--drop-dirs", default="")
    p.add_argument("--lang", choices=["c++", "c"], default="c++")
    p.add_argument("--std")
    p.add_argument("--check-new-order", action="store_true")
    p.add_argument("source")
    args = p.parse_args()

    if args.lang == "c++" and not os.path.isfile(os.path.join(args.libcxx, "new")):
        print(f"darwin check: libc++'s headers are not at {args.libcxx}; "
              "install libc++-19-dev (scripts/setup.sh)")
        return 1
    check = Check(args)
    source = norm(args.source)
    cmd, status, output = check.compile(source)
    if status != 0:
        print(f"darwin check FAILED: {source} does not compile for {args.target}")
        print("command: " + shlex.join(cmd))
        print(output, end="")
        return 1
    if args.check_new_order:
        problem = check.new_order(source)
        if problem:
            print(f"darwin check FAILED: {source} ({args.target})")
            print(problem)
            return 1
    print(f"darwin check: {source} compiles for {args.target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
