"""Column type inference for delimited text, with the reference's rules (COMPATIBILITY.md §5).

Two halves that must agree:

* :func:`infer_column` looks at a small sample of raw strings in Python and returns a
  :class:`ColumnType`: the set of kinds *every* sampled value fits (``bool``, ``int``, ``float``,
  ``datetime``) plus the date formats that fit them all. The column's kind is the first of those
  in priority order, ``string`` when none fits.
* :func:`convert_column` applies a ``ColumnType`` to a whole Arrow string column with
  ``pyarrow.compute``. Values that do not fit are never nulled (policy P2): their own kinds are
  intersected with the column's, so the column widens (bool(1/0) → int → float → string) until
  every value survives. Because the type is an intersection of per-value sets, the order in which
  values are seen does not change the result.

Example:
    >>> import pyarrow as pa
    >>> ctype = infer_column(["1", "2", None])
    >>> ctype.kind
    'int'
    >>> convert_column(pa.array(["1", "202.9", None]), ctype).to_pylist()
    [1.0, 202.9, None]
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime

import pyarrow as pa
import pyarrow.compute as pc

# Priority order: the first kind every value fits wins.
KINDS = ("bool", "int", "float", "datetime")

_ALL_CASES = lambda word: sorted({  # noqa: E731 - tiny helper for the two constants below
    "".join(c.upper() if mask >> i & 1 else c for i, c in enumerate(word)) for mask in range(1 << len(word))})
# Upper-case Y/N are booleans but y/n are not: that is what the reference does.
TRUE_TOKENS = tuple(_ALL_CASES("true")) + ("T", "t", "Y", "1")
FALSE_TOKENS = tuple(_ALL_CASES("false")) + ("F", "f", "N", "0")
_TRUE_SET = frozenset(TRUE_TOKENS)
_FALSE_SET = frozenset(FALSE_TOKENS)

INT_PATTERN = r"^[+-]?[0-9]+$"
FLOAT_PATTERN = r"(?i)^(?:[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:e[+-]?[0-9]+)?|[+-]?(?:nan|inf|infinity))$"
_INT_RE = re.compile(INT_PATTERN)
_FLOAT_RE = re.compile(FLOAT_PATTERN)
_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1


@dataclass(frozen=True)
class DateFamily:
    """One date/time spelling: a regex for recognition, a strptime format for parsing."""

    name: str
    pattern: str
    strptime: str | None  # None: ISO 8601, parsed by Arrow's own ISO parser
    order: str = "ymd"    # which regex groups hold year, month, day (first three groups)
    # True: the pattern names its parts (y m d, or a b for the first two of mdy/dmy; H M S f z p),
    # and values are assembled into ISO 8601 text before Arrow parses them.
    assembled: bool = False


_TIME_24 = r"(?P<H>[0-9]{1,2}):(?P<M>[0-9]{1,2})"


DATE_FAMILIES = (
    DateFamily("iso", r"^([0-9]{4})-([0-9]{2})-([0-9]{2})"
                      r"(?:[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,9})?(?:Z|[+-][0-9]{2}:[0-9]{2})?)?$", None),
    DateFamily("ymd_slash", r"^([0-9]{4})/([0-9]{1,2})/([0-9]{1,2})$", "%Y/%m/%d"),
    # Month-first before day-first: a column of only ambiguous dates reads as US dates (P3).
    DateFamily("mdy_slash", r"^([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})$", "%m/%d/%Y", "mdy"),
    DateFamily("dmy_slash", r"^([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})$", "%d/%m/%Y", "dmy"),
    DateFamily("mdy_dash", r"^([0-9]{1,2})-([0-9]{1,2})-([0-9]{4})$", "%m-%d-%Y", "mdy"),
    DateFamily("dmy_dash", r"^([0-9]{1,2})-([0-9]{1,2})-([0-9]{4})$", "%d-%m-%Y", "dmy"),
    DateFamily("mdy_ampm", r"^([0-9]{1,2})/([0-9]{1,2})/([0-9]{4}) [0-9]{1,2}:[0-9]{2}:[0-9]{2} [AaPp][Mm]$",
               "%m/%d/%Y %I:%M:%S %p", "mdy"),
    # What the reference also reads (observed): year first with / or -, one-digit parts, a time
    # after blanks or T with seconds, a fraction and a zone (2010/01/01 00:00:00, 2010-1-2 3:04:05);
    # day and month first with a time, seconds optional, AM/PM optional (13/02/2010 10:20 PM).
    DateFamily("ymd_time", r"^(?P<y>[0-9]{4})[/-](?P<m>[0-9]{1,2})[/-](?P<d>[0-9]{1,2})(?:(?:[ \t]+|T)" + _TIME_24
               + r":(?P<S>[0-9]{1,2})(?P<f>\.[0-9]+)?(?: ?(?P<z>Z|[+-][0-9]{2}:?[0-9]{2}))?)?$", None, "ymd", True),
    DateFamily("mdy_time", r"^(?P<a>[0-9]{1,2})[/-](?P<b>[0-9]{1,2})[/-](?P<y>[0-9]{4})(?:[ \t]+" + _TIME_24
               + r"(?::(?P<S>[0-9]{1,2}))?(?: ?(?P<p>[AaPp][Mm]))?)?$", None, "mdy", True),
    DateFamily("dmy_time", r"^(?P<a>[0-9]{1,2})[/-](?P<b>[0-9]{1,2})[/-](?P<y>[0-9]{4})(?:[ \t]+" + _TIME_24
               + r"(?::(?P<S>[0-9]{1,2}))?(?: ?(?P<p>[AaPp][Mm]))?)?$", None, "dmy", True),
)
FAMILIES = {family.name: family for family in DATE_FAMILIES}
_FAMILY_RES = tuple((family, re.compile(family.pattern)) for family in DATE_FAMILIES)
_ISO_TIME_RE = re.compile(r"[T ]([0-9]{2}):([0-9]{2}):([0-9]{2})")
_AMPM_TIME_RE = re.compile(r" ([0-9]{1,2}):([0-9]{2}):([0-9]{2}) ")
ZONE_PATTERN = r"(?:Z|[+-][0-9]{2}:[0-9]{2})$"


@dataclass(frozen=True)
class ColumnType:
    """What a column can be: the kinds and date families every value seen so far fits.

    ``seen`` is False while only nulls were seen (the column is then all-null, Arrow ``null``).
    """

    allowed: frozenset = frozenset(KINDS)
    families: tuple = tuple(f.name for f in DATE_FAMILIES)
    seen: bool = False

    @property
    def kind(self) -> str:
        if not self.seen:
            return "null"
        for kind in KINDS:
            if kind in self.allowed and (kind != "datetime" or self.families):
                return kind
        return "string"

    @property
    def family(self) -> DateFamily | None:
        return FAMILIES[self.families[0]] if self.kind == "datetime" else None

    def join(self, other: "ColumnType") -> "ColumnType":
        """The type both columns' values fit (an intersection, so it never narrows)."""
        if not other.seen:
            return self
        if not self.seen:
            return other
        families = tuple(name for name in self.families if name in other.families)
        return ColumnType(self.allowed & other.allowed, families, True)

    def without(self, kind: str) -> "ColumnType":
        """This type minus ``kind`` (or minus the current date family for ``datetime``)."""
        if kind == "datetime" and len(self.families) > 1:
            return replace(self, families=self.families[1:])
        return replace(self, allowed=self.allowed - {kind})


STRING = ColumnType(frozenset(), (), True)
NULL = ColumnType()


def classify(value: str | None, empty_as_string: bool = False) -> ColumnType:
    """The type a single raw value fits. ``None`` (an empty, unquoted field) fits anything.

    Example:
        >>> classify("1").allowed == frozenset({"bool", "int", "float"})
        True
        >>> classify("01/02/2024").families
        ('mdy_slash', 'dmy_slash', 'mdy_time', 'dmy_time')
    """
    if value is None:
        return NULL
    text = value.strip()
    if not text:
        # Blank values are nulls for typed columns; with empty_as_string an empty field is text.
        return STRING if empty_as_string else NULL
    allowed: set = set()
    if text in _TRUE_SET or text in _FALSE_SET:
        allowed.add("bool")
    if _INT_RE.match(text):
        fits_int, fits_float = integer_fits(text)
        if fits_int:
            allowed.add("int")
        if fits_float:
            allowed.add("float")
    elif _FLOAT_RE.match(text):
        allowed.add("float")
    families = tuple(family.name for family, regex in _FAMILY_RES if _date_fits(family, regex, text))
    if families:
        allowed.add("datetime")
    return ColumnType(frozenset(allowed), families, True)


def integer_fits(text: str) -> tuple[bool, bool]:
    """Whether the integer ``text`` (``[+-]digits``) fits int64, and whether a float64 holds it
    exactly (|value| <= 2**53: the floats beyond hold only some integers, and reading one there
    would silently change it, so such a value keeps a wider type; policy P2).

    Works on any length: a 10-million-digit value costs a strip, not Python's refusal to convert it.

    Example:
        >>> integer_fits("9007199254740993"), integer_fits("-007"), integer_fits("1" * 5000)
        ((True, False), (True, True), (False, False))
    """
    digits = text.lstrip("+-").lstrip("0")
    if len(digits) > 19:
        return False, False
    value = int(digits or "0") * (-1 if text.startswith("-") else 1)  # int(text) refuses 4301 zeros
    return _INT64_MIN <= value <= _INT64_MAX, -_FLOAT_EXACT <= value <= _FLOAT_EXACT


_FLOAT_EXACT = 1 << 53


def _date_fits(family: DateFamily, regex: re.Pattern, text: str) -> bool:
    match = regex.match(text)
    if not match:
        return False
    if family.assembled:
        return _assembled_fits(family, match.groupdict())
    first, second, third = (int(group) for group in match.groups()[:3])
    year, month, day = {"ymd": (first, second, third), "mdy": (third, first, second),
                        "dmy": (third, second, first)}[family.order]
    hour = minute = seconds = 0
    time_match = (_ISO_TIME_RE if family.strptime is None else _AMPM_TIME_RE).search(text)
    if time_match:
        hour, minute, seconds = (int(group) for group in time_match.groups())
        if family.name == "mdy_ampm":
            if not 1 <= hour <= 12:
                return False
            hour = 0
    try:
        datetime(year, month, day, hour, minute, seconds)
    except ValueError:
        return False
    return True


def _assembled_fits(family: DateFamily, parts: dict) -> bool:
    year = int(parts["y"])
    if family.order == "ymd":
        month, day = int(parts["m"]), int(parts["d"])
    else:
        month, day = (int(parts["a"]), int(parts["b"])) if family.order == "mdy" else (int(parts["b"]), int(parts["a"]))
    hour, minute, second = (int(parts.get(key) or 0) for key in ("H", "M", "S"))
    if parts.get("p"):
        if not 1 <= hour <= 12:
            return False
        hour = hour % 12 + (12 if parts["p"].upper() == "PM" else 0)
    try:
        datetime(year, month, day, hour, minute, second)
    except ValueError:
        return False
    return True


def infer_column(values, empty_as_string: bool = False) -> ColumnType:
    """The :class:`ColumnType` of a sample of raw strings (``None`` = empty field).

    Example:
        >>> infer_column(["True", "0", None]).kind
        'bool'
        >>> infer_column(["1", "x"]).kind
        'string'
        >>> infer_column(["13/02/2024", "01/02/2024"]).family.strptime
        '%d/%m/%Y'
    """
    result = NULL
    cache: dict = {}
    for value in values:
        ctype = cache.get(value)
        if ctype is None:
            ctype = cache[value] = classify(value, empty_as_string)
        result = result.join(ctype)
        if result.seen and result.kind == "string":
            break
    return result


# --- whole columns, vectorised ------------------------------------------------------------------


def _prepared(strings: pa.Array, empty_as_string: bool) -> pa.Array:
    """Trimmed values; blanks become null unless empty_as_string (then they never fit a kind)."""
    trimmed = pc.utf8_trim_whitespace(strings)
    if empty_as_string:
        return trimmed
    return pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, pa.string()), trimmed)


def _fits(values: pa.Array, ctype: ColumnType) -> tuple[pa.Array, pa.Array | None]:
    """Boolean mask: True where the (prepared) value converts under ``ctype`` (nulls fit); and
    the converted values when computing the mask gave them already (dates)."""
    kind = ctype.kind
    converted = None
    if kind == "bool":
        mask = pc.is_in(values, value_set=pa.array(TRUE_TOKENS + FALSE_TOKENS))
    elif kind in ("int", "float"):
        mask = pc.match_substring_regex(values, INT_PATTERN if kind == "int" else FLOAT_PATTERN)
        # Only integers of 16+ characters can overflow int64 or a float's exact range: check
        # those few exactly in Python.
        long = pc.and_(pc.match_substring_regex(values, INT_PATTERN), pc.greater(pc.utf8_length(values), 15))
        if pc.any(long).as_py():
            position = 0 if kind == "int" else 1
            in_range = [value is None or integer_fits(value)[position] for value in values.filter(long).to_pylist()]
            mask = pc.and_(mask, pc.invert(_scatter(long, in_range)))
    elif kind == "datetime":
        family = ctype.family
        if family.assembled:  # a value that does not match is null already
            converted = _to_datetime(values, family)
            mask = pc.is_valid(converted)
        else:
            mask = pc.match_substring_regex(values, family.pattern)
            converted = _to_datetime(pc.if_else(mask, values, pa.scalar(None, pa.string())), family)
            mask = pc.and_(mask, pc.is_valid(converted))
    else:
        return pa.array([True] * len(values)), None
    return pc.or_kleene(pc.is_null(values), mask).fill_null(True), converted


def _scatter(where: pa.Array, bad_flags: list) -> pa.Array:
    """True at the positions of ``where`` whose flag (in order) is False."""
    flags = iter(bad_flags)
    return pa.array([(not next(flags)) if hit else False for hit in where.to_pylist()])


def _to_datetime(values: pa.Array, family: DateFamily) -> pa.Array:
    if family.assembled:
        return _to_datetime(_as_iso(values, family), FAMILIES["iso"])
    if family.strptime is not None:
        return pc.strptime(values, format=family.strptime, unit="ns", error_is_null=True)
    zoned = pc.match_substring_regex(values, ZONE_PATTERN)
    try:
        local = pc.cast(pc.if_else(zoned, pa.scalar(None, pa.string()), values), pa.timestamp("ns"))
        utc = pc.cast(pc.if_else(zoned, values, pa.scalar(None, pa.string())), pa.timestamp("ns", "UTC"))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        # A calendar-invalid value among them: parse one by one so only that value fails.
        return pa.array([_iso_one(value) for value in values.to_pylist()], pa.timestamp("ns"))
    # Zoned times are converted to UTC and returned naive, as the reference does.
    return pc.if_else(zoned, pc.cast(utc, pa.timestamp("ns")), local)


def _as_iso(values: pa.Array, family: DateFamily) -> pa.Array:
    """``values`` (matching ``family``) rewritten as ISO 8601 text; null where they do not match."""
    parts = pc.extract_regex(values, pattern=family.pattern)

    def part(name: str, default: str = "") -> pa.Array:
        if name not in [field.name for field in parts.type]:
            return pa.array([default] * len(values), pa.string())
        text = pc.struct_field(parts, name)
        return pc.if_else(pc.equal(text, ""), default, text) if default else text

    def two_digits(array: pa.Array) -> pa.Array:
        return pc.utf8_lpad(array, width=2, padding="0")

    month, day = (part("m"), part("d")) if family.order == "ymd" else \
        (part("a"), part("b")) if family.order == "mdy" else (part("b"), part("a"))
    hour = part("H", "0")
    marker = pc.utf8_upper(part("p"))
    if pc.any(pc.not_equal(marker, "")).as_py():
        number = pc.cast(hour, pa.int64())
        twelve = pc.if_else(pc.equal(number, 12), 0, number)
        shifted = pc.if_else(pc.equal(marker, "PM"), pc.add(twelve, 12), twelve)
        valid = pc.and_(pc.greater_equal(number, 1), pc.less_equal(number, 12))
        # 0 AM or 13 PM are not times: an hour that cannot parse makes the value null.
        hour = pc.if_else(pc.equal(marker, ""), hour, pc.if_else(valid, pc.cast(shifted, pa.string()), "99"))
    zone = part("z")
    zone = pc.if_else(pc.equal(pc.utf8_length(zone), 5),  # +hhmm → +hh:mm
                      pc.binary_join_element_wise(pc.utf8_slice_codeunits(zone, 0, 3), ":",
                                                  pc.utf8_slice_codeunits(zone, 3, 5), ""), zone)
    fraction = pc.utf8_slice_codeunits(part("f"), 0, 10)  # the reference keeps nanoseconds
    return pc.binary_join_element_wise(part("y"), "-", two_digits(month), "-", two_digits(day), "T",
                                       two_digits(hour), ":", two_digits(part("M", "0")), ":",
                                       two_digits(part("S", "0")), fraction, zone, "")


def _iso_one(value: str | None):
    if value is None:
        return None
    zoned = re.search(ZONE_PATTERN, value) is not None
    try:
        scalar = pc.cast(pa.array([value]), pa.timestamp("ns", "UTC") if zoned else pa.timestamp("ns"))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    return pc.cast(scalar, pa.timestamp("ns"))[0].value


def _convert_fitting(values: pa.Array, ctype: ColumnType) -> pa.Array:
    kind = ctype.kind
    if kind == "bool":
        result = pc.is_in(values, value_set=pa.array(TRUE_TOKENS))
        return pc.if_else(pc.is_null(values), pa.scalar(None, pa.bool_()), result)
    if kind == "int":
        return pc.cast(pc.replace_substring_regex(values, r"^\+", ""), pa.int64())
    if kind == "float":
        return pc.cast(values, pa.float64())
    return _to_datetime(values, ctype.family)


def convert_column(strings, ctype: ColumnType, empty_as_string: bool = False) -> pa.Array:
    """Convert raw strings to ``ctype``, widening the type until every value survives (P2).

    Returns an Arrow array: int64, float64, bool, timestamp[ns], string, or null (all empty).

    Example:
        >>> convert_column(pa.array(["1", "0", "2"]), infer_column(["1", "0"])).to_pylist()
        [1, 0, 2]
        >>> convert_column(pa.array(["1", "oops"]), infer_column(["1"])).to_pylist()
        ['1', 'oops']
    """
    if isinstance(strings, pa.ChunkedArray):
        strings = strings.combine_chunks()
    if pa.types.is_null(strings.type):
        strings = strings.cast(pa.string())
    return _convert(strings, ctype, empty_as_string)[0]


def convert_widening(strings: pa.Array, ctype: ColumnType, empty_as_string: bool = False):
    """Like :func:`convert_column`, also returning the (possibly widened) type used.

    Example:
        >>> convert_widening(pa.array(["1", "2.5"]), infer_column(["1"]))[1].kind
        'float'
    """
    if pa.types.is_null(strings.type):
        strings = strings.cast(pa.string())
    return _convert(strings, ctype, empty_as_string)


def _convert(strings: pa.Array, ctype: ColumnType, empty_as_string: bool):
    values = None
    while True:
        kind = ctype.kind
        if kind == "string":
            return strings, ctype
        if values is None:
            values = _prepared(strings, empty_as_string)
        if kind == "null":
            if values.null_count == len(values):
                return pa.nulls(len(values), pa.null()), ctype
            ctype = infer_column(pc.unique(values.drop_null()).to_pylist()[:1000], empty_as_string)
            continue
        mask, converted = _fits(values, ctype)
        if pc.all(mask).as_py():
            return (_convert_fitting(values, ctype) if converted is None else converted), ctype
        misfits = pc.unique(pc.filter(values, pc.invert(mask))).to_pylist()[:1000]
        widened = ctype.join(infer_column(misfits, empty_as_string))
        # The Python and vectorised checks should agree; if not, still make progress.
        ctype = widened if widened != ctype else ctype.without(kind)
