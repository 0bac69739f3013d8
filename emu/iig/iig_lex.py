"""The lexer of emu/iig/iig.py: tokens of a .iig file (whole preprocessor lines are one token) and
the text with comments blanked, from which declarations are sliced."""

from __future__ import annotations

from dataclasses import dataclass


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


def match_bracket(tokens: list[Token], i: int, path: str) -> int:
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


def split_top(tokens: list[Token], sep: str) -> list[list[Token]]:
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

