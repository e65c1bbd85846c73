"""to_batches(): one schema for the whole stream, announced before the first batch."""

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import mltable_lite as mltable
from mltable_lite import UserErrorException


def _csv(path, header, rows):
    path.write_text("\n".join([header, *rows]) + "\n")


def _all_batches(reader):
    batches = list(reader)
    for batch in batches:
        assert batch.schema.equals(reader.schema, check_metadata=True)
    return batches


def test_schema_is_known_before_the_first_batch_and_every_batch_has_it(tmp_path):
    _csv(tmp_path / "a.csv", "id,name,when,flag", [f"{i},n{i},2024-01-0{1 + i % 9} 10:00:00,True" for i in range(300)])
    _csv(tmp_path / "b.csv", "id,name,when,flag", ["300,,2024-02-01 00:00:00,False", "301,z,,True"])
    tbl = mltable.from_delimited_files([{"pattern": str(tmp_path / "*.csv")}])
    reader = tbl.to_batches()
    assert reader.schema == tbl.to_arrow().schema
    table = pa.Table.from_batches(_all_batches(reader), reader.schema)
    assert table.to_pandas().equals(tbl.to_arrow().to_pandas())
    frame = tbl.to_pandas_dataframe()
    assert table.num_rows == len(frame) == 302
    assert [str(kind) for kind in frame.dtypes] == ["int64", "str", "datetime64[ns]", "bool"]


def test_a_late_value_that_would_widen_a_column_is_an_error_naming_file_line_and_column(tmp_path):
    _csv(tmp_path / "1.csv", "a,b", [f"{i},x" for i in range(300)])
    _csv(tmp_path / "2.csv", "a,b", ["5,y", "6,z", "2.5,q"])
    tbl = mltable.from_delimited_files([{"pattern": str(tmp_path / "*.csv")}])
    assert str(tbl.to_pandas_dataframe().dtypes["a"]) == "float64"   # collecting widens (P2)
    reader = tbl.to_batches(batch_size=100)
    assert reader.schema.field("a").type == pa.int64()
    seen = []
    with pytest.raises(UserErrorException) as raised:
        for batch in reader:
            assert batch.schema.equals(reader.schema)
            seen.append(batch.num_rows)
    assert seen == [100, 100, 100]
    message = str(raised.value)
    assert "Column 'a'" in message and "2.csv" in message and "line 4" in message and "2.5" in message
    assert "convert_column_types({'a': 'float'})" in message
    # The fix the message names: the stream is then float64 from the start.
    fixed = tbl.convert_column_types({"a": "float"}).to_batches()
    assert fixed.schema.field("a").type == pa.float64()
    assert pa.Table.from_batches(_all_batches(fixed)).column("a").to_pylist()[-1] == 2.5


def test_text_after_the_sample_in_a_number_column_is_the_documented_error(tmp_path):
    _csv(tmp_path / "1.csv", "a", [str(i) for i in range(250)])
    _csv(tmp_path / "2.csv", "a", ["1", "oops"])
    tbl = mltable.from_delimited_files([{"pattern": str(tmp_path / "*.csv")}])
    assert tbl.to_pandas_dataframe()["a"].tolist()[-1] == "oops"   # collecting reads the column as text (P2)
    with pytest.raises(UserErrorException, match=r"Column 'a' is int64.*2\.csv', line 3 holds 'oops'"):
        list(tbl.to_batches())
    # A file read whole gets its type from all its rows: the stream is text from the start.
    _csv(tmp_path / "1.csv", "a", [str(i) for i in range(250)] + ["oops"])
    one = mltable.from_delimited_files([{"file": str(tmp_path / "1.csv")}])
    assert one.to_batches().schema.field("a").type == pa.string()


def test_json_lines_a_float_after_ints_is_an_error_with_its_line(tmp_path):
    (tmp_path / "1.jsonl").write_text("".join(json.dumps({"v": i}) + "\n" for i in range(300)))
    (tmp_path / "2.jsonl").write_text('{"v": 1}\n{"v": 1.5}\n')
    tbl = mltable.from_json_lines_files([{"pattern": str(tmp_path / "*.jsonl")}])
    with pytest.raises(UserErrorException, match=r"Column 'v'.*2\.jsonl', line 2 holds 1\.5"):
        list(tbl.to_batches())


def test_parquet_files_narrower_or_lacking_a_column_are_cast_up(tmp_path):
    pq.write_table(pa.table({"id": pa.array([1, 2], pa.int32())}), tmp_path / "a.parquet")
    pq.write_table(pa.table({"id": pa.array([3], pa.int64()), "extra": ["x"]}), tmp_path / "b.parquet")
    tbl = mltable.from_parquet_files([{"pattern": str(tmp_path / "*.parquet")}])
    reader = tbl.to_batches()
    assert reader.schema == pa.schema([("id", pa.int64()), ("extra", pa.string())])
    table = pa.Table.from_batches(_all_batches(reader))
    assert table.to_pydict() == {"id": [1, 2, 3], "extra": [None, None, "x"]}
    assert table.to_pandas().equals(tbl.to_pandas_dataframe())


def test_batch_size_and_columns(tmp_path):
    _csv(tmp_path / "a.csv", "x,y,z", [f"{i},{i * 2},s{i}" for i in range(7)])
    _csv(tmp_path / "b.csv", "x,y,z", [f"{i},{i * 2},s{i}" for i in range(7, 12)])
    tbl = mltable.from_delimited_files([{"pattern": str(tmp_path / "*.csv")}])
    reader = tbl.to_batches(batch_size=5, columns=["z", "x"])
    assert reader.schema.names == ["z", "x"]
    batches = _all_batches(reader)
    assert [batch.num_rows for batch in batches] == [5, 5, 2]
    assert pa.Table.from_batches(batches).column("x").to_pylist() == list(range(12))
    assert tbl.to_batches(columns="y").schema.names == ["y"]
    with pytest.raises(UserErrorException, match=r"\['nope'\] are not in the table"):
        tbl.to_batches(columns=["x", "nope"])
    for bad in (0, -1, 2.5, True):
        with pytest.raises(UserErrorException, match="batch_size must be a positive integer"):
            tbl.to_batches(batch_size=bad)


def test_transforms_apply_and_an_empty_result_still_has_its_schema(tmp_path):
    _csv(tmp_path / "a.csv", "x,y", [f"{i},{i % 3}" for i in range(50)])
    tbl = mltable.from_delimited_files([{"file": str(tmp_path / "a.csv")}])
    sampled = tbl.filter("y == 1").take_random_sample(0.5, seed=3).skip(2).take(6)
    batches = _all_batches(sampled.to_batches(batch_size=4))
    assert pa.Table.from_batches(batches).to_pandas().equals(sampled.to_pandas_dataframe())
    empty = tbl.filter("x > 1000").to_batches()
    assert empty.schema.names == ["x", "y"] and list(empty) == []
    assert empty.schema.field("x").type == pa.int64()


def test_on_azurite_the_stream_and_its_error_are_the_same(azurite, tmp_path):
    _csv(tmp_path / "1.csv", "a,b", [f"{i},x" for i in range(300)])
    _csv(tmp_path / "2.csv", "a,b", ["5,y", "2.5,q"])
    azurite.create_container("mltablelite", "batches")
    azurite.upload_folder("mltablelite", "batches", tmp_path, prefix="late")
    options = {"connection_string": azurite.connection_string("mltablelite")}
    tbl = mltable.from_delimited_files([{"pattern": "abfss://batches@mltablelite.dfs.core.windows.net/late/*.csv"}],
                                       storage_options=options)
    reader = tbl.keep_columns("b").to_batches(batch_size=120)
    assert [batch.num_rows for batch in _all_batches(reader)] == [120, 120, 62]
    with pytest.raises(UserErrorException, match=r"Column 'a'.*late/2\.csv', line 3 holds 2\.5") as raised:
        list(tbl.to_batches())
    assert options["connection_string"] not in str(raised.value)
