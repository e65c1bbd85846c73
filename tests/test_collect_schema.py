"""``collect_schema()``: the schema ``to_arrow()`` returns, from footers, the Delta log or the
inference sample, without reading the data.

That no data is read is shown two ways: over the real HTTP server, by the bytes it sent; on local
disk, by data that would make a full read fail (a bad byte past the sample, a deleted data file).
"""

import json
import os

import deltalake
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import mltable_lite as mltable
from mltable_lite import DataType, UserErrorException


def write_csvs(folder, files=3, rows=20_000):
    folder.mkdir(parents=True, exist_ok=True)
    for number in range(files):
        lines = ["id,name,fare,when,flag"]
        lines += [f"{i},n{i % 7},{i * 0.5},2024-01-{1 + i % 28:02d} 10:00:00,{i % 2 == 0}"
                  for i in range(number * rows, (number + 1) * rows)]
        (folder / f"part-{number}.csv").write_text("\n".join(lines) + "\n")


def write_parquets(folder, files=3, rows=50_000):
    folder.mkdir(parents=True, exist_ok=True)
    for number in range(files):
        table = pa.table({"id": pa.array(range(rows), pa.int64()), "score": [i * 0.1 for i in range(rows)],
                          "label": pa.array([f"l{i % 5}" for i in range(rows)]).dictionary_encode()})
        if number == 1:
            table = table.append_column("extra", pa.array(["x"] * rows))
        pq.write_table(table, folder / f"part-{number}.parquet", row_group_size=10_000)


def total_size(folder):
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


# --- equal to to_arrow().schema -----------------------------------------------------------------


PLANS = {
    "csv": lambda d: mltable.from_delimited_files([{"pattern": str(d / "csv/*.csv")}]),
    "csv steps": lambda d: mltable.from_delimited_files([{"pattern": str(d / "csv/*.csv")}], include_path_column=True)
    .filter("fare > 10").keep_columns(["id", "fare", "when", "Path"])
    .convert_column_types({"id": DataType.to_string(), "fare": "int"}),
    "csv no types": lambda d: mltable.from_delimited_files([{"folder": str(d / "csv")}], infer_column_types=False),
    "parquet": lambda d: mltable.from_parquet_files([{"pattern": str(d / "pq/*.parquet")}]),
    "parquet steps": lambda d: mltable.from_parquet_files([{"pattern": str(d / "pq/*.parquet")}])
    .filter("id < 100").drop_columns(["score"]).take_random_sample(0.5, seed=1).skip(10),
    "parquet partitions": lambda d: mltable.from_parquet_files([{"pattern": str(d / "pq/*.parquet")}])
    .extract_columns_from_partition_format("part-{n}.parquet").select_partitions([0, 5]),
    "json lines": lambda d: mltable.from_json_lines_files([{"file": str(d / "rows.jsonl")}]),
    "delta": lambda d: mltable.from_delta_lake(str(d / "delta")).filter('region == "eu"'),
    "paths": lambda d: mltable.from_paths([{"folder": str(d / "csv")}]).extract_columns_from_partition_format(
        "part-{n}.csv"),
}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("schema")
    write_csvs(folder / "csv", files=2, rows=300)
    write_parquets(folder / "pq", files=3, rows=20_000)
    (folder / "rows.jsonl").write_text("\n".join(json.dumps({"id": i, "tags": ["a"], "nested": {"x": i * 1.5},
                                                             "when": "2024-01-02"}) for i in range(500)))
    deltalake.write_deltalake(str(folder / "delta"), pa.table({"region": ["eu", "us"], "v": [1, 2]}),
                              partition_by=["region"])
    return folder


@pytest.mark.parametrize("name", sorted(PLANS))
def test_collect_schema_equals_the_schema_of_to_arrow(data, name):
    tbl = PLANS[name](data)
    schema = tbl.collect_schema()
    assert isinstance(schema, pa.Schema)
    expected = PLANS[name](data).to_arrow().schema
    assert schema == expected
    assert schema.equals(expected, check_metadata=True)


def test_collect_schema_raises_what_to_arrow_raises(data):
    tbl = PLANS["parquet"](data).filter("nope > 1")
    with pytest.raises(UserErrorException, match="nope") as caught:
        tbl.collect_schema()
    with pytest.raises(UserErrorException) as again:
        tbl.to_arrow()
    assert str(caught.value) == str(again.value)


# --- without reading the data -------------------------------------------------------------------


def test_parquet_schema_comes_from_footers_only(serve_http, tmp_path):
    write_parquets(tmp_path / "pq", files=4, rows=300_000)
    served = serve_http(tmp_path)
    tbl = mltable.from_parquet_files([{"pattern": served.url + "pq/*.parquet"}]).keep_columns(["id", "extra"])

    schema = tbl.collect_schema()
    sent_for_schema = served.body_bytes

    assert schema.names == ["id", "extra"]
    assert sent_for_schema < total_size(tmp_path / "pq") / 20
    served.reset()
    assert tbl.to_arrow().schema == schema
    assert served.body_bytes > 5 * sent_for_schema


def test_delimited_schema_comes_from_the_sample(serve_http, tmp_path):
    write_csvs(tmp_path / "csv", files=1, rows=400_000)
    write_csvs(tmp_path / "csv" / "zmore", files=3, rows=1_000)
    served = serve_http(tmp_path)
    tbl = mltable.from_delimited_files([{"folder": served.url + "csv/"}])

    schema = tbl.collect_schema()

    assert schema.names == ["id", "name", "fare", "when", "flag"]
    assert str(schema.field("when").type).startswith("timestamp")
    # The big first file's sample was enough: no more read than take(5) reads, no other file opened.
    assert not [request for request in served.requests if "/zmore/part" in request[1] and request[0] == "GET"]
    sent_for_schema = served.body_bytes
    served.reset()
    tbl.take(5).to_arrow()
    assert sent_for_schema <= served.body_bytes < total_size(tmp_path / "csv")


def test_a_bad_byte_past_the_sample_does_not_reach_collect_schema(tmp_path):
    write_csvs(tmp_path, files=1, rows=100_000)
    path = tmp_path / "part-0.csv"
    with open(path, "ab") as handle:
        handle.write(b"7,caf\xff,1.0,2024-01-01 10:00:00,True\n")   # invalid UTF-8 at the very end
    tbl = mltable.from_delimited_files([{"file": str(path)}])

    assert tbl.collect_schema().names == ["id", "name", "fare", "when", "flag"]
    with pytest.raises(UserErrorException):
        tbl.to_arrow()


def test_delta_schema_comes_from_the_log_without_opening_a_data_file(tmp_path):
    deltalake.write_deltalake(str(tmp_path), pa.table({"region": ["eu", "us"], "v": [1.5, 2.5]}),
                              partition_by=["region"])
    tbl = mltable.from_delta_lake(str(tmp_path))
    expected = tbl.to_arrow().schema
    for path in tmp_path.rglob("*.parquet"):
        os.remove(path)

    assert tbl.collect_schema() == expected
    with pytest.raises(Exception):
        tbl.to_arrow()
