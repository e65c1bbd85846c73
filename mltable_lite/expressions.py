"""The ``filter()`` expression language: tokenizer, parser, AST, printer and compiler.

A filter such as ``col("FBI Code") == "11" and Arrest`` is parsed by our own tokenizer and a
precedence-climbing (Pratt) parser into a small tree of frozen, hashable dataclasses. The text is
never handed to ``eval``/``compile``/``ast``: untrusted input stays data, and nothing in a filter
can reach a Python object (the only calls are ``col(...)``, ``datetime(...)`` and the method
``column.startswith(...)``; ``user.id`` reads the field ``id`` of an object column, as in the
reference).

The tree is then compiled, against the schema of the data, into a ``pyarrow.compute.Expression``
that a dataset scanner or ``Table.filter`` can run. Types are decided from the schema at compile
time, which is how the reference's forgiving semantics are reproduced without ever failing at
scan time:

* any comparison involving null is false (so ``x == None`` and ``x != None`` both match nothing,
  and ``not (x > 1)`` is true where ``x`` is null);
* comparisons across types never fail: values are ordered by kind, number < string < datetime
  (the order of the reference's value enum), ``==`` across kinds is false and ``!=`` true;
* ``1 < x < 4`` means ``1 < x and x < 4`` (policy P6; the reference matches every row).

Example:
    >>> import pyarrow as pa
    >>> table = pa.table({"id": [1, 2, None], "FBI Code": ["11", "08", "11"]})
    >>> expr = parse('id > 1 or col("FBI Code") == "11"')
    >>> to_text(expr)
    'id > 1 or col("FBI Code") == "11"'
    >>> table.filter(compile_filter(expr, table.schema)).num_rows
    3
"""

from __future__ import annotations

import datetime as _dt
import difflib
import functools
import keyword
from dataclasses import dataclass
from typing import Iterator, Union

import pyarrow as pa
import pyarrow.compute as pc

from mltable_lite.errors import UserErrorException

__all__ = [
    "Expr",
    "Column",
    "Int",
    "Float",
    "String",
    "Bool",
    "Null",
    "DateTime",
    "Unary",
    "BinOp",
    "Compare",
    "Not",
    "And",
    "Or",
    "StartsWith",
    "Field",
    "parse",
    "to_text",
    "referenced_columns",
    "compile_filter",
    "filter_rows",
    "filter_mask",
    "evaluate",
    "MAX_LENGTH",
    "MAX_DEPTH",
]

#: Longest filter text accepted (characters). Real filters are a few hundred characters; the
#: limit keeps a hostile 1 MB string from costing more than a quick, clean error.
MAX_LENGTH = 100_000

#: Deepest nesting accepted, both in the text (parentheses, ``not``, unary minus) and in the
#: tree (e.g. a 300-term ``a + b + ...`` chain). Every tree walk here is recursive, so this bound
#: is what guarantees a clean error instead of ``RecursionError``. ``and``/``or``/comparison
#: chains are n-ary nodes, so ``id == 1 or id == 2 or ...`` with thousands of terms is fine.
MAX_DEPTH = 200

# Integer literals longer than this are refused: Python itself refuses to convert more than 4300
# digits, and no column holds such a number.
_MAX_INT_DIGITS = 1000

_PARSE_ERROR = "Python expression parse error."
_VALUE_CAST_ERROR = "Value cast error. Expected 'Boolean'"

# Binding powers, lowest first (Python's precedence).
_OR, _AND, _NOT, _CMP, _ADD, _MUL, _UNARY, _ATOM = 1, 2, 3, 4, 5, 6, 7, 8

_COMPARISON_OPS = ("==", "!=", "<", "<=", ">", ">=")
_ARITHMETIC_OPS = {"+": _ADD, "-": _ADD, "*": _MUL, "/": _MUL, "%": _MUL}

# Words that cannot be bare column names (use col("...")): all Python keywords, as in Python.
# ``col`` and ``datetime`` are accepted bare when not called, but printed as col("...") so that
# the canonical text never depends on that subtlety.
_KEYWORDS = frozenset(keyword.kwlist)
_PRINT_AS_COL = _KEYWORDS | {"col", "datetime"}

_SUPPORTED_CALLS = (
    'Supported functions: col("name"), datetime(year, month, day[, hour, minute, second]); '
    'supported method: column.startswith("text").'
)


# ---------------------------------------------------------------------------------------------
# AST
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Expr:
    """Base of every node. Nodes are immutable, hashable and compare structurally.

    ``depth`` (the height of the tree) is derived, not compared; construction refuses trees deeper
    than ``MAX_DEPTH`` so that printing and compiling can never overflow the stack.
    """

    def __post_init__(self) -> None:
        children = list(self.children())
        depth = 1 + max((child.depth for child in children), default=0)
        if depth > MAX_DEPTH:
            raise UserErrorException(
                f"{_PARSE_ERROR} Expression nested too deeply (more than {MAX_DEPTH} levels)."
            )
        object.__setattr__(self, "_depth", depth)

    @property
    def depth(self) -> int:
        return self._depth  # type: ignore[attr-defined]

    def children(self) -> Iterator["Expr"]:
        return iter(())

    def __str__(self) -> str:
        return to_text(self)


def _check(condition: bool, message: str) -> None:
    # Node arguments are checked at construction (programming errors, not user errors: the
    # parser never builds an invalid node).
    if not condition:
        raise ValueError(message)


@dataclass(frozen=True)
class Column(Expr):
    """A column reference: ``id`` or ``col("FBI Code")``."""

    name: str

    def __post_init__(self) -> None:
        _check(type(self.name) is str and self.name != "", "Column name must be a non-empty str")
        super().__post_init__()


@dataclass(frozen=True)
class Int(Expr):
    """A non-negative integer literal (``-1`` is ``Unary("-", Int(1))``, as in Python)."""

    value: int

    def __post_init__(self) -> None:
        _check(type(self.value) is int and self.value >= 0, "Int value must be an int >= 0")
        super().__post_init__()


@dataclass(frozen=True)
class Float(Expr):
    """A non-negative float literal; ``1e999`` is infinity."""

    value: float

    def __post_init__(self) -> None:
        _check(
            type(self.value) is float and self.value >= 0,  # also rejects NaN
            "Float value must be a float >= 0",
        )
        super().__post_init__()


@dataclass(frozen=True)
class String(Expr):
    """A non-empty string literal (the reference rejects ``""``)."""

    value: str

    def __post_init__(self) -> None:
        _check(type(self.value) is str and self.value != "", "String value must be a non-empty str")
        _check(not _has_surrogate(self.value), "String value must not contain surrogates")
        super().__post_init__()


@dataclass(frozen=True)
class Bool(Expr):
    """``True`` or ``False``."""

    value: bool

    def __post_init__(self) -> None:
        _check(type(self.value) is bool, "Bool value must be a bool")
        super().__post_init__()


@dataclass(frozen=True)
class Null(Expr):
    """``None``."""


@dataclass(frozen=True)
class DateTime(Expr):
    """``datetime(y, m, d[, H, M, S])``: a naive timestamp (UTC for tz-aware columns)."""

    year: int
    month: int
    day: int
    hour: int = 0
    minute: int = 0
    second: int = 0

    def __post_init__(self) -> None:
        parts = (self.year, self.month, self.day, self.hour, self.minute, self.second)
        _check(all(type(part) is int for part in parts), "DateTime parts must be ints")
        self.as_datetime()  # raises ValueError for an impossible date
        super().__post_init__()

    def as_datetime(self) -> _dt.datetime:
        return _dt.datetime(self.year, self.month, self.day, self.hour, self.minute, self.second)


@dataclass(frozen=True)
class Unary(Expr):
    """``-x`` or ``+x``."""

    op: str
    operand: Expr

    def __post_init__(self) -> None:
        _check(self.op in ("-", "+"), f"Unary op must be '-' or '+', not {self.op!r}")
        _check(isinstance(self.operand, Expr), "Unary operand must be an Expr")
        super().__post_init__()

    def children(self) -> Iterator[Expr]:
        yield self.operand


@dataclass(frozen=True)
class BinOp(Expr):
    """Arithmetic: ``left op right`` with op one of ``+ - * / %``."""

    op: str
    left: Expr
    right: Expr

    def __post_init__(self) -> None:
        _check(self.op in _ARITHMETIC_OPS, f"BinOp op must be one of + - * / %, not {self.op!r}")
        _check(isinstance(self.left, Expr) and isinstance(self.right, Expr), "BinOp operands must be Expr")
        super().__post_init__()

    def children(self) -> Iterator[Expr]:
        yield self.left
        yield self.right


@dataclass(frozen=True)
class Compare(Expr):
    """A comparison or a chain of them, like Python's ``ast.Compare``.

    ``Compare(("<", "<"), (Int(1), Column("id"), Int(4)))`` is ``1 < id < 4``, which means
    ``1 < id and id < 4`` (policy P6).
    """

    ops: tuple
    operands: tuple

    def __post_init__(self) -> None:
        _check(isinstance(self.ops, tuple) and isinstance(self.operands, tuple), "Compare needs tuples")
        _check(len(self.ops) >= 1 and len(self.operands) == len(self.ops) + 1, "Compare arity mismatch")
        _check(all(op in _COMPARISON_OPS for op in self.ops), "Compare op must be a comparison")
        _check(all(isinstance(o, Expr) for o in self.operands), "Compare operands must be Expr")
        super().__post_init__()

    def children(self) -> Iterator[Expr]:
        return iter(self.operands)


@dataclass(frozen=True)
class Not(Expr):
    """``not x``."""

    operand: Expr

    def __post_init__(self) -> None:
        _check(isinstance(self.operand, Expr), "Not operand must be an Expr")
        super().__post_init__()

    def children(self) -> Iterator[Expr]:
        yield self.operand


@dataclass(frozen=True)
class And(Expr):
    """``a and b and ...`` (n-ary, so long chains stay shallow)."""

    operands: tuple

    def __post_init__(self) -> None:
        _check(isinstance(self.operands, tuple) and len(self.operands) >= 2, "And needs >= 2 operands")
        _check(all(isinstance(o, Expr) for o in self.operands), "And operands must be Expr")
        super().__post_init__()

    def children(self) -> Iterator[Expr]:
        return iter(self.operands)


@dataclass(frozen=True)
class Or(Expr):
    """``a or b or ...`` (n-ary)."""

    operands: tuple

    def __post_init__(self) -> None:
        _check(isinstance(self.operands, tuple) and len(self.operands) >= 2, "Or needs >= 2 operands")
        _check(all(isinstance(o, Expr) for o in self.operands), "Or operands must be Expr")
        super().__post_init__()

    def children(self) -> Iterator[Expr]:
        return iter(self.operands)


@dataclass(frozen=True)
class Field(Expr):
    """A field of an object column (JSON lines objects, parquet structs): ``user.id``."""

    base: Union[Column, "Field"]
    name: str

    def __post_init__(self) -> None:
        _check(isinstance(self.base, (Column, Field)), "Field applies to a Column or a Field")
        _check(type(self.name) is str and _is_identifier(self.name), "Field name must be an identifier")
        super().__post_init__()

    def children(self) -> Iterator[Expr]:
        yield self.base

    @property
    def path(self) -> tuple:
        """The column's name, then the field names: ``("user", "id")``."""
        return _path(self)


def _path(expr: Union[Column, Field]) -> tuple:
    names = []
    while isinstance(expr, Field):
        names.append(expr.name)
        expr = expr.base
    return (expr.name, *reversed(names))


@dataclass(frozen=True)
class StartsWith(Expr):
    """``column.startswith("prefix")`` (or ``column.field.startswith(...)``)."""

    column: Union[Column, Field]
    prefix: str

    def __post_init__(self) -> None:
        _check(isinstance(self.column, (Column, Field)), "StartsWith applies to a Column or a Field")
        _check(type(self.prefix) is str and self.prefix != "", "StartsWith prefix must be a non-empty str")
        _check(not _has_surrogate(self.prefix), "StartsWith prefix must not contain surrogates")
        super().__post_init__()

    def children(self) -> Iterator[Expr]:
        yield self.column


def _has_surrogate(text: str) -> bool:
    # Lone surrogates cannot be encoded as UTF-8, so Arrow could not hold them.
    return any("\ud800" <= ch <= "\udfff" for ch in text)


# ---------------------------------------------------------------------------------------------
# Tokenizer
# ---------------------------------------------------------------------------------------------


def _is_ident_start(ch: str) -> bool:
    return ch == "_" or ch.isalpha()


def _is_ident_char(ch: str) -> bool:
    return ch == "_" or ch.isalnum()


def _is_identifier(name: str) -> bool:
    """True if ``name`` reads back as one identifier token (the printer relies on this)."""
    return bool(name) and _is_ident_start(name[0]) and all(_is_ident_char(c) for c in name[1:])


@dataclass(frozen=True)
class _Token:
    kind: str  # "int", "float", "str", "name", "op", "bad", "eof"
    text: str  # the source text of the token
    value: object  # int/float/str for literals, the text otherwise
    pos: int  # 0-based offset into the source


_OPERATORS = ("==", "!=", "<=", ">=", "<", ">", "+", "-", "*", "/", "%", "(", ")", ",", ".")
# Operators from other languages, recognised so the error can say what to write instead.
_BAD_OPERATORS = ("<>", "&&", "||", "**", "//", "=", "!", "&", "|")

_SIMPLE_ESCAPES = {
    "\\": "\\", "'": "'", '"': '"', "n": "\n", "r": "\r", "t": "\t",
    "a": "\a", "b": "\b", "f": "\f", "v": "\v",
}
_HEX_ESCAPES = {"x": 2, "u": 4, "U": 8}


class _Tokenizer:
    def __init__(self, text: str):
        self.text = text

    def error(self, pos: int, detail: str, hint: str = "") -> UserErrorException:
        return _parse_error(self.text, pos, detail, hint)

    def tokens(self) -> list:
        text, n, i = self.text, len(self.text), 0
        out = []
        while i < n:
            ch = text[i]
            if ch.isspace():
                i += 1
            elif ch in "\"'":
                i = self._string(i, out)
            elif ch.isdigit() and ch.isascii() or (ch == "." and i + 1 < n and text[i + 1] in "0123456789"):
                i = self._number(i, out)
            elif _is_ident_start(ch):
                j = i + 1
                while j < n and _is_ident_char(text[j]):
                    j += 1
                out.append(_Token("name", text[i:j], text[i:j], i))
                i = j
            else:
                for op in _BAD_OPERATORS[:5] + _OPERATORS + _BAD_OPERATORS[5:]:
                    if text.startswith(op, i):
                        kind = "bad" if op in _BAD_OPERATORS else "op"
                        out.append(_Token(kind, op, op, i))
                        i += len(op)
                        break
                else:
                    # Any other character (brackets, ':', NUL, emoji...) is an error, reported
                    # by the parser when it reaches it, with the text that was not consumed.
                    out.append(_Token("bad", ch, ch, i))
                    i += 1
        out.append(_Token("eof", "", None, n))
        return out

    def _number(self, start: int, out: list) -> int:
        text, n, i = self.text, len(self.text), start

        def digits(j: int) -> int:
            while j < n and text[j] in "0123456789":
                j += 1
            return j

        i = digits(i)
        is_float = False
        if i < n and text[i] == "." and not (i + 1 < n and _is_ident_start(text[i + 1])):
            # "1.5", "1." and ".5"; but "1.startswith" is left for the parser to reject.
            is_float = True
            i = digits(i + 1)
        if i < n and text[i] in "eE":
            j = i + 1
            if j < n and text[j] in "+-":
                j += 1
            if j < n and text[j] in "0123456789":
                is_float = True
                i = digits(j)
        literal = text[start:i]
        if is_float:
            out.append(_Token("float", literal, float(literal), start))
        else:
            if len(literal) > _MAX_INT_DIGITS:
                raise self.error(start, "Integer literal too long", f"At most {_MAX_INT_DIGITS} digits.")
            out.append(_Token("int", literal, int(literal), start))
        return i

    def _string(self, start: int, out: list) -> int:
        text, n = self.text, len(self.text)
        quote = text[start]
        chars = []
        i = start + 1
        while True:
            if i >= n or text[i] in "\n\r":
                raise self.error(start, "Unterminated string literal", f"Close it with {quote}.")
            ch = text[i]
            if ch == quote:
                i += 1
                break
            if ch == "\\":
                i = self._escape(start, i, chars)
                continue
            if ch == "\0" or "\ud800" <= ch <= "\udfff":
                raise self.error(i, "Invalid character in string literal", "Write it as an escape such as \\x00.")
            chars.append(ch)
            i += 1
        value = "".join(chars)
        if not value:
            raise self.error(
                start,
                "Empty string literal",
                'The empty string "" is not supported (the reference rejects it too). '
                'To keep rows where s is empty, use s < "\\x00".',
            )
        out.append(_Token("str", text[start:i], value, start))
        return i

    def _escape(self, start: int, i: int, chars: list) -> int:
        """Decode the escape at text[i] == '\\' (Python's rules); returns the next index."""
        text, n = self.text, len(self.text)
        if i + 1 >= n or text[i + 1] in "\n\r":
            quote = text[start]
            raise self.error(start, "Unterminated string literal", f"Close it with {quote}.")
        code = text[i + 1]
        if code in _SIMPLE_ESCAPES:
            chars.append(_SIMPLE_ESCAPES[code])
            return i + 2
        if code in _HEX_ESCAPES:
            width = _HEX_ESCAPES[code]
            digits = text[i + 2 : i + 2 + width]
            if len(digits) != width or any(c not in "0123456789abcdefABCDEF" for c in digits):
                raise self.error(i, f"Invalid \\{code} escape", f"Expected {width} hexadecimal digits.")
            value = int(digits, 16)
            if value > 0x10FFFF or 0xD800 <= value <= 0xDFFF:
                raise self.error(i, f"Invalid \\{code} escape", "Not a Unicode scalar value.")
            chars.append(chr(value))
            return i + 2 + width
        if code in "01234567":
            j = i + 1
            while j < n and j < i + 4 and text[j] in "01234567":
                j += 1
            chars.append(chr(int(text[i + 1 : j], 8)))
            return j
        # Unknown escapes keep their backslash, as in Python ("C:\data" stays as written).
        chars.append("\\")
        return i + 1


# ---------------------------------------------------------------------------------------------
# Parser
# ---------------------------------------------------------------------------------------------


def _excerpt(text: str, pos: int) -> str:
    if len(text) <= 120:
        return repr(text)
    start, end = max(0, pos - 50), min(len(text), pos + 50)
    window = ("..." if start else "") + text[start:end] + ("..." if end < len(text) else "")
    return repr(window)


def _parse_error(text: str, pos: int, detail: str, hint: str = "") -> UserErrorException:
    message = f"{_PARSE_ERROR} {detail} at position {pos + 1} of {_excerpt(text, pos)}."
    if hint:
        message += " " + hint
    return UserErrorException(message)


def _specific_hint(token: _Token) -> str:
    """Advice for a token that never belongs in a filter (``=``, ``&&``, ``AND``, ``in``...)."""
    t = token.text
    if token.kind == "bad":
        return {
            "=": "Use '==' to compare.",
            "&&": "Use 'and' to combine conditions.",
            "&": "Use 'and' to combine conditions.",
            "||": "Use 'or' to combine conditions.",
            "|": "Use 'or' to combine conditions.",
            "!": "Use 'not' to negate a condition, or '!=' to compare.",
            "<>": "Use '!=' for 'not equal'.",
            "**": "Powers ('**') are not supported.",
            "//": "Floor division ('//') is not supported; '/' is true division.",
            "[": "Indexing and lists are not supported.",
            "~": "Use 'not' to negate a condition.",
        }.get(t, f"Unexpected character {t!r}.")
    if token.kind == "name":
        if t.lower() in ("and", "or", "not") and t != t.lower():
            return f"Use lowercase '{t.lower()}'."
        if t == "in":
            return "'in' is not supported; combine comparisons with 'or', e.g. x == 1 or x == 2."
        if t == "is":
            return (
                "'is' and 'is not' are not supported. Note that comparisons with None match "
                "nothing: both x == None and x != None are false for every row."
            )
        if t in ("and", "or"):
            return f"Expected a value before '{t}'."
        if t in _KEYWORDS and t != "not":
            return f"'{t}' is not supported in filter expressions."
    return ""


def _operator_hint(token: _Token) -> str:
    """Advice for a token found where an operator (or the end) was expected."""
    if token.kind == "name":
        return "Expected an operator. A column name containing spaces must be written col(\"name\")."
    if token.kind == "op" and token.text == ")":
        return "Unbalanced parenthesis."
    return "Expected an operator such as '==', 'and' or 'or'."


class _Parser:
    """Precedence climbing over the token list.

    Nesting (parentheses, ``not``, unary signs) recurses, and is counted, so that 10 000 ``(``
    fail with a clean error long before Python's recursion limit; left-associative chains are
    built in loops and bounded by the tree depth check instead.
    """

    def __init__(self, text: str):
        self.text = text
        self.tokens = _Tokenizer(text).tokens()
        self.index = 0
        self.nesting = 0

    # -- helpers --------------------------------------------------------------------------

    def peek(self, ahead: int = 0) -> _Token:
        return self.tokens[min(self.index + ahead, len(self.tokens) - 1)]

    def advance(self) -> _Token:
        token = self.tokens[self.index]
        if token.kind != "eof":
            self.index += 1
        return token

    def is_op(self, text: str, ahead: int = 0) -> bool:
        token = self.peek(ahead)
        return token.kind == "op" and token.text == text

    def error(self, pos: int, detail: str, hint: str = "") -> UserErrorException:
        return _parse_error(self.text, pos, detail, hint)

    def unexpected(self, token: _Token, hint: str = "") -> UserErrorException:
        if token.kind == "eof":
            return self.error(token.pos, "Unexpected end of input", hint or "The expression is incomplete.")
        rest = self.text[token.pos :]
        if len(rest) > 40:
            rest = rest[:40] + "..."
        # A token that is wrong anywhere gets its own advice; otherwise the caller's, which
        # knows what was expected there; otherwise an operator was expected.
        hint = _specific_hint(token) or hint or _operator_hint(token)
        return self.error(token.pos, f"Unconsumed part: {rest!r}", hint)

    def expect(self, text: str, hint: str) -> _Token:
        if not self.is_op(text):
            raise self.unexpected(self.peek(), hint)
        return self.advance()

    def node(self, pos: int, cls, *args) -> Expr:
        # Check the tree depth here, where the position is known, before the node's own check.
        depth = 1 + max((a.depth for a in _flatten_args(args)), default=0)
        if depth > MAX_DEPTH:
            raise self.error(pos, "Expression nested too deeply", f"At most {MAX_DEPTH} levels are supported.")
        return cls(*args)

    # -- grammar --------------------------------------------------------------------------

    def parse(self) -> Expr:
        expr = self.expression(0)
        token = self.peek()
        if token.kind != "eof":
            raise self.unexpected(token)
        return expr

    def expression(self, min_power: int) -> Expr:
        """Parse operators binding at least as tightly as ``min_power``."""
        self.nesting += 1
        if self.nesting > MAX_DEPTH:
            raise self.error(
                self.peek().pos, "Expression nested too deeply", f"At most {MAX_DEPTH} levels are supported."
            )
        try:
            left = self.prefix(min_power)
            while True:
                token = self.peek()
                if token.kind == "name" and token.text in ("or", "and"):
                    power = _OR if token.text == "or" else _AND
                    if power < min_power:
                        break
                    operands = [left]
                    while self.peek().kind == "name" and self.peek().text == token.text:
                        self.advance()
                        operands.append(self.expression(power + 1))
                    left = self.node(token.pos, Or if power == _OR else And, tuple(operands))
                elif token.kind == "op" and token.text in _COMPARISON_OPS:
                    if _CMP < min_power:
                        break
                    ops, operands = [], [left]
                    while self.peek().kind == "op" and self.peek().text in _COMPARISON_OPS:
                        ops.append(self.advance().text)
                        operands.append(self.expression(_ADD))
                    left = self.node(token.pos, Compare, tuple(ops), tuple(operands))
                elif token.kind == "op" and token.text in _ARITHMETIC_OPS:
                    power = _ARITHMETIC_OPS[token.text]
                    if power < min_power:
                        break
                    self.advance()
                    right = self.expression(power + 1)
                    left = self.node(token.pos, BinOp, token.text, left, right)
                else:
                    break
            return left
        finally:
            self.nesting -= 1

    def prefix(self, min_power: int) -> Expr:
        token = self.peek()
        if token.kind == "name" and token.text == "not":
            if min_power > _NOT:
                raise self.unexpected(token, "Put 'not ...' in parentheses here.")
            self.advance()
            # Binds looser than comparisons, tighter than 'and': not a == 1 and b is
            # (not (a == 1)) and b; 'not not x' nests.
            operand = self.expression(_NOT)
            return self.node(token.pos, Not, operand)
        if token.kind == "op" and token.text in ("-", "+"):
            self.advance()
            operand = self.expression(_UNARY)
            return self.node(token.pos, Unary, token.text, operand)
        return self.postfix(self.primary())

    def primary(self) -> Expr:
        token = self.peek()
        if token.kind == "int":
            self.advance()
            return Int(token.value)
        if token.kind == "float":
            self.advance()
            return Float(token.value)
        if token.kind == "str":
            self.advance()
            return String(token.value)
        if token.kind == "op" and token.text == "(":
            self.advance()
            inner = self.expression(0)
            if not self.is_op(")"):
                raise self.unexpected(self.peek(), f"Missing ')' for the '(' at position {token.pos + 1}.")
            self.advance()
            return inner
        if token.kind == "name":
            return self.name()
        raise self.unexpected(token, "Expected a value: a column, a literal or '('.")

    def name(self) -> Expr:
        token = self.advance()
        word = token.text
        called = self.is_op("(")
        if word == "True":
            return Bool(True)
        if word == "False":
            return Bool(False)
        if word == "None":
            return Null()
        if word == "col" and called:
            return self.col_call(token)
        if word == "datetime" and called:
            return self.datetime_call(token)
        if word in _KEYWORDS:
            raise self.unexpected(token, "Expected a value: a column, a literal or '('.")
        if called:
            raise self.error(token.pos, f"Unknown function {word!r}", _SUPPORTED_CALLS)
        return Column(word)

    def col_call(self, token: _Token) -> Expr:
        self.advance()  # (
        arg = self.peek()
        if arg.kind != "str":
            raise self.unexpected(arg, 'col() takes one quoted column name, e.g. col("FBI Code").')
        self.advance()
        self.expect(")", 'col() takes one quoted column name, e.g. col("FBI Code").')
        return Column(arg.value)

    def datetime_call(self, token: _Token) -> Expr:
        usage = "datetime() takes 3 to 6 integers: datetime(year, month, day[, hour, minute, second])."
        self.advance()  # (
        parts = []
        while True:
            arg = self.peek()
            if arg.kind != "int":
                raise self.unexpected(arg, usage)
            parts.append(self.advance().value)
            if self.is_op(",") and len(parts) < 6:
                self.advance()
                continue
            break
        if len(parts) < 3:
            raise self.unexpected(self.peek(), usage)
        self.expect(")", usage)
        try:
            return DateTime(*parts)
        except (ValueError, OverflowError) as error:
            raise self.error(token.pos, "Invalid datetime", f"{str(error).capitalize()}.") from None

    def postfix(self, expr: Expr) -> Expr:
        while True:
            token = self.peek()
            if token.kind == "op" and token.text == ".":
                method = self.peek(1)
                if method.kind != "name":
                    raise self.unexpected(token, "Only column.startswith(\"text\") or an object's field "
                                                 "(user.id) is supported after '.'.")
                called = self.is_op("(", 2)
                if (not called and isinstance(expr, (Column, Field)) and method.text != "startswith"
                        and method.text not in _KEYWORDS):
                    self.advance()
                    self.advance()
                    expr = Field(expr, method.text)  # as in the reference: a field of an object column
                    continue
                if method.text != "startswith":
                    raise self.error(method.pos, f"Unknown method {method.text!r}", _SUPPORTED_CALLS)
                if not isinstance(expr, (Column, Field)):
                    raise self.error(method.pos, "startswith() can only be called on a column", _SUPPORTED_CALLS)
                self.advance()
                self.advance()
                usage = 'startswith() takes one quoted string, e.g. name.startswith("a").'
                self.expect("(", usage)
                arg = self.peek()
                if arg.kind != "str":
                    raise self.unexpected(arg, usage)
                self.advance()
                self.expect(")", usage)
                expr = StartsWith(expr, arg.value)
            elif token.kind == "op" and token.text == "(":
                raise self.unexpected(token, "Only col(), datetime() and column.startswith() can be called.")
            else:
                return expr


def _flatten_args(args: tuple) -> Iterator[Expr]:
    for arg in args:
        if isinstance(arg, Expr):
            yield arg
        elif isinstance(arg, tuple):
            yield from (a for a in arg if isinstance(a, Expr))


def parse(text: str) -> Expr:
    """Parse a filter expression; raise ``UserErrorException`` at once on any error (policy P4).

    Example:
        >>> parse("id > 1 and not flag")
        And(operands=(Compare(ops=('>',), operands=(Column(name='id'), Int(value=1))), Not(operand=Column(name='flag'))))
        >>> parse("id = 1")
        Traceback (most recent call last):
        ...
        mltable_lite.errors.UserErrorException: Python expression parse error. Unconsumed part: '= 1' at position 4 of 'id = 1'. Use '==' to compare.
    """
    if not isinstance(text, str):
        raise UserErrorException(f"A filter expression must be a str, not {type(text).__name__}.")
    if len(text) > MAX_LENGTH:
        raise UserErrorException(
            f"{_PARSE_ERROR} Expression too long: {len(text)} characters (at most {MAX_LENGTH})."
        )
    # A read parses each filter several times (building, optimising, filtering): short ones are
    # remembered (trees are frozen); long ones are rare and would hold memory.
    return _parsed(text) if len(text) <= 4096 else _Parser(text).parse()


@functools.lru_cache(maxsize=128)
def _parsed(text: str) -> Expr:
    return _Parser(text).parse()


# ---------------------------------------------------------------------------------------------
# Printer
# ---------------------------------------------------------------------------------------------


def _power(expr: Expr) -> int:
    if isinstance(expr, Or):
        return _OR
    if isinstance(expr, And):
        return _AND
    if isinstance(expr, Not):
        return _NOT
    if isinstance(expr, Compare):
        return _CMP
    if isinstance(expr, BinOp):
        return _ARITHMETIC_OPS[expr.op]
    if isinstance(expr, Unary):
        return _UNARY
    return _ATOM


def _quote(value: str) -> str:
    out = ['"']
    for ch in value:
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ch.isprintable():
            out.append(ch)
        else:
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
    out.append('"')
    return "".join(out)


def _column_text(name: str) -> str:
    if _is_identifier(name) and name not in _PRINT_AS_COL:
        return name
    return f"col({_quote(name)})"


def _wrap(expr: Expr, parenthesise: bool) -> str:
    text = to_text(expr)
    return f"({text})" if parenthesise else text


def to_text(expr: Expr) -> str:
    """Print ``expr`` canonically, with the fewest parentheses; ``parse(to_text(e)) == e``.

    Example:
        >>> print(to_text(parse("((a + (b * 2)) > 1)  and  col('FBI Code') != 'x'")))
        a + b * 2 > 1 and col("FBI Code") != "x"
    """
    if isinstance(expr, Column):
        return _column_text(expr.name)
    if isinstance(expr, Int):
        return str(expr.value)
    if isinstance(expr, Float):
        # repr() is the shortest text that reads back as the same float, and always has a '.'
        # or an exponent; infinity has no literal, so write one that overflows to it.
        return "1e999" if expr.value == float("inf") else repr(expr.value)
    if isinstance(expr, String):
        return _quote(expr.value)
    if isinstance(expr, Bool):
        return "True" if expr.value else "False"
    if isinstance(expr, Null):
        return "None"
    if isinstance(expr, DateTime):
        parts = [expr.year, expr.month, expr.day]
        if (expr.hour, expr.minute, expr.second) != (0, 0, 0):
            parts += [expr.hour, expr.minute, expr.second]
        return f"datetime({', '.join(map(str, parts))})"
    if isinstance(expr, Field):
        return f"{to_text(expr.base)}.{expr.name}"
    if isinstance(expr, StartsWith):
        return f"{to_text(expr.column)}.startswith({_quote(expr.prefix)})"
    if isinstance(expr, Unary):
        return expr.op + _wrap(expr.operand, _power(expr.operand) < _UNARY)
    if isinstance(expr, BinOp):
        power = _ARITHMETIC_OPS[expr.op]
        left = _wrap(expr.left, _power(expr.left) < power)
        right = _wrap(expr.right, _power(expr.right) <= power)  # left-associative
        return f"{left} {expr.op} {right}"
    if isinstance(expr, Compare):
        # A comparison inside a comparison needs parentheses, or it would join the chain.
        parts = [_wrap(expr.operands[0], _power(expr.operands[0]) <= _CMP)]
        for op, operand in zip(expr.ops, expr.operands[1:]):
            parts.append(f"{op} {_wrap(operand, _power(operand) <= _CMP)}")
        return " ".join(parts)
    if isinstance(expr, Not):
        return "not " + _wrap(expr.operand, _power(expr.operand) < _NOT)
    if isinstance(expr, (And, Or)):
        power, word = (_AND, " and ") if isinstance(expr, And) else (_OR, " or ")
        return word.join(_wrap(o, _power(o) <= power) for o in expr.operands)
    raise TypeError(f"Not an expression node: {expr!r}")


def referenced_columns(expr: Expr) -> frozenset:
    """The names of the columns ``expr`` reads.

    Example:
        >>> sorted(referenced_columns(parse('a > 1 or col("FBI Code").startswith("1")')))
        ['FBI Code', 'a']
    """
    names = set()
    stack = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, Column):
            names.add(node.name)
        stack.extend(node.children())
    return frozenset(names)


# ---------------------------------------------------------------------------------------------
# Compiler
# ---------------------------------------------------------------------------------------------

# Value kinds and their order across kinds, following the reference's value enum
# (Null < Boolean < Int64 < Float64 < String < DateTime < Binary < List < Record):
# a number is less than any string, a string less than any datetime. Booleans compare with
# numbers numerically (True == 1, False == 0), as in Python, so they share the numeric rank.
_RANK = {"bool": 1, "num": 1, "str": 2, "datetime": 3, "binary": 4}
_OTHER_RANK = 5
_KIND_NAMES = {"bool": "boolean", "num": "number", "str": "string", "datetime": "datetime",
               "binary": "binary", "null": "null"}

_FALSE = pc.scalar(False)
# Nanosecond timestamps only reach 1677-09-21 .. 2262-04-11.
_NS_MIN = _dt.datetime(1677, 9, 22)
_NS_MAX = _dt.datetime(2262, 4, 11)


@dataclass(frozen=True)
class _Typed:
    """A compiled sub-expression with what the compiler knows about it statically."""

    expr: pc.Expression
    kind: str  # "null", "bool", "num", "str", "datetime", "binary" or "other:<type>"
    type: pa.DataType
    nonnull: bool = False  # proven never null (literals, null-safe comparisons)
    const: object = None  # the Python value when this is a literal


def _kind_name(typed: _Typed) -> str:
    return _KIND_NAMES.get(typed.kind, typed.kind.partition(":")[2])


def _column_value(path: tuple, arrow_type: pa.DataType) -> _Typed:
    """A column reference, normalised to the reference's value model.

    Integers become int64 (no small-width overflow, as Python ints) and floats/decimals become
    float64 (the reference has Int64 and Float64 only); uint64 becomes float64 because values
    above 2**63 would not fit int64. Dictionaries are read as their values, dates and tz-aware
    timestamps as naive timestamps (UTC wall time).
    """
    expr = pc.field(*path)
    t = arrow_type
    if pa.types.is_dictionary(t):
        expr, t = expr.cast(t.value_type), t.value_type
    if pa.types.is_null(t):
        return _Typed(expr, "null", t)
    if pa.types.is_boolean(t):
        return _Typed(expr, "bool", t)
    if pa.types.is_integer(t):
        target = pa.float64() if pa.types.is_uint64(t) else pa.int64()
        # safe=False: uint64 -> float64 may round, which is the point (it never fails).
        return _Typed(expr.cast(target, safe=False) if t != target else expr, "num", target)
    if pa.types.is_floating(t) or pa.types.is_decimal(t):
        return _Typed(expr.cast(pa.float64()) if t != pa.float64() else expr, "num", pa.float64())
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        if pa.types.is_string_view(t):
            expr, t = expr.cast(pa.string()), pa.string()
        return _Typed(expr, "str", t)
    if pa.types.is_timestamp(t):
        if t.tz is not None:
            # Casting away the zone keeps the UTC instant, so datetime(...) literals are UTC.
            expr, t = expr.cast(pa.timestamp(t.unit)), pa.timestamp(t.unit)
        return _Typed(expr, "datetime", t)
    if pa.types.is_date32(t) or pa.types.is_date64(t):
        target = pa.timestamp("s" if pa.types.is_date32(t) else "ms")
        return _Typed(expr.cast(target), "datetime", target)
    if (pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t)
            or pa.types.is_binary_view(t)):
        return _Typed(expr, "binary", t)
    return _Typed(expr, f"other:{t}", t)


def _literal(value: object, arrow_type: pa.DataType, kind: str) -> _Typed:
    return _Typed(pc.scalar(pa.scalar(value, arrow_type)), kind, arrow_type, nonnull=True, const=value)


def _value_cast_error(node: Expr, typed: _Typed, where: str) -> UserErrorException:
    text = to_text(node)
    if len(text) > 80:
        text = text[:80] + "..."
    return UserErrorException(
        f"{_VALUE_CAST_ERROR} but {text!r}{where} is a {_kind_name(typed)}. "
        "Filters must be conditions, e.g. a comparison such as 'id > 1' or a boolean column."
    )


class _Compiler:
    def __init__(self, schema: pa.Schema):
        self.schema = schema

    def condition(self, node: Expr, where: str) -> pc.Expression:
        """Compile ``node`` where a boolean is required; null counts as false."""
        typed = self.value(node)
        if typed.kind == "bool":
            return typed.expr if typed.nonnull else pc.coalesce(typed.expr, _FALSE)
        if typed.kind == "null":
            return _FALSE
        raise _value_cast_error(node, typed, where)

    def value(self, node: Expr) -> _Typed:
        if isinstance(node, Column):
            return _column_value((node.name,), self.schema.field(node.name).type)
        if isinstance(node, Field):
            return _column_value(node.path, _field_type(node.path, self.schema))
        if isinstance(node, Int):
            if node.value <= 2**63 - 1:
                return _literal(node.value, pa.int64(), "num")
            # Beyond int64: compare approximately as a float rather than fail.
            approx = float(node.value) if node.value.bit_length() <= 1000 else float("inf")
            return _literal(approx, pa.float64(), "num")
        if isinstance(node, Float):
            return _literal(node.value, pa.float64(), "num")
        if isinstance(node, String):
            return _literal(node.value, pa.string(), "str")
        if isinstance(node, Bool):
            return _literal(node.value, pa.bool_(), "bool")
        if isinstance(node, Null):
            return _Typed(pc.scalar(None), "null", pa.null())
        if isinstance(node, DateTime):
            return _literal(node.as_datetime(), pa.timestamp("us"), "datetime")
        if isinstance(node, Unary):
            return self.unary(node)
        if isinstance(node, BinOp):
            return self.arithmetic(node)
        if isinstance(node, Compare):
            pairs = []
            values = [self.value(o) for o in node.operands]
            for op, left, right in zip(node.ops, values, values[1:]):
                pairs.append(self.compare(op, left, right))
            # Python's chained comparison: a < b < c means a < b and b < c (policy P6).
            return _Typed(_all(pairs), "bool", pa.bool_(), nonnull=True)
        if isinstance(node, Not):
            return _Typed(~self.condition(node.operand, " (an operand of 'not')"), "bool", pa.bool_(), nonnull=True)
        if isinstance(node, And):
            sets, rest = self.memberships(node.operands, "!=")
            return _Typed(_all(sets + [self.condition(o, " (an operand of 'and')") for o in rest]),
                          "bool", pa.bool_(), nonnull=True)
        if isinstance(node, Or):
            sets, rest = self.memberships(node.operands, "==")
            parts = sets + [self.condition(o, " (an operand of 'or')") for o in rest]
            result = parts[0]
            for part in parts[1:]:
                result = result | part
            return _Typed(result, "bool", pa.bool_(), nonnull=True)
        if isinstance(node, StartsWith):
            column = self.value(node.column)
            if column.kind != "str":
                return _Typed(_FALSE, "bool", pa.bool_(), nonnull=True)  # never true off strings
            expr = pc.coalesce(pc.starts_with(column.expr, pattern=node.prefix), _FALSE)
            return _Typed(expr, "bool", pa.bool_(), nonnull=True)
        raise TypeError(f"Not an expression node: {node!r}")

    # -- set membership ----------------------------------------------------------------------

    def memberships(self, operands: tuple, op: str) -> tuple[list, list]:
        """``col == v1 or col == v2 or ...`` (``op`` ``==``) and ``col != v1 and col != v2 and ...``
        (``!=``) as one set-membership test per column, plus the operands left as they are.

        The same answer as the comparisons one by one, in one pass over the column instead of one
        pass (and one Acero node) per term: 7 000 terms took a minute on a million rows.
        """
        by_column: dict = {}
        for operand in operands:
            pair = _column_and_literal(operand, op)
            if pair is not None:
                by_column.setdefault(pair[0], []).append((operand, pair[1]))
        grouped, sets = set(), []
        for column_node, members in by_column.items():
            if len(members) < _MIN_SET_TERMS:
                continue
            membership = self.membership(column_node, [literal for _, literal in members], negate=op == "!=")
            if membership is not None:
                sets.append(membership)
                grouped.update(id(operand) for operand, _ in members)
        return sets, [operand for operand in operands if id(operand) not in grouped]

    def membership(self, column_node: Expr, literals: list, negate: bool) -> pc.Expression | None:
        """``column in literals`` (``not in`` with ``negate``), null-safe as ``==`` / ``!=`` are;
        ``None`` where the kinds need the comparisons' own rules (dates, mixed kinds)."""
        column = self.value(column_node)
        kinds = {type(literal) for literal in literals}
        if column.kind == "num" and kinds <= {Int, Float, Bool}:
            if column.type == pa.int64() and Float not in kinds:
                values = pa.array([int(literal.value) for literal in literals], pa.int64())
            else:
                column = _to_float(column)
                values = pa.array([float(literal.value) for literal in literals], pa.float64())
        elif column.kind == "str" and kinds == {String}:
            values = pa.array([literal.value for literal in literals], column.type)
        elif column.kind == "bool" and kinds == {Bool}:
            values = pa.array([literal.value for literal in literals], pa.bool_())
        else:
            return None
        found = pc.is_in(column.expr, value_set=values)
        if not negate:
            return found
        # a != v is false for a null a, as every comparison with null is (COMPATIBILITY §9).
        return ~found if column.nonnull else pc.is_valid(column.expr) & ~found

    # -- arithmetic ------------------------------------------------------------------------

    @staticmethod
    def numeric(typed: _Typed) -> _Typed:
        # Booleans take part in arithmetic as 0/1, as in Python.
        if typed.kind == "bool":
            const = None if typed.const is None else int(typed.const)
            return _Typed(typed.expr.cast(pa.int64()), "num", pa.int64(), typed.nonnull, const)
        return typed

    def unary(self, node: Unary) -> _Typed:
        operand = self.numeric(self.value(node.operand))
        if operand.kind == "null":
            return operand
        if operand.kind != "num":
            raise UserErrorException(
                f"Cannot apply unary '{node.op}' to a {_kind_name(operand)} in {to_text(node)!r}."
            )
        if node.op == "+":
            return operand
        const = None if operand.const is None else -operand.const
        return _Typed(pc.negate_checked(operand.expr), "num", operand.type, operand.nonnull, const)

    def arithmetic(self, node: BinOp) -> _Typed:
        left, right = self.numeric(self.value(node.left)), self.numeric(self.value(node.right))
        op = node.op
        if "null" in (left.kind, right.kind):
            # Arithmetic with null is null, so any comparison with the result is false.
            return _Typed(pc.scalar(None), "null", pa.null())
        nonnull = left.nonnull and right.nonnull
        if op == "+" and left.kind == right.kind == "str":
            expr = pc.binary_join_element_wise(left.expr, right.expr, pc.scalar(""))
            return _Typed(expr, "str", pa.string(), nonnull)
        if left.kind != "num" or right.kind != "num":
            raise UserErrorException(
                f"Cannot apply '{op}' to a {_kind_name(left)} and a {_kind_name(right)} in "
                f"{to_text(node)!r}. Arithmetic works on numbers, and '+' also joins two strings."
            )
        left, right = _align_numbers(left, right)
        floating = pa.types.is_floating(left.type)
        result_type = pa.float64() if floating or op == "/" else pa.int64()
        if op in "+-*":
            # Checked kernels: an int64 overflow raises instead of silently wrapping around.
            function = {"+": pc.add_checked, "-": pc.subtract_checked, "*": pc.multiply_checked}[op]
            return _Typed(function(left.expr, right.expr), "num", result_type, nonnull)
        # Division and modulo by zero give null (the row then fails every comparison) rather
        # than an error mid-scan or an inf/NaN that Python would never produce.
        if op == "/":
            left, right = _to_float(left), _to_float(right)  # true division, as in Python 3
        divisor = right.expr
        if right.const is None or right.const == 0:
            divisor = pc.if_else(pc.equal(divisor, pc.scalar(pa.scalar(0, right.type))),
                                 pc.scalar(pa.scalar(None, right.type)), divisor)
            nonnull = False
        if op == "/":
            return _Typed(pc.divide(left.expr, divisor), "num", pa.float64(), nonnull)
        # pc.modulo is floored, like Python's '%': the result takes the divisor's sign.
        return _Typed(pc.modulo(left.expr, divisor), "num", result_type, nonnull)

    # -- comparison ------------------------------------------------------------------------

    def compare(self, op: str, left: _Typed, right: _Typed) -> pc.Expression:
        """A null-safe comparison: never null, false whenever either side is null."""
        if "null" in (left.kind, right.kind):
            return _FALSE
        if {left.kind, right.kind} == {"bool", "num"}:
            left, right = self.numeric(left), self.numeric(right)
        if left.kind == right.kind == "datetime":
            left, right = _fit_nanoseconds(left, right), _fit_nanoseconds(right, left)
        if left.kind == right.kind == "num":
            left, right = _align_numbers(left, right)
        other_kinds = left.kind.startswith("other:") and right.kind.startswith("other:")
        same_kind = left.kind == right.kind and not other_kinds
        if same_kind or (other_kinds and _kernel_exists(op, left.type, right.type)):
            result = _COMPARE_FUNCTIONS[op](left.expr, right.expr)
            if left.nonnull and right.nonnull:
                return result
            return pc.coalesce(result, _FALSE)
        if left.kind == right.kind:
            # Same kind but Arrow cannot compare it (two list columns): no order to fall back on.
            raise UserErrorException(f"Cannot compare values of type {left.type} with '{op}' in a filter.")
        # Different kinds: the answer is known from the kinds alone, but only for valid values.
        outcome = _ORDER_CHECKS[op](_rank(left), _rank(right))
        if not outcome:
            return _FALSE
        checks = [pc.is_valid(side.expr) for side in (left, right) if not side.nonnull]
        return _all(checks) if checks else pc.scalar(True)


_COMPARE_FUNCTIONS = {
    "==": pc.equal, "!=": pc.not_equal, "<": pc.less,
    "<=": pc.less_equal, ">": pc.greater, ">=": pc.greater_equal,
}
_ORDER_CHECKS = {
    "==": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
}


def _to_float(typed: _Typed) -> _Typed:
    if typed.type == pa.float64():
        return typed
    if typed.const is not None:
        return _literal(float(typed.const), pa.float64(), "num")
    # Arrow's implicit int -> float cast is "safe": it fails mid-scan on integers above 2**53.
    # Rounding them is what Python does too (1 + 0.5 for a huge int), so cast unsafely.
    return _Typed(typed.expr.cast(pa.float64(), safe=False), "num", pa.float64(), typed.nonnull)


def _align_numbers(left: _Typed, right: _Typed) -> tuple:
    """int64 with float64 -> both float64 (numbers are normalised to one of the two)."""
    if left.type == right.type:
        return left, right
    return _to_float(left), _to_float(right)


def _rank(typed: _Typed) -> tuple:
    # Kinds without a place in the reference's order sort last, among themselves by type name,
    # so the order stays total and a comparison never fails.
    return (_RANK.get(typed.kind, _OTHER_RANK), typed.kind)


def _kernel_exists(op: str, left: pa.DataType, right: pa.DataType) -> bool:
    """Whether Arrow can compare these types (e.g. two time64 columns); tried on empty arrays."""
    try:
        _COMPARE_FUNCTIONS[op](pa.array([], left), pa.array([], right))
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        return False
    return True


def _fit_nanoseconds(side: _Typed, other: _Typed) -> _Typed:
    """Compare a ns column in microseconds when the other side is a literal ns cannot hold.

    Arrow would cast datetime(9999, 1, 1) to nanoseconds and overflow mid-scan; truncating the
    column to microseconds cannot change its order relative to such a distant literal.
    """
    if (
        isinstance(other.const, _dt.datetime)
        and not (_NS_MIN <= other.const <= _NS_MAX)
        and side.type == pa.timestamp("ns")
    ):
        return _Typed(side.expr.cast(pa.timestamp("us"), safe=False), side.kind, pa.timestamp("us"), side.nonnull)
    return side


def _field_type(path: tuple, schema: pa.Schema) -> pa.DataType:
    """The type of ``user.id``; an error naming the fields that exist when there is no such field."""
    data_type = schema.field(path[0]).type
    for depth, name in enumerate(path[1:], start=1):
        here = ".".join(path[:depth])
        if not pa.types.is_struct(data_type):
            raise UserErrorException(
                f"Filter refers to field {name!r} of {here!r}, which is not an object (its type is {data_type}). "
                f"Write col({_quote('.'.join(path))}) for a column whose name holds a dot.")
        names = [field.name for field in data_type]
        if name not in names:
            close = difflib.get_close_matches(name, names, n=1)
            suggestion = f" Did you mean {here + '.' + close[0]!r}?" if close else ""
            raise UserErrorException(
                f"Filter refers to unknown field {'.'.join(path)!r}.{suggestion} The fields of {here!r} are: "
                f"{', '.join(repr(n) for n in names) or '(none)'}.")
        data_type = data_type.field(name).type
    return data_type


# Fewer terms on one column are compiled as they are written.
_MIN_SET_TERMS = 4


def _column_and_literal(node: Expr, op: str) -> tuple[Expr, Expr] | None:
    """``(column, literal)`` when ``node`` is ``column op literal`` or ``literal op column`` with a
    literal a set can hold (an int64, float, string or bool)."""
    if not isinstance(node, Compare) or node.ops != (op,):
        return None
    left, right = node.operands
    if isinstance(left, Column) and _set_literal(right):
        return left, right
    if isinstance(right, Column) and _set_literal(left):
        return right, left
    return None


def _set_literal(node: Expr) -> bool:
    if isinstance(node, Int):
        return -(2**63) <= node.value <= 2**63 - 1
    return isinstance(node, (Float, String, Bool))


def _all(parts: list) -> pc.Expression:
    result = parts[0]
    for part in parts[1:]:
        result = result & part
    return result


def _check_columns(expr: Expr, schema: pa.Schema) -> None:
    names = list(schema.names)
    for name in sorted(referenced_columns(expr)):
        count = names.count(name)
        if count == 1:
            continue
        if count > 1:
            raise UserErrorException(f"Filter column {name!r} is ambiguous: the data has {count} columns of that name.")
        shown = ", ".join(repr(n) for n in names[:50]) + (", ..." if len(names) > 50 else "")
        close = difflib.get_close_matches(name, names, n=1)
        suggestion = f" Did you mean {close[0]!r}?" if close else ""
        raise UserErrorException(
            f"Filter refers to unknown column {name!r}.{suggestion} The columns are: {shown or '(none)'}."
        )


def compile_filter(expr: Expr, schema: pa.Schema) -> pc.Expression:
    """Compile a parsed filter into a boolean ``pyarrow.compute.Expression`` for ``schema``.

    The result is never null (null counts as false), so it can be used directly in
    ``pyarrow.dataset`` scans and ``Table.filter``. Raises ``UserErrorException`` for a column
    that is not in ``schema`` (policy P5) and, with a message starting
    ``Value cast error. Expected 'Boolean'``, for an expression that is not a condition.

    Example:
        >>> import pyarrow as pa
        >>> table = pa.table({"id": [1, 2, 3], "s": ["a", "b", None]})
        >>> table.filter(compile_filter(parse('1 < id < 4 and s != 5'), table.schema))["id"].to_pylist()
        [2]
    """
    if not isinstance(expr, Expr):
        raise TypeError(f"compile_filter() takes a parsed Expr, not {type(expr).__name__}")
    _check_columns(expr, schema)
    return _Compiler(schema).condition(expr, "")


def filter_rows(table: pa.Table, expression: pc.Expression) -> pa.Table:
    """``table.filter(expression)``: its rows where a compiled filter holds, in order; ``table``
    itself when every row holds (no copy).

    Example:
        >>> import pyarrow as pa
        >>> table = pa.table({"x": [1, 2, 3]})
        >>> filter_rows(table, compile_filter(parse("x > 1"), table.schema))["x"].to_pylist()
        [2, 3]
    """
    mask = filter_mask(table, expression)
    kept = sum(chunk.true_count for chunk in mask.chunks)
    return table if kept == table.num_rows else table.filter(mask)


def filter_mask(table: pa.Table, expression: pc.Expression) -> pa.ChunkedArray:
    """Where a compiled filter holds in ``table``: one non-null boolean per row.

    Tables under :data:`_THREADED_ROWS` rows are computed on the calling thread: handing so few
    rows to Arrow's thread pool costs more than it saves (half again, on a busy machine).

    Example:
        >>> import pyarrow as pa
        >>> table = pa.table({"x": [1, None, 3]})
        >>> filter_mask(table, compile_filter(parse("x > 1"), table.schema)).to_pylist()
        [False, False, True]
    """
    from pyarrow import acero

    return acero.Declaration.from_sequence([
        acero.Declaration("table_source", acero.TableSourceNodeOptions(table)),
        acero.Declaration("project", acero.ProjectNodeOptions([expression], ["mask"])),
    ]).to_table(use_threads=table.num_rows >= _THREADED_ROWS).column(0)


_THREADED_ROWS = 1 << 20


def evaluate(expr: Expr, data: Union[pa.Table, pa.RecordBatch]) -> pa.BooleanArray:
    """Evaluate a filter on ``data``: one non-null boolean per row.

    It runs the compiled expression itself, so it always agrees with ``compile_filter``.

    Example:
        >>> import pyarrow as pa
        >>> evaluate(parse("x > 1"), pa.table({"x": [1, None, 3]})).to_pylist()
        [False, False, True]
    """
    import pyarrow.dataset as ds

    compiled = compile_filter(expr, data.schema)
    table = data if isinstance(data, pa.Table) else pa.Table.from_batches([data])
    result = ds.dataset(table).to_table(columns={"mask": compiled}).column("mask")
    return result.combine_chunks() if result.num_chunks != 1 else result.chunk(0)
