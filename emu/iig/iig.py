#!/usr/bin/env python3
"""The emulation's stand-in for Apple's iig: turns a DriverKit `.iig` class declaration file into
the C++ header (and `.iig.cpp`) the emulated object model needs (DESIGN.md decision 3).

    iig.py --input X.iig --header OUT/X.h --impl OUT/X.iig.cpp [-I DIR]... [--depfile OUT/X.d]

Text outside class declarations is passed through; `#include <.../Name.iig>` and `"Name.iig"`
become `.h`. Each `class C : public S { ... };` is replaced by the emulation's form of what iig
generates (driverkit-semantics.md §6.1, emu/include/DriverKit/OSObject.h):

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

What it cannot parse is an error `file:line: error: ...` and exit status 1; it never guesses.
Python 3 standard library only.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from dataclasses import dataclass, field

# Annotations OSObject.iig defines (empty for the C++ compiler). Those taking an argument are
# written NAME(...).
ANNOTATIONS = {
    "KERNEL", "LOCAL", "LOCALONLY", "REMOTE", "LOCALHOST", "REPLY", "TARGET", "NATIVE",
    "SERIALIZABLE", "INVOKEREPLY",
}
ANNOTATIONS_WITH_ARG = {"TYPE", "QUEUENAME", "EXTENDS"}

# Methods the emulated framework (emu/include/DriverKit/*.h) declares as plain virtuals — LOCALONLY
# in Apple's .iig files — so an `override` of them in a dext class is kept as written instead of
# becoming `<Method>_Impl`. Bases declared in .iig files the input includes are read instead.
FRAMEWORK_LOCAL_METHODS = {"init", "free", "ExternalMethod"}

# Mac SDK headers .iig files include (<Availability.h>, <TargetConditionals.h>) are passed through
# like every other include; emu/iig/compat provides stand-ins (see Iig.cmake).

_ANNOTATION_WORD = re.compile(r"\b(?:" + "|".join(sorted(ANNOTATIONS)) + r")\b")

SPECIFIERS = {"virtual", "static", "inline", "explicit", "constexpr"}
TYPE_KEYWORDS = {
    "const", "volatile", "unsigned", "signed", "int", "char", "short", "long", "bool", "float",
    "double", "void", "struct", "class", "enum", "union", "typename", "auto", "restrict",
    "__restrict",
}


class IigError(Exception):
    def __init__(self, path: str, line: int, message: str):
        super().__init__(f"{path}:{line}: error: {message}")
        self.path = path
        self.line = line
        self.message = message


# ---------------------------------------------------------------------------------------------
# Lexer


@dataclass
class Token:
    kind: str  # "id", "num", "str", "pp" (a whole preprocessor line), "punct"
    text: str
    start: int  # offsets into the source text
    end: int
    line: int


_PUNCT3 = {"...", "<<=", ">>=", "->*"}
_PUNCT2 = {"::", "->", "++", "--", "<<", ">>", "<=", ">=", "==", "!=", "&&", "||", "+=", "-=",
           "*=", "/=", "%=", "&=", "|=", "^=", ".*"}


def lex(text: str, path: str) -> tuple[list[Token], str]:
    """Returns the tokens and `clean`, the text with comments replaced by spaces (same offsets,
    newlines kept), from which declarations are sliced."""
    tokens: list[Token] = []
    clean = list(text)
    i, n, line = 0, len(text), 1
    at_line_start = True

    def blank(a: int, b: int) -> None:
        for k in range(a, b):
            if clean[k] != "\n":
                clean[k] = " "

    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
            i += 1
            at_line_start = True
            continue
        if c in " \t\r\f\v":
            i += 1
            continue
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            blank(i, j)
            i = j
            continue
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            if j < 0:
                raise IigError(path, line, "unterminated /* comment")
            j += 2
            line += text.count("\n", i, j)
            blank(i, j)
            i = j
            continue
        if c == "#" and at_line_start:
            # A preprocessor line, with backslash continuations; comments inside are blanked in
            # `clean` but the token keeps the original text.
            start, start_line = i, line
            j = i
            while j < n and text[j] != "\n":
                if text.startswith("/*", j):
                    k = text.find("*/", j + 2)
                    if k < 0:
                        raise IigError(path, line, "unterminated /* comment")
                    line += text.count("\n", j, k + 2)
                    blank(j, k + 2)
                    j = k + 2
                    continue
                if text.startswith("//", j):
                    k = text.find("\n", j)
                    k = n if k < 0 else k
                    blank(j, k)
                    j = k
                    continue
                if text[j] == "\\" and j + 1 < n and text[j + 1] == "\n":
                    line += 1
                    j += 2
                    continue
                j += 1
            tokens.append(Token("pp", text[start:j], start, j, start_line))
            i = j
            continue
        at_line_start = False
        if c.isalpha() or c == "_":
            j = i + 1
            while j < n and (text[j].isalnum() or text[j] == "_"):
                j += 1
            tokens.append(Token("id", text[i:j], i, j, line))
            i = j
            continue
        if c.isdigit() or (c == "." and i + 1 < n and text[i + 1].isdigit()):
            j = i + 1
            while j < n and (text[j].isalnum() or text[j] in "._'" or
                             (text[j] in "+-" and text[j - 1] in "eEpP")):
                j += 1
            tokens.append(Token("num", text[i:j], i, j, line))
            i = j
            continue
        if c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                if text[j] == "\\":
                    j += 1
                elif text[j] == "\n":
                    raise IigError(path, line, "unterminated literal")
                j += 1
            if j >= n:
                raise IigError(path, line, "unterminated literal")
            tokens.append(Token("str", text[i:j + 1], i, j + 1, line))
            i = j + 1
            continue
        for width, group in ((3, _PUNCT3), (2, _PUNCT2)):
            if text[i:i + width] in group:
                tokens.append(Token("punct", text[i:i + width], i, i + width, line))
                i += width
                break
        else:
            tokens.append(Token("punct", c, i, i + 1, line))
            i += 1
    return tokens, "".join(clean)


def squash(s: str) -> str:
    return " ".join(s.split())


# ---------------------------------------------------------------------------------------------
# Model


@dataclass
class Param:
    text: str  # as written, default value removed
    name: str
    default: str | None  # the default value's text, if any


@dataclass
class Method:
    name: str
    line: int
    text: str  # the whole declaration as written (comments removed), without the `;`
    ret: str
    params: list[Param]
    specifiers: set[str]
    annotations: dict[str, str | None]  # LOCALONLY -> None, TYPE -> "X::M", ...
    is_const: bool
    is_override: bool
    is_pure: bool
    access: str
    kind: str = ""  # "local", "override", "rpc", "type"

    @property
    def args_text(self) -> str:
        return ", ".join(p.text for p in self.params)

    @property
    def names(self) -> str:
        return ", ".join(p.name for p in self.params)


@dataclass
class ClassDecl:
    name: str
    base: str
    line: int
    start: int  # offsets of the declaration in the source, `class` to the closing `;`
    end: int
    methods: list[Method] = field(default_factory=list)
    # Members in order: ("access", "public") or ("method", Method)
    members: list[tuple[str, object]] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# Parser


def _match(tokens: list[Token], i: int, path: str) -> int:
    """Index of the bracket closing tokens[i]."""
    pairs = {"(": ")", "[": "]", "{": "}"}
    opening = tokens[i].text
    closing = pairs[opening]
    depth = 0
    for j in range(i, len(tokens)):
        t = tokens[j]
        if t.kind != "punct":
            continue
        if t.text == opening:
            depth += 1
        elif t.text == closing:
            depth -= 1
            if depth == 0:
                return j
    raise IigError(path, tokens[i].line, f"'{opening}' is never closed")


def _split_top(tokens: list[Token], sep: str) -> list[list[Token]]:
    """Splits on `sep` outside (), [], {} and template <>."""
    parts: list[list[Token]] = [[]]
    depth = 0
    angle = 0
    for k, t in enumerate(tokens):
        if t.kind == "punct":
            if t.text in "([{":
                depth += 1
            elif t.text in ")]}":
                depth -= 1
            elif t.text == "<" and depth == 0 and k > 0 and tokens[k - 1].kind == "id":
                angle += 1
            elif t.text == ">" and angle > 0 and depth == 0:
                angle -= 1
            elif t.text == ">>" and angle > 0 and depth == 0:
                angle = max(0, angle - 2)
            elif t.text == sep and depth == 0 and angle == 0:
                parts.append([])
                continue
        parts[-1].append(t)
    return parts


class Parser:
    def __init__(self, text: str, path: str):
        self.text = text
        self.path = path
        self.tokens, self.clean = lex(text, path)

    def err(self, line: int, message: str) -> IigError:
        return IigError(self.path, line, message)

    def slice(self, first: Token, last: Token) -> str:
        return squash(self.clean[first.start:last.end])

    # -- top level ---------------------------------------------------------------------------

    def parse(self) -> list[ClassDecl]:
        toks = self.tokens
        classes: list[ClassDecl] = []
        depth = 0
        i = 0
        while i < len(toks):
            t = toks[i]
            if t.kind == "punct" and t.text == "{":
                depth += 1
            elif t.kind == "punct" and t.text == "}":
                depth -= 1
                if depth < 0:
                    raise self.err(t.line, "unbalanced '}'")
            elif (t.kind == "id" and t.text == "class" and depth > 0 and i + 2 < len(toks) and
                  toks[i + 1].kind == "id" and toks[i + 2].text == ":"):
                raise self.err(t.line, f"class {toks[i + 1].text}: iig classes must be declared "
                                       "at file scope (not in a namespace or another type)")
            elif (t.kind == "id" and t.text == "class" and depth == 0 and
                  not (i > 0 and toks[i - 1].kind == "id" and toks[i - 1].text == "enum")):
                decl = self.parse_class(i)
                if decl is not None:
                    classes.append(decl)
                    while toks[i].end < decl.end:  # continue after the class's closing ';'
                        i += 1
                    i += 1
                    continue
            i += 1
        if depth != 0:
            raise self.err(toks[-1].line if toks else 1, "unbalanced '{' at end of file")
        return classes

    def parse_class(self, i: int) -> ClassDecl | None:
        toks = self.tokens
        kw = toks[i]
        if i + 1 >= len(toks) or toks[i + 1].kind != "id":
            return None  # e.g. `template <class T>` handled by C++; not a class declaration here
        name_tok = toks[i + 1]
        j = i + 2
        if j < len(toks) and toks[j].kind == "id" and toks[j].text == "final":
            j += 1
        if j >= len(toks):
            raise self.err(kw.line, f"class {name_tok.text}: unexpected end of file")
        t = toks[j]
        if t.text in (";", ">", ",", "*", "&", ")") or t.kind == "id":
            return None  # forward declaration, elaborated type, template parameter
        if t.text == "{":
            raise self.err(kw.line, f"class {name_tok.text} has no base class; iig classes derive "
                                    "from OSObject or one of its subclasses "
                                    "(`class X : public OSObject`)")
        if t.text != ":":
            raise self.err(t.line, f"class {name_tok.text}: expected ':' and a base class, "
                                   f"found '{t.text}'")
        k = j + 1
        while k < len(toks) and toks[k].text not in ("{", ";"):
            k += 1
        if k >= len(toks) or toks[k].text != "{":
            raise self.err(kw.line, f"class {name_tok.text}: expected '{{' after the base class")
        bases = _split_top(toks[j + 1:k], ",")
        if len(bases) != 1:
            raise self.err(kw.line, f"class {name_tok.text}: multiple inheritance is not supported "
                                    "by iig (use single public inheritance)")
        base = bases[0]
        words = [b.text for b in base]
        if not words:
            raise self.err(kw.line, f"class {name_tok.text}: missing base class after ':'")
        if words[0] != "public":
            raise self.err(kw.line, f"class {name_tok.text}: base class must be inherited "
                                    f"'public' (found '{' '.join(words)}')")
        if len(words) != 2 or base[1].kind != "id" or base[1].text in ("virtual", "public"):
            raise self.err(kw.line, f"class {name_tok.text}: expected 'public <BaseClass>', found "
                                    f"'{' '.join(words)}'")
        close = _match(toks, k, self.path)
        if close + 1 >= len(toks) or toks[close + 1].text != ";":
            raise self.err(toks[close].line, f"class {name_tok.text}: expected ';' after '}}'")
        decl = ClassDecl(name_tok.text, base[1].text, kw.line, kw.start, toks[close + 1].end)
        self.parse_body(decl, k + 1, close)
        return decl

    # -- class body --------------------------------------------------------------------------

    def parse_body(self, decl: ClassDecl, first: int, close: int) -> None:
        toks = self.tokens
        access = "private"
        i = first
        while i < close:
            t = toks[i]
            if t.kind == "pp":
                raise self.err(t.line, f"class {decl.name}: preprocessor directives inside an iig "
                                       "class are not supported")
            if (t.kind == "id" and t.text in ("public", "protected", "private") and
                    i + 1 < close and toks[i + 1].text == ":"):
                access = t.text
                decl.members.append(("access", access))
                i += 2
                continue
            if t.text == ";":
                i += 1
                continue
            j = i
            while j < close and toks[j].text != ";":
                if toks[j].text in ("(", "["):
                    j = _match(toks, j, self.path)
                elif toks[j].text == "{":
                    raise self.err(toks[j].line, f"class {decl.name}: method bodies and nested "
                                                 "types are not allowed in an iig class; define "
                                                 "methods in the .cpp")
                elif toks[j].kind == "pp":
                    raise self.err(toks[j].line, f"class {decl.name}: preprocessor directives "
                                                 "inside an iig class are not supported")
                j += 1
            if j >= close:
                raise self.err(toks[i].line, f"class {decl.name}: expected ';' at the end of the "
                                             "member declaration")
            method = self.parse_member(decl, toks[i:j], access)
            decl.methods.append(method)
            decl.members.append(("method", method))
            i = j + 1

    def parse_member(self, decl: ClassDecl, mt: list[Token], access: str) -> Method:
        line = mt[0].line
        if mt[0].text in ("typedef", "using", "friend", "enum", "struct", "union", "class",
                          "template", "static_assert"):
            raise self.err(line, f"class {decl.name}: '{mt[0].text}' declarations are not "
                                 "supported in an iig class")
        # Strip annotations, remembering them.
        annotations: dict[str, str | None] = {}
        rest: list[Token] = []
        k = 0
        while k < len(mt):
            t = mt[k]
            if t.kind == "id" and t.text in ANNOTATIONS_WITH_ARG:
                if k + 1 >= len(mt) or mt[k + 1].text != "(":
                    raise self.err(t.line, f"{t.text} needs an argument: {t.text}(...)")
                e = _match(mt, k + 1, self.path)
                annotations[t.text] = squash(self.clean[mt[k + 1].end:mt[e].start])
                k = e + 1
                continue
            if t.kind == "id" and t.text in ANNOTATIONS:
                annotations[t.text] = None
                k += 1
                continue
            rest.append(t)
            k += 1
        # The parameter list: the first top-level '('.
        p = next((k for k, t in enumerate(rest) if t.text == "("), None)
        if p is None:
            raise self.err(line, f"class {decl.name}: data members are not allowed in an iig "
                                 f"class; put instance variables in struct {decl.name}_IVars "
                                 "(reached through `ivars`)")
        if p == 0 or rest[p - 1].kind != "id":
            raise self.err(line, f"class {decl.name}: cannot parse the member declaration "
                                 f"'{self.slice(mt[0], mt[-1])}'")
        pe = _match(rest, p, self.path)
        inner = rest[p + 1:pe]
        if inner and inner[0].text in ("*", "^", "&"):
            raise self.err(line, f"class {decl.name}: data members (function pointers, blocks) are "
                                 f"not allowed in an iig class; put them in {decl.name}_IVars")
        name_tok = rest[p - 1]
        name = name_tok.text
        if name == decl.name or (p >= 2 and rest[p - 2].text == "~"):
            raise self.err(line, f"class {decl.name}: constructors and destructors are not "
                                 "allowed in an iig class; use init() and free()")
        if name == "operator" or (p >= 2 and rest[p - 2].text == "operator"):
            raise self.err(line, f"class {decl.name}: operators are not supported in an iig class")
        prefix = rest[:p - 1]
        specifiers: set[str] = set()
        while prefix and prefix[0].kind == "id" and prefix[0].text in SPECIFIERS:
            specifiers.add(prefix[0].text)
            prefix = prefix[1:]
        if not prefix:
            raise self.err(line, f"{decl.name}::{name}: missing return type")
        ret = self.slice(prefix[0], prefix[-1])
        params = self.parse_params(decl, name, inner, line)
        suffix = rest[pe + 1:]
        is_const = is_override = is_pure = False
        s = 0
        while s < len(suffix):
            w = suffix[s].text
            if w == "const":
                is_const = True
            elif w in ("override", "final"):
                is_override = True
            elif w == "noexcept":
                pass
            elif w == "=" and s + 1 < len(suffix) and suffix[s + 1].text == "0":
                is_pure = True
                s += 1
            else:
                raise self.err(suffix[s].line, f"{decl.name}::{name}: unexpected '{w}' after the "
                                               "parameter list")
            s += 1
        return Method(name=name, line=line, text=self.slice(mt[0], mt[-1]), ret=ret,
                      params=params, specifiers=specifiers, annotations=annotations,
                      is_const=is_const, is_override=is_override, is_pure=is_pure,
                      access=access)

    def parse_params(self, decl: ClassDecl, method: str, inner: list[Token],
                     line: int) -> list[Param]:
        if not inner or (len(inner) == 1 and inner[0].text == "void"):
            return []
        params = []
        for index, pt in enumerate(_split_top(inner, ","), 1):
            where = f"{decl.name}::{method}: parameter {index}"
            if not pt:
                raise self.err(line, f"{where} is empty")
            if pt[0].text == "...":
                raise self.err(pt[0].line, f"{where}: variadic methods are not supported by iig")
            # The default value starts at the first '=' outside brackets.
            depth = 0
            eq = None
            for k, t in enumerate(pt):
                if t.text in "([{":
                    depth += 1
                elif t.text in ")]}":
                    depth -= 1
                elif t.text == "=" and depth == 0:
                    eq = k
                    break
            decl_toks = pt if eq is None else pt[:eq]
            default = None if eq is None else self.slice(pt[eq + 1], pt[-1]) if eq + 1 < len(pt) \
                else None
            if eq is not None and default is None:
                raise self.err(pt[eq].line, f"{where}: missing default value after '='")
            if not decl_toks:
                raise self.err(line, f"{where} has no type")
            pname = self.param_name(decl_toks)
            if pname is None:
                raise self.err(decl_toks[0].line,
                               f"{where} ('{self.slice(decl_toks[0], decl_toks[-1])}') has no name; "
                               "iig needs every parameter named (IMPL uses the names)")
            # Annotations inside a parameter (TARGET) expand to nothing; leave them out.
            ptext = squash(_ANNOTATION_WORD.sub(" ", self.slice(decl_toks[0], decl_toks[-1])))
            params.append(Param(ptext, pname, default))
        return params

    @staticmethod
    def param_name(toks: list[Token]) -> str | None:
        toks = [t for t in toks if not (t.kind == "id" and t.text in ANNOTATIONS)]
        # Function pointer or block: `R (*name)(...)`, `R (^name)(...)`.
        for k in range(len(toks) - 2):
            if (toks[k].text == "(" and toks[k + 1].text in ("*", "^") and
                    toks[k + 2].kind == "id"):
                return toks[k + 2].text
        # Drop array bounds.
        while toks and toks[-1].text == "]":
            depth = 0
            for k in range(len(toks) - 1, -1, -1):
                if toks[k].text == "]":
                    depth += 1
                elif toks[k].text == "[":
                    depth -= 1
                    if depth == 0:
                        toks = toks[:k]
                        break
            else:
                return None
        if len(toks) < 2:
            return None
        last = toks[-1]
        if last.kind != "id" or last.text in TYPE_KEYWORDS:
            return None
        if toks[-2].text == "::":
            return None
        return last.text


# ---------------------------------------------------------------------------------------------
# Classification


@dataclass
class KnownClass:
    base: str
    local: set[str]
    rpc: set[str]


def classify(decl: ClassDecl, known: dict[str, KnownClass], path: str) -> None:
    def inherited_kind(method: str) -> str | None:
        seen = set()
        cls = decl.base
        while cls in known and cls not in seen:
            seen.add(cls)
            if method in known[cls].local:
                return "local"
            if method in known[cls].rpc:
                return "rpc"
            cls = known[cls].base
        return "local" if method in FRAMEWORK_LOCAL_METHODS else None

    rpc_names: dict[str, Method] = {}
    local_names: dict[str, Method] = {}
    for m in decl.methods:
        if "LOCALONLY" in m.annotations or "static" in m.specifiers or m.name in ("init", "free"):
            m.kind = "local"
        elif "TYPE" in m.annotations:
            m.kind = "type"
        elif m.is_override:
            m.kind = "local" if inherited_kind(m.name) == "local" else "override"
        else:
            m.kind = "rpc"
        where = f"{decl.name}::{m.name}"
        if m.kind == "type":
            target = m.annotations["TYPE"] or ""
            if not re.fullmatch(r"[A-Za-z_]\w*::[A-Za-z_]\w*", target):
                raise IigError(path, m.line, f"{where}: TYPE(...) must name a method as "
                                             f"Class::Method (found '{target}')")
        if m.kind in ("override", "rpc", "type"):
            if m.is_const:
                raise IigError(path, m.line, f"{where}: const methods cannot be iig RPC methods; "
                                             "mark it LOCALONLY")
            if m.kind != "type" and m.ret not in ("kern_return_t", "IOReturn", "void"):
                raise IigError(path, m.line, f"{where}: an iig RPC method returns kern_return_t "
                                             f"or void, not '{m.ret}'; mark it LOCALONLY for a "
                                             "plain C++ method")
        table = local_names if m.kind == "local" else rpc_names
        other = rpc_names if m.kind == "local" else local_names
        if m.name in other or (m.kind != "local" and m.name in table):
            raise IigError(path, m.line, f"{where}: overloading is not supported for iig methods "
                                         "(another declaration has the same name)")
        table[m.name] = m


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


def emit_class(decl: ClassDecl) -> str:
    c, s = decl.name, decl.base
    out = [f"// ---- class {c} (from line {decl.line}) ----"]
    for m in decl.methods:
        out.append(f"#define {c}_{m.name}_Args {m.args_text}".rstrip())
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
                access = member
            continue
        m = member
        assert isinstance(m, Method)
        params = ", ".join(p.text for p in m.params)
        pure = " = 0" if m.is_pure else ""
        if m.kind == "local":
            out.append(f"  {m.text};")
        elif m.kind == "override":
            out.append(f"  {m.ret} {m.name}_Impl({params}) override{pure};")
        elif m.kind == "type":
            virtual = "virtual " if "virtual" in m.specifiers else ""
            out.append(f"  {virtual}{m.ret} {m.name}_Impl({params}){pure};")
            out.append(f"  kern_return_t CreateAction{m.name}(size_t referenceSize, "
                       "OSAction** action);")
        else:
            with_defaults = [p.text + (f" = {p.default}" if p.default is not None else "")
                             for p in m.params]
            wrapper = ", ".join(with_defaults + ["OSDispatchMethod supermethod = nullptr"])
            out.append(f"  {m.ret} {m.name}({wrapper});")
            out.append(f"  virtual {m.ret} {m.name}_Impl({params}){pure};")
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
    out.append(f"kern_return_t {c}::_Dispatch(OSObject* self, const IORPC rpc) {{")
    if cases:
        out.append("  switch (rpc.msgid) {")
        for m in cases:
            out.append(f'    case IORPCMethodID("{m.name}"):')
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
            out.append(f"  {'' if m.ret == 'void' else 'return '}{m.name}_Impl({m.names});")
            out.append("}")
        elif m.kind == "type":
            # Parameter names chosen not to clash with the method's own.
            lam_params = ", ".join(["OSObject* iigTarget"] + [p.text for p in m.params])
            ret_kw = "" if m.ret == "void" else "return "
            out.append("")
            out.append(f"kern_return_t {c}::CreateAction{m.name}(size_t iigReferenceSize, "
                       "OSAction** iigAction) {")
            out.append("  return OSAction::CreateWithHandler(")
            out.append(f'      this, IORPCMethodID("{m.annotations["TYPE"]}"),')
            out.append(f"      +[]({lam_params}) {{")
            out.append(f"        {ret_kw}static_cast<{c}*>(iigTarget)->{m.name}_Impl({m.names});")
            out.append("      },")
            out.append("      iigReferenceSize, iigAction);")
            out.append("}")
    return "\n".join(out)


def load_known(path: str, search: list[str], known: dict[str, KnownClass],
               visited: set[str], deps: list[str]) -> None:
    """Reads the .iig files `path` includes (found next to it or in `search`), recursively, and
    records which methods their classes declare LOCALONLY or as RPC methods."""
    with open(path, encoding="utf-8") as f:
        parser = Parser(f.read(), path)
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
        load_known(cand, search, known, visited, deps)
        with open(cand, encoding="utf-8") as f:
            p = Parser(f.read(), cand)
        for decl in p.parse():
            classify(decl, known, cand)
            known[decl.name] = KnownClass(
                decl.base,
                {m.name for m in decl.methods if m.kind == "local"},
                {m.name for m in decl.methods if m.kind in ("override", "rpc")})


def generate(text: str, path: str, header_name: str,
             known: dict[str, KnownClass] | None = None) -> tuple[str, str]:
    """Returns (header, impl) for the .iig source `text`."""
    known = dict(known or {})
    parser = Parser(text, path)
    classes = parser.parse()
    for decl in classes:
        classify(decl, known, path)
        known[decl.name] = KnownClass(
            decl.base, {m.name for m in decl.methods if m.kind == "local"},
            {m.name for m in decl.methods if m.kind in ("override", "rpc")})

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
            header.append(emit_class(next_class))
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
    if any(m.kind == "type" for d in classes for m in d.methods):
        impl.append("#include <DriverKit/OSAction.h>\n")
    impl.append("\n#include <type_traits>\n")
    for decl in classes:
        impl.append("\n" + emit_impl(decl) + "\n")
    return header_text, "".join(impl)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--input", required=True, help="the .iig file")
    ap.add_argument("--header", required=True, help="the header to write (X.h)")
    ap.add_argument("--impl", required=True, help="the implementation to write (X.iig.cpp)")
    ap.add_argument("-I", dest="include", action="append", default=[],
                    help="where to look for .iig files the input includes")
    ap.add_argument("--depfile", help="write a Makefile-style dependency file")
    args = ap.parse_args(argv)
    try:
        with open(args.input, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        print(f"{args.input}: error: {e.strerror}", file=sys.stderr)
        return 1
    try:
        known: dict[str, KnownClass] = {}
        deps: list[str] = []
        load_known(args.input, args.include, known, {os.path.normpath(args.input)}, deps)
        header, impl = generate(text, args.input, os.path.basename(args.header), known)
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
        inputs = [args.input, os.path.abspath(__file__)] + deps
        with open(args.depfile, "w", encoding="utf-8") as f:
            f.write(f"{esc(args.header)}: " + " ".join(esc(p) for p in inputs) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
