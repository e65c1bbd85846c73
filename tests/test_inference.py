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
    (["+1", "007", " 1 "], "int"), (["99999999999999999999"], "string"), (["1", "2.5"], "float"),
    (["9007199254740992", "0.5"], "float"), (["9007199254740993", "0.5"], "string"), (["-9223372036854775808"], "int"),
    (["NaN", "inf", "-inf", "1e5"], "float"), (["1,000"], "string"), (["1,5"], "string"), (["10%"], "string"),
    (["1", "x"], "string"), (["20240105"], "int"), ([None, None], "null"), ([None, "1", None], "bool"),
    (["2024-01-05", "2024-01-05T10:20:30.5Z"], "datetime"), (["05-01-24"], "string"),
    (["2024-01-05T10:20"], "string"), (["2024-13-05"], "string"), (["01/02/2024 1:02:03 pm"], "datetime"),
])
def test_kinds(values, kind):
    assert infer_column(values).kind == kind


@pytest.mark.parametrize("text, expected", [
    # Observed on the reference: these are datetimes (ours read them as text before).
    ("2010/01/01 00:00:00", datetime.datetime(2010, 1, 1)),
    ("2010/1/2 3:04:05", datetime.datetime(2010, 1, 2, 3, 4, 5)),
    ("2010-1-2 03:04:05", datetime.datetime(2010, 1, 2, 3, 4, 5)),
    ("2010-1-2", datetime.datetime(2010, 1, 2)),
    ("2010/01/01T10:20:30Z", datetime.datetime(2010, 1, 1, 10, 20, 30)),
    ("2010/01/01 10:20:30.5+05:30", datetime.datetime(2010, 1, 1, 4, 50, 30, 500000)),
    ("2010/01/01 00:00:00-0500", datetime.datetime(2010, 1, 1, 5)),
    ("2010-01-01 10:20:30 +02:00", datetime.datetime(2010, 1, 1, 8, 20, 30)),
    ("2010/01/01\t00:00:00", datetime.datetime(2010, 1, 1)),
    ("13/02/2010 10:20:30", datetime.datetime(2010, 2, 13, 10, 20, 30)),
    ("13-02-2010 10:20:30", datetime.datetime(2010, 2, 13, 10, 20, 30)),
    ("02/13/2010 10:20", datetime.datetime(2010, 2, 13, 10, 20)),
    ("13/02/2010 10:20 PM", datetime.datetime(2010, 2, 13, 22, 20)),
    ("13/02/2010 12:05:00 AM", datetime.datetime(2010, 2, 13, 0, 5)),
])
def test_dates_with_times_the_reference_reads(tmp_path, text, expected):
    import mltable_lite

    path = tmp_path / "d.csv"
    path.write_text(f'd\n"{text}"\n"{text}"\n')
    df = mltable_lite.from_delimited_files([{"file": str(path)}]).to_pandas_dataframe()
    assert str(df["d"].dtype) == "datetime64[ns]" and df["d"].tolist() == [expected] * 2


@pytest.mark.parametrize("text", ["2010/01/01 00:00", "2010/01/01 10:20:30 PM", "2010/13/01 00:00:00",
                                  "2010/01/01 24:00:00", "13/02/2010 10:20:30.5", "13/02/2010T10:20:30",
                                  "2010-01-01t00:00:00", "13/02/2010 13:00 PM"])
def test_near_dates_the_reference_keeps_as_text(text):
    assert infer_column([text]).kind == "string"


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
