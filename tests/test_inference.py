"""Type inference rules (COMPATIBILITY.md §5) and widening beyond the sample (P2, P3)."""

from __future__ import annotations

import datetime

import pyarrow as pa
import pytest

from mltable_lite.inference import classify, convert_column, convert_widening, infer_column


@pytest.mark.parametrize("values, kind", [
    (["1", "0"], "bool"), (["1"], "bool"), (["True", "false", "TRUE"], "bool"), (["T", "f"], "bool"),
    (["Y", "N"], "bool"), (["y", "n"], "string"), (["yes", "no"], "string"), (["on", "off"], "string"),
    (["True", "1", "0"], "bool"), (["1", "yes"], "string"), (["1.0", "0.0"], "float"), (["0", "1", "2"], "int"),
    (["+1", "007", " 1 "], "int"), (["99999999999999999999"], "float"), (["1", "2.5"], "float"),
    (["NaN", "inf", "-inf", "1e5"], "float"), (["1,000"], "string"), (["1,5"], "string"), (["10%"], "string"),
    (["1", "x"], "string"), (["20240105"], "int"), ([None, None], "null"), ([None, "1", None], "bool"),
    (["2024-01-05", "2024-01-05T10:20:30.5Z"], "datetime"), (["05-01-24"], "string"),
    (["2024-01-05T10:20"], "string"), (["2024-13-05"], "string"), (["01/02/2024 1:02:03 pm"], "datetime"),
])
def test_kinds(values, kind):
    assert infer_column(values).kind == kind


def test_day_first_only_when_forced():
    assert infer_column(["01/02/2024", "03/04/2024"]).family.strptime == "%m/%d/%Y"
    assert infer_column(["01/02/2024", "13/04/2024"]).family.strptime == "%d/%m/%Y"
    assert infer_column(["13/02/2024", "01/14/2024"]).kind == "string"


def test_empty_as_string_empties_are_text():
    assert infer_column(["1", ""], empty_as_string=True).kind == "string"
    assert infer_column(["1", ""]).kind == "bool"


def test_classify_is_order_independent():
    values = ["1", "0", "2", "2.5", "x"]
    kinds = [infer_column(values[:n]).kind for n in range(1, 6)]
    assert kinds == ["bool", "bool", "int", "float", "string"]
    assert classify(None).seen is False


def test_convert_widens_instead_of_nulling():
    ctype = infer_column(["1", "2"])
    assert convert_column(pa.array(["1", "202.9", "-201.7"]), ctype).to_pylist() == [1.0, 202.9, -201.7]
    assert convert_column(pa.array(["1", "oops", None]), ctype).to_pylist() == ["1", "oops", None]
    array, widened = convert_widening(pa.array(["1", "0", "2"]), infer_column(["1", "0"]))
    assert array.to_pylist() == [1, 0, 2] and widened.kind == "int"
    assert convert_column(pa.array(["True", "2"]), infer_column(["True"])).to_pylist() == ["True", "2"]


def test_convert_dates_and_nulls():
    ctype = infer_column(["01/02/2024"])
    result = convert_column(pa.array(["01/02/2024", "13/02/2024", None]), ctype).to_pylist()
    assert result == [datetime.datetime(2024, 2, 1), datetime.datetime(2024, 2, 13), None]
    zoned = convert_column(pa.array(["2024-01-05T10:20:30+02:00", "2024-01-05"]), infer_column(["2024-01-05"]))
    assert zoned.type == pa.timestamp("ns")
    assert zoned.to_pylist() == [datetime.datetime(2024, 1, 5, 8, 20, 30), datetime.datetime(2024, 1, 5)]
    assert convert_column(pa.array([None, None], pa.string()), infer_column([None])).type == pa.null()
    assert convert_column(pa.array([None, "5"]), infer_column([None])).to_pylist() == [None, 5]


def test_convert_int_quirks():
    ctype = infer_column(["1"] * 3 + ["2"])
    assert convert_column(pa.array(["+1", " 2 ", "007", ""]), ctype).to_pylist() == [1, 2, 7, None]
