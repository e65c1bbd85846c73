"""The JSON lines reader (COMPATIBILITY.md §7, P11) on files written by the tests."""

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from mltable_lite.errors import UserErrorException
from mltable_lite.plan import PathSpec, ReadJsonLines
from mltable_lite.readers.json_lines import (
    MIXED_METADATA, harmonize_json_tables, mixed_columns, read_json_lines, restore_mixed, to_mixed,
    validate_invalid_lines,
)
from mltable_lite.storage import expand_paths


def refs(*paths):
    return expand_paths([PathSpec("file", "file://" + str(path)) for path in paths])


def write(tmp_path, content, name="data.jsonl"):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


def tables(*paths, **step):
    return list(read_json_lines(refs(*paths), ReadJsonLines(**step)))


def frame(table):
    df = table.to_pandas(date_as_object=True, coerce_temporal_nanoseconds=False)
    return restore_mixed(df, table.schema)


def read_frame(tmp_path, content, **step):
    found = tables(write(tmp_path, content), **step)
    assert len(found) == 1
    return frame(found[0][1])


def is_str_dtype(series):
    return series.dtype == object or str(series.dtype) == "str"


# --- columns and types -------------------------------------------------------------------------


def test_union_of_keys_in_first_seen_order_missing_null(tmp_path):
    df = read_frame(tmp_path, '{"b": 1, "a": "x"}\n{"a": "y", "c": 2.5}\n')
    assert list(df.columns) == ["b", "a", "c"]
    assert df["b"].iloc[0] == 1 and np.isnan(df["b"].iloc[1])
    assert np.isnan(df["c"].iloc[0]) and df["c"].iloc[1] == 2.5


def test_scalar_types(tmp_path):
    df = read_frame(tmp_path, '{"i": 1, "f": 1.5, "b": true, "s": "x"}\n'
                              '{"i": 2, "f": 2.0, "b": false, "s": "y"}\n')
    assert str(df["i"].dtype) == "int64"
    assert str(df["f"].dtype) == "float64"
    assert str(df["b"].dtype) == "bool"
    assert is_str_dtype(df["s"]) and list(df["s"]) == ["x", "y"]


def test_ints_with_nulls_are_float64(tmp_path):
    df = read_frame(tmp_path, '{"i": 1}\n{"i": null}\n{"i": 3}\n')
    assert str(df["i"].dtype) == "float64"
    assert df["i"].iloc[0] == 1.0 and np.isnan(df["i"].iloc[1])


def test_bools_with_nulls_are_object(tmp_path):
    df = read_frame(tmp_path, '{"b": true}\n{}\n{"b": false}\n')
    assert df["b"].dtype == object
    assert list(df["b"]) == [True, None, False]


def test_date_like_strings_stay_strings(tmp_path):
    df = read_frame(tmp_path, '{"d": "2024-01-05", "t": "2024-01-05T10:20:30", "o": {"d": "2024-01-05"}}\n')
    assert df["d"].iloc[0] == "2024-01-05"
    assert df["t"].iloc[0] == "2024-01-05T10:20:30"
    assert df["o"].iloc[0] == {"d": "2024-01-05"}


def test_all_null_column_is_object_none(tmp_path):
    df = read_frame(tmp_path, '{"a": 1, "n": null}\n{"a": 2}\n')
    assert df["n"].dtype == object and list(df["n"]) == [None, None]


def test_nested_objects_are_dicts_whose_ints_and_floats_widen_to_float(tmp_path):
    df = read_frame(tmp_path, '{"o": {"x": 1, "s": "a"}}\n{"o": {"x": 2.5}}\n')
    first = df["o"].iloc[0]
    assert isinstance(first, dict) and first["x"] == 1.0 and isinstance(first["x"], float)
    assert first["s"] == "a"


@pytest.mark.parametrize("lines, expected", [
    # Observed on the reference (rslex 2.26): ints inside objects stay ints ...
    ('{"user": {"id": 1000, "tags": [1, 2]}}\n{"user": {"id": 1001, "tags": [3]}}\n',
     [{"id": 1000, "tags": [1, 2]}, {"id": 1001, "tags": [3]}]),
    ('{"o": {"p": {"x": 1}}}\n', [{"p": {"x": 1}}]),
    ('{"a": [{"x": 1}, {"x": 2}]}\n', None),
    # ... unless the field is null somewhere in the column: missing, null, or under a null object.
    ('{"o": {"x": 1}}\n{"o": {"y": 2}}\n', [{"x": 1.0, "y": None}, {"x": None, "y": 2.0}]),
    ('{"o": null}\n{"o": {"x": 1}}\n', [None, {"x": 1.0}]),
    ('{"o": {"p": {"x": 1}}}\n{"o": {"p": null}}\n', [{"p": {"x": 1.0}}, {"p": None}]),
])
def test_ints_inside_objects_stay_ints_as_in_the_reference(tmp_path, lines, expected):
    df = read_frame(tmp_path, lines)
    column = df[df.columns[0]]

    def plain(value):  # numpy arrays to lists, keeping each number's Python type
        if isinstance(value, dict):
            return {key: plain(item) for key, item in value.items()}
        if isinstance(value, np.ndarray):
            return [plain(item) for item in value.tolist()]
        return value

    values = [plain(value) for value in column]
    if expected is None:
        assert values == [[{"x": 1}, {"x": 2}]] and type(values[0][0]["x"]) is int
        return
    assert values == expected

    def types(value):
        if isinstance(value, dict):
            return {key: types(item) for key, item in value.items()}
        return [types(item) for item in value] if isinstance(value, list) else type(value)

    assert [types(value) for value in values] == [types(value) for value in expected]


@pytest.mark.parametrize("date", ["", ', "ts": "2024-01-01"'], ids=["no date column", "a date column"])
def test_nested_ints_beyond_2_53_keep_their_value_with_or_without_dates(tmp_path, date):
    # No float64 holds 2**53 + 1: the nested int keeps its exact value rather than being rounded
    # (a piece with a date column is parsed a second time, and must not round it either).
    big = 2**53 + 1
    df = read_frame(tmp_path, f'{{"o": {{"x": {big}}}{date}}}\n{{"o": {{"x": 1}}{date}}}\n')
    assert [cell["x"] for cell in df["o"]] == [big, 1]
    assert df["o"].iloc[0]["x"] == big and isinstance(df["o"].iloc[0]["x"], int)
    if date:
        assert list(df["ts"]) == ["2024-01-01", "2024-01-01"]


def test_arrays_are_numpy_arrays(tmp_path):
    df = read_frame(tmp_path, '{"l": [1, 2, 3]}\n{"l": []}\n')
    assert isinstance(df["l"].iloc[0], np.ndarray)
    assert df["l"].iloc[0].tolist() == [1, 2, 3] and df["l"].iloc[0].dtype == np.int64
    assert len(df["l"].iloc[1]) == 0


def test_arrays_of_objects_are_arrays_of_dicts(tmp_path):
    df = read_frame(tmp_path, '{"l": [{"k": "a"}, {"k": "b"}]}\n')
    value = df["l"].iloc[0]
    assert isinstance(value, np.ndarray) and list(value) == [{"k": "a"}, {"k": "b"}]


# --- P11: widening instead of nulls ------------------------------------------------------------


def test_int_and_float_widen_to_float64(tmp_path):
    df = read_frame(tmp_path, '{"v": 1}\n{"v": 2.5}\n{"v": 3}\n')
    assert str(df["v"].dtype) == "float64" and list(df["v"]) == [1.0, 2.5, 3.0]


def test_other_mixtures_keep_original_values(tmp_path):
    df = read_frame(tmp_path, '{"v": 1}\n{"v": "two"}\n{"v": 3.5}\n{"v": null}\n{"v": [1]}\n{"v": {"k": 1}}\n')
    assert df["v"].dtype == object
    values = list(df["v"])
    assert values[:4] == [1, "two", 3.5, None]
    assert type(values[0]) is int
    assert isinstance(values[4], np.ndarray) and values[4].tolist() == [1]
    assert values[5] == {"k": 1} and type(values[5]["k"]) is int


def test_bool_and_int_do_not_merge(tmp_path):
    df = read_frame(tmp_path, '{"v": true}\n{"v": 1}\n')
    assert list(df["v"]) == [True, 1] and type(df["v"].iloc[1]) is int


def test_nested_type_clash_keeps_values(tmp_path):
    df = read_frame(tmp_path, '{"o": {"k": 1}}\n{"o": {"k": "x"}}\n')
    assert list(df["o"]) == [{"k": 1}, {"k": "x"}] and type(df["o"].iloc[0]["k"]) is int


def test_mixed_column_is_marked_json_text(tmp_path):
    (_, table), = tables(write(tmp_path, '{"v": 1, "w": 1}\n{"v": "two", "w": 2}\n'))
    assert mixed_columns(table.schema) == ["v"]
    assert table.column("v").to_pylist() == ["1", '"two"']


def test_ints_beyond_int64_keep_their_value(tmp_path):
    # Not a rounded float64 (issue 18): the column holds the Python ints.
    df = read_frame(tmp_path, '{"v": 99999999999999999999}\n{"v": 1}\n')
    assert df["v"].tolist() == [99999999999999999999, 1]


# --- lines: invalid, blank, endings ------------------------------------------------------------


def test_invalid_line_error_names_file_and_line(tmp_path):
    path = write(tmp_path, '{"a": 1}\n{"a": 2\n{"a": 3}\n')
    with pytest.raises(UserErrorException) as caught:
        tables(path)
    message = str(caught.value)
    assert str(path) in message and "line 2" in message
    assert '{"a": 2' in message and "invalid_lines='drop'" in message


def test_invalid_line_dropped(tmp_path):
    df = read_frame(tmp_path, '{"a": 1}\n{"a": 2\nnot json\n{"a": 3}\n', invalid_lines="drop")
    assert list(df["a"]) == [1, 3]


def test_json_array_line_is_not_an_object(tmp_path):
    path = write(tmp_path, '{"a": 1}\n[1, 2]\n')
    with pytest.raises(UserErrorException, match="Not a JSON object"):
        tables(path)
    assert list(frame(tables(path, invalid_lines="drop")[0][1])["a"]) == [1]


def test_scalar_line_is_not_an_object(tmp_path):
    with pytest.raises(UserErrorException, match="line 1: Not a JSON object"):
        tables(write(tmp_path, '42\n{"a": 1}\n'))


def test_pretty_printed_object_is_invalid(tmp_path):
    with pytest.raises(UserErrorException, match="line 1"):
        tables(write(tmp_path, '{\n  "a": 1\n}\n'))


def test_two_objects_on_one_line_are_invalid(tmp_path):
    with pytest.raises(UserErrorException, match="line 2"):
        tables(write(tmp_path, '{"a": 1}\n{"a": 2} {"a": 3}\n'))


def test_whitespace_only_line_is_invalid(tmp_path):
    path = write(tmp_path, '{"a": 1}\n   \n{"a": 2}\n')
    with pytest.raises(UserErrorException, match="line 2"):
        tables(path)
    assert list(frame(tables(path, invalid_lines="drop")[0][1])["a"]) == [1, 2]


def test_empty_lines_skipped(tmp_path):
    df = read_frame(tmp_path, '\n{"a": 1}\n\n\n{"a": 2}\n\n')
    assert list(df["a"]) == [1, 2]


def test_crlf_and_missing_final_newline(tmp_path):
    df = read_frame(tmp_path, '{"a": 1}\r\n\r\n{"a": "x\\r\\ny"}\r\n{"a": 3}')
    assert list(df["a"]) == [1, "x\r\ny", 3]


def test_empty_file_yields_nothing(tmp_path):
    assert tables(write(tmp_path, "")) == []
    assert tables(write(tmp_path, "\n\r\n", "blank.jsonl")) == []


# --- encodings ---------------------------------------------------------------------------------


def test_latin1(tmp_path):
    path = write(tmp_path, '{"a": "café €"}\n'.encode("cp1252"))
    with pytest.raises(UserErrorException, match="decode into utf-8"):
        tables(path)
    assert list(frame(tables(path, encoding="latin1")[0][1])["a"]) == ["café €"]


def test_utf8_bom_and_utf16(tmp_path):
    bom = write(tmp_path, b"\xef\xbb\xbf" + '{"a": "é"}\n'.encode(), "bom.jsonl")
    assert list(frame(tables(bom)[0][1]).columns) == ["a"]
    wide = write(tmp_path, '{"a": "é"}\n'.encode("utf-16"), "wide.jsonl")
    assert list(frame(tables(wide, encoding="utf16")[0][1])["a"]) == ["é"]


def test_invalid_utf8_in_the_fast_path(tmp_path):
    with pytest.raises(UserErrorException, match="line 2"):
        tables(write(tmp_path, b'{"a": "ok"}\n{"a": "caf\xe9"}\n'))


# --- files, projection, helpers ----------------------------------------------------------------


def test_several_files_one_table_each(tmp_path):
    first = write(tmp_path, '{"a": 1}\n', "1.jsonl")
    empty = write(tmp_path, "", "2.jsonl")
    third = write(tmp_path, '{"b": "x"}\n', "3.jsonl")
    found = tables(first, empty, third)
    assert [(i, t.column_names) for i, t in found] == [(0, ["a"]), (2, ["b"])]


def test_projection(tmp_path):
    path = write(tmp_path, '{"a": 1, "b": 2, "c": 3}\n{"a": 4, "b": 5, "c": 6}\n')
    (_, table), = list(read_json_lines(refs(path), ReadJsonLines(), columns=["c", "a", "zz"]))
    assert table.column_names == ["a", "c"]
    (_, none), = list(read_json_lines(refs(path), ReadJsonLines(), columns=["zz"]))
    assert none.num_columns == 0 and none.num_rows == 2


# --- date columns carried to later pieces and files (read once, as strings) ---------------------


def dated(count, start=0, extra=""):
    return "".join(f'{{"id": {i}, "ts": "2024-01-{1 + i % 28:02d}T10:00:00", "v": {i / 2}{extra}}}\n'
                   for i in range(start, start + count))


def assert_same_tables(found, expected):
    assert [index for index, _ in found] == [index for index, _ in expected]
    for (_, table), (_, alone) in zip(found, expected):
        assert table.schema.equals(alone.schema, check_metadata=True), (table.schema, alone.schema)
        assert table.to_pylist() == alone.to_pylist()


def test_later_files_equal_each_file_read_alone(tmp_path):
    # Each file read alone infers its own dates; read together, later files get the date
    # columns of earlier ones named as strings up front. Every table must be the same.
    contents = [
        dated(3),
        dated(3, 3),                                             # same layout: read once
        '{"ts": "2024-02-01", "id": 7, "v": 1}\n',               # other key order, ints in v
        '{"id": 8, "ts": "not a date", "v": 2.5}\n',              # a plain string: still a string
        '{"id": 9, "ts": null, "v": 1.5}\n{"id": 10, "ts": "2024-02-02", "v": 1}\n',   # null first
        '{"id": 11, "v": 1.5}\n{"id": 12, "ts": "2024-02-03", "v": 1}\n',    # key missing first
        '{"id": 13, "ts": "2024-02-04", "v": 0.5}\n{"id": 14, "v": 1}\n',    # key missing later
        '{"id": 15, "ts": "2024-02-05", "v": 0.5, "new": "2024-03-01"}\n',   # another date column
        '{"id": 16, "ts": "2024-02-06", "v": 0.5, "o": {"k": 1}}\n',         # nested int → float
        '{"id": 17, "ts": "2024-02-07", "v": 0.5, "o": {"k": 9007199254740993}}\n',  # beyond 2**53
        '{"id": 18, "ts": "2024-02-08", "v": 0.5, "o": {"d": "2024-01-01"}}\n',      # nested date
        '{"id": 19, "ts": "2024-02-09", "v": 0.5}\n{"id": 20, "ts": 5, "v": 1}\n',  # a number
        '{"id": 21, "ts": "2024-02-10", "v": 0.5}\n{"id": 22, "ts": {"a": 1}, "v": 1}\n',
        '{"id": 23, "ts": "2024-02-11", "v": 0.5}\n{"id": 24, "ts": "2024-02-12", "v": 1} {"id": 25}\n',
        '\r\n{"id": 26, "ts": "2024-02-13", "v": 0.5}\r\n\r\n{"id": 27, "ts": "2024-02-14"}',
    ]
    paths = [write(tmp_path, content, f"{n:02d}.jsonl") for n, content in enumerate(contents)]
    alone = [(n, table) for n, path in enumerate(paths) for _, table in tables(path, invalid_lines="drop")]
    assert_same_tables(tables(*paths, invalid_lines="drop"), alone)
    with pytest.raises(UserErrorException, match="line 2"):
        tables(*paths)  # the two objects on one line are reported as before


def test_later_files_that_do_not_fit_the_dates_keep_every_value(tmp_path, mltable):
    write(tmp_path, dated(2), "1.jsonl")
    write(tmp_path, '{"id": 2, "ts": 5, "v": 1.0}\n{"id": 3, "ts": "2024-05-06", "v": 2}\n', "2.jsonl")
    write(tmp_path, '{"id": 4, "ts": "2024-05-07", "v": 3}\n', "3.jsonl")
    df = mltable.from_json_lines_files(paths=[{"folder": str(tmp_path)}]).to_pandas_dataframe()
    assert list(df["ts"]) == ["2024-01-01T10:00:00", "2024-01-02T10:00:00", 5, "2024-05-06", "2024-05-07"]
    assert str(df["v"].dtype) == "float64" and list(df["v"]) == [0.0, 0.5, 1.0, 2.0, 3.0]


def test_later_pieces_carry_the_dates(tmp_path, monkeypatch, mltable):
    from mltable_lite.readers import json_lines

    monkeypatch.setattr(json_lines, "FIRST_PIECE_SIZE", 1 << 10)
    monkeypatch.setattr(json_lines, "PIECE_SIZE", 1 << 12)
    # Pieces of ~60 lines: ints in v at first, a date column that later holds a number and
    # then is missing from a whole piece, a date column appearing late.
    content = (dated(300) + '{"id": 300, "ts": 1}\n' + "".join(f'{{"id": {i}}}\n' for i in range(301, 500))
               + dated(200, 500, ', "late": "2024-06-01"'))
    path = write(tmp_path, content)
    df = mltable.from_json_lines_files(paths=[{"file": str(path)}]).to_pandas_dataframe()
    assert len(df) == 700 and list(df.columns) == ["id", "ts", "v", "late"]
    assert list(df["ts"].iloc[298:302]) == ["2024-01-19T10:00:00", "2024-01-20T10:00:00", 1, None]
    assert df["ts"].iloc[699] == "2024-01-28T10:00:00" and df["late"].iloc[699] == "2024-06-01"
    assert df["late"].iloc[:500].isna().all() and str(df["v"].dtype) == "float64"
    with monkeypatch.context() as patch:
        patch.setattr(json_lines, "FIRST_PIECE_SIZE", 1 << 26)
        whole = mltable.from_json_lines_files(paths=[{"file": str(path)}]).to_pandas_dataframe()
    pd.testing.assert_frame_equal(df, whole)


def test_dates_named_as_strings_read_once_only_when_that_is_exact():
    from mltable_lite.readers.json_fast import _read_with_date_columns, read_fast, record_count
    import pyarrow.json as pj

    def read(data):
        return _read_with_date_columns(data, pj.ReadOptions(), record_count(data), ("ts",))

    same = b'{"id": 1, "ts": "2024-01-01", "o": {"k": 1}}\n{"ts": "2024-01-02", "id": 2}\n'
    assert read(same).to_pylist() == read_fast(same).to_pylist()
    assert read(same).schema == read_fast(same).schema
    for data in [b'{"id": 1, "ts": 5}\n',                            # not a string
                 b'{"id": 1}\n{"ts": "2024-01-01"}\n',               # not in the first record
                 b'{"id": 1, "ts": null}\n{"ts": "2024-01-01"}\n',   # null in the first record
                 b'{"ts": "2024-01-01", "d": "2024-01-01"}\n',        # another date column
                 b'{"ts": "x"}\n{"ts": "y"} {"ts": "z"}\n']:          # two objects on a line
        assert read(data) is None, data


@pytest.mark.parametrize("data, count", [
    (b'{"a": 1}\n{"a": 2}\n', 2),
    (b'{"a": 1}\n{"a": 2}', 2),
    (b'\n{"a": 1}\n', 1),
    (b'\r\n{"a": 1}\r\n\r\n{"a": 2}\r\n', 2),
    (b'  {"a": 1}\n\t{"a": 2}\n', 2),
    (b'{"a": 1}\n\n', 1),
    (b' \n{"a": 1}\n', None),
    (b'{"a": 1}\n \n{"a": 2}\n', None),
    (b'{"a": 1}\n\x0c', None),
    (b'{"a": 1}\n\r', 1),
    (b'\t', None),
])
def test_record_count_finds_blank_lines_anywhere(data, count):
    from mltable_lite.readers.json_fast import record_count

    assert record_count(data) == count
    assert record_count(bytearray(data)) == count


def test_validate_invalid_lines():
    assert validate_invalid_lines("error") == "error"
    assert validate_invalid_lines("drop") == "drop"
    for bad in ("skip", "DROP", None, 1):
        with pytest.raises(UserErrorException) as caught:
            validate_invalid_lines(bad)
        assert str(caught.value) == "Invalid value for invalid_lines, the supported values are ['error', 'drop']"


def test_harmonize_across_files():
    mixed = pa.table([to_mixed(pa.array([1, None]))],
                     schema=pa.schema([pa.field("v", pa.large_string(), metadata=MIXED_METADATA)]))
    parts = [
        pa.table({"v": [1, 2], "w": [1, 2]}),
        pa.table({"v": pa.nulls(1), "w": [1.5]}),
        mixed,
        pa.table({"v": ["two"], "o": [{"x": 1.0}]}),
        pa.table({"o": [{"y": "q"}], "b": [True]}),
        pa.table({"b": [1]}),
    ]
    unified = pa.concat_tables(harmonize_json_tables(parts), promote_options="default")
    df = restore_mixed(unified.to_pandas(), unified.schema)
    assert list(df["v"]) == [1, 2, None, 1, None, "two", None, None]
    assert str(df["w"].dtype) == "float64"
    assert df["o"].iloc[5] == {"x": 1.0, "y": None}
    assert list(df["b"])[-2:] == [True, 1]


def test_restore_mixed_ignores_dropped_columns():
    schema = pa.schema([pa.field("v", pa.large_string(), metadata=MIXED_METADATA)])
    assert list(restore_mixed(pd.DataFrame({"w": [1]}), schema).columns) == ["w"]


# --- end to end through the public API ---------------------------------------------------------


@pytest.fixture
def mltable():
    pytest.importorskip("mltable_lite.readers.delimited")  # the builder validates encodings with it
    import mltable_lite

    return mltable_lite


def test_public_api_reads_json_lines(tmp_path, mltable):
    path = write(tmp_path, '{"i": 1, "s": "a", "b": true}\n{"i": null, "s": "b", "b": false, "x": [1]}\n')
    df = mltable.from_json_lines_files(paths=[{"file": str(path)}], include_path_column=True).to_pandas_dataframe()
    assert list(df.columns) == ["Path", "i", "s", "b", "x"]
    assert str(df["i"].dtype) == "float64" and str(df["b"].dtype) == "bool"
    assert df["Path"].iloc[0] == str(path)


def test_public_api_invalid_lines(tmp_path, mltable):
    path = write(tmp_path, '{"a": 1}\nnope\n{"a": 2}\n')
    with pytest.raises(mltable.UserErrorException, match="line 2"):
        mltable.from_json_lines_files(paths=[{"file": str(path)}]).to_pandas_dataframe()
    df = mltable.from_json_lines_files(paths=[{"file": str(path)}], invalid_lines="drop").to_pandas_dataframe()
    assert list(df["a"]) == [1, 2]
    with pytest.raises(mltable.UserErrorException, match=r"the supported values are \['error', 'drop'\]"):
        mltable.from_json_lines_files(paths=[{"file": str(path)}], invalid_lines="skip")


def test_public_api_latin1(tmp_path, mltable):
    path = write(tmp_path, '{"a": "café"}\n'.encode("latin-1"))
    df = mltable.from_json_lines_files(paths=[{"file": str(path)}], encoding="latin1").to_pandas_dataframe()
    assert list(df["a"]) == ["café"]



def test_public_api_mixed_values_within_and_across_files(tmp_path, mltable):
    write(tmp_path, '{"v": 1, "w": 1}\n{"v": "two", "w": 2}\n', "1.jsonl")
    write(tmp_path, '{"v": 3.5, "w": 2.5}\n', "2.jsonl")
    write(tmp_path, '{"v": null, "w": 3}\n', "3.jsonl")
    df = mltable.from_json_lines_files(paths=[{"folder": str(tmp_path)}]).to_pandas_dataframe()
    assert list(df["v"]) == [1, "two", 3.5, None]
    assert list(df["w"]) == [1.0, 2.0, 2.5, 3.0] and str(df["w"].dtype) == "float64"


def test_filters_reach_fields_inside_objects_with_dots(tmp_path):
    """As in the reference: `filter("user.id == 1000")`; a field that does not exist is an error (P5)."""
    path = tmp_path / "users.jsonl"
    path.write_text('{"user": {"id": 1000, "name": "ann", "address": {"city": "Oslo"}}, "v": 1}\n'
                    '{"user": {"id": 1001, "name": "bob"}, "v": 2}\n'
                    '{"user": null, "v": 3}\n')
    import mltable_lite

    tbl = mltable_lite.from_json_lines_files([{"file": str(path)}])
    assert tbl.filter("user.id == 1000").to_pandas_dataframe()["v"].tolist() == [1]
    assert tbl.filter('user.id > 1000 or user.name.startswith("a")').to_pandas_dataframe()["v"].tolist() == [1, 2]
    assert tbl.filter('user.address.city == "Oslo"').to_pandas_dataframe()["v"].tolist() == [1]
    with pytest.raises(UserErrorException, match="unknown field 'user.idd'. Did you mean 'user.id'"):
        tbl.filter("user.idd == 1").to_pandas_dataframe()
    with pytest.raises(UserErrorException, match="field 'x' of 'v', which is not an object"):
        tbl.filter("v.x == 1").to_pandas_dataframe()
