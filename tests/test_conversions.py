"""DataType conversions (COMPATIBILITY.md §12), standalone and through column_type_overrides."""

from __future__ import annotations

import datetime

import pyarrow as pa
import pytest

import mltable_lite as mltable
from mltable_lite import DataType, UserErrorException
from mltable_lite.conversions import convert_array, validate_data_type


def test_to_int_truncates_and_nulls_junk():
    result = convert_array(pa.array(["1.5", "2.25", "007", "-201.7", " 3 ", "x", None, "1e3"]), DataType.to_int())
    assert result.type == pa.int64() and result.to_pylist() == [1, 2, 7, -201, 3, None, None, 1000]
    assert convert_array(pa.array([1.5, -2.7, None]), DataType.to_int()).to_pylist() == [1, -2, None]
    assert convert_array(pa.array([True, False]), DataType.to_int()).to_pylist() == [None, None]


def test_to_int_of_integers_with_thousands_of_digits_is_null_not_a_value_error():
    # Beyond int64 is null (as any value to_int cannot hold); int() itself refuses 4301 digits.
    texts = ["1" * 4301, "-" + "9" * 20, "0" * 4300 + "12", str(2**63 - 1), str(2**63), "7"]
    assert convert_array(pa.array(texts), DataType.to_int()).to_pylist() == [None, None, 12, 2**63 - 1, None, 7]


def test_to_int_where_nothing_converts_is_an_object_column_of_none(tmp_path):
    """Observed: to_int() of a bool column (or of junk, or of empties) gives object None, not float64 NaN."""
    path = tmp_path / "c.csv"
    path.write_text("s,b,e,f\nabc,true,,1.5\nxyz,false,,2.5\n")
    tbl = mltable.from_delimited_files([{"file": str(path)}])
    df = tbl.convert_column_types({("s", "b", "e", "f"): DataType.to_int()}).to_pandas_dataframe()
    for name in ("s", "b", "e"):
        assert df[name].dtype == object and df[name].tolist() == [None, None], name
    assert str(df["f"].dtype) == "int64" and df["f"].tolist() == [1, 2]


def test_to_float():
    assert convert_array(pa.array(["1,5", "2.5", "nan"]), DataType.to_float()).to_pylist()[:2] == [None, 2.5]
    assert convert_array(pa.array(["a", "b"]), DataType.to_float()).type == pa.null()
    assert convert_array(pa.array([1, 2]), DataType.to_float()).to_pylist() == [1.0, 2.0]


def test_to_string():
    ts = pa.array([datetime.datetime(2024, 1, 5)], pa.timestamp("ns"))
    assert convert_array(ts, DataType.to_string()).to_pylist() == ["2024-01-05T00:00:00+00:00"]
    assert convert_array(pa.array([True, False, None]), DataType.to_string()).to_pylist() == ["True", "False", None]
    assert convert_array(pa.array([1, 2]), DataType.to_string()).to_pylist() == ["1", "2"]


def test_to_bool():
    assert convert_array(pa.array(["TRUE", "false", "1", "0", "yes", "2", None]), DataType.to_bool()).to_pylist() \
        == [True, False, True, False, None, None, None]
    values = pa.array(["yes", "no", "maybe", None])
    assert convert_array(values, DataType.to_bool(["yes"], ["no"], "false")).to_pylist() == [True, False, False, None]
    assert convert_array(values, DataType.to_bool(["yes"], ["no"], "true")).to_pylist() == [True, False, True, None]
    assert convert_array(values, DataType.to_bool(["yes"], ["no"])).to_pylist() == [True, False, None, None]
    assert convert_array(pa.array([3, 0, None]), DataType.to_bool()).to_pylist() == [True, False, None]


def test_to_datetime_formats_in_order():
    dtype = DataType.to_datetime(["%d/%m/%Y", "%Y-%m-%d %I:%M:%S %p", "%Y-%m-%d %H:%M:%S.%f"])
    result = convert_array(pa.array(["05/01/2024", "2024-01-05 01:02:03 PM", "2024-01-05 10:20:30.5", "x"]), dtype)
    assert result.to_pylist() == [datetime.datetime(2024, 1, 5), datetime.datetime(2024, 1, 5, 13, 2, 3),
                                  datetime.datetime(2024, 1, 5, 10, 20, 30, 500000), None]
    assert convert_array(pa.array(["x"]), DataType.to_datetime("%Y")).type == pa.null()


def test_time_only_formats_p18():
    with pytest.raises(UserErrorException, match="date_constant"):
        validate_data_type(DataType.to_datetime("%H:%M:%S"))
    dtype = DataType.to_datetime("%H:%M:%S", date_constant="2024-01-05")
    validate_data_type(dtype)
    assert convert_array(pa.array(["10:20:30"]), dtype).to_pylist() == [datetime.datetime(2024, 1, 5, 10, 20, 30)]


def test_to_stream_plain_strings_are_null():
    assert convert_array(pa.array(["a", "b"]), DataType.to_stream()).to_pylist() == [None, None]


def test_chunked_input():
    chunked = pa.chunked_array([["1"], ["2.9"]])
    assert convert_array(chunked, DataType.to_int()).to_pylist() == [1, 2]


def test_overrides_through_the_reader(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("d,b,n\n05/01/2024,yes,1.5\n06/01/2024,no,x\n")
    df = mltable.from_delimited_files([{"file": str(path)}], infer_column_types={"column_type_overrides": {
        "d": DataType.to_datetime("%d/%m/%Y"), "b": DataType.to_bool(["yes"], ["no"]), "n": "float"}}
    ).to_pandas_dataframe()
    assert str(df.dtypes["d"]) == "datetime64[ns]" and df["d"][1] == datetime.datetime(2024, 1, 6)
    assert df["b"].tolist() == [True, False]
    assert df["n"].tolist()[0] == 1.5
