"""Tests for the filter language (mltable_lite.expressions).

Semantics follow COMPATIBILITY.md section 9 and policies P4 (errors at parse), P5 (unknown
columns are errors) and P6 (Python chained comparisons).
"""

from __future__ import annotations

import datetime as dt
import decimal
import random
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pytest

from mltable_lite.errors import UserErrorException
from mltable_lite.expressions import (
    MAX_DEPTH,
    And,
    BinOp,
    Bool,
    Column,
    Compare,
    DateTime,
    Float,
    Int,
    Not,
    Null,
    Or,
    StartsWith,
    String,
    Unary,
    compile_filter,
    evaluate,
    parse,
    referenced_columns,
    to_text,
)

FIXTURES = Path(__file__).parent / "fixtures"
IDENTITY_LINES = [
    line for line in (FIXTURES / "filter_identity.txt").read_text(encoding="utf-8").splitlines() if line
]


@pytest.fixture(scope="module")
def table() -> pa.Table:
    """Five rows; the last row is null in every column."""
    return pa.table(
        {
            "id": pa.array([1, 2, 3, 4, None], pa.int64()),
            "f": pa.array([0.5, -1.5, 2.0, float("nan"), None], pa.float64()),
            "s": pa.array(["apple", "banana", "5", "Apple", None], pa.string()),
            "flag": pa.array([True, False, True, None, None], pa.bool_()),
            "ts": pa.array(
                [dt.datetime(2020, 1, 1), dt.datetime(2020, 6, 1, 12, 30), dt.datetime(2019, 12, 31, 23, 59, 59),
                 dt.datetime(2021, 1, 1), None],
                pa.timestamp("us"),
            ),
            "d": pa.array([dt.date(2020, 1, 1), dt.date(2020, 1, 2), dt.date(2019, 1, 1), None, None], pa.date32()),
            "FBI Code": pa.array(["11", "08", "11", None, None], pa.string()),
            "n": pa.array([10, 20, 30, 40, None], pa.int32()),
        }
    )


def rows(expr_text: str, data: pa.Table) -> list:
    """The 'id' values of the rows a filter keeps (row 5, all nulls, shows as None)."""
    mask = evaluate(parse(expr_text), data)
    assert mask.type == pa.bool_() and mask.null_count == 0
    return [i for i, keep in zip(data.column("id").to_pylist(), mask.to_pylist()) if keep]


# ---------------------------------------------------------------------------------------------
# Round trips (sqlglot habit: tests/fixtures/filter_identity.txt)
# ---------------------------------------------------------------------------------------------


def test_identity_fixture_is_big_enough():
    assert len(IDENTITY_LINES) >= 40


@pytest.mark.parametrize("line", IDENTITY_LINES)
def test_identity_fixture_round_trips(line):
    expr = parse(line)
    assert to_text(expr) == line
    assert parse(to_text(expr)) == expr
    assert hash(parse(line)) == hash(expr)


NON_CANONICAL = {
    "id==1": "id == 1",
    "  id   >=   1  ": "id >= 1",
    "(id == 1)": "id == 1",
    "((a)) and (((b)))": "a and b",
    "col('id') == 1": "id == 1",
    'col("FBI Code")==\'11\'': 'col("FBI Code") == "11"',
    "s == 'say \"hi\"'": 's == "say \\"hi\\""',
    "s == 'it\\'s'": 's == "it\'s"',
    "s == '\\x41\\u00e9\\U0001F600'": 's == "Aé😀"',
    "s == 'C:\\data'": 's == "C:\\\\data"',
    "s == '\\101'": 's == "A"',
    "x == 1.": "x == 1.0",
    "x == .5": "x == 0.5",
    "x == 1E3": "x == 1000.0",
    "x == 2.5e-3": "x == 0.0025",
    "x == 007": "x == 7",
    "x == 1e400": "x == 1e999",
    "datetime(2020, 1, 1, 0, 0, 0) < ts": "datetime(2020, 1, 1) < ts",
    "ts > datetime(2020,1,1,5)": "ts > datetime(2020, 1, 1, 5, 0, 0)",
    "not (a == 1)": "not a == 1",
    "(not a) and b": "not a and b",
    "a or (b and c)": "a or b and c",
    "(a * b) + c > 1": "a * b + c > 1",
    "-(1) < x": "-1 < x",
    "- - x > 1": "--x > 1",
    "col('datetime') > 1": 'col("datetime") > 1',
    "datetime > 1": 'col("datetime") > 1',
    "col == 1": 'col("col") == 1',
    "col('x').startswith('a')": 'x.startswith("a")',
    "a\t==\n1": "a == 1",
    "a\u00a0==\u30001": "a == 1",
}


@pytest.mark.parametrize("source", sorted(NON_CANONICAL))
def test_non_canonical_inputs_print_canonically(source):
    expr = parse(source)
    assert to_text(expr) == NON_CANONICAL[source]
    assert parse(to_text(expr)) == expr


def _random_expr(rng: random.Random, depth: int):
    """Any tree the AST allows, including ones the parser would never build directly."""
    if depth <= 0 or rng.random() < 0.2:
        return rng.choice([
            lambda: Column(rng.choice(["a", "b", "FBI Code", "and", "col", "x1", "_", "é", "1st", 'q"'])),
            lambda: Int(rng.choice([0, 1, 42, 2**70])),
            lambda: Float(rng.choice([0.0, 0.5, 1e-7, 1e16, 3.14159, float("inf")])),
            lambda: String(rng.choice(["a", "it's", 'say "x"', "\\", "\n\t\x00", "日本", "\u2028"])),
            lambda: Bool(rng.random() < 0.5),
            lambda: Null(),
            lambda: DateTime(2020, 2, 29, rng.randrange(24), 0, rng.randrange(60)),
            lambda: StartsWith(Column(rng.choice(["a", "x y"])), "pre"),
        ])()
    sub = lambda: _random_expr(rng, depth - 1)  # noqa: E731

    def compare():
        n = rng.randint(1, 3)
        ops = tuple(rng.choice(["==", "!=", "<", "<=", ">", ">="]) for _ in range(n))
        return Compare(ops, tuple(sub() for _ in range(n + 1)))

    return rng.choice([
        lambda: Unary(rng.choice("-+"), sub()),
        lambda: BinOp(rng.choice("+-*/%"), sub(), sub()),
        compare,
        lambda: Not(sub()),
        lambda: And(tuple(sub() for _ in range(rng.randint(2, 3)))),
        lambda: Or(tuple(sub() for _ in range(rng.randint(2, 3)))),
    ])()


def test_every_tree_round_trips():
    rng = random.Random(20240607)
    for _ in range(2000):
        expr = _random_expr(rng, 5)
        text = to_text(expr)
        assert parse(text) == expr, text
        assert to_text(parse(text)) == text


# ---------------------------------------------------------------------------------------------
# The tree
# ---------------------------------------------------------------------------------------------


def test_precedence_builds_python_shaped_trees():
    a, b, c = Column("a"), Column("b"), Column("c")
    assert parse("a or b and c") == Or((a, And((b, c))))
    assert parse("a and b or c") == Or((And((a, b)), c))
    assert parse("not a and b") == And((Not(a), b))
    assert parse("not a == b") == Not(Compare(("==",), (a, b)))
    assert parse("a + b * c") == BinOp("+", a, BinOp("*", b, c))
    assert parse("a - b - c") == BinOp("-", BinOp("-", a, b), c)
    assert parse("-a * b") == BinOp("*", Unary("-", a), b)
    assert parse("a + b < c * 2") == Compare(("<",), (BinOp("+", a, b), BinOp("*", c, Int(2))))
    assert parse("1 < a <= 3") == Compare(("<", "<="), (Int(1), a, Int(3)))
    assert parse("a or b or c") == Or((a, b, c))
    assert parse("(a or b) or c") == Or((Or((a, b)), c))
    assert parse('col("FBI Code").startswith("1")') == StartsWith(Column("FBI Code"), "1")


def test_literals_keep_their_types_distinct():
    assert parse("1") == Int(1)
    assert parse("1.0") == Float(1.0)
    assert parse("True") == Bool(True)
    assert len({Int(1), Float(1.0), Bool(True)}) == 3
    assert Int(1) != Float(1.0) != Bool(True)
    assert parse("None") == Null()
    assert parse("-1") == Unary("-", Int(1))
    assert parse("'x'") == String("x") == parse('"x"')
    assert parse("datetime(2020, 2, 29)") == DateTime(2020, 2, 29)


def test_nodes_are_immutable_and_hashable():
    expr = parse("a > 1 and b")
    with pytest.raises(Exception):
        expr.operands = ()
    assert {expr: 1}[parse("a > 1 and b")] == 1
    assert str(expr) == "a > 1 and b"


@pytest.mark.parametrize(
    "build",
    [
        lambda: Int(-1),
        lambda: Int(True),
        lambda: Float(float("nan")),
        lambda: String(""),
        lambda: Column(""),
        lambda: DateTime(2020, 2, 30),
        lambda: BinOp("**", Int(1), Int(2)),
        lambda: Compare(("==",), (Int(1),)),
        lambda: And((Int(1),)),
        lambda: StartsWith(String("a"), "a"),
    ],
)
def test_invalid_nodes_are_refused_at_construction(build):
    with pytest.raises(ValueError):
        build()


def test_too_deep_trees_cannot_be_built():
    expr = Column("a")
    with pytest.raises(UserErrorException, match="nested too deeply"):
        for _ in range(MAX_DEPTH + 1):
            expr = Not(expr)


def test_referenced_columns():
    assert referenced_columns(parse('a > 1 or col("FBI Code").startswith("1") and not flag')) == {
        "a", "FBI Code", "flag"}
    assert referenced_columns(parse("1 < 2")) == frozenset()
    assert referenced_columns(parse("a + a == a")) == frozenset({"a"})


# ---------------------------------------------------------------------------------------------
# Semantics on real tables
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("id == 2", [2]),
        ("id != 2", [1, 3, 4]),
        ("id < 2", [1]),
        ("id <= 2", [1, 2]),
        ("id > 2", [3, 4]),
        ("id >= 2", [2, 3, 4]),
        ("id > 1 and id < 4", [2, 3]),
        ("id == 1 or id == 4", [1, 4]),
        ("id == 1 or id == 2 and s == 'x'", [1]),
        ("(id == 1 or id == 2) and s == 'apple'", [1]),
        ("not id == 1", [2, 3, 4, None]),
        ("not (id == 1 or id == 2)", [3, 4, None]),
        ("id + 1 == 3", [2]),
        ("id - 1 == 0", [1]),
        ("id * 2 == 6", [3]),
        ("id / 2 == 1.5", [3]),
        ("id / 4 == 0.25", [1]),
        ("id % 2 == 0", [2, 4]),
        ("-id == -3", [3]),
        ("+id == 3", [3]),
        ("id * 2 + 1 == 7", [3]),
        ("(id + 1) * 2 == 6", [2]),
        ("id + n == 22", [2]),
        ("n / id == 10", [1, 2, 3, 4]),
        ("f > 0", [1, 3]),
        ("f == -1.5", [2]),
        ("id == 2.0", [2]),
        ("id < 2.5", [1, 2]),
        ("f * 2 == id", [1]),
        ("s == 'apple'", [1]),
        ("s > 'b'", [2]),
        ("s < 'B'", [3, 4]),  # byte order: '5' < 'A' < 'B' < 'a'
        ("s + '!' == 'apple!'", [1]),
        ("'x' + 'y' == 'xy'", [1, 2, 3, 4, None]),
        ("flag", [1, 3]),
        ("not flag", [2, 4, None]),
        ("not not flag", [1, 3]),
        ("flag == True", [1, 3]),
        ("flag != True", [2]),
        ("flag and id > 1", [3]),
        ("flag or id == 4", [1, 3, 4]),
        ("True", [1, 2, 3, 4, None]),
        ("False", []),
        ("1 < 2", [1, 2, 3, 4, None]),
        ('col("FBI Code") == "11"', [1, 3]),
        ("col('FBI Code') != '11'", [2]),
        ("col('id') == 3", [3]),
        ("s.startswith('a')", [1]),
        ("s.startswith('A')", [4]),
        ("not s.startswith('a')", [2, 3, 4, None]),
        ('col("FBI Code").startswith("0")', [2]),
        ("s.startswith('apple pie')", []),
    ],
)
def test_operators(table, text, expected):
    assert rows(text, table) == expected


def test_python_modulo_and_true_division():
    data = pa.table({"id": [1, 2, 3, 4], "a": [-7, 7, -7, 7], "b": [3, -3, -3, 3], "x": [-7.5, 7.5, 1.0, 3.0]})
    assert evaluate(parse("a % b == 2"), data).to_pylist() == [True, False, False, False]  # -7 % 3
    assert evaluate(parse("a % b == -2"), data).to_pylist() == [False, True, False, False]  # 7 % -3
    assert evaluate(parse("a % b == -1"), data).to_pylist() == [False, False, True, False]
    assert evaluate(parse("x % 2 == 0.5"), data).to_pylist() == [True, False, False, False]
    assert evaluate(parse("7 / 2 == 3.5"), data).to_pylist() == [True] * 4
    assert evaluate(parse("a / b < -2.3"), data).to_pylist() == [True, True, False, False]


@pytest.mark.parametrize(
    "text, expected",
    [
        # Any comparison with null is false, so both of these match nothing.
        ("id == None", []),
        ("id != None", []),
        ("None == None", []),
        ("s != 'apple'", [2, 3, 4]),  # the null row is not "different"
        # ...and negating a false comparison is true, nulls included.
        ("not (id > 2)", [1, 2, None]),
        ("not id == None", [1, 2, 3, 4, None]),
        # Arithmetic with null is null.
        ("id + None == 1", []),
        ("not (id + None == 1)", [1, 2, 3, 4, None]),
        ("id / 0 == 1", []),  # division by zero is null
        ("id / 0 != 1", []),
        ("id % 0 != 1", []),
        ("None", []),
        ("not None", [1, 2, 3, 4, None]),
        # A null boolean counts as false.
        ("flag or not flag", [1, 2, 3, 4, None]),
        ("flag and not flag", []),
        ("f != f", [4]),  # NaN is a value, not null
    ],
)
def test_null_semantics(table, text, expected):
    assert rows(text, table) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        # number vs string: the string is greater, for every non-null row.
        ("s > 5", [1, 2, 3, 4]),
        ("s >= 5", [1, 2, 3, 4]),
        ("s < 5", []),
        ("s == 5", []),
        ("s != 5", [1, 2, 3, 4]),
        ("5 < s", [1, 2, 3, 4]),
        ("id == '1'", []),
        ("id != '1'", [1, 2, 3, 4]),
        ("id < 'a'", [1, 2, 3, 4]),
        ('col("FBI Code") == 11', []),
        # datetime vs string: the datetime is greater.
        ("ts > 'x'", [1, 2, 3, 4]),
        ("ts < 'x'", []),
        ("datetime(2020, 1, 1) > s", [1, 2, 3, 4]),
        # datetime vs number: the datetime is greater.
        ("ts > 5", [1, 2, 3, 4]),
        ("ts == 5", []),
        # booleans are numbers for comparison: True == 1, False == 0.
        ("flag == 1", [1, 3]),
        ("flag < 1", [2]),
        ("flag + flag == 2", [1, 3]),
        ("flag > 'a'", []),
        ("True == 1", [1, 2, 3, 4, None]),
    ],
)
def test_cross_type_comparisons_never_fail(table, text, expected):
    assert rows(text, table) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("1 < id < 4", [2, 3]),  # P6: not "every row" as in the reference
        ("1 < id <= 4", [2, 3, 4]),
        ("4 > id > 1", [2, 3]),
        ("id < 3 == True", []),  # (id < 3) and (3 == True), and 3 == True is false, as in Python
        ("id < 2 == 2.0", [1]),
        ("0 < id < 10 < 100", [1, 2, 3, 4]),
        ("1 < id > 3", [4]),
        # Parenthesised: a boolean (never null: the null row's comparison is False) below 4.
        ("(1 < id) < 4", [1, 2, 3, 4, None]),
    ],
)
def test_chained_comparisons_are_pythons(table, text, expected):
    assert rows(text, table) == expected


def test_datetime_literals(table):
    assert rows("ts > datetime(2020, 1, 1)", table) == [2, 4]
    assert rows("ts >= datetime(2020, 1, 1)", table) == [1, 2, 4]
    assert rows("ts == datetime(2020, 6, 1, 12, 30, 0)", table) == [2]
    assert rows("ts < datetime(2019, 12, 31, 23, 59, 59)", table) == []
    assert rows("datetime(2019, 1, 1) < ts < datetime(2020, 12, 31)", table) == [1, 2, 3]
    assert rows("ts < datetime(9999, 12, 31)", table) == [1, 2, 3, 4]
    assert rows("ts > datetime(1, 1, 1)", table) == [1, 2, 3, 4]
    # date32 columns compare as midnight timestamps.
    assert rows("d == datetime(2020, 1, 1)", table) == [1]
    assert rows("d > datetime(2020, 1, 1)", table) == [2]
    assert rows("d < datetime(2020, 1, 1, 0, 0, 1)", table) == [1, 3]
    assert rows("d == ts", table) == [1]


def test_datetime_units_and_time_zones():
    data = pa.table(
        {
            "id": [1, 2, 3],
            # 12:00 UTC is 13:00 in Paris; literals are compared in UTC.
            "paris": pa.array([dt.datetime(2020, 1, 1, 12), None, dt.datetime(2020, 1, 2)],
                              pa.timestamp("ns", tz="Europe/Paris")),
            "utc_s": pa.array([dt.datetime(2020, 1, 1, 12), dt.datetime(2020, 1, 1), None], pa.timestamp("s", tz="UTC")),
            "naive_ns": pa.array([dt.datetime(2020, 1, 1, 12), dt.datetime(2262, 1, 1), None], pa.timestamp("ns")),
            "d64": pa.array([dt.date(2020, 1, 1), None, dt.date(2021, 1, 1)], pa.date64()),
        }
    )
    assert rows("paris == datetime(2020, 1, 1, 12, 0, 0)", data) == [1]
    assert rows("paris == utc_s", data) == [1]
    assert rows("paris == naive_ns", data) == [1]
    assert rows("naive_ns < datetime(9999, 1, 1)", data) == [1, 2]  # beyond the ns range
    assert rows("naive_ns > datetime(1000, 1, 1)", data) == [1, 2]
    assert rows("d64 >= datetime(2020, 1, 1)", data) == [1, 3]


def test_other_arrow_types():
    data = pa.table(
        {
            "id": [1, 2, 3],
            "u8": pa.array([200, 0, None], pa.uint8()),
            "u64": pa.array([2**63 + 5, 3, None], pa.uint64()),
            "i8": pa.array([100, -100, None], pa.int8()),
            "f32": pa.array([2.5, 0.5, None], pa.float32()),
            "dec": pa.array([decimal.Decimal("1.10"), decimal.Decimal("-2.00"), None], pa.decimal128(10, 2)),
            "dict": pa.array(["apple", "pear", None]).dictionary_encode(),
            "large": pa.array(["apple", "pear", None], pa.large_string()),
            "view": pa.array(["apple", "pear", None], pa.string_view()),
            "nothing": pa.array([None, None, None], pa.null()),
            "bin": pa.array([b"ab", b"cd", None], pa.binary()),
            "tm": pa.array([dt.time(1), dt.time(2), None], pa.time64("us")),
            "lst": pa.array([[1], [2], None], pa.list_(pa.int64())),
        }
    )
    assert rows("u8 - 201 < 0", data) == [1, 2]  # no uint8 wrap-around
    assert rows("i8 * 2 == 200", data) == [1]  # no int8 overflow
    assert rows("u64 == 3", data) == [2]
    assert rows("u64 > 3", data) == [1]
    assert rows("f32 == 2.5", data) == [1]
    assert rows("dec > 1", data) == [1]
    assert rows("dec == -2", data) == [2]
    assert rows("dict == 'apple'", data) == [1]
    assert rows("dict.startswith('p')", data) == [2]
    assert rows("large == 'pear'", data) == [2]
    assert rows("large == view", data) == [1, 2]
    assert rows("view.startswith('a')", data) == [1]
    assert rows("nothing", data) == []
    assert rows("nothing == 1", data) == []
    assert rows("not nothing", data) == [1, 2, 3]
    assert rows("bin == 'ab'", data) == []  # bytes never equal text, as in Python
    assert rows("bin > 'zz'", data) == [1, 2]  # binary sorts after strings
    assert rows("bin.startswith('a')", data) == []  # startswith on a non-string: false
    assert rows("tm > tm", data) == []
    assert rows("tm == tm", data) == [1, 2]
    assert rows("lst != 1", data) == [1, 2]
    assert rows("id.startswith('1')", data) == []
    with pytest.raises(UserErrorException, match="Cannot compare values of type list"):
        compile_filter(parse("lst == lst"), data.schema)


def test_big_numbers_compare_without_failing():
    data = pa.table({"id": [1, 2], "big": pa.array([2**62 + 1, 3], pa.int64()), "f": [0.5, 1.0]})
    assert rows("big < 99999999999999999999999", data) == [1, 2]
    assert rows("big == 4611686018427387905.0", data) == [1]
    assert rows("big + f > 0", data) == [1, 2]
    assert rows("big == 4611686018427387905", data) == [1]
    assert rows("big < 1" + "0" * 400, data) == [1, 2]  # beyond float64 too: infinity
    assert rows("-1" + "0" * 400 + " < f", data) == [1, 2]


def test_integer_overflow_is_an_error_not_a_wrap_around():
    # Python ints do not overflow; we refuse to wrap around silently.
    data = pa.table({"id": [2**62]})
    with pytest.raises(pa.ArrowInvalid, match="overflow"):
        evaluate(parse("id * 4 > 0"), data)


def test_compiled_expression_works_in_scanners_and_table_filter(table):
    expr = parse('id > 1 and col("FBI Code") == "11" or s.startswith("b")')
    compiled = compile_filter(expr, table.schema)
    assert isinstance(compiled, pc.Expression)
    assert table.filter(compiled).column("id").to_pylist() == [2, 3]
    assert ds.dataset(table).to_table(filter=compiled).column("id").to_pylist() == [2, 3]
    batch = table.to_batches()[0]
    assert evaluate(expr, batch).to_pylist() == [False, True, True, False, False]


@pytest.mark.parametrize(
    "text",
    ["id == None", "not (id > 2)", "s > 5", "flag", "not flag", "1 < id < 4", "id / 0 != 1",
     "s.startswith('a')", "d == ts", "f != f", "None", "ts > 'x'"],
)
def test_evaluate_equals_compiled_filter(table, text):
    expr = parse(text)
    via_filter = table.filter(compile_filter(expr, table.schema))
    via_mask = table.filter(evaluate(expr, table))
    # (compare without the float column: NaN != NaN would make equal tables unequal)
    assert via_filter.drop_columns(["f"]).equals(via_mask.drop_columns(["f"]))
    assert via_filter.num_rows == via_mask.num_rows


def test_empty_table_keeps_working(table):
    empty = table.slice(0, 0)
    assert evaluate(parse("id > 1"), empty).to_pylist() == []
    assert empty.filter(compile_filter(parse("id > 1"), empty.schema)).num_rows == 0


# ---------------------------------------------------------------------------------------------
# Compile-time errors
# ---------------------------------------------------------------------------------------------


def test_unknown_column_lists_existing_columns(table):
    with pytest.raises(UserErrorException) as info:
        compile_filter(parse("idd > 1"), table.schema)
    message = str(info.value)
    assert "'idd'" in message and "Did you mean 'id'?" in message
    for name in table.column_names:
        assert repr(name) in message


def test_unquoted_col_argument_is_a_parse_error_not_a_silent_null():
    with pytest.raises(UserErrorException, match=r"col\(\) takes one quoted column name"):
        parse("col(id) == 1")


def test_unknown_column_is_found_even_in_dead_branches(table):
    with pytest.raises(UserErrorException, match="'nope'"):
        compile_filter(parse("True or nope == 1"), table.schema)


@pytest.mark.parametrize(
    "text, kind",
    [("1", "number"), ('"x"', "string"), ("id + 1", "number"), ("s", "string"), ("ts", "datetime"),
     ("datetime(2020, 1, 1)", "datetime"), ("id and flag", "number"), ("not s", "string"), ("flag or 2.5", "number")],
)
def test_non_boolean_expression_is_a_value_cast_error(table, text, kind):
    with pytest.raises(UserErrorException) as info:
        compile_filter(parse(text), table.schema)
    assert str(info.value).startswith("Value cast error. Expected 'Boolean'")
    assert f"is a {kind}" in str(info.value)


@pytest.mark.parametrize("text", ["s - 1 > 0", "s * 2 == 'aa'", "-s < 1", "ts + 1 > ts", "s + 1 == 's1'", "+s > 1"])
def test_unsupported_arithmetic_is_a_clear_error(table, text):
    with pytest.raises(UserErrorException, match="Cannot apply"):
        compile_filter(parse(text), table.schema)


def test_ambiguous_column_is_an_error():
    data = pa.table([pa.array([1]), pa.array([2])], names=["a", "a"])
    with pytest.raises(UserErrorException, match="ambiguous"):
        compile_filter(parse("a == 1"), data.schema)


# ---------------------------------------------------------------------------------------------
# Parse errors (policy P4): at parse time, with the position
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, position, fragments",
    [
        ("id = = 1", 4, ["Unconsumed part: '= = 1'", "Use '=='"]),
        ("id = 1", 4, ["Unconsumed part: '= 1'", "of 'id = 1'", "Use '=='"]),
        ("a == 1 && b == 2", 8, ["Use 'and'"]),
        ("a == 1 & b == 2", 8, ["Use 'and'"]),
        ("a == 1 AND b == 2", 8, ["Use lowercase 'and'"]),
        ("a == 1 || b == 2", 8, ["Use 'or'"]),
        ("a <> 1", 3, ["Use '!='"]),
        ("x in (1, 2)", 3, ["'in' is not supported"]),
        ("x is None", 3, ["'is'", "comparisons with None match nothing"]),
        ("x is not None", 3, ["'is'"]),
        ('x == ""', 6, ["Empty string literal", "s < \"\\x00\""]),
        ("x == ''", 6, ["Empty string literal"]),
        ("abs(x) > 1", 1, ["Unknown function 'abs'", 'col("name")', "datetime(", "startswith"]),
        ("x.contains('a')", 3, ["Unknown method 'contains'", "startswith"]),
        ("x.endswith('a')", 3, ["Unknown method 'endswith'"]),
        ("a ==", 5, ["Unexpected end of input"]),
        ("a == 1 and", 11, ["Unexpected end of input"]),
        ("a +", 4, ["Unexpected end of input"]),
        ("(a == 1", 8, ["Missing ')'", "position 1"]),
        ("a == 1)", 7, ["Unbalanced parenthesis"]),
        ("FBI Code == 1", 5, ["col(\"name\")"]),
        ("'abc", 1, ["Unterminated string literal"]),
        ('a == "abc\n"', 6, ["Unterminated string literal"]),
        ("a == 'x\\", 6, ["Unterminated string literal"]),
        ("a == 1 2", 8, ["Unconsumed part: '2'"]),
        ("a == not b", 6, ["parentheses"]),
        ("- not a", 3, ["parentheses"]),
        ("datetime(2020, 13, 1) < ts", 1, ["Invalid datetime", "Month must be in 1..12"]),
        ("datetime(2020, 1) < ts", 17, ["datetime() takes 3 to 6 integers"]),
        ("datetime(2020, 1, 1, 1, 1, 1, 1) < ts", 29, ["datetime() takes 3 to 6 integers"]),
        ("datetime(2020, -1, 1) < ts", 16, ["datetime() takes 3 to 6 integers"]),
        ("datetime(2020.0, 1, 1) < ts", 10, ["datetime() takes 3 to 6 integers"]),
        ("col(id) == 1", 5, ["col() takes one quoted column name"]),
        ("col('a', 'b') == 1", 8, ["col() takes one quoted column name"]),
        ("x.startswith(1)", 14, ["startswith() takes one quoted string"]),
        ("x.startswith", 13, ["startswith() takes one quoted string"]),
        ("'x'.startswith('a')", 5, ["startswith() can only be called on a column"]),
        ("x.startswith('a').startswith('b')", 19, ["startswith() can only be called on a column"]),
        ("a ** 2 > 1", 3, ["'**'"]),
        ("a // 2 > 1", 3, ["'//'"]),
        ("a[0] > 1", 2, ["Indexing"]),
        ("!a", 1, ["Use 'not'"]),
        ("and a", 1, ["Expected a value before 'and'"]),
        ("a == \\x41", 6, ["Unexpected character"]),
        ("a == '\\xZZ'", 7, ["Invalid \\x escape"]),
        ("a == '\\ud800'", 7, ["Not a Unicode scalar value"]),
        ("", 1, ["Unexpected end of input"]),
        ("   ", 4, ["Unexpected end of input"]),
        ("(a)(1)", 4, ["can be called"]),
    ],
)
def test_syntax_errors_name_the_position(text, position, fragments):
    with pytest.raises(UserErrorException) as info:
        parse(text)
    message = str(info.value)
    assert message.startswith("Python expression parse error. ")
    assert f"at position {position} " in message, message
    for fragment in fragments:
        assert fragment in message, (fragment, message)


HOSTILE = [
    "__import__('os').system('x')",
    "__import__('os').system('touch /tmp/pwned') == 0",
    "().__class__",
    "().__class__.__bases__[0].__subclasses__()",
    "lambda: 1",
    "(lambda: 1)() == 1",
    "[x for x in y]",
    "{1: 2}",
    'open("f")',
    'open("/etc/passwd").read() == "x"',
    "exec('1')",
    "eval('1')",
    "getattr(a, 'b')",
    "globals()",
    "import os",
    "a if b else c",
    "a := 1",
    "yield a",
    "await a",
    '"a" * 10**9',
    "10**10**10 > 1",
    "9" * 5000 + " > 1",
    "(" * 10_000 + "a" + ")" * 10_000,
    "not " * 10_000 + "a",
    "-" * 10_000 + "a > 1",
    " + ".join(["a"] * 10_000) + " > 1",
    "a" * 1_000_000,
    "a == 1 or " * 100_000 + "a == 1",
    "a == 1\0",
    "\0",
    "a == '\0'",
    "'unterminated",
    '"unterminated',
    "'''triple'''",
    'f"{__import__(\'os\')}" == 1',
    "b'x' == 1",
    "a == 1; import os",
    "a == 1 # comment",
    "`a`",
    "a == 1\\\n",
    "\ud800",
    "a == '\ud800'",
    "datetime(99999999999999999999, 1, 1) < a",
    "datetime(2020, 1, 1, 99) < a",
    "col(" * 1000,
    "a." * 1000,
    "x.startswith(" * 1000,
]


@pytest.mark.parametrize("text", HOSTILE, ids=[f"hostile{i}" for i in range(len(HOSTILE))])
def test_hostile_inputs_fail_cleanly_and_quickly(text):
    start = time.perf_counter()
    with pytest.raises(UserErrorException) as info:
        parse(text)
    assert time.perf_counter() - start < 2
    assert str(info.value).startswith("Python expression parse error.")
    assert len(str(info.value)) < 1000  # a 1 MB input is not echoed back


def test_long_or_chains_are_fine(table):
    # n-ary and/or: thousands of alternatives stay shallow.
    text = " or ".join(f"id == {i}" for i in range(5000))
    assert len(parse(text).operands) == 5000
    assert rows(text, table) == [1, 2, 3, 4]


def test_nesting_up_to_the_limit_works(table):
    depth = MAX_DEPTH // 2
    assert rows("(" * depth + "id == 1" + ")" * depth, table) == [1]
    assert rows("not " * 100 + "flag", table) == [1, 3]


def test_non_string_argument_is_rejected():
    with pytest.raises(UserErrorException):
        parse(5)  # type: ignore[arg-type]


def test_attribute_lookalikes_are_only_field_names(table):
    """`a.__class__` reads a field of an object column (as `user.id` does): data, never Python."""
    for text in ["a.__class__", "a.__class__ == 1", "col('a').__init__"]:
        expr = parse(text)
        assert "__" in to_text(expr) and parse(to_text(expr)) == expr
        with pytest.raises(UserErrorException, match="unknown column 'a'"):
            compile_filter(expr, table.schema)
    with pytest.raises(UserErrorException, match="'id', which is not an object"):
        compile_filter(parse("id.__class__ == 1"), table.schema)


def test_hostile_text_never_reaches_python(monkeypatch):
    import builtins

    def forbidden(*args, **kwargs):
        raise AssertionError("user text must never be evaluated")

    for name in ("eval", "exec", "compile"):
        monkeypatch.setattr(builtins, name, forbidden)
    expr = parse("s == 'x' or id > 1")
    assert to_text(expr) == 's == "x" or id > 1'
    for text in HOSTILE[:12]:
        with pytest.raises(UserErrorException):
            parse(text)


def test_any_tree_compiles_or_fails_cleanly():
    """Fuzz: every tree either compiles to a never-null mask or raises UserErrorException."""
    data = pa.table(
        {
            "a": pa.array([1, None, -3]),
            "b": [0.5, None, float("nan")],
            "FBI Code": ["x", None, "11"],
            "and": [True, None, False],
            "col": pa.array([dt.datetime(2020, 1, 1), None, dt.datetime(2021, 1, 1)]),
            "x1": pa.array([1, 2, 3], pa.uint8()),
            "_": [b"a", None, b"c"],
            "é": pa.array([None] * 3, pa.null()),
            "1st": pa.array([dt.date(2020, 1, 1)] * 3),
            'q"': ["a", "b", None],
            "x y": ["pre", "prefix", None],
        }
    )
    rng = random.Random(7)
    compiled = 0
    for _ in range(1500):
        expr = _random_expr(rng, 4)
        try:
            mask = evaluate(expr, data)
        except UserErrorException:
            continue
        except pa.ArrowInvalid as error:  # int64 overflow is the one scan-time error
            assert "overflow" in str(error)
            continue
        compiled += 1
        assert mask.type == pa.bool_() and mask.null_count == 0 and len(mask) == 3
    assert compiled > 100
