"""Long ``or`` chains of equalities (and ``and`` chains of inequalities) on one column are one
set-membership test: the same rows as the comparisons one by one, in one pass (issue 18: 7 000
terms took a minute on a million rows)."""

import ast
import math

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from harness.isolated import Worker

from mltable_lite.expressions import evaluate, parse

TABLE = pa.table({
    "i": pa.array([1, 2, None, 4, 5, -3, 2**40], pa.int64()),
    "f": pa.array([1.5, float("nan"), None, 4.0, 2.0, -3.0, 1e300]),
    "s": pa.array(["a", "b", None, "", "d", "a", "z"]),
    "b": pa.array([True, False, None, True, False, True, False]),
    "u": pa.array([1, 2, 3, 4, 5, 6, 7], pa.uint64()),
})

LITERALS = {
    "i": ["1", "2", "4.0", "True", "-3", str(2**40), "7", "1.5"],
    "f": ["1.5", "4", "2", "-3", "1e300", "True", "9"],
    "s": ['"a"', '" "', '"d"', '"zz"', "5"],
    "b": ["True", "False", "True", "1"],
    "u": ["1", "3", "5.0", "9"],
}


def _python_equal(value, literal: str) -> bool:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return False
    parsed = ast.literal_eval(literal)
    if isinstance(value, str) != isinstance(parsed, str):
        return False
    return value == parsed


@pytest.mark.parametrize("column", sorted(LITERALS))
def test_or_of_equalities_matches_the_comparisons_one_by_one(column):
    literals = LITERALS[column]
    expression = " or ".join(f"{column} == {literal}" for literal in literals)
    expected = [any(_python_equal(value, literal) for literal in literals) for value in TABLE[column].to_pylist()]
    assert evaluate(parse(expression), TABLE).to_pylist() == expected
    flipped = " or ".join(f"{literal} == {column}" for literal in literals)
    assert evaluate(parse(flipped), TABLE).to_pylist() == expected


@pytest.mark.parametrize("column", sorted(LITERALS))
def test_and_of_inequalities_matches_the_comparisons_one_by_one(column):
    literals = LITERALS[column]
    expression = " and ".join(f"{column} != {literal}" for literal in literals)
    values = TABLE[column].to_pylist()
    expected = [value is not None and not any(_python_equal(value, literal) for literal in literals)
                for value in values]
    assert evaluate(parse(expression), TABLE).to_pylist() == expected


def test_sets_mix_with_other_terms():
    expression = 'i == 1 or i == 2 or i == 4 or i == 5 or s == "z" or f > 3.5'
    assert evaluate(parse(expression), TABLE).to_pylist() == [True, True, False, True, True, False, True]


def test_seven_thousand_or_terms_on_a_million_rows_finish_promptly(tmp_path):
    path = tmp_path / "million.parquet"
    pq.write_table(pa.table({"x": pa.array(range(1_000_000), pa.int64())}), path)
    expression = " or ".join(f"x == {value}" for value in range(0, 14_000, 2))
    with Worker() as worker:
        outcome = worker.call({"builder": "from_parquet_files", "args": [[{"file": str(path)}]],
                               "steps": [["filter", expression]], "output": "arrow"}, timeout=40)
    assert outcome.kind == "ok", str(outcome)
    assert outcome.result["rows"] == 7000
