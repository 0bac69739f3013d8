#!/usr/bin/env python3
"""The emulation's stand-in for Apple's iig: turns a DriverKit `.iig` class declaration file into
the C++ header (and `.iig.cpp`) the emulated object model needs.

    iig.py --input X.iig --header OUT/X.h --impl OUT/X.iig.cpp [-I DIR]... [-D NAME[=VALUE]]...
           [-U NAME]... [--depfile OUT/X.d]

Text outside class declarations is passed through; `#include <.../Name.iig>` and `"Name.iig"`
become `.h`. Each `class [annotations] C : public S { ... };` is replaced by the emulation's form
of what iig generates (xnu iokit/DriverKit/OSObject.iig, emu/include/DriverKit/OSObject.h):

  * `#define C_<Method>_Args <parameters, default values removed>` for every method (IMPL).
  * `struct C_IVars; struct C_LocalIVars;`, `using super = S;`, the `ivars`/`lvars` union.
  * LOCALONLY methods, static methods and the framework's plain virtuals (init, free,
    ExternalMethod; see FRAMEWORK_LOCAL_METHODS) are kept as written.
  * `override` RPC methods become `<ret> <M>_Impl(<params>) override;` (the framework's
    non-virtual wrapper `M(..., OSDispatchMethod supermethod)` stays visible).
  * New RPC methods get a wrapper `<ret> M(<params>, OSDispatchMethod supermethod = nullptr)` and
    `virtual <ret> M_Impl(<params>)`.
  * `TYPE(X::M)` methods become `<ret> <Name>_Impl(<params>)` plus
    `kern_return_t CreateAction<Name>(size_t referenceSize, OSAction** action)`.
  * `static kern_return_t _Dispatch(OSObject* self, const IORPC rpc)` calling C's own `_Impl`s
    non-virtually (what makes SUPERDISPATCH reach a superclass's implementation).
  * `class EXTENDS(C) X { ... };` adds its methods to C (declared in the same file); a root class
    without a base (OSObject.iig's OSMetaClassBase, all methods LOCALONLY) generates nothing.
  * `#if` inside a class is decided at generation time (iig_pp.py); `#pragma mark` is dropped.

The lexer is iig_lex.py, the parser iig_parse.py (README.md: the grammar and the rules). What it
cannot parse is an error `file:line: error: ...` and exit status 1; it never guesses.
Python 3 standard library only.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from dataclasses import dataclass, field

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from iig_lex import IigError, Token  # noqa: E402
from iig_parse import NAME, ClassDecl, Method, Param, Parser  # noqa: E402,F401

# Methods the emulated framework (emu/include/DriverKit/*.h) declares as plain virtuals — LOCALONLY
# in Apple's .iig files — so an `override` of them in a dext class is kept as written instead of
# becoming `<Method>_Impl`. Bases declared in .iig files the input includes are read instead.
FRAMEWORK_LOCAL_METHODS = {"init", "free", "ExternalMethod"}

# Mac SDK headers .iig files include (<Availability.h>, <TargetConditionals.h>) are passed through
# like every other include; emu/iig/compat provides stand-ins (see Iig.cmake).

MODULES = ("iig.py", "iig_lex.py", "iig_parse.py", "iig_pp.py")


# ---------------------------------------------------------------------------------------------
# Classification


@dataclass
class KnownClass:
    base: str
    local: set[str]
    rpc: set[str]
    invokereply: set[str] = field(default_factory=set)


def _inherited(decl: ClassDecl, known: dict[str, KnownClass], method: str
               ) -> tuple[str, str] | None:
    """(kind, declaring class) of `method` in the known bases of `decl`."""
    seen = set()
    cls = decl.base
    while cls in known and cls not in seen:
        seen.add(cls)
        if method in known[cls].local:
            return "local", cls
        if method in known[cls].rpc:
            return "rpc", cls
        cls = known[cls].base
    return ("local", decl.base) if method in FRAMEWORK_LOCAL_METHODS else None


def resolve_type(decl: ClassDecl, known: dict[str, KnownClass], target: str, path: str,
                 line: int, where: str) -> str:
    """TYPE(Class::Method) as written; TYPE(Method) names a method of the class or a known
    base, and becomes Declaring::Method."""
    if re.fullmatch(rf"{NAME}::{NAME}", target):
        return target
    if re.fullmatch(NAME, target):
        if any(m.name == target for m in decl.methods):
            return f"{decl.name}::{target}"
        found = _inherited(decl, known, target)
        if found is not None and found[1] in known:
            return f"{found[1]}::{target}"
        raise IigError(path, line, f"{where}: TYPE({target}): no method {target} in "
                                   f"{decl.name} or its known base classes; name the method as "
                                   "Class::Method")
    raise IigError(path, line, f"{where}: TYPE(...) must name a method as Class::Method or "
                               f"Method (found '{target}')")


def _inherited_invokereply(decl: ClassDecl, known: dict[str, KnownClass], method: str) -> bool:
    seen = set()
    cls = decl.base
    while cls in known and cls not in seen:
        seen.add(cls)
        if method in known[cls].invokereply:
            return True
        cls = known[cls].base
    return False


def classify(decl: ClassDecl, known: dict[str, KnownClass], path: str) -> None:
    rpc_names: dict[str, Method] = {}
    local_names: dict[str, Method] = {}
    for m in decl.methods:
        where = f"{decl.name}::{m.name}"
        inherited = _inherited(decl, known, m.name)
        m.invokereply = "INVOKEREPLY" in m.annotations or (
            m.is_override and _inherited_invokereply(decl, known, m.name))
        if "LOCALONLY" in m.annotations or "static" in m.specifiers or m.name in ("init", "free"):
            m.kind = "local"
        elif "TYPE" in m.annotations:
            m.kind = "type"
        elif m.is_override or (m.is_final and inherited is not None):
            m.kind = "local" if inherited is not None and inherited[0] == "local" else "override"
        else:
            m.kind = "rpc"
        if m.kind == "type":
            m.type_target = resolve_type(decl, known, m.annotations["TYPE"] or "", path, m.line,
                                         where)
        for p in m.params:
            if "TYPE" in p.annotations:
                p.annotations["TYPE"] = resolve_type(decl, known, p.annotations["TYPE"] or "",
                                                     path, p.line, f"{where}: {p.name}")
        if m.kind in ("override", "rpc", "type"):
            if m.is_const:
                raise IigError(path, m.line, f"{where}: const methods cannot be iig RPC methods; "
                                             "mark it LOCALONLY")
            if m.kind != "type" and m.ret not in ("kern_return_t", "IOReturn", "void"):
                raise IigError(path, m.line, f"{where}: an iig RPC method returns kern_return_t "
                                             f"or void, not '{m.ret}'; mark it LOCALONLY for a "
                                             "plain C++ method")
        # Two RPC methods of one name would share C_M_Args and the message ID; a LOCALONLY
        # method may overload an RPC method (IOService::StringFromReturn in IOService.iig).
        if m.kind != "local" and m.name in rpc_names:
            raise IigError(path, m.line, f"{where}: overloading is not supported for iig RPC "
                                         "methods (another RPC method has the same name; mark "
                                         "one LOCALONLY or rename it)")
        (local_names if m.kind == "local" else rpc_names)[m.name] = m


def has_args(m: Method) -> bool:
    """iig writes C_M_Args for the methods that are not LOCALONLY: RPC, TYPE and KERNEL
    methods, static ones included; not for overrides of LOCALONLY methods (init, free)."""
    return "LOCALONLY" not in m.annotations and (m.kind != "local" or "static" in m.specifiers)


def analyse(classes: list[ClassDecl], known: dict[str, KnownClass], path: str) -> None:
    """Merges EXTENDS classes into the class they extend, classifies every method and records
    the classes in `known`."""
    by_name = {d.name: d for d in classes if d.extends is None}
    for ext in classes:
        if ext.extends is None:
            continue
        target = by_name.get(ext.extends)
        if target is None:
            raise IigError(path, ext.line, f"class {ext.name}: EXTENDS({ext.extends}) names no "
                                           "class declared in this file")
        target.members.append(("comment", f"// from class EXTENDS ({ext.extends}) {ext.name} "
                                          f"(line {ext.line})"))
        target.members.append(("access", "public"))
        for kind, member in ext.members:
            if kind == "method":
                assert isinstance(member, Method)
                member.access = "public"
                target.methods.append(member)
                target.members.append((kind, member))
            elif kind == "pp":
                target.members.append((kind, member))
    for decl in classes:
        if decl.extends is not None:
            continue
        classify(decl, known, path)
        known[decl.name] = KnownClass(
            decl.base, {m.name for m in decl.methods if m.kind == "local"},
            {m.name for m in decl.methods if m.kind in ("override", "rpc", "type")},
            {m.name for m in decl.methods if m.invokereply and m.kind != "local"})


# ---------------------------------------------------------------------------------------------
# Emission

_INCLUDE_IIG = re.compile(r'^(\s*#\s*include\s*)([<"])([^>"]*)\.iig([>"])')


def rewrite_pp(line: str) -> str:
    return _INCLUDE_IIG.sub(lambda m: f"{m.group(1)}{m.group(2)}{m.group(3)}.h{m.group(4)}",
                            line)


def included_iigs(tokens: list[Token]) -> list[str]:
    out = []
    for t in tokens:
        if t.kind == "pp":
            m = re.match(r'\s*#\s*include\s*[<"]([^>"]*\.iig)[>"]', t.text)
            if m:
                out.append(m.group(1))
    return out


def impl_params(m: Method) -> str:
    """The parameters of M_Impl (and of C_M_Args): an INVOKEREPLY method also receives the
    message it answers, `const IORPC rpc`, first."""
    return ", ".join((["const IORPC rpc"] if m.invokereply and m.kind != "local" else []) +
                     [p.text for p in m.params])


def emit_placeholder(decl: ClassDecl) -> str:
    if decl.extends is not None:
        return (f"// class EXTENDS ({decl.extends}) {decl.name} (line {decl.line}): its methods "
                f"are declared in class {decl.extends} above.")
    return (f"// class {decl.name} (line {decl.line}): a root class whose methods are all "
            "LOCALONLY;\n// iig generates nothing for it (the framework's headers declare it).")


def emit_class(decl: ClassDecl) -> str:
    c, s = decl.name, decl.base
    notes = " ".join(k if v is None else f"{k}({v})" for k, v in decl.annotations.items())
    out = [f"// ---- class {c} (from line {decl.line}) ----"]
    if "KERNEL" in decl.annotations or "NATIVE" in decl.annotations:
        out.append(f"// {notes}: on a Mac the kernel or the DriverKit runtime implements this "
                   "class;\n// the emulation's runtime implements its methods (emu/include).")
    for m in decl.methods:
        if has_args(m):
            out.append(f"#define {c}_{m.name}_Args {impl_params(m)}".rstrip())
    out.append("")
    out.append(f"struct {c}_IVars;")
    out.append(f"struct {c}_LocalIVars;")
    out.append("")
    out.append(f"class {c} : public {s} {{")
    out.append(f"  OSDeclareEmulatedClass({c})")
    out.append("")
    out.append(" public:")
    out.append(f"  using super = {s};")
    out.append("  union {")
    out.append(f"    {c}_IVars* ivars = nullptr;")
    out.append(f"    {c}_LocalIVars* lvars;")
    out.append("  };")
    access = "public"
    for kind, member in decl.members:
        if kind == "access":
            if member != access:
                out.append(f" {member}:")
                access = str(member)
            continue
        if kind in ("pp", "comment"):
            out.append(str(member))
            continue
        m = member
        assert isinstance(m, Method)
        params = impl_params(m)
        pure = " = 0" if m.is_pure else ""
        final = " final" if m.is_final else ""
        attrs = "".join(" " + a for a in m.attributes)
        if m.kind == "local":
            out.append(f"  {m.text};")
        elif m.kind == "override":
            out.append(f"  {m.ret} {m.name}_Impl({params}) override{final}{pure};")
        elif m.kind == "type":
            virtual = "virtual " if "virtual" in m.specifiers else ""
            out.append(f"  {virtual}{m.ret} {m.name}_Impl({params}){pure};")
            out.append(f"  kern_return_t CreateAction{m.name}(size_t referenceSize, "
                       "OSAction** action);")
        else:
            with_defaults = [p.text + (f" = {p.default}" if p.default is not None else "")
                             for p in m.params]
            wrapper = ", ".join(with_defaults + ["OSDispatchMethod supermethod = nullptr"])
            out.append(f"  {m.ret} {m.name}({wrapper}){attrs};")
            out.append(f"  virtual {m.ret} {m.name}_Impl({params}){final}{pure};")
    if access != "public":
        out.append(" public:")
    out.append("  static kern_return_t _Dispatch(OSObject* self, const IORPC rpc);")
    out.append("};")
    return "\n".join(out)


def emit_impl(decl: ClassDecl) -> str:
    c, s = decl.name, decl.base
    out = [f"// ---- class {c} ----"]
    abstract = any(m.is_pure for m in decl.methods)
    out.append(f"{'OSDefineAbstractMetaClass' if abstract else 'OSDefineMetaClass'}({c}, {s});")
    out.append("")
    cases = [m for m in decl.methods if m.kind in ("override", "rpc") and not m.is_pure]
    replies = [m for m in cases if m.invokereply]
    if replies:
        # The argument tuple the wrapper packs (IigPacked), from the method's function type.
        out.append("namespace {")
        for m in replies:
            out.append(f"using IigSignature_{c}_{m.name} = {m.ret}({m.args_text});")
        out.append("}  // namespace")
        out.append("")
    out.append(f"kern_return_t {c}::_Dispatch(OSObject* self, const IORPC rpc) {{")
    if cases:
        out.append("  switch (rpc.msgid) {")
        for m in cases:
            out.append(f'    case IORPCMethodID("{m.name}"):')
            if m.invokereply:
                call = f"static_cast<{c}*>(self)->{c}::{m.name}_Impl(rpc, a...)"
                packed = f"*static_cast<IigPacked<IigSignature_{c}_{m.name}>::type*>(rpc.args)"
                if m.ret == "void":
                    out.append(f"      std::apply([self, &rpc](auto&&... a) {{ {call}; }},")
                    out.append(f"                 {packed});")
                    out.append("      return kIOReturnSuccess;")
                else:
                    out.append(f"      return std::apply([self, &rpc](auto&&... a) {{ return "
                               f"{call}; }},")
                    out.append(f"                        {packed});")
                continue
            out.append(f"      return IORPCInvoke(rpc, &{c}::{m.name}_Impl, [self](auto&&... a) {{")
            out.append(f"        return static_cast<{c}*>(self)->{c}::{m.name}_Impl(a...);")
            out.append("      });")
        out.append("    default:")
        out.append(f"      return {s}::_Dispatch(self, rpc);")
        out.append("  }")
    else:
        out.append(f"  return {s}::_Dispatch(self, rpc);")
    out.append("}")
    for m in decl.methods:
        if m.kind == "rpc":
            sig = ", ".join([p.text for p in m.params] + ["OSDispatchMethod supermethod"])
            types = ", ".join(f"std::remove_const_t<decltype({p.name})>" for p in m.params)
            pack = "".join(f", {p.name}" for p in m.params)
            call_super = (f"IORPCCallSuper<{types}>(\n"
                          f'        this, supermethod, IORPCMethodID("{m.name}"){pack})')
            out.append("")
            out.append(f"{m.ret} {c}::{m.name}({sig}) {{")
            out.append("  if (supermethod) {")
            if m.ret == "void":
                out.append(f"    (void){call_super};")
                out.append("    return;")
            else:
                out.append(f"    return {call_super};")
            out.append("  }")
            names = ", ".join(([f'IORPC{{IORPCMethodID("{m.name}"), nullptr}}']
                               if m.invokereply else []) + [p.name for p in m.params])
            out.append(f"  {'' if m.ret == 'void' else 'return '}{m.name}_Impl({names});")
            out.append("}")
        elif m.kind == "type":
            # Parameter names chosen not to clash with the method's own.
            lam_params = ", ".join(["OSObject* iigTarget"] + [p.text for p in m.params])
            ret_kw = "" if m.ret == "void" else "return "
            out.append("")
            out.append(f"kern_return_t {c}::CreateAction{m.name}(size_t iigReferenceSize, "
                       "OSAction** iigAction) {")
            out.append("  return OSAction::CreateWithHandler(")
            out.append(f'      this, IORPCMethodID("{m.type_target}"),')
            out.append(f"      +[]({lam_params}) {{")
            out.append(f"        {ret_kw}static_cast<{c}*>(iigTarget)->{m.name}_Impl({m.names});")
            out.append("      },")
            out.append("      iigReferenceSize, iigAction);")
            out.append("}")
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------
# Driver


def load_known(path: str, search: list[str], known: dict[str, KnownClass],
               visited: set[str], deps: list[str],
               defines: dict[str, str | None] | None = None) -> None:
    """Reads the .iig files `path` includes (found next to it or in `search`), recursively, and
    records which methods their classes declare LOCALONLY or as RPC methods."""
    with open(path, encoding="utf-8") as f:
        parser = Parser(f.read(), path, defines)
    for inc in included_iigs(parser.tokens):
        for d in [os.path.dirname(path)] + search:
            cand = os.path.normpath(os.path.join(d, inc))
            if os.path.isfile(cand):
                break
        else:
            continue  # a framework .iig: its classes are hand-written in emu/include
        if cand in visited:
            continue
        visited.add(cand)
        deps.append(cand)
        load_known(cand, search, known, visited, deps, defines)
        with open(cand, encoding="utf-8") as f:
            p = Parser(f.read(), cand, defines)
        analyse(p.parse(), known, cand)


def generate(text: str, path: str, header_name: str,
             known: dict[str, KnownClass] | None = None,
             defines: dict[str, str | None] | None = None) -> tuple[str, str]:
    """Returns (header, impl) for the .iig source `text`."""
    known = dict(known or {})
    parser = Parser(text, path, defines)
    classes = parser.parse()
    analyse(classes, known, path)
    generated = [d for d in classes if not d.is_root and d.extends is None]

    base = os.path.basename(path)
    banner = (f"// Generated from {base} by emu/iig/iig.py — do not edit.\n"
              f"// The emulation's equivalent of the header Apple's iig writes; see "
              f"emu/iig/iig.py.\n")
    header = [banner, "#pragma once\n\n#include <DriverKit/OSObject.h>\n\n"]
    pos = 0
    class_iter = iter(classes)
    next_class = next(class_iter, None)
    for t in parser.tokens:
        if next_class is not None and t.start >= next_class.start:
            header.append(text[pos:next_class.start])
            header.append(emit_class(next_class) if next_class in generated
                          else emit_placeholder(next_class))
            pos = next_class.end
            next_class = next(class_iter, None)
        if t.start < pos:
            continue
        if t.kind == "pp":
            header.append(text[pos:t.start])
            header.append(rewrite_pp(t.text))
            pos = t.end
    header.append(text[pos:])
    header_text = "".join(header)
    if not header_text.endswith("\n"):
        header_text += "\n"

    impl = [banner, f'#include "{header_name}"\n']
    if any(m.kind == "type" for d in generated for m in d.methods):
        impl.append("#include <DriverKit/OSAction.h>\n")
    replies = any(m.invokereply and m.kind != "local" for d in generated for m in d.methods)
    if replies:
        impl.append("\n#include <tuple>")
    impl.append("\n#include <type_traits>\n")
    if replies:
        impl.append("\nnamespace {\n"
                    "// The arguments an INVOKEREPLY method's wrapper packs, from its signature.\n"
                    "template <class F>\nstruct IigPacked;\n"
                    "template <class R, class... A>\nstruct IigPacked<R(A...)> {\n"
                    "  using type = std::tuple<std::remove_const_t<A>...>;\n"
                    "};\n}  // namespace\n")
    for decl in generated:
        impl.append("\n" + emit_impl(decl) + "\n")
    return header_text, "".join(impl)


def parse_defines(defines: list[str], undefines: list[str]) -> dict[str, str | None]:
    table: dict[str, str | None] = {}
    for d in defines:
        name, eq, value = d.partition("=")
        table[name] = value if eq else "1"
    for u in undefines:
        table[u] = "\0undef"
    return table


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--input", required=True, help="the .iig file")
    ap.add_argument("--header", required=True, help="the header to write (X.h)")
    ap.add_argument("--impl", required=True, help="the implementation to write (X.iig.cpp)")
    ap.add_argument("-I", dest="include", action="append", default=[],
                    help="where to look for .iig files the input includes")
    ap.add_argument("-D", dest="define", action="append", default=[], metavar="NAME[=VALUE]",
                    help="a macro for #if decided at generation time (__IIG is 1)")
    ap.add_argument("-U", dest="undefine", action="append", default=[], metavar="NAME",
                    help="leave a macro undefined (e.g. -U __IIG)")
    ap.add_argument("--depfile", help="write a Makefile-style dependency file")
    args = ap.parse_args(argv)
    defines = parse_defines(args.define, args.undefine)
    try:
        with open(args.input, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        print(f"{args.input}: error: {e.strerror}", file=sys.stderr)
        return 1
    try:
        known: dict[str, KnownClass] = {}
        deps: list[str] = []
        load_known(args.input, args.include, known, {os.path.normpath(args.input)}, deps,
                   defines)
        header, impl = generate(text, args.input, os.path.basename(args.header), known, defines)
    except IigError as e:
        print(str(e), file=sys.stderr)
        return 1
    for out, content in ((args.header, header), (args.impl, impl)):
        os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
        with open(out, "w", encoding="utf-8") as f:
            f.write(content)
    if args.depfile:
        def esc(p: str) -> str:
            return os.path.abspath(p).replace(" ", "\\ ")
        here = os.path.dirname(os.path.abspath(__file__))
        inputs = [args.input] + [os.path.join(here, m) for m in MODULES] + deps
        with open(args.depfile, "w", encoding="utf-8") as f:
            f.write(f"{esc(args.header)}: " + " ".join(esc(p) for p in inputs) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
