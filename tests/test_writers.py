"""Writers: a table's rows written as Parquet, delimited text, JSON lines or Delta, with an MLTable that
reads them back equal; atomic commits, overwrite modes, partitions, progress. Local disk here; Azurite
and azureml datastores in test_writers_remote.py; killed writes in test_writers_killed.py."""

from __future__ import annotations

import datetime as dt
import os
import time

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
import yaml
from pandas.testing import assert_frame_equal

import mltable_lite as mltable
from mltable_lite import DataType, UserErrorException
from mltable_lite.mltable import MLTableSaveOverwriteOption

WRITERS = {
    "parquet": lambda tbl, dest, **kw: tbl.to_parquet_files(dest, **kw),
    "csv": lambda tbl, dest, **kw: tbl.to_delimited_files(dest, **kw),
    "tsv": lambda tbl, dest, **kw: tbl.to_delimited_files(dest, delimiter="\t", **kw),
    "jsonl": lambda tbl, dest, **kw: tbl.to_json_lines_files(dest, **kw),
}


@pytest.fixture(scope="module")
def trips(tmp_path_factory):
    """Three monthly CSV files of taxi trips: ints, times, text, floats, bools, a few nulls."""
    root = tmp_path_factory.mktemp("trips")
    vendors = ["Contoso", "Fabrikam", "Northwind"]
    for month in (1, 2, 3):
        lines = ["trip_id,pickup_time,vendor,passengers,distance_km,fare,paid_by_card,note"]
        for index in range(400):
            trip = month * 1000 + index
            fare = "" if index % 97 == 0 else f"{5 + (trip * 7) % 4000 / 100:.2f}"
            note = '"says ""hi"", twice"' if index % 50 == 0 else ("007" if index % 31 == 0 else "")
            lines.append(f"{trip},2024-{month:02d}-{1 + index % 28:02d} {index % 24:02d}:{index % 60:02d}:00,"
                         f"{vendors[trip % 3]},{1 + trip % 4},{(trip * 13) % 3000 / 100:.2f},{fare},"
                         f"{'true' if trip % 2 else 'false'},{note}")
        (root / f"2024-{month:02d}.csv").write_text("\n".join(lines) + "\n")
    return root


def source(trips):
    """A filtered, converted, sampled table, as users write before keeping the result."""
    return (mltable.from_delimited_files([{"pattern": str(trips / "*.csv")}])
            .filter("passengers > 1")
            .convert_column_types({"distance_km": DataType.to_float(), "trip_id": "int"})
            .take_random_sample(0.7, seed=3))


def data_files(folder) -> list[str]:
    return sorted(os.path.relpath(os.path.join(root, name), folder) for root, _, names in os.walk(folder)
                  for name in names if name != "MLTable")


@pytest.mark.parametrize("kind", sorted(WRITERS))
def test_each_format_loads_back_equal(trips, tmp_path, kind):
    tbl = source(trips)
    expected = tbl.to_pandas_dataframe()
    written = WRITERS[kind](tbl, str(tmp_path / "out"))
    loaded = mltable.load(str(tmp_path / "out"))
    assert_frame_equal(loaded.to_pandas_dataframe(), expected)
    assert_frame_equal(written.to_pandas_dataframe(), expected)
    assert written == loaded
    document = yaml.safe_load((tmp_path / "out" / "MLTable").read_text())
    assert [list(path) for path in document["paths"]] == [["pattern"]]
    assert document["paths"][0]["pattern"].startswith("./part-*-")  # relative: the folder can move


def test_the_output_folder_can_move(trips, tmp_path):
    tbl = source(trips)
    tbl.to_parquet_files(str(tmp_path / "out"))
    os.rename(tmp_path / "out", tmp_path / "moved")
    assert_frame_equal(mltable.load(str(tmp_path / "moved")).to_pandas_dataframe(), tbl.to_pandas_dataframe())


def test_delta_loads_back_the_same_rows(trips, tmp_path):
    tbl = source(trips)
    expected = tbl.to_pandas_dataframe().sort_values("trip_id", ignore_index=True)
    written = tbl.to_delta_lake(str(tmp_path / "delta"))
    assert not (tmp_path / "delta" / "MLTable").exists()  # VACUUM would delete it
    for reread in (written, mltable.from_delta_lake(str(tmp_path / "delta"))):
        frame = reread.to_pandas_dataframe().sort_values("trip_id", ignore_index=True)
        # Delta keeps times in microseconds: the values are equal, the unit is Delta's.
        frame["pickup_time"] = frame["pickup_time"].astype(expected["pickup_time"].dtype)
        assert_frame_equal(frame, expected)


def test_delta_modes(trips, tmp_path):
    tbl = mltable.from_delimited_files([{"pattern": str(trips / "*.csv")}]).keep_columns(["trip_id", "vendor"])
    dest = str(tmp_path / "delta")
    tbl.take(10).to_delta_lake(dest, partition_by="vendor")
    with pytest.raises(UserErrorException, match="already holds a Delta table") as raised:
        tbl.take(3).to_delta_lake(dest)
    assert raised.value.error_code == "ScriptExecution.WriteStreams.AlreadyExists"
    assert len(tbl.take(3).to_delta_lake(dest, mode="append").to_pandas_dataframe()) == 13
    assert len(tbl.take(4).to_delta_lake(dest, overwrite=True).to_pandas_dataframe()) == 4
    assert len(tbl.take(5).to_delta_lake(dest, overwrite="skip").to_pandas_dataframe()) == 4
    assert sorted(os.listdir(dest)) == ["_delta_log", "vendor=Contoso", "vendor=Fabrikam", "vendor=Northwind"]


def test_every_arrow_type_survives_parquet(tmp_path):
    table = pa.table({
        "i8": pa.array([1, None, -3], pa.int8()), "u64": pa.array([2 ** 64 - 1, 0, 5], pa.uint64()),
        "f32": pa.array([1.5, None, 2.5], pa.float32()), "s": ["a", "", None], "b": [True, None, False],
        "ts_tz": pa.array([dt.datetime(2024, 1, 5, 10)] * 3, pa.timestamp("us", tz="Europe/Paris")),
        "d": pa.array([dt.date(2024, 1, 5), None, dt.date(1999, 12, 31)]),
        "dec": pa.array([1, 2, None], pa.decimal128(10, 2)),
        "nested": [{"a": 1, "b": [1, 2]}, None, {"a": 2, "b": []}], "bin": [b"\x00\xff", None, b""],
    })
    pq.write_table(table, tmp_path / "types.parquet")
    tbl = mltable.from_parquet_files([{"file": str(tmp_path / "types.parquet")}])
    tbl.to_parquet_files(str(tmp_path / "out"))
    assert_frame_equal(mltable.load(str(tmp_path / "out")).to_pandas_dataframe(), tbl.to_pandas_dataframe())
    with pytest.raises(UserErrorException, match="Column 'nested' holds struct"):
        tbl.to_delimited_files(str(tmp_path / "csv"))
    with pytest.raises(UserErrorException, match="Column 'bin' holds binary"):
        tbl.drop_columns("nested").to_json_lines_files(str(tmp_path / "jsonl"))
    assert not (tmp_path / "csv").exists() or data_files(tmp_path / "csv") == []


def test_text_formats_pin_the_types_inference_would_change(tmp_path):
    """A text column of digits stays text, a 0/1 int column stays int, integral floats stay floats."""
    table = pa.table({"zip": ["007", "12", "3"], "bit": [0, 1, 1], "whole": [1.0, 2.0, 3.0],
                      "when": pa.array([dt.datetime(2024, 1, 5, 10), None, dt.datetime(2024, 1, 5, 10, 0, 0, 250000)],
                                       pa.timestamp("ns"))})
    pq.write_table(table, tmp_path / "t.parquet")
    tbl = mltable.from_parquet_files([{"file": str(tmp_path / "t.parquet")}])
    for kind in ("csv", "jsonl"):
        WRITERS[kind](tbl, str(tmp_path / kind))
        assert_frame_equal(mltable.load(str(tmp_path / kind)).to_pandas_dataframe(), tbl.to_pandas_dataframe())


@pytest.mark.parametrize("encoding", ["utf8", "utf8bom", "latin1", "windows1252", "utf16"])
def test_delimited_encodings(tmp_path, encoding):
    (tmp_path / "in.csv").write_text("name,price\ncafé,3.5\nmenu €,4\n", encoding="utf-8")
    tbl = mltable.from_delimited_files([{"file": str(tmp_path / "in.csv")}])
    tbl.to_delimited_files(str(tmp_path / "out"), encoding=encoding)
    raw = open(tmp_path / "out" / data_files(tmp_path / "out")[0], "rb").read()
    assert "café".encode({"utf8": "utf-8", "utf8bom": "utf-8", "utf16": "utf-16-le"}.get(encoding, "cp1252")) in raw
    assert_frame_equal(mltable.load(str(tmp_path / "out")).to_pandas_dataframe(), tbl.to_pandas_dataframe())


def test_delimited_refuses_what_text_cannot_carry(tmp_path):
    (tmp_path / "in.csv").write_text("name\nmenu €\n", encoding="utf-8")
    tbl = mltable.from_delimited_files([{"file": str(tmp_path / "in.csv")}])
    with pytest.raises(UserErrorException, match="ascii cannot encode"):
        tbl.to_delimited_files(str(tmp_path / "out"), encoding="ascii")
    with pytest.raises(UserErrorException, match="one-character delimiter"):
        tbl.to_delimited_files(str(tmp_path / "out"), delimiter="::")
    assert data_files(tmp_path / "out") == [] if (tmp_path / "out").exists() else True


def test_overwrite_modes(trips, tmp_path):
    tbl = mltable.from_delimited_files([{"pattern": str(trips / "*.csv")}])
    dest = tmp_path / "out"
    dest.mkdir()
    (dest / "notes.txt").write_text("the user's own file")
    tbl.take(5).to_parquet_files(str(dest))
    first_files = data_files(dest)
    with pytest.raises(UserErrorException, match=f"Destination already exists.*'{dest}' already holds an MLTable"):
        tbl.take(7).to_parquet_files(str(dest))
    with pytest.raises(UserErrorException, match="already holds an MLTable") as raised:
        tbl.take(7).to_parquet_files(str(dest), overwrite=MLTableSaveOverwriteOption.FAIL_ON_CONFLICT)
    assert raised.value.error_code == "ScriptExecution.WriteStreams.AlreadyExists"
    assert len(tbl.take(7).to_parquet_files(str(dest), overwrite="skip").to_pandas_dataframe()) == 5
    assert data_files(dest) == first_files  # nothing was written
    replaced = tbl.take(7).to_parquet_files(str(dest), overwrite=MLTableSaveOverwriteOption.OVERWRITE)
    assert len(replaced.to_pandas_dataframe()) == 7
    assert len(mltable.load(str(dest)).to_pandas_dataframe()) == 7
    files = data_files(dest)
    assert "notes.txt" in files and not set(first_files) - {"notes.txt"} & set(files)  # old data files removed
    with pytest.raises(UserErrorException, match="not a supported overwrite option"):
        tbl.to_parquet_files(str(dest), overwrite="append")


def test_a_file_is_not_a_destination(tmp_path):
    (tmp_path / "taken").write_text("x")
    (tmp_path / "in.csv").write_text("a\n1\n")
    with pytest.raises(UserErrorException, match="taken' is a file"):
        mltable.from_delimited_files([{"file": str(tmp_path / "in.csv")}]).to_parquet_files(str(tmp_path / "taken"))


def test_leftovers_of_an_unfinished_write_are_invisible_then_removed(trips, tmp_path):
    tbl = mltable.from_delimited_files([{"pattern": str(trips / "*.csv")}])
    dest = tmp_path / "out"
    tbl.take(3).to_parquet_files(str(dest))
    # What a write killed before its commit leaves: data files of its own id, and no MLTable naming them.
    pq.write_table(pa.table({"trip_id": [-1]}), dest / "part-00000-0123456789ab.parquet")
    (dest / ".part-00001-0123456789ab.parquet.5f5f5f5f5f5f.tmp").write_bytes(b"half a file")
    assert len(mltable.load(str(dest)).to_pandas_dataframe()) == 3
    tbl.take(4).to_parquet_files(str(dest), overwrite=True)
    assert len(mltable.load(str(dest)).to_pandas_dataframe()) == 4
    assert not (dest / "part-00000-0123456789ab.parquet").exists()
    assert not (dest / ".part-00001-0123456789ab.parquet.5f5f5f5f5f5f.tmp").exists()


def test_an_mltable_temporary_left_by_a_killed_commit_is_removed_once_stale(trips, tmp_path):
    tbl = mltable.from_delimited_files([{"pattern": str(trips / "*.csv")}])
    dest = tmp_path / "out"
    tbl.take(3).to_parquet_files(str(dest))
    stale = dest / ".MLTable.0123456789ab.tmp"        # killed between writing it and its rename
    in_flight = dest / ".MLTable.ba9876543210.tmp"    # another writer's, about to be renamed
    stale.write_text("type: mltable\npaths: []\n")
    in_flight.write_text("type: mltable\npaths: []\n")
    an_hour_ago = time.time() - 3600
    os.utime(stale, (an_hour_ago, an_hour_ago))
    tbl.take(4).to_parquet_files(str(dest), overwrite=True)
    assert len(mltable.load(str(dest)).to_pandas_dataframe()) == 4
    assert not stale.exists()
    assert in_flight.exists()


def test_partition_by_writes_hive_folders(trips, tmp_path):
    tbl = source(trips)
    expected = tbl.to_pandas_dataframe()
    tbl.to_parquet_files(str(tmp_path / "out"), partition_by=["vendor", "passengers"], max_rows_per_file=100)
    folders = sorted({os.path.dirname(path) for path in data_files(tmp_path / "out")})
    assert folders[0] == os.path.join("vendor=Contoso", "passengers=2") and len(folders) == 9
    loaded = mltable.load(str(tmp_path / "out")).to_pandas_dataframe()
    # Rows come back grouped by folder, the keys (typed again) after the other columns.
    assert list(loaded.columns) == [c for c in expected.columns if c not in ("vendor", "passengers")] + \
        ["vendor", "passengers"] or set(loaded.columns) == set(expected.columns)
    order = ["trip_id"]
    assert_frame_equal(loaded[expected.columns].sort_values(order, ignore_index=True),
                       expected.sort_values(order, ignore_index=True))
    # Other engines read the same table from the folders.
    other = ds.dataset(str(tmp_path / "out"), format="parquet", partitioning="hive",
                       exclude_invalid_files=True).to_table().to_pandas()
    assert sorted(other["trip_id"]) == sorted(expected["trip_id"])


def test_partition_by_checks_its_columns(trips, tmp_path):
    tbl = mltable.from_delimited_files([{"pattern": str(trips / "*.csv")}])
    with pytest.raises(UserErrorException, match=r"partition_by names column\(s\) \['nope'\]"):
        tbl.to_parquet_files(str(tmp_path / "a"), partition_by="nope")
    with pytest.raises(UserErrorException, match="Cannot partition by column 'fare' of type double"):
        tbl.to_parquet_files(str(tmp_path / "b"), partition_by="fare")
    with pytest.raises(UserErrorException, match="Cannot partition by column 'note': its value"):
        tbl.to_parquet_files(str(tmp_path / "c"), partition_by="note")  # nulls and quotes with dots


def test_max_rows_per_file(trips, tmp_path):
    tbl = mltable.from_delimited_files([{"pattern": str(trips / "*.csv")}])
    tbl.to_delimited_files(str(tmp_path / "out"), max_rows_per_file=500)
    assert len(data_files(tmp_path / "out")) == 3  # 1200 rows
    assert_frame_equal(mltable.load(str(tmp_path / "out")).to_pandas_dataframe(), tbl.to_pandas_dataframe())
    with pytest.raises(UserErrorException, match="max_rows_per_file must be a positive integer"):
        tbl.to_parquet_files(str(tmp_path / "x"), max_rows_per_file=0)


def test_an_empty_result_keeps_its_columns(trips, tmp_path):
    tbl = mltable.from_delimited_files([{"pattern": str(trips / "*.csv")}]).filter("trip_id < 0")
    for kind in ("parquet", "csv"):
        WRITERS[kind](tbl, str(tmp_path / kind))
        loaded = mltable.load(str(tmp_path / kind)).to_pandas_dataframe()
        assert loaded.shape == (0, 8) and list(loaded.columns) == list(tbl.to_pandas_dataframe().columns)


def test_a_column_widened_by_a_later_file(tmp_path):
    """The first file says int; a later one holds decimals (P2) or text: the output has the type
    reading everything gives, in every file."""
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.csv").write_text("id,v,w\n" + "".join(f"{i},{i},{i}\n" for i in range(300)))
    (tmp_path / "in" / "b.csv").write_text("id,v,w\n1000,2.5,x\n")
    tbl = mltable.from_delimited_files([{"folder": str(tmp_path / "in")}])
    expected = tbl.to_pandas_dataframe()
    assert expected.dtypes["id"] == "int64" and expected.dtypes["w"] != "int64"  # the late text widened w
    for kind in ("parquet", "csv", "jsonl"):
        WRITERS[kind](tbl, str(tmp_path / kind), max_rows_per_file=200)
        assert_frame_equal(mltable.load(str(tmp_path / kind)).to_pandas_dataframe(), expected)
        schemas = {str(pq.read_schema(tmp_path / kind / name)) for name in data_files(tmp_path / kind)} \
            if kind == "parquet" else {"one"}
        assert len(schemas) == 1


def test_traits_and_metadata_travel(trips, tmp_path):
    tbl = mltable.from_delimited_files([{"pattern": str(trips / "*.csv")}]).take(3)
    tbl.traits.index_columns = ["trip_id"]
    tbl.metadata.add("owner", "data-team")
    loaded = mltable.load(str(tbl.to_parquet_files(str(tmp_path / "out")) and tmp_path / "out"))
    assert loaded.traits.index_columns == ["trip_id"] and loaded.metadata.get("owner") == "data-team"


def test_progress_only_when_asked(trips, tmp_path, capfd):
    tbl = mltable.from_delimited_files([{"pattern": str(trips / "*.csv")}])
    tbl.to_parquet_files(str(tmp_path / "quiet"))
    assert capfd.readouterr() == ("", "")
    tbl.to_parquet_files(str(tmp_path / "loud"), show_progress=True)
    err = capfd.readouterr().err
    assert "writing" in err and "rows=1,200" in err


def test_http_is_read_only(serve_http, trips, tmp_path):
    served = serve_http(tmp_path)
    tbl = mltable.from_delimited_files([{"pattern": str(trips / "*.csv")}])
    with pytest.raises(UserErrorException, match="read-only"):
        tbl.to_parquet_files(served.url + "out/")
