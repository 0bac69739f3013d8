"""Preprocessor conditionals for emu/iig/iig.py.

Apple's iig runs clang's preprocessor over the .iig (with `-D__IIG=1` and the options it is given)
before it reads the classes, so an `#if` around class members or whole classes is decided at
generation time. iig.py does the same for the macros it can know: `-D`/`-U` options, `__IIG` (1),
and object-like `#define`/`#undef` lines of the .iig itself in active regions. An identifier that
is not a known macro is 0, as in the C preprocessor. What cannot be decided here (a function-like
macro, `__has_include(...)`, a macro whose value is not an expression) is `Unknown`: around text
that is only passed through that does not matter; around a class or inside one it is an error.
"""

from __future__ import annotations

import re


class Unknown(Exception):
    """The condition cannot be evaluated at generation time."""


class PPError(Exception):
    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line = line
        self.message = message


_TOKEN = re.compile(r"\s*(?:(?P<num>0[xX][0-9a-fA-F]+|\d+)[uUlL]*|(?P<id>[A-Za-z_]\w*)|"
                    r"(?P<chr>'(?:\\.|[^'\\])')|"
                    r"(?P<op>\|\||&&|==|!=|<=|>=|<<|>>|[-+*/%!~<>()&|^?:,]))")

_FUNCTION_LIKE_BUILTINS = {"__has_include", "__has_include_next", "__has_attribute",
                           "__has_cpp_attribute", "__has_feature", "__has_extension",
                           "__has_builtin", "__has_warning", "__is_identifier"}


def _tokens(expr: str) -> list[tuple[str, str]]:
    out = []
    pos = 0
    expr = expr.rstrip()
    while pos < len(expr):
        m = _TOKEN.match(expr, pos)
        if not m or m.end() == pos:
            raise Unknown(f"cannot read '{expr[pos:].strip()}'")
        pos = m.end()
        kind = m.lastgroup
        out.append((kind, m.group(kind)))
    return out


class Macros:
    """Object-like macros by name (value: replacement text); function-like ones map to None."""

    def __init__(self, defines: dict[str, str | None] | None = None):
        self.table: dict[str, str | None] = {"__IIG": "1"}
        for name, value in (defines or {}).items():
            if value == "\0undef":  # -U NAME
                self.table.pop(name, None)
            else:
                self.table[name] = value

    def define(self, text: str) -> None:
        m = re.match(r"\s*([A-Za-z_]\w*)(\()?(.*)", text)
        if not m:
            return
        self.table[m.group(1)] = None if m.group(2) else m.group(3).strip()

    def undef(self, name: str) -> None:
        self.table.pop(name, None)

    def evaluate(self, expr: str) -> int:
        toks = self._expand(_tokens(expr), set())
        parser = _Expr(toks)
        value = parser.ternary()
        if parser.pos != len(toks):
            raise Unknown(f"unexpected '{toks[parser.pos][1]}'")
        return value

    def _expand(self, toks: list[tuple[str, str]], active: set[str]) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        i = 0
        while i < len(toks):
            kind, text = toks[i]
            if kind == "id" and text == "defined":
                j = i + 1
                paren = j < len(toks) and toks[j][1] == "("
                if paren:
                    j += 1
                if j >= len(toks) or toks[j][0] != "id":
                    raise Unknown("'defined' without a macro name")
                name = toks[j][1]
                j += 1
                if paren:
                    if j >= len(toks) or toks[j][1] != ")":
                        raise Unknown("'defined(' is not closed")
                    j += 1
                out.append(("num", "1" if name in self.table else "0"))
                i = j
                continue
            if kind == "id":
                if text in _FUNCTION_LIKE_BUILTINS:
                    raise Unknown(f"'{text}(...)' is not known at generation time")
                if text in self.table and text not in active:
                    value = self.table[text]
                    if value is None:
                        raise Unknown(f"'{text}' is a function-like macro")
                    out.extend(self._expand(_tokens(value), active | {text}) if value.strip()
                               else [])
                    i += 1
                    continue
                if text in ("true", "false"):
                    out.append(("num", "1" if text == "true" else "0"))
                else:
                    out.append(("num", "0"))  # an unknown identifier is 0
                i += 1
                continue
            out.append((kind, text))
            i += 1
        return out


class _Expr:
    _BINARY = [["||"], ["&&"], ["|"], ["^"], ["&"], ["==", "!="], ["<", ">", "<=", ">="],
               ["<<", ">>"], ["+", "-"], ["*", "/", "%"]]

    def __init__(self, toks: list[tuple[str, str]]):
        self.toks = toks
        self.pos = 0

    def peek(self) -> str | None:
        return self.toks[self.pos][1] if self.pos < len(self.toks) else None

    def take(self) -> tuple[str, str]:
        if self.pos >= len(self.toks):
            raise Unknown("incomplete expression")
        self.pos += 1
        return self.toks[self.pos - 1]

    def ternary(self) -> int:
        cond = self.binary(0)
        if self.peek() == "?":
            self.take()
            a = self.ternary()
            if self.take()[1] != ":":
                raise Unknown("'?' without ':'")
            b = self.ternary()
            return a if cond else b
        return cond

    def binary(self, level: int) -> int:
        if level == len(self._BINARY):
            return self.unary()
        left = self.binary(level + 1)
        while self.peek() in self._BINARY[level]:
            op = self.take()[1]
            right = self.binary(level + 1)
            left = _apply(op, left, right)
        return left

    def unary(self) -> int:
        kind, text = self.take()
        if text == "!":
            return int(not self.unary())
        if text == "~":
            return ~self.unary()
        if text == "-":
            return -self.unary()
        if text == "+":
            return self.unary()
        if text == "(":
            value = self.ternary()
            if self.take()[1] != ")":
                raise Unknown("'(' is not closed")
            return value
        if kind == "num":
            return int(text, 0) if not re.fullmatch(r"0\d+", text) else int(text, 8)
        if kind == "chr":
            body = text[1:-1]
            return ord(body[-1]) if not body.startswith("\\") else {"n": 10, "t": 9, "0": 0}.get(
                body[1], ord(body[1]))
        raise Unknown(f"unexpected '{text}'")


def _apply(op: str, a: int, b: int) -> int:
    if op in ("/", "%") and b == 0:
        raise Unknown("division by zero")
    return {
        "||": lambda: int(bool(a) or bool(b)), "&&": lambda: int(bool(a) and bool(b)),
        "|": lambda: a | b, "^": lambda: a ^ b, "&": lambda: a & b,
        "==": lambda: int(a == b), "!=": lambda: int(a != b), "<": lambda: int(a < b),
        ">": lambda: int(a > b), "<=": lambda: int(a <= b), ">=": lambda: int(a >= b),
        "<<": lambda: a << b, ">>": lambda: a >> b, "+": lambda: a + b, "-": lambda: a - b,
        "*": lambda: a * b, "/": lambda: int(a / b), "%": lambda: a % b,
    }[op]()


_DIRECTIVE = re.compile(r"\s*#\s*(\w*)(.*)", re.S)


def split_directive(text: str) -> tuple[str, str]:
    """('if', 'A && B') for '#if A && B' (continuations joined, comments already blanked)."""
    text = text.replace("\\\n", " ")
    m = _DIRECTIVE.match(text)
    if not m:
        return "", ""
    return m.group(1), " ".join(re.sub(r"/\*.*?\*/|//.*", " ", m.group(2)).split())


class Conditionals:
    """The stack of `#if` groups. Each level is True (taken), False (skipped) or None (not
    decidable here); `active` is True only when every level is True."""

    def __init__(self, macros: Macros):
        self.macros = macros
        # Per level: [state of this branch, some earlier branch was taken (or None), line,
        # assumed, some branch was assumed]: an undecided group is read as if its first
        # undecided branch were taken, for counting braces only (`counting`).
        self.stack: list[list] = []

    @property
    def active(self) -> bool | None:
        state: bool | None = True
        for level in self.stack:
            if level[0] is False:
                return False
            if level[0] is None:
                state = None
        return state

    @property
    def counting(self) -> bool:
        return all(level[3] for level in self.stack)

    @property
    def depth(self) -> int:
        return len(self.stack)

    def _cond(self, expr: str) -> bool | None:
        try:
            return bool(self.macros.evaluate(expr))
        except Unknown:
            return None

    def directive(self, line: int, name: str, rest: str) -> bool:
        """Handles a conditional directive; returns False if `name` is not one."""
        if name in ("if", "ifdef", "ifndef"):
            if self.active is False:
                # nested in a skipped group: all skipped
                self.stack.append([False, True, line, False, True])
                return True
            if name == "if":
                state = self._cond(rest)
            else:
                word = rest.split()[0] if rest.split() else ""
                state = (word in self.macros.table) == (name == "ifdef")
            assumed = state is not False
            self.stack.append([state, state, line, assumed, assumed])
            return True
        if name in ("elif", "elifdef", "elifndef", "else"):
            if not self.stack:
                raise PPError(line, f"#{name} without #if")
            level = self.stack[-1]
            outer = Conditionals(self.macros)
            outer.stack = self.stack[:-1]
            if outer.active is False or level[1] is True:
                level[0] = False
            else:
                if name == "else":
                    state: bool | None = True
                elif name == "elif":
                    state = self._cond(rest)
                else:
                    word = rest.split()[0] if rest.split() else ""
                    state = (word in self.macros.table) == (name == "elifdef")
                if level[1] is None:
                    state = None if state is not False else False
                level[0] = state
                level[1] = True if state is True else level[1]
            level[3] = level[0] is not False and not level[4]
            level[4] = level[4] or level[3]
            return True
        if name == "endif":
            if not self.stack:
                raise PPError(line, "#endif without #if")
            self.stack.pop()
            return True
        return False
