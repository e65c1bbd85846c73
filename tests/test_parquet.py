"""The parquet reader (COMPATIBILITY.md §6, §14, P7, P13, P16) on files written by the tests."""

import datetime
import decimal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mltable_lite.errors import ExecutionError, UserErrorException
from mltable_lite.plan import PathSpec, ReadParquet
from mltable_lite.readers.parquet import parquet_partitions, read_parquet
from mltable_lite.storage import expand_paths


def refs(*paths):
    return expand_paths([PathSpec("file", "file://" + str(path)) for path in paths])


def read(*paths, **options):
    return list(read_parquet(refs(*paths), ReadParquet(), **options))


def frame(table):
    return table.to_pandas(date_as_object=True, coerce_temporal_nanoseconds=False)


def one(tmp_path, array, name="c"):
    """Write a one-column file, read it back, return the pandas column."""
    path = tmp_path / f"{name}.parquet"
    pq.write_table(pa.table({name: array}), path)
    tables = read(path)
    assert len(tables) == 1
    return frame(tables[0][1])[name]


# --- section 6: one row of the dtype table per test ----------------------------------------------


@pytest.mark.parametrize("arrow_type, dtype", [
    (pa.int64(), "int64"), (pa.int32(), "int32"), (pa.int16(), "int16"), (pa.int8(), "int8"),
    (pa.uint8(), "uint8"), (pa.uint32(), "uint32"), (pa.uint64(), "uint64"),
])
def test_ints_without_nulls_keep_their_width(tmp_path, arrow_type, dtype):
    column = one(tmp_path, pa.array([1, 2, 3], arrow_type))
    assert str(column.dtype) == dtype
    assert list(column) == [1, 2, 3]


@pytest.mark.parametrize("arrow_type", [pa.int8(), pa.int16(), pa.int32(), pa.int64()])
def test_ints_with_nulls_are_float64(tmp_path, arrow_type):
    column = one(tmp_path, pa.array([1, None, 3], arrow_type))
    assert str(column.dtype) == "float64"
    assert column.iloc[0] == 1.0 and np.isnan(column.iloc[1])


def test_uint64_keeps_values_above_2_63(tmp_path):
    column = one(tmp_path, pa.array([2**64 - 1, 0], pa.uint64()))
    assert str(column.dtype) == "uint64"
    assert int(column.iloc[0]) == 2**64 - 1


@pytest.mark.parametrize("arrow_type, dtype", [(pa.float32(), "float32"), (pa.float64(), "float64")])
def test_floats_keep_width_nan_and_inf(tmp_path, arrow_type, dtype):
    column = one(tmp_path, pa.array([1.5, float("nan"), float("inf")], arrow_type))
    assert str(column.dtype) == dtype
    assert column.iloc[0] == 1.5 and np.isnan(column.iloc[1]) and np.isinf(column.iloc[2])


def test_bool_and_bool_with_nulls(tmp_path):
    assert str(one(tmp_path, pa.array([True, False]), "b").dtype) == "bool"
    column = one(tmp_path, pa.array([True, None, False]), "n")
    assert column.dtype == object
    assert list(column) == [True, None, False]


@pytest.mark.parametrize("arrow_type", [pa.string(), pa.large_string()])
def test_strings(tmp_path, arrow_type):
    column = one(tmp_path, pa.array(["a", None, "ü"], arrow_type))
    assert column.dtype == object or str(column.dtype) == "str"
    assert column.iloc[0] == "a" and column.iloc[2] == "ü" and pd.isna(column.iloc[1])


def test_binary_is_bytes(tmp_path):
    column = one(tmp_path, pa.array([b"\x00\x01", None]))
    assert column.dtype == object
    assert column.iloc[0] == b"\x00\x01" and column.iloc[1] is None


def test_date32_is_date_objects(tmp_path):
    column = one(tmp_path, pa.array([datetime.date(2024, 1, 5), None]))
    assert column.dtype == object
    assert column.iloc[0] == datetime.date(2024, 1, 5) and type(column.iloc[0]) is datetime.date
    assert column.iloc[1] is None


@pytest.mark.parametrize("unit", ["ns", "us", "ms"])
def test_timestamps_keep_their_unit(tmp_path, unit):
    value = datetime.datetime(2024, 1, 5, 10, 20, 30, 123000)
    column = one(tmp_path, pa.array([value, None], pa.timestamp(unit)))
    assert str(column.dtype) == f"datetime64[{unit}]"
    assert column.iloc[0] == pd.Timestamp(value) and pd.isna(column.iloc[1])


def test_timestamp_with_zone_keeps_it(tmp_path):
    column = one(tmp_path, pa.array([1_704_450_000_000_000], pa.timestamp("us", tz="Europe/Paris")))
    assert str(column.dtype) == "datetime64[us, Europe/Paris]"
    assert column.iloc[0] == pd.Timestamp("2024-01-05 10:20:00", tz="UTC")


def test_timestamp_seconds_read_correctly(tmp_path):
    """P13: the reference returns year 55981; the true instant comes back here."""
    column = one(tmp_path, pa.array([1_704_450_000, None], pa.timestamp("s")))
    assert str(column.dtype).startswith("datetime64[")
    assert column.iloc[0] == pd.Timestamp("2024-01-05 10:20:00")


def test_decimal_is_decimal_objects(tmp_path):
    column = one(tmp_path, pa.array([decimal.Decimal("1.25"), None], pa.decimal128(5, 2)))
    assert column.dtype == object
    assert column.iloc[0] == decimal.Decimal("1.25") and type(column.iloc[0]) is decimal.Decimal


def test_time64_is_time_objects(tmp_path):
    column = one(tmp_path, pa.array([datetime.time(10, 20, 30), None], pa.time64("us")))
    assert column.dtype == object
    assert column.iloc[0] == datetime.time(10, 20, 30)


def test_lists_are_numpy_arrays(tmp_path):
    column = one(tmp_path, pa.array([[1, 2], [3]], pa.list_(pa.int64())))
    assert column.dtype == object
    assert isinstance(column.iloc[0], np.ndarray) and column.iloc[0].tolist() == [1, 2]
    with_null = one(tmp_path, pa.array([[1, None]], pa.list_(pa.int64())), "n")
    assert with_null.iloc[0].dtype == np.float64 and np.isnan(with_null.iloc[0][1])


def test_struct_is_dicts_with_array_lists(tmp_path):
    column = one(tmp_path, pa.array([{"a": 1, "b": [1, 2]}]))
    value = column.iloc[0]
    assert isinstance(value, dict) and value["a"] == 1
    assert isinstance(value["b"], np.ndarray) and value["b"].tolist() == [1, 2]


@pytest.mark.parametrize("data_type, rows, expected", [
    # Observed on the reference: a null object whose fields are all lists reads as an object of nulls ...
    (pa.struct([("a", pa.struct([("b", pa.list_(pa.int64()))]))]), [{"a": {"b": None}}, {"a": None}, None],
     [{"a": {"b": None}}] * 3),
    (pa.struct([("a", pa.struct([("b", pa.list_(pa.int64()))])), ("c", pa.int64())]), [{"a": None, "c": 1}, None],
     [{"a": {"b": None}, "c": 1.0}, None]),
    (pa.struct([("b", pa.list_(pa.int64())), ("c", pa.list_(pa.string()))]), [None], [{"b": None, "c": None}]),
    # ... any other null object stays None.
    (pa.struct([("b", pa.list_(pa.int64())), ("c", pa.int64())]), [None, {"b": [1], "c": 2}],
     [None, {"b": [1], "c": 2.0}]),
    (pa.struct([("a", pa.struct([("b", pa.int64())]))]), [{"a": None}, None], [{"a": None}, None]),
])
def test_null_objects_read_as_the_reference_reads_them(tmp_path, data_type, rows, expected):
    def plain(value):
        if isinstance(value, dict):
            return {key: plain(item) for key, item in value.items()}
        return value.tolist() if isinstance(value, np.ndarray) else value

    assert [plain(value) for value in one(tmp_path, pa.array(rows, data_type))] == expected


def test_null_type_is_object_none(tmp_path):
    column = one(tmp_path, pa.nulls(2))
    assert column.dtype == object and list(column) == [None, None]


def test_dictionary_column_is_its_value_type(tmp_path):
    """P13: the reference panics; here it is a plain string column, never pandas `category`."""
    path = tmp_path / "dict.parquet"
    pq.write_table(pa.table({"d": pa.array(["x", "y", "x", None]).dictionary_encode()}), path)
    (_, table), = read(path)
    assert table.schema.field("d").type == pa.string()
    column = frame(table)["d"]
    assert str(column.dtype) in ("object", "str")
    assert list(column[:3]) == ["x", "y", "x"]


def test_nested_dictionary_is_decoded(tmp_path):
    path = tmp_path / "nested.parquet"
    codes = pa.array(["u", "v"]).dictionary_encode()
    struct = pa.StructArray.from_arrays([codes], ["k"])
    pq.write_table(pa.table({"s": struct}), path)
    (_, table), = read(path)
    assert table.schema.field("s").type == pa.struct([("k", pa.string())])
    assert list(frame(table)["s"]) == [{"k": "u"}, {"k": "v"}]


def test_map_is_list_of_key_value_pairs(tmp_path):
    """P13: the reference refuses map columns."""
    column = one(tmp_path, pa.array([[("a", 1)], [("b", 2), ("c", 3)]], pa.map_(pa.string(), pa.int64())))
    assert column.dtype == object
    assert column.iloc[1] == [("b", 2), ("c", 3)]


def test_pandas_metadata_is_ignored(tmp_path):
    """A file written by pandas with a real index gives that index as a column, plain dtypes."""
    path = tmp_path / "pandas.parquet"
    df = pd.DataFrame({"i": pd.array([1, None], dtype="Int64")}, index=pd.Index([10, 20], name=None))
    df.to_parquet(path)
    (_, table), = read(path)
    assert table.schema.metadata is None
    result = frame(table)
    assert list(result.columns) == ["i", "__index_level_0__"]
    assert str(result["i"].dtype) == "float64"
    assert isinstance(result.index, pd.RangeIndex)


# --- files, schemas, projection ----------------------------------------------------------------


def test_each_file_keeps_its_own_schema(tmp_path):
    pq.write_table(pa.table({"a": [1], "b": ["x"]}), tmp_path / "1.parquet")
    pq.write_table(pa.table({"b": ["two"], "c": [1.5]}), tmp_path / "2.parquet")
    pq.write_table(pa.table({"a": ["three"]}), tmp_path / "3.parquet")
    tables = read(tmp_path / "1.parquet", tmp_path / "2.parquet", tmp_path / "3.parquet")
    assert [index for index, _ in tables] == [0, 1, 2]
    assert [t.column_names for _, t in tables] == [["a", "b"], ["b", "c"], ["a"]]
    assert tables[0][1].schema.field("a").type == pa.int64()
    assert tables[2][1].schema.field("a").type == pa.string()


def test_projection_reads_only_existing_named_columns(tmp_path):
    path = tmp_path / "p.parquet"
    pq.write_table(pa.table({"a": [1, 2], "b": ["x", "y"], "c": [0.5, 1.5]}), path)
    (_, table), = read(path, columns=["c", "a", "missing"])
    assert table.column_names == ["a", "c"]
    (_, none), = read(path, columns=["missing"])
    assert none.column_names == [] and none.num_rows == 2


def test_zero_row_file_keeps_columns(tmp_path):
    """P7: columns and types survive, zero rows."""
    path = tmp_path / "empty.parquet"
    pq.write_table(pa.table({"a": pa.array([], pa.int64()), "s": pa.array([], pa.string())}), path)
    (_, table), = read(path)
    assert table.num_rows == 0 and table.column_names == ["a", "s"]
    assert table.schema.field("a").type == pa.int64()


def test_zero_byte_file_adds_nothing(tmp_path):
    (tmp_path / "_SUCCESS").write_bytes(b"")
    pq.write_table(pa.table({"a": [1]}), tmp_path / "part-0.parquet")
    files = expand_paths([PathSpec("folder", "file://" + str(tmp_path))])
    assert [(i, t.num_rows) for i, t in read_parquet(files, ReadParquet())] == [(1, 1)]
    assert parquet_partitions(files) == [(1, 0)]


# --- partitions = row groups -------------------------------------------------------------------


@pytest.fixture
def grouped(tmp_path):
    first, second = tmp_path / "a.parquet", tmp_path / "b.parquet"
    pq.write_table(pa.table({"id": list(range(10))}), first, row_group_size=3)   # 4 groups
    pq.write_table(pa.table({"id": [100, 101]}), second)                         # 1 group
    return refs(first, second)


def test_partitions_are_row_groups(grouped):
    assert parquet_partitions(grouped) == [(0, 0), (0, 1), (0, 2), (0, 3), (1, 0)]


def test_first_row_group_alone_then_the_rest_of_the_file_in_one_read(grouped):
    """take(n) usually stops after the first row group; a full read decodes the rest at once."""
    tables = list(read_parquet(grouped, ReadParquet()))
    assert [(i, t.num_rows) for i, t in tables] == [(0, 3), (0, 7), (1, 2)]
    assert [value for _, t in tables for value in t.column("id").to_pylist()] == [*range(10), 100, 101]


def test_row_groups_selection(grouped):
    tables = list(read_parquet(grouped, ReadParquet(), row_groups={0: [1, 3]}))
    assert [i for i, _ in tables] == [0, 0]
    assert pa.concat_tables([t for _, t in tables]).column("id").to_pylist() == [3, 4, 5, 9]
    only_second = list(read_parquet(grouped, ReadParquet(), row_groups={1: [0]}))
    assert [(i, t.column("id").to_pylist()) for i, t in only_second] == [(1, [100, 101])]


def test_row_group_out_of_range(grouped):
    with pytest.raises(ExecutionError, match="row group 7"):
        list(read_parquet(grouped, ReadParquet(), row_groups={0: [7]}))


# --- errors (P16) ------------------------------------------------------------------------------


def test_csv_read_as_parquet(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(UserErrorException) as caught:
        read(path)
    message = str(caught.value)
    assert "Invalid Parquet file. Corrupt footer." in message
    assert str(path) in message and "from_delimited_files" in message


def test_truncated_parquet_is_corrupt_footer(tmp_path):
    path = tmp_path / "cut.parquet"
    pq.write_table(pa.table({"a": list(range(100))}), path)
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(UserErrorException, match="Corrupt footer"):
        read(path)


def test_damaged_parquet_is_execution_error(tmp_path):
    path = tmp_path / "bad.parquet"
    path.write_bytes(b"PAR1" + b"\x07" * 64 + b"PAR1")
    with pytest.raises(ExecutionError) as caught:
        read(path)
    assert str(path) in str(caught.value)
    with pytest.raises(ExecutionError):
        parquet_partitions(refs(path))


def test_file_removed_after_listing(tmp_path):
    path = tmp_path / "gone.parquet"
    pq.write_table(pa.table({"a": [1]}), path)
    files = refs(path)
    path.unlink()
    with pytest.raises(UserErrorException, match="gone.parquet"):
        list(read_parquet(files, ReadParquet()))


# --- end to end through the public API ---------------------------------------------------------


def test_public_api_unions_files_by_name(tmp_path):
    import mltable_lite as mltable

    pq.write_table(pa.table({"a": [1], "b": ["x"]}), tmp_path / "1.parquet")
    pq.write_table(pa.table({"b": ["y"], "a": ["two"], "d": pa.array(["q"]).dictionary_encode()}),
                   tmp_path / "2.parquet")
    df = mltable.from_parquet_files(paths=[{"folder": str(tmp_path)}]).to_pandas_dataframe()
    assert list(df.columns) == ["a", "b", "d"]
    assert list(df["a"]) == [1, "two"] and df["a"].dtype == object
    assert pd.isna(df["d"].iloc[0]) and df["d"].iloc[1] == "q"
    assert isinstance(df.index, pd.RangeIndex)


def test_public_api_dtypes_and_path_column(tmp_path):
    import mltable_lite as mltable

    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({
        "i8": pa.array([1, 2], pa.int8()),
        "ts": pa.array([1_704_450_000, 1_704_450_001], pa.timestamp("s")),
        "d": pa.array([datetime.date(2024, 1, 5)] * 2),
        "m": pa.array([[("k", 1)], []], pa.map_(pa.string(), pa.int64())),
    }), path)
    df = mltable.from_parquet_files(paths=[{"file": str(path)}], include_path_column=True).to_pandas_dataframe()
    assert list(df.columns) == ["Path", "i8", "ts", "d", "m"]
    assert df["Path"].iloc[0] == str(path)
    assert str(df["i8"].dtype) == "int8"
    assert df["ts"].iloc[0] == pd.Timestamp("2024-01-05 10:20:00")
    assert df["d"].iloc[0] == datetime.date(2024, 1, 5)
    assert df["m"].iloc[0] == [("k", 1)]


def test_public_api_zero_row_file_keeps_columns(tmp_path):
    import mltable_lite as mltable

    path = tmp_path / "empty.parquet"
    pq.write_table(pa.table({"a": pa.array([], pa.int64())}), path)
    df = mltable.from_parquet_files(paths=[{"file": str(path)}]).to_pandas_dataframe()
    assert df.shape == (0, 1) and str(df["a"].dtype) == "int64"


def test_public_api_csv_as_parquet(tmp_path):
    import mltable_lite as mltable

    path = tmp_path / "data.csv"
    path.write_text("a,b\n1,2\n")
    table = mltable.from_parquet_files(paths=[{"file": str(path)}])
    with pytest.raises(mltable.UserErrorException, match="Corrupt footer"):
        table.to_pandas_dataframe()


def test_a_flipped_byte_in_a_checksummed_page_is_an_error_not_other_numbers(tmp_path):
    path = tmp_path / "crc.parquet"
    pq.write_table(pa.table({"x": pa.array(range(1000), pa.int64())}), path, write_page_checksum=True,
                   compression="none")
    data = bytearray(path.read_bytes())
    data[data.find((500).to_bytes(8, "little"))] ^= 1   # 500 would read as 501
    path.write_bytes(bytes(data))
    with pytest.raises(ExecutionError, match="CRC checksum verification failed") as caught:
        read(path)
    assert str(path) in str(caught.value)
