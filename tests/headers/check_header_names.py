#!/usr/bin/env python3
"""Checks that each emulated Apple header declares the names its manifest lists, and no more.

A manifest, tests/headers/manifests/<Dir>/<File>.names, lists the names Apple's header of that
path declares itself (see tests/headers/README.md for the format). This script parses the
emulated header alone with libclang, collects the names declared in that file, and compares:

  check MANIFEST...   fail on names declared but not listed, names listed but not declared,
                      and `!missing` names that are in fact declared (a stale line)
  coverage            fail when a header under emu/include/{DriverKit,PCIDriverKit,IOKit} has
                      no manifest
  table               print the markdown status table of all manifests (for docs/emulation.md)
  names HEADER        print the names the checker collects from a header (to start a manifest)
"""

import argparse
import os
import re
import sys

try:
    import clang.cindex as ci
except ImportError:  # a Python outside Debian's (pyenv, venv) does not see python3-clang-19
    sys.path.append("/usr/lib/python3/dist-packages")
    import clang.cindex as ci

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DEFAULT_INCLUDE = os.path.join(ROOT, "emu", "include")
DEFAULT_MANIFESTS = os.path.join(HERE, "manifests")
COVERED_DIRS = ("DriverKit", "PCIDriverKit", "IOKit")
# Apple's app-side IOKit headers are C headers: C programs include them, so they must also
# compile alone as C.
C_DIRS = ("IOKit",)
LIBCLANG_CANDIDATES = (
    "/usr/lib/llvm-19/lib/libclang.so.1",
    "/usr/lib/llvm-19/lib/libclang-19.so.1",
    "/usr/lib/llvm-19/lib/libclang.so",
)

IGNORED_NAMES = {"gMetaClass", "getMetaClass", "super", "ivars", "lvars"}
IGNORED_SUFFIXES = ("_Impl", "_Args", "_Dispatch")
SKIPPED_NAMESPACES = {"fpgadext"}

K = ci.CursorKind
NAMED_DECLS = {
    K.CLASS_DECL, K.STRUCT_DECL, K.UNION_DECL, K.ENUM_DECL, K.TYPEDEF_DECL, K.TYPE_ALIAS_DECL,
    K.TYPE_ALIAS_TEMPLATE_DECL, K.FUNCTION_DECL, K.FUNCTION_TEMPLATE, K.VAR_DECL,
    K.CLASS_TEMPLATE, K.CXX_METHOD, K.FIELD_DECL, K.CONVERSION_FUNCTION, K.USING_DECLARATION,
    K.CONCEPT_DECL,
}
RECORDS = {K.CLASS_DECL, K.STRUCT_DECL, K.UNION_DECL, K.CLASS_TEMPLATE}
SKIPPED_MEMBER_KINDS = {K.CONSTRUCTOR, K.DESTRUCTOR, K.FRIEND_DECL, K.CXX_BASE_SPECIFIER,
                        K.CXX_ACCESS_SPEC_DECL, K.STATIC_ASSERT}


def load_libclang():
    if ci.Config.loaded:
        return
    for path in LIBCLANG_CANDIDATES:
        if os.path.exists(path):
            ci.Config.set_library_file(path)
            return


def ignored(name):
    last = name.split("::")[-1]
    return (not last or "emulat" in name.lower() or last.startswith("__")
            or last in IGNORED_NAMES or last.endswith(IGNORED_SUFFIXES))


def anonymous(cursor):
    s = cursor.spelling
    return not s or "(unnamed" in s or "(anonymous" in s


class Manifest:
    """One .names file: the names Apple declares, `!missing` and `+emu` lines, the source."""

    def __init__(self, path):
        self.path = path
        self.names, self.missing, self.emu, self.sources = set(), set(), set(), []
        self.subset = False  # '# subset:' — the emulation provides part of the header by design
        self.errors = []
        with open(path, encoding="utf-8") as f:
            for number, raw in enumerate(f, 1):
                line = raw.strip()
                m = re.match(r"#\s*source:\s*(.*)", line)
                if m:
                    self.sources.append(m.group(1).strip())
                    continue
                if re.match(r"#\s*subset:", line):
                    self.subset = True
                    continue
                line = re.sub(r"\s+#.*$", "", line)
                if not line or line.startswith("#"):
                    continue
                parts = line.split()
                # An operator's name may hold spaces ("X::operator new", "X::operator bool").
                if len(parts) > 1 and "operator" in " ".join(parts):
                    head = 1 if parts[0] in ("!missing", "+emu") else 0
                    parts = parts[:head] + [" ".join(parts[head:])]
                if parts[0] == "!missing" and len(parts) == 2:
                    self.missing.add(parts[1])
                elif parts[0] == "+emu" and len(parts) == 2:
                    self.emu.add(parts[1])
                elif len(parts) == 1 and not parts[0].startswith(("!", "+")):
                    self.names.add(parts[0])
                else:
                    self.errors.append(f"{path}:{number}: cannot read '{line}'")
        if not self.sources:
            self.errors.append(f"{path}: no '# source:' line naming the Apple file(s)")
        for name in sorted((self.names | self.emu) & self.missing):
            self.errors.append(f"{path}: '{name}' is listed both as declared and as !missing")


def include_guard(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r"//[^\n]*", "", text)
    m = re.match(r"\s*#\s*ifndef\s+(\w+)\s*\n\s*#\s*define\s+\1\s*\n", text)
    return m.group(1) if m else None


class Collector:
    def __init__(self, header):
        self.header = os.path.realpath(header)
        self.names = set()

    def here(self, cursor):
        loc = cursor.location
        return loc.file is not None and os.path.realpath(loc.file.name) == self.header

    def add(self, name):
        if not ignored(name):
            self.names.add(name)

    def scope(self, cursor, prefix):
        """Declarations at namespace scope (the TU, a namespace, extern "C")."""
        for c in cursor.get_children():
            kind = c.kind
            if kind == K.NAMESPACE:
                if c.spelling in SKIPPED_NAMESPACES and not prefix:
                    continue
                if not self.here(c):
                    # A namespace reopened in this header still declares its members here.
                    self.scope(c, prefix + c.spelling + "::" if c.spelling else prefix)
                    continue
                if c.spelling:
                    self.add(prefix + c.spelling)
                self.scope(c, prefix + c.spelling + "::" if c.spelling else prefix)
            elif kind in (K.LINKAGE_SPEC, K.UNEXPOSED_DECL):
                self.scope(c, prefix)
            elif not self.here(c):
                continue
            elif kind == K.MACRO_DEFINITION:
                self.add(c.spelling)
            elif kind == K.USING_DIRECTIVE:
                self.names.add("using namespace " + " ".join(t.spelling for t in c.get_tokens())
                               .removeprefix("using namespace ").rstrip(" ;"))
            elif kind == K.ENUM_DECL:
                self.enum(c, prefix)
            elif kind in NAMED_DECLS:
                if not anonymous(c):
                    self.add(prefix + c.spelling)
                if kind in RECORDS and c.is_definition():
                    self.record(c, prefix + c.spelling if not anonymous(c) else None)

    def enum(self, c, prefix, member_prefix=None):
        if not anonymous(c):
            self.add(prefix + c.spelling)
        if not c.is_scoped_enum():
            for e in c.get_children():
                if e.kind == K.ENUM_CONSTANT_DECL:
                    self.add((member_prefix if member_prefix is not None else prefix) + e.spelling)

    def record(self, c, qualified):
        """Public and protected members of a class defined here, as Class::member."""
        if qualified is None or ignored(qualified):
            return
        for m in c.get_children():
            if m.kind in SKIPPED_MEMBER_KINDS or not self.here(m):
                continue
            if m.access_specifier not in (ci.AccessSpecifier.PUBLIC, ci.AccessSpecifier.PROTECTED):
                continue
            if m.kind == K.ENUM_DECL:
                self.enum(m, qualified + "::", qualified + "::")
            elif m.kind in NAMED_DECLS and not anonymous(m):
                self.add(qualified + "::" + m.spelling)
                if m.kind in RECORDS and m.is_definition():
                    self.record(m, qualified + "::" + m.spelling)


def parse(header, include_dir, language="c++"):
    """Returns (names declared in header, errors) parsing a TU that includes only the header."""
    load_libclang()
    rel = os.path.relpath(os.path.realpath(header), os.path.realpath(include_dir))
    source = f"#include <{rel}>\n"
    std = "-std=c++20" if language == "c++" else "-std=c11"
    args = ["-x", language, std, "-fblocks", "-I" + include_dir]
    name = "header_alone.cpp" if language == "c++" else "header_alone.c"
    index = ci.Index.create()
    tu = index.parse(name, args=args, unsaved_files=[(name, source)],
                     options=ci.TranslationUnit.PARSE_DETAILED_PROCESSING_RECORD
                     | ci.TranslationUnit.PARSE_SKIP_FUNCTION_BODIES)
    errors = [f"{d.location.file}:{d.location.line}: {d.spelling}" if d.location.file
              else d.spelling
              for d in tu.diagnostics if d.severity >= ci.Diagnostic.Error]
    collector = Collector(header)
    collector.scope(tu.cursor, "")
    guard = include_guard(header)
    collector.names.discard(guard)
    return collector.names, errors


def header_for(manifest_path, manifests_dir, include_dir):
    rel = os.path.relpath(manifest_path, manifests_dir)
    return rel[: -len(".names")], os.path.join(include_dir, rel[: -len(".names")])


def check(manifest_path, manifests_dir, include_dir, out=sys.stdout, c_dirs=C_DIRS):
    """Returns True when the header matches its manifest; prints what differs."""
    rel, header = header_for(manifest_path, manifests_dir, include_dir)
    if not os.path.exists(manifest_path):
        print(f"{manifest_path}: no such manifest (removed since CMake last ran?)", file=out)
        return False
    manifest = Manifest(manifest_path)
    problems = list(manifest.errors)
    if not os.path.exists(header):
        listed = sorted(manifest.names | manifest.emu)
        if listed:
            problems.append(f"{rel}: the header does not exist, yet the manifest lists names it "
                            f"declares (mark them !missing): {', '.join(listed)}")
    else:
        declared, errors = parse(header, include_dir)
        for e in errors:
            problems.append(f"{rel} does not compile on its own: {e}")
        if rel.split("/")[0] in c_dirs:
            for e in parse(header, include_dir, "c")[1]:
                problems.append(f"{rel} does not compile on its own as C: {e}")
        expected = manifest.names | manifest.emu
        extra = sorted(declared - expected - manifest.missing)
        absent = sorted(expected - declared)
        stale = sorted(manifest.missing & declared)
        if extra:
            problems.append(f"{rel} declares names Apple's header does not (move them to the "
                            f"Apple header that declares them, or list them with +emu and a "
                            f"reason): {', '.join(extra)}")
        if absent:
            problems.append(f"{rel} does not declare names its manifest lists (declare them, "
                            f"or mark them !missing): {', '.join(absent)}")
        if stale:
            problems.append(f"{rel} declares names its manifest marks !missing (remove the "
                            f"!missing): {', '.join(stale)}")
    for p in problems:
        print(p, file=out)
    if not problems:
        print(f"{rel}: ok ({len(manifest.names | manifest.emu)} names, "
              f"{len(manifest.missing)} missing)", file=out)
    return not problems


def all_manifests(manifests_dir):
    found = []
    for dirpath, _, files in os.walk(manifests_dir):
        found += [os.path.join(dirpath, f) for f in files if f.endswith(".names")]
    return sorted(found)


def coverage(manifests_dir, include_dir, out=sys.stdout):
    missing = []
    for d in COVERED_DIRS:
        for dirpath, _, files in os.walk(os.path.join(include_dir, d)):
            for f in files:
                rel = os.path.relpath(os.path.join(dirpath, f), include_dir)
                if not os.path.exists(os.path.join(manifests_dir, rel + ".names")):
                    missing.append(rel)
    for rel in sorted(missing):
        print(f"{rel}: no manifest tests/headers/manifests/{rel}.names", file=out)
    if not missing:
        print(f"every header under {', '.join(COVERED_DIRS)} has a manifest", file=out)
    return not missing


def table(manifests_dir, include_dir, out=sys.stdout):
    print("| header | status | missing | Apple source |", file=out)
    print("|---|---|---|---|", file=out)
    for path in all_manifests(manifests_dir):
        rel, header = header_for(path, manifests_dir, include_dir)
        m = Manifest(path)
        if not os.path.exists(header):
            status = "absent"
        else:
            status = "partial" if m.missing else "complete"
            if m.subset:
                status = "subset" + (f" ({len(m.missing)} !missing)" if m.missing else "")
        missing = ", ".join(f"`{n}`" for n in sorted(m.missing)) or "—"
        source = "; ".join(m.sources) or "—"
        print(f"| `<{rel}>` | {status} | {missing} | {source} |", file=out)
    return True


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--include-dir", default=DEFAULT_INCLUDE)
    p.add_argument("--manifests", default=DEFAULT_MANIFESTS)
    p.add_argument("--table", action="store_true", help="same as the 'table' command")
    p.add_argument("command", nargs="?", choices=["check", "coverage", "table", "names"])
    p.add_argument("paths", nargs="*")
    a = p.parse_args(argv)
    inc, man = os.path.abspath(a.include_dir), os.path.abspath(a.manifests)
    command = "table" if a.table else a.command
    if command == "table":
        return 0 if table(man, inc) else 1
    if command == "coverage":
        return 0 if coverage(man, inc) else 1
    if command == "names":
        for h in a.paths:
            names, errors = parse(os.path.abspath(h), inc)
            for e in errors:
                print("error: " + e, file=sys.stderr)
            print("\n".join(sorted(names)))
        return 0
    if command == "check":
        paths = [os.path.abspath(x) for x in a.paths] or all_manifests(man)
        results = [check(x, man, inc) for x in paths]
        return 0 if all(results) else 1
    p.print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main())
