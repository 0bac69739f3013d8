"""The parser of emu/iig/iig.py: the classes of a .iig file, their annotations, members and
parameters (see README.md for the grammar)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from iig_lex import IigError, Token, lex, match_bracket, split_top, squash
from iig_pp import Conditionals, Macros, PPError, split_directive

# Where each annotation of OSObject.iig may appear (IIG_<NAME> is the same annotation). Those in
# WITH_ARG are written NAME(...).
CLASS_ANNOTATIONS = {"KERNEL", "NATIVE", "SERIALIZABLE", "CONCRETE", "EXTENDS"}
METHOD_ANNOTATIONS = {"KERNEL", "LOCAL", "LOCALONLY", "REMOTE", "LOCALHOST", "INVOKEREPLY", "REPLY",
                      "QUEUENAME", "TYPE"}
PARAM_ANNOTATIONS = {"TARGET", "PORTMAKESEND", "PORTCOPYSEND", "TYPE"}
ANNOTATIONS = CLASS_ANNOTATIONS | METHOD_ANNOTATIONS | PARAM_ANNOTATIONS
WITH_ARG = {"TYPE", "QUEUENAME", "EXTENDS"}
# The strings OSObject.iig's annotations expand to under __IIG: __attribute__((annotate("...")))
# written directly is the same annotation.
_ANNOTATE_STRINGS = {
    "kernel": "KERNEL", "native": "NATIVE", "local": "LOCAL", "localonly": "LOCALONLY",
    "remote": "REMOTE", "localhost": "LOCALHOST", "invokereply": "INVOKEREPLY", "reply": "REPLY",
    "MACH_MSG_TYPE_MAKE_SEND": "PORTMAKESEND", "MACH_MSG_TYPE_COPY_SEND": "PORTCOPYSEND",
    "target": "TARGET", "serializable": "SERIALIZABLE", "concrete": "CONCRETE",
}
_ANNOTATE_WITH_ARG = {"type": "TYPE", "extends": "EXTENDS", "queuename": "QUEUENAME"}
_PLACE_OF = {"class": CLASS_ANNOTATIONS, "method": METHOD_ANNOTATIONS, "parameter": PARAM_ANNOTATIONS}

SPECIFIERS = {"virtual", "static", "inline", "explicit", "constexpr"}
TYPE_KEYWORDS = {
    "const", "volatile", "unsigned", "signed", "int", "char", "short", "long", "bool", "float",
    "double", "void", "struct", "class", "enum", "union", "typename", "auto", "restrict",
    "__restrict",
}
NAME = r"[A-Za-z_]\w*"


# ---------------------------------------------------------------------------------------------
# Model


@dataclass
class Param:
    text: str  # as written, annotations and default value removed
    name: str
    default: str | None  # the default value's text, if any
    annotations: dict[str, str | None] = field(default_factory=dict)
    line: int = 0


@dataclass
class Method:
    name: str
    line: int
    text: str  # the declaration as written without comments, annotations and the `;`
    ret: str
    params: list[Param]
    specifiers: set[str]
    annotations: dict[str, str | None]  # LOCALONLY -> None, TYPE -> "X::M", ...
    is_const: bool
    is_override: bool
    is_pure: bool
    access: str
    is_final: bool = False
    attributes: list[str] = field(default_factory=list)  # __attribute__((...)) after the params
    kind: str = ""  # "local", "override", "rpc", "type"
    type_target: str = ""  # TYPE(...) resolved to Class::Method
    invokereply: bool = False  # INVOKEREPLY, or overrides an INVOKEREPLY method

    @property
    def args_text(self) -> str:
        return ", ".join(p.text for p in self.params)

    @property
    def names(self) -> str:
        return ", ".join(p.name for p in self.params)


@dataclass
class ClassDecl:
    name: str
    base: str  # "" for a root class and for an EXTENDS class
    line: int
    start: int  # offsets of the declaration in the source, `class` to the closing `;`
    end: int
    annotations: dict[str, str | None] = field(default_factory=dict)
    methods: list[Method] = field(default_factory=list)
    # Members in order: ("access", "public"), ("method", Method), ("pp", "#pragma ...")
    members: list[tuple[str, object]] = field(default_factory=list)
    end_line: int = 0

    @property
    def extends(self) -> str | None:
        return self.annotations.get("EXTENDS")

    @property
    def is_root(self) -> bool:
        return not self.base and self.extends is None


# ---------------------------------------------------------------------------------------------
# Parser


class Parser:
    def __init__(self, text: str, path: str, defines: dict[str, str | None] | None = None):
        self.text = text
        self.path = path
        self.tokens, self.clean = lex(text, path)
        self.removed: set[int] = set()  # starts of annotation tokens (left out of kept text)
        self.macros = Macros(defines)
        self.cond = Conditionals(self.macros)

    def err(self, line: int, message: str) -> IigError:
        return IigError(self.path, line, message)

    def slice(self, first: Token, last: Token) -> str:
        return squash(self.clean[first.start:last.end])

    def text_of(self, toks: list[Token]) -> str:
        """The text of `toks` (a subsequence of self.tokens): runs of adjacent tokens as written,
        runs separated by one space."""
        if not toks:
            return ""
        if not hasattr(self, "_index"):
            self._index = {t.start: k for k, t in enumerate(self.tokens)}
        index = self._index
        runs: list[list[Token]] = [[toks[0]]]
        for t in toks[1:]:
            if index[t.start] == index[runs[-1][-1].start] + 1:
                runs[-1].append(t)
            else:
                runs.append([t])
        out = ""
        for r in runs:
            piece = self.slice(r[0], r[-1])
            glue = "" if not out or out[-1] in "([" or piece[0] in ",)];" else " "
            out += glue + piece
        return out

    # -- annotations -------------------------------------------------------------------------

    def annotations_in(self, toks: list[Token], place: str, where: str
                       ) -> tuple[dict[str, str | None], list[Token], list[Token], list[str]]:
        """Takes the annotations and attributes out of `toks` (at bracket depth 0). Returns the
        annotations, the tokens left with attributes, the tokens left without attributes, and
        the attributes' texts. An annotation that does not belong at `place` is an error."""
        found: dict[str, str | None] = {}
        kept: list[Token] = []
        bare: list[Token] = []
        attrs: list[str] = []
        k = 0
        while k < len(toks):
            t = toks[k]
            word = t.text[4:] if t.kind == "id" and t.text.startswith("IIG_") else t.text
            if t.kind == "id" and word in ANNOTATIONS:
                k0 = k
                arg = None
                if word in WITH_ARG:
                    if k + 1 >= len(toks) or toks[k + 1].text != "(":
                        raise self.err(t.line, f"{t.text} needs an argument: {t.text}(...)")
                    e = match_bracket(toks, k + 1, self.path)
                    arg = squash(self.clean[toks[k + 1].end:toks[e].start])
                    k = e + 1
                else:
                    k += 1
                self.removed.update(x.start for x in toks[k0:k])
                self.place(word, arg, t, place, where, found)
                continue
            if t.kind == "id" and t.text in ("__attribute__", "__attribute") and \
                    k + 1 < len(toks) and toks[k + 1].text == "(":
                e = match_bracket(toks, k + 1, self.path)
                inner = squash(self.clean[toks[k + 1].end:toks[e].start])
                m = re.fullmatch(r'\(\s*annotate\s*\(\s*"([^"]*)"\s*\)\s*\)', inner)
                if m:
                    word, _, arg = m.group(1).partition("=")
                    name = (_ANNOTATE_WITH_ARG.get(word) if arg else _ANNOTATE_STRINGS.get(word))
                    if name is None:
                        raise self.err(t.line, f"{where}: unknown iig annotation "
                                               f"annotate(\"{m.group(1)}\")")
                    self.place(name, arg or None, t, place, where, found)
                    self.removed.update(x.start for x in toks[k:e + 1])
                else:
                    attrs.append(self.slice(t, toks[e]))
                    kept.extend(toks[k:e + 1])
                k = e + 1
                continue
            if t.text == "[" and k + 1 < len(toks) and toks[k + 1].text == "[":
                e = match_bracket(toks, k, self.path)
                attrs.append(self.slice(t, toks[e]))
                kept.extend(toks[k:e + 1])
                k = e + 1
                continue
            if t.text in ("(", "[", "{"):
                e = match_bracket(toks, k, self.path)
                kept.extend(toks[k:e + 1])
                bare.extend(toks[k:e + 1])
                k = e + 1
                continue
            kept.append(t)
            bare.append(t)
            k += 1
        return found, kept, bare, attrs

    def place(self, name: str, arg: str | None, t: Token, place: str, where: str,
              found: dict[str, str | None]) -> None:
        if name not in _PLACE_OF[place]:
            places = [p for p, names in _PLACE_OF.items() if name in names]
            raise self.err(t.line, f"{where}: {name} is a {' or '.join(places)} annotation; it "
                                   f"is not valid on a {place}")
        if name in WITH_ARG and not (arg and re.fullmatch(rf"{NAME}(\s*::\s*{NAME})*", arg)):
            raise self.err(t.line, f"{where}: {name}(...) needs a name, found '{arg or ''}'")
        if name in found:
            raise self.err(t.line, f"{where}: {name} given twice")
        found[name] = arg.replace(" ", "") if arg else None

    # -- top level ---------------------------------------------------------------------------

    def directive(self, t: Token) -> tuple[str, str]:
        """Applies a conditional or #define/#undef line; returns (name, rest)."""
        name, rest = split_directive(self.clean[t.start:t.end])
        try:
            if self.cond.directive(t.line, name, rest):
                return name, rest
        except PPError as e:
            raise self.err(e.line, e.message) from None
        if self.cond.active is True:
            if name == "define":
                self.macros.define(rest)
            elif name == "undef" and rest.split():
                self.macros.undef(rest.split()[0])
        return name, rest

    def parse(self) -> list[ClassDecl]:
        toks = self.tokens
        classes: list[ClassDecl] = []
        depth = 0
        i = 0
        while i < len(toks):
            t = toks[i]
            if t.kind == "pp":
                self.directive(t)
                i += 1
                continue
            if self.cond.active is False:
                i += 1
                continue
            if t.kind == "punct" and t.text == "{":
                depth += 1 if self.cond.counting else 0
            elif t.kind == "punct" and t.text == "}" and self.cond.counting:
                depth -= 1
                if depth < 0:
                    raise self.err(t.line, "unbalanced '}'")
            elif (t.kind == "id" and t.text == "class" and
                  not (i > 0 and toks[i - 1].kind == "id" and toks[i - 1].text == "enum")):
                head = self.class_head(i)
                if head is not None and depth > 0:
                    if toks[head[1]].text == ":":
                        raise self.err(t.line, f"class {head[0].text}: iig classes must be "
                                               "declared at file scope (not in a namespace or "
                                               "another type)")
                elif head is not None:
                    if self.cond.active is None:
                        raise self.err(t.line, f"class {head[0].text} is inside an #if that "
                                               "iig.py cannot evaluate at generation time (give "
                                               "its macros with -D)")
                    decl = self.parse_class(i, head)
                    classes.append(decl)
                    while toks[i].end < decl.end:  # continue after the class's closing ';'
                        i += 1
                    i += 1
                    continue
            i += 1
        if self.cond.depth:
            raise self.err(self.cond.stack[-1][2], "#if without #endif")
        if depth != 0:
            raise self.err(toks[-1].line if toks else 1, "unbalanced '{' at end of file")
        return classes

    def class_head(self, i: int) -> tuple[Token, int, list[Token]] | None:
        """For `class [annotations] Name [final] (: ...)? {`: (the name, the index of ':' or '{',
        the tokens before the name). None for anything else (forward declarations, elaborated
        types, template parameters)."""
        toks = self.tokens
        j = i + 1
        words: list[int] = []
        while j < len(toks):
            t = toks[j]
            if t.kind == "id" and j + 1 < len(toks) and toks[j + 1].text == "(":
                j = match_bracket(toks, j + 1, self.path) + 1
                continue
            if t.text == "[" and j + 1 < len(toks) and toks[j + 1].text == "[":
                j = match_bracket(toks, j, self.path) + 1
                continue
            if t.kind != "id":
                break
            words.append(j)
            j += 1
        if j >= len(toks) or toks[j].text not in (":", "{") or not words:
            return None
        name = words[-1]
        if toks[name].text == "final" and len(words) > 1:
            name = words[-2]
        return toks[name], j, toks[i + 1:name]

    def parse_class(self, i: int, head: tuple[Token, int, list[Token]]) -> ClassDecl:
        toks = self.tokens
        kw = toks[i]
        name_tok, j, before = head
        cname = name_tok.text
        annotations, _, rest, _ = self.annotations_in(before, "class", f"class {cname}")
        if rest:
            raise self.err(rest[0].line, f"class {cname}: '{rest[0].text}' is not an iig class "
                                         "annotation (KERNEL, NATIVE, EXTENDS(...), "
                                         "SERIALIZABLE, CONCRETE)")
        base_name = ""
        if toks[j].text == "{":
            k = j
        else:
            k = j + 1
            while k < len(toks) and toks[k].text not in ("{", ";"):
                k += 1
            if k >= len(toks) or toks[k].text != "{":
                raise self.err(kw.line, f"class {cname}: expected '{{' after the base class")
            if "EXTENDS" in annotations:
                raise self.err(kw.line, f"class {cname}: an EXTENDS({annotations['EXTENDS']}) "
                                        "class adds methods to that class and has no base class")
            bases = split_top(toks[j + 1:k], ",")
            if len(bases) != 1:
                raise self.err(kw.line, f"class {cname}: multiple inheritance is not supported "
                                        "by iig (use single public inheritance)")
            base = bases[0]
            words = [b.text for b in base]
            if not words:
                raise self.err(kw.line, f"class {cname}: missing base class after ':'")
            if words[0] != "public":
                raise self.err(kw.line, f"class {cname}: base class must be inherited "
                                        f"'public' (found '{' '.join(words)}')")
            if len(words) != 2 or base[1].kind != "id" or base[1].text in ("virtual", "public"):
                raise self.err(kw.line, f"class {cname}: expected 'public <BaseClass>', found "
                                        f"'{' '.join(words)}'")
            base_name = base[1].text
        close = match_bracket(toks, k, self.path)
        if close + 1 >= len(toks) or toks[close + 1].text != ";":
            raise self.err(toks[close].line, f"class {cname}: expected ';' after '}}'")
        decl = ClassDecl(cname, base_name, kw.line, kw.start, toks[close + 1].end, annotations,
                         end_line=toks[close + 1].line)
        self.parse_body(decl, k + 1, close)
        if decl.is_root:
            rpc = [m for m in decl.methods if "LOCALONLY" not in m.annotations]
            if not decl.methods or rpc:
                detail = (f"'{rpc[0].name}' is not LOCALONLY; " if rpc else "")
                raise self.err(rpc[0].line if rpc else kw.line,
                               f"class {cname} has no base class; {detail}only a root class whose "
                               "methods are all LOCALONLY (like OSObject.iig's OSMetaClassBase) "
                               "may be declared without one; iig classes derive from OSObject "
                               "or one of its subclasses (`class X : public OSObject`)")
        return decl

    # -- class body --------------------------------------------------------------------------

    def parse_body(self, decl: ClassDecl, first: int, close: int) -> None:
        toks = self.tokens
        access = "private"
        outer = self.cond.depth
        i = first
        while i < close:
            t = toks[i]
            if t.kind == "pp":
                self.body_directive(decl, t, outer)
                i += 1
                continue
            if self.cond.active is False:
                i += 1
                continue
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
                    j = match_bracket(toks, j, self.path)
                elif toks[j].text == "{":
                    raise self.err(toks[j].line, f"class {decl.name}: method bodies and nested "
                                                 "types are not allowed in an iig class; define "
                                                 "methods in the .cpp")
                j += 1
            if j >= close:
                raise self.err(toks[i].line, f"class {decl.name}: expected ';' at the end of the "
                                             "member declaration")
            inside = next((x for x in toks[i:j] if x.kind == "pp"), None)
            if inside is not None:
                raise self.err(inside.line, f"class {decl.name}: a preprocessor line inside a "
                                            "member declaration is not supported")
            method = self.parse_member(decl, toks[i:j], access)
            decl.methods.append(method)
            decl.members.append(("method", method))
            i = j + 1
        if self.cond.depth != outer:
            raise self.err(self.cond.stack[-1][2], f"class {decl.name}: #if without #endif "
                                                   "before the end of the class")

    def body_directive(self, decl: ClassDecl, t: Token, outer: int) -> None:
        name, rest = split_directive(self.clean[t.start:t.end])
        if name in ("endif", "else", "elif", "elifdef", "elifndef") and self.cond.depth <= outer:
            raise self.err(t.line, f"class {decl.name}: #{name} inside the class closes an #if "
                                   "opened before it")
        self.directive(t)
        if name in ("if", "ifdef", "ifndef", "elif", "elifdef", "elifndef", "else", "endif"):
            if self.cond.active is None:
                cond = self.cond.stack[-1][2]
                raise self.err(cond, f"class {decl.name}: cannot evaluate this #if at generation "
                                     "time (iig decides #if inside a class when it generates; "
                                     "give its macros with -D)")
            return
        if self.cond.active is False:
            return
        if name == "pragma":
            if rest.split()[:1] != ["mark"]:  # `#pragma mark` only labels the class for editors
                decl.members.append(("pp", squash(self.clean[t.start:t.end])))
        elif name in ("define", "undef"):
            decl.members.append(("pp", squash(self.clean[t.start:t.end])))
        elif name == "error":
            raise self.err(t.line, f"#error {rest}")
        elif name != "warning" and name != "":
            raise self.err(t.line, f"class {decl.name}: '#{name}' inside an iig class is not "
                                   "supported")

    def parse_member(self, decl: ClassDecl, mt: list[Token], access: str) -> Method:
        line = mt[0].line
        if mt[0].text in ("typedef", "using", "friend", "enum", "struct", "union", "class",
                          "template", "static_assert"):
            raise self.err(line, f"class {decl.name}: '{mt[0].text}' declarations are not "
                                 "supported in an iig class")
        # The parameter list: the first '(' at depth 0 not opened by an annotation or attribute.
        p = None
        k = 0
        while k < len(mt):
            t = mt[k]
            if t.text == "(":
                prev = mt[k - 1].text if k else ""
                prev = prev[4:] if prev.startswith("IIG_") else prev
                if prev in WITH_ARG or prev in ("__attribute__", "__attribute", "alignas"):
                    k = match_bracket(mt, k, self.path) + 1
                    continue
                p = k
                break
            if t.text == "[":
                k = match_bracket(mt, k, self.path) + 1
                continue
            k += 1
        if p is None:
            raise self.err(line, f"class {decl.name}: data members are not allowed in an iig "
                                 f"class; put instance variables in struct {decl.name}_IVars "
                                 "(reached through `ivars`)")
        where = f"{decl.name}::{mt[p - 1].text if p else '?'}"
        pe = match_bracket(mt, p, self.path)
        ann_before, _, prefix, _ = self.annotations_in(mt[:p], "method", where)
        ann_after, _, suffix, attributes = self.annotations_in(mt[pe + 1:], "method", where)
        for key in ann_after:
            if key in ann_before:
                raise self.err(line, f"{where}: {key} given twice")
        annotations = {**ann_before, **ann_after}
        if not prefix or prefix[-1].kind != "id":
            raise self.err(line, f"class {decl.name}: cannot parse the member declaration "
                                 f"'{self.slice(mt[0], mt[-1])}'")
        inner = mt[p + 1:pe]
        if inner and inner[0].text in ("*", "^", "&"):
            raise self.err(line, f"class {decl.name}: data members (function pointers, blocks) are "
                                 f"not allowed in an iig class; put them in {decl.name}_IVars")
        name = prefix[-1].text
        if name == decl.name or (len(prefix) >= 2 and prefix[-2].text == "~"):
            raise self.err(line, f"class {decl.name}: constructors and destructors are not "
                                 "allowed in an iig class; use init() and free()")
        if name == "operator" or (len(prefix) >= 2 and prefix[-2].text == "operator"):
            raise self.err(line, f"class {decl.name}: operators are not supported in an iig class")
        prefix = prefix[:-1]
        specifiers: set[str] = set()
        while prefix and prefix[0].kind == "id" and prefix[0].text in SPECIFIERS:
            specifiers.add(prefix[0].text)
            prefix = prefix[1:]
        if not prefix:
            raise self.err(line, f"{where}: missing return type")
        ret = self.text_of(prefix)
        params = self.parse_params(decl, name, inner, line)
        is_const = is_override = is_pure = is_final = False
        s = 0
        while s < len(suffix):
            w = suffix[s].text
            if w == "const":
                is_const = True
            elif w == "override":
                is_override = True
            elif w == "final":
                is_final = True
            elif w == "noexcept":
                pass
            elif w == "=" and s + 1 < len(suffix) and suffix[s + 1].text == "0":
                is_pure = True
                s += 1
            else:
                raise self.err(suffix[s].line, f"{where}: unexpected '{w}' after the parameter "
                                               "list")
            s += 1
        # As written without the annotations: Apple's generated header has none.
        text = self.text_of([t for t in mt if t.start not in self.removed])
        return Method(name=name, line=line, text=text, ret=ret,
                      params=params, specifiers=specifiers, annotations=annotations,
                      is_const=is_const, is_override=is_override, is_pure=is_pure,
                      access=access, is_final=is_final, attributes=attributes)

    def parse_params(self, decl: ClassDecl, method: str, inner: list[Token],
                     line: int) -> list[Param]:
        if not inner or (len(inner) == 1 and inner[0].text == "void"):
            return []
        params = []
        for index, pt in enumerate(split_top(inner, ","), 1):
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
            annotations, kept, bare, _ = self.annotations_in(decl_toks, "parameter", where)
            if not bare:
                raise self.err(line, f"{where} has no type")
            pname = self.param_name(bare)
            if pname is None:
                raise self.err(decl_toks[0].line,
                               f"{where} ('{self.slice(decl_toks[0], decl_toks[-1])}') has no name; "
                               "iig needs every parameter named (IMPL uses the names)")
            params.append(Param(self.text_of(kept), pname, default, annotations,
                                decl_toks[0].line))
        return params

    @staticmethod
    def param_name(toks: list[Token]) -> str | None:
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
