"""from_delta_lake (COMPATIBILITY.md §8, P9, P10) on tables written by deltalake inside the tests.

Every snapshot read is compared with what deltalake itself returns for that version, with the
rows in data-file path order (the reference's order).
"""

import datetime
import decimal
import json
import struct
import time

import pandas as pd
import pyarrow as pa
import pytest
from deltalake import DeltaTable, QueryBuilder, write_deltalake

import mltable_lite as mltable
from mltable_lite.errors import ExecutionError, UserErrorException
from mltable_lite.executor import table_to_pandas
from mltable_lite.readers.delta import resolve_instant

NOT_FOUND = "The requested stream was not found. Please make sure the request uri is correct."


def write(path, data, **options):
    write_deltalake(str(path), data, **options)
    time.sleep(0.012)  # distinct commit timestamps (milliseconds) for the time-travel tests


def expected(path, version=None) -> pd.DataFrame:
    """deltalake's own read of ``version``, one data file after another in path order."""
    dataset = DeltaTable(str(path), version=version).to_pyarrow_dataset()
    fragments = sorted(dataset.get_fragments(), key=lambda fragment: fragment.path)
    tables = [fragment.to_table(schema=dataset.schema) for fragment in fragments]
    return table_to_pandas(pa.concat_tables(tables) if tables else dataset.schema.empty_table())


def read(path, **options) -> pd.DataFrame:
    return mltable.from_delta_lake(str(path), **options).to_pandas_dataframe()


def commits(path) -> dict[int, int]:
    """Commit timestamp (ms since the epoch) by version, from the log."""
    return {entry["version"]: entry["timestamp"] for entry in DeltaTable(str(path)).history()}


def iso(millis: float, offset_hours: int = 0) -> str:
    zone = datetime.timezone(datetime.timedelta(hours=offset_hours))
    moment = datetime.datetime.fromtimestamp(millis / 1000, tz=datetime.timezone.utc).astimezone(zone)
    text = moment.isoformat(timespec="microseconds")
    return text.replace("+00:00", "Z")


@pytest.fixture(scope="module")
def history_table(tmp_path_factory):
    """Versions 0..4: create, append, overwrite, delete, schema evolution (a new column)."""
    path = tmp_path_factory.mktemp("delta") / "history"
    write(path, pa.table({"id": [1, 2, 3], "name": ["a", "b", "c"]}))
    write(path, pa.table({"id": [4, 5], "name": ["d", "e"]}), mode="append")
    write(path, pa.table({"id": [10, 11, 12, 13], "name": ["j", "k", "l", "m"]}), mode="overwrite")
    DeltaTable(str(path)).delete("id = 11")
    time.sleep(0.012)
    write(path, pa.table({"id": [20], "name": ["t"], "score": [0.5]}), mode="append", schema_mode="merge")
    return path


@pytest.fixture(scope="module")
def partitioned_table(tmp_path_factory):
    path = tmp_path_factory.mktemp("delta") / "partitioned"
    write(path, pa.table({
        "id": [1, 2, 3, 4],
        "year": pa.array([2023, 2024, 2024, 2023], pa.int32()),
        "day": pa.array([datetime.date(2024, 1, 1), datetime.date(2024, 1, 2)] * 2),
        "region": ["eu", "us", "eu", "us"],
    }), partition_by=["year", "region"])
    write(path, pa.table({
        "id": [5], "year": pa.array([2024], pa.int32()), "day": [datetime.date(2024, 3, 1)], "region": ["eu"],
    }), mode="append")
    return path


# --- snapshots --------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", [0, 1, 2, 3, 4])
def test_every_version_matches_deltalake(history_table, version):
    pd.testing.assert_frame_equal(read(history_table, version_as_of=version), expected(history_table, version))


def test_latest_is_the_last_version(history_table):
    frame = read(history_table)
    pd.testing.assert_frame_equal(frame, expected(history_table))
    assert sorted(frame["id"]) == [10, 12, 13, 20]


def test_schema_evolution_gives_nulls_for_files_before_the_column(history_table):
    frame = read(history_table)
    assert list(frame.columns) == ["id", "name", "score"]
    scores = dict(zip(frame["id"], frame["score"]))
    assert scores[20] == 0.5 and all(pd.isna(scores[i]) for i in (10, 12, 13))


def test_old_data_files_left_on_disk_are_not_read(history_table):
    # Version 2 overwrote versions 0-1 but their files are still in the folder (no vacuum).
    on_disk = [p for p in history_table.rglob("*.parquet") if "_delta_log" not in p.parts]
    paths = read(history_table, include_path_column=True)["Path"]
    assert len(on_disk) > paths.nunique()
    assert set(paths) <= {str(p) for p in on_disk}


def test_timestamps_pick_the_last_commit_at_or_before_the_instant(history_table):
    stamps = commits(history_table)
    versions = sorted(stamps)
    assert len(set(stamps.values())) == len(stamps), "commits must have distinct timestamps"
    for version in versions:
        at = stamps[version]
        pd.testing.assert_frame_equal(read(history_table, timestamp_as_of=iso(at)), expected(history_table, version))
        if version + 1 in stamps:
            between = (at + stamps[version + 1]) / 2
            if between > at:
                pd.testing.assert_frame_equal(read(history_table, timestamp_as_of=iso(between)),
                                              expected(history_table, version))
    after = iso(stamps[versions[-1]] + 3_600_000)
    pd.testing.assert_frame_equal(read(history_table, timestamp_as_of=after), expected(history_table))


def test_timestamp_with_an_offset_is_the_same_instant(history_table):
    stamps = commits(history_table)
    in_utc = read(history_table, timestamp_as_of=iso(stamps[1]))
    in_plus_two = read(history_table, timestamp_as_of=iso(stamps[1], offset_hours=2))
    assert iso(stamps[1], offset_hours=2).endswith("+02:00")
    pd.testing.assert_frame_equal(in_utc, in_plus_two)
    pd.testing.assert_frame_equal(in_utc, expected(history_table, 1))


def test_a_millisecond_before_a_commit_gives_the_previous_version(history_table):
    stamps = commits(history_table)
    if stamps[2] - 1 >= stamps[1]:
        pd.testing.assert_frame_equal(read(history_table, timestamp_as_of=iso(stamps[2] - 1)),
                                      expected(history_table, 1))


def test_resolve_instant():
    assert resolve_instant("1970-01-01T00:00:00Z") == 0
    assert resolve_instant("1970-01-01T00:00:00.8+00:00") == 800_000
    assert resolve_instant("1970-01-01T02:00:00+02:00") == 0
    assert resolve_instant("1970-01-01T00:00:00-00:30") == 1_800_000_000
    assert resolve_instant(datetime.datetime(1970, 1, 1, 0, 0, 1, tzinfo=datetime.timezone.utc)) == 1_000_000


# --- partitions, types, paths -------------------------------------------------------------------------


def test_partition_columns_are_returned_with_their_types(partitioned_table):
    frame = read(partitioned_table)
    pd.testing.assert_frame_equal(frame, expected(partitioned_table))
    assert list(frame.columns) == ["id", "year", "day", "region"]
    assert str(frame["year"].dtype) == "int32"
    assert set(frame["region"]) == {"eu", "us"} and set(frame["year"]) == {2023, 2024}
    assert isinstance(frame["day"].iloc[0], datetime.date)


def test_rows_come_in_data_file_path_order_with_the_path_column_first(partitioned_table):
    frame = read(partitioned_table, include_path_column=True)
    assert frame.columns[0] == "Path"
    paths = frame["Path"].tolist()
    assert paths == sorted(paths)
    assert all(isinstance(p, str) and p.startswith(str(partitioned_table) + "/") for p in paths)
    for path, year, region in zip(paths, frame["year"], frame["region"]):
        assert f"year={year}" in path and f"region={region}" in path
    pd.testing.assert_frame_equal(frame.drop(columns="Path"), expected(partitioned_table))


def test_partition_count_is_the_number_of_data_files(partitioned_table):
    table = mltable.from_delta_lake(str(partitioned_table))
    files = DeltaTable(str(partitioned_table)).file_uris()
    assert table.get_partition_count() == len(files) == 5
    first = table.select_partitions(0).to_pandas_dataframe()
    assert len(first) == 1
    all_rows = read(partitioned_table)
    pd.testing.assert_frame_equal(first, all_rows.iloc[:1])
    pd.testing.assert_frame_equal(table.select_partitions([4, 1]).to_pandas_dataframe(),
                                  all_rows.iloc[[1, 4]].reset_index(drop=True))


def test_dtypes_follow_the_parquet_conventions(tmp_path):
    path = tmp_path / "types"
    write(path, pa.table({
        "i64": pa.array([1, 2], pa.int64()),
        "i32": pa.array([1, 2], pa.int32()),
        "i16": pa.array([1, 2], pa.int16()),
        "with_null": pa.array([1, None], pa.int64()),
        "f32": pa.array([1.5, 2.5], pa.float32()),
        "flag": [True, False],
        "text": ["x", None],
        "day": [datetime.date(2024, 1, 1), None],
        "moment": pa.array([datetime.datetime(2024, 1, 1, 12)] * 2, pa.timestamp("us", "UTC")),
        "money": pa.array([decimal.Decimal("1.25"), decimal.Decimal("2.50")], pa.decimal128(10, 2)),
        "raw": [b"\x00", b"\x01"],
        "items": [[1, 2], []],
        "nested": [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}],
    }))
    frame = read(path)
    pd.testing.assert_frame_equal(frame, expected(path))
    dtypes = {name: str(dtype) for name, dtype in frame.dtypes.items()}
    assert dtypes["i64"] == "int64" and dtypes["i32"] == "int32" and dtypes["i16"] == "int16"
    assert dtypes["with_null"] == "float64" and dtypes["f32"] == "float32" and dtypes["flag"] == "bool"
    assert dtypes["moment"] == "datetime64[us, UTC]"
    assert frame["day"].tolist() == [datetime.date(2024, 1, 1), None]
    assert frame["money"].tolist() == [decimal.Decimal("1.25"), decimal.Decimal("2.50")]
    assert frame["raw"].tolist() == [b"\x00", b"\x01"]
    assert frame["nested"].iloc[0] == {"a": 1, "b": "x"}


def test_compacted_table(tmp_path):
    path = tmp_path / "compact"
    for start in range(0, 40, 10):
        write(path, pa.table({"id": list(range(start, start + 10))}), mode="append")
    before = DeltaTable(str(path)).version()
    assert mltable.from_delta_lake(str(path)).get_partition_count() == 4
    DeltaTable(str(path)).optimize.compact()
    after = DeltaTable(str(path))
    assert after.version() == before + 1 and len(after.file_uris()) == 1
    pd.testing.assert_frame_equal(read(path), expected(path))
    assert mltable.from_delta_lake(str(path)).get_partition_count() == 1
    assert sorted(read(path)["id"]) == list(range(40))
    pd.testing.assert_frame_equal(read(path, version_as_of=before), expected(path, before))


def test_special_characters_in_partition_values(tmp_path):
    path = tmp_path / "chars"
    write(path, pa.table({"x": [1, 2, 3], "p": ["a b", "c%d", "é/f"]}), partition_by=["p"])
    frame = read(path, include_path_column=True)
    assert sorted(zip(frame["x"], frame["p"])) == [(1, "a b"), (2, "c%d"), (3, "é/f")]
    import os

    assert all(os.path.exists(p) for p in frame["Path"])


def test_column_mapping_is_applied(tmp_path):
    # deltalake's to_pyarrow_table gives nulls here; its SQL engine reads the table right.
    path = tmp_path / "mapped"
    write(path, pa.table({"a b": [1, 2], "p q": [10, 20]}), partition_by=["p q"],
          configuration={"delta.columnMapping.mode": "name"})
    frame = read(path).sort_values("a b", ignore_index=True)
    truth = QueryBuilder().register("t", DeltaTable(str(path))).execute('select * from t order by "a b"').read_all()
    pd.testing.assert_frame_equal(frame, table_to_pandas(pa.table(truth)), check_dtype=False)
    assert frame.to_dict("list") == {"a b": [1, 2], "p q": [10, 20]}


def test_column_mapping_renames_nested_fields(tmp_path):
    path = tmp_path / "mapped_nested"
    write(path, pa.table({"s": [{"x": 1, "y": "a"}, None], "l": [[{"z": 1}], []]}),
          configuration={"delta.columnMapping.mode": "name"})
    frame = read(path)
    assert frame["s"].tolist()[0] == {"x": 1, "y": "a"} and frame["s"].tolist()[1] is None
    assert [list(value) for value in frame["l"]] == [[{"z": 1}], []]


def test_struct_fields_added_later_are_null_in_older_files(tmp_path):
    path = tmp_path / "struct_evolution"
    write(path, pa.table({"id": [1], "s": [{"x": 1}]}))
    write(path, pa.table({"id": [2], "s": [{"x": 3, "w": 1.5}]}), mode="append", schema_mode="merge")
    frame = read(path).sort_values("id", ignore_index=True)
    assert frame["s"].tolist() == [{"x": 1, "w": None}, {"x": 3, "w": 1.5}]


def test_table_with_the_deletion_vector_feature(tmp_path):
    # deltalake's to_pyarrow_table refuses any table that enables deletion vectors.
    path = tmp_path / "dv"
    write(path, pa.table({"a": [1, 2, 3]}), configuration={"delta.enableDeletionVectors": "true"})
    DeltaTable(str(path)).delete("a = 2")
    assert "deletionVectors" in (DeltaTable(str(path)).protocol().reader_features or [])
    assert read(path)["a"].tolist() == [1, 3]


# deltalake cannot write deletion vectors (its deletes rewrite files), so this test writes one by hand:
# a commit that re-adds a data file with an inline deletion vector, in the Delta protocol's format.

_Z85 = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#"


def _z85(data: bytes) -> str:
    data += b"\0" * (-len(data) % 4)
    out = []
    for start in range(0, len(data), 4):
        value, chunk = int.from_bytes(data[start:start + 4], "big"), []
        for _ in range(5):
            value, digit = divmod(value, 85)
            chunk.append(_Z85[digit])
        out.extend(reversed(chunk))
    return "".join(out)


def _deletion_vector(rows: list[int]) -> bytes:
    """Magic number + a portable 64-bit roaring bitmap (one bucket, one array container)."""
    container = struct.pack("<II", 12346, 1) + struct.pack("<HH", 0, len(rows) - 1) + struct.pack("<I", 16)
    container += b"".join(struct.pack("<H", row) for row in sorted(rows))
    return struct.pack("<IQI", 1681511377, 1, 0) + container


def delete_rows_with_a_deletion_vector(path, deleted: list[int]) -> None:
    table = DeltaTable(str(path))
    add = pa.table(table.get_add_actions()).to_pylist()[0]
    vector = _deletion_vector(deleted)
    now = int(time.time() * 1000)
    actions = [
        {"commitInfo": {"timestamp": now, "operation": "DELETE", "operationParameters": {}}},
        {"remove": {"path": add["path"], "deletionTimestamp": now, "dataChange": True, "partitionValues": {},
                    "size": add["size_bytes"]}},
        {"add": {"path": add["path"], "partitionValues": {}, "size": add["size_bytes"],
                 "modificationTime": add["modification_time"], "dataChange": True,
                 "stats": json.dumps({"numRecords": add["num_records"]}),
                 "deletionVector": {"storageType": "i", "pathOrInlineDv": _z85(vector), "sizeInBytes": len(vector),
                                    "cardinality": len(deleted)}}},
    ]
    log = path / "_delta_log" / f"{table.version() + 1:020d}.json"
    log.write_text("\n".join(json.dumps(action) for action in actions) + "\n")


@pytest.mark.parametrize("deleted", [[2, 5, 9], [0, 1]])
def test_deletion_vectors_are_applied(tmp_path, deleted):
    path = tmp_path / "dv"
    write(path, pa.table({"a": list(range(10)), "b": [str(i) for i in range(10)]}),
          configuration={"delta.enableDeletionVectors": "true"})
    delete_rows_with_a_deletion_vector(path, deleted)
    truth = QueryBuilder().register("t", DeltaTable(str(path))).execute("select * from t").read_all()
    frame = read(path, include_path_column=True)
    assert frame["a"].tolist() == pa.table(truth).column("a").to_pylist() == [i for i in range(10) if i not in deleted]
    assert frame["b"].tolist() == [str(i) for i in range(10) if i not in deleted]
    assert frame["Path"].nunique() == 1
    assert read(path, version_as_of=0)["a"].tolist() == list(range(10))
    only_path = mltable.from_delta_lake(str(path), include_path_column=True).keep_columns(["Path"])
    assert len(only_path.to_pandas_dataframe()) == 10 - len(deleted)


# --- transforms, save/load ----------------------------------------------------------------------------


def test_transforms_run_on_delta_tables(partitioned_table):
    table = mltable.from_delta_lake(str(partitioned_table), include_path_column=True)
    frame = table.filter("region == 'eu' and year == 2024").keep_columns(["id", "Path"]).to_pandas_dataframe()
    assert sorted(frame["id"]) == [3, 5]
    assert set(frame.columns) == {"Path", "id"}
    assert len(table.take(2).to_pandas_dataframe()) == 2
    assert "region" not in table.drop_columns(["region"]).to_pandas_dataframe().columns
    one_file = read(partitioned_table, include_path_column=True)["Path"].iloc[0]
    by_path = table.filter(f"Path == '{one_file}'").to_pandas_dataframe()
    assert by_path["Path"].tolist() == [one_file]


@pytest.mark.parametrize("options", [{}, {"version_as_of": 1}, {"include_path_column": True}, "timestamp"])
def test_save_and_load_round_trip(history_table, tmp_path, options):
    if options == "timestamp":
        options = {"timestamp_as_of": iso(commits(history_table)[2])}
    table = mltable.from_delta_lake(str(history_table), **options)
    table.save(str(tmp_path / "saved"))
    text = (tmp_path / "saved" / "MLTable").read_text()
    assert "read_delta_lake" in text
    loaded = mltable.load(str(tmp_path / "saved"))
    pd.testing.assert_frame_equal(loaded.to_pandas_dataframe(), table.to_pandas_dataframe())


def test_file_uri_and_relative_paths(history_table, monkeypatch):
    pd.testing.assert_frame_equal(read("file://" + str(history_table)), expected(history_table))
    monkeypatch.chdir(history_table.parent)
    pd.testing.assert_frame_equal(read("./" + history_table.name), expected(history_table))


# --- errors -------------------------------------------------------------------------------------------


def test_missing_folder_is_not_found(tmp_path):
    with pytest.raises(UserErrorException, match="The requested stream was not found") as caught:
        read(tmp_path / "nope")
    assert NOT_FOUND in str(caught.value) and str(tmp_path / "nope") in str(caught.value)
    assert caught.value.error_code == "ScriptExecution.StreamAccess.NotFound"


def test_folder_without_delta_log(tmp_path):
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "a.parquet").write_bytes(b"")
    with pytest.raises(UserErrorException, match="Unable to find any delta table metadata") as caught:
        read(tmp_path / "plain")
    assert "_delta_log" in str(caught.value) and str(tmp_path / "plain") in str(caught.value)


def test_empty_delta_log(tmp_path):
    (tmp_path / "t" / "_delta_log").mkdir(parents=True)
    with pytest.raises(UserErrorException, match="Unable to find any delta table metadata"):
        read(tmp_path / "t")


def test_version_past_the_latest_names_the_latest(history_table):
    with pytest.raises(UserErrorException, match="Invalid table version: 9") as caught:
        read(history_table, version_as_of=9)
    assert "up to 4" in str(caught.value)


def test_instant_before_the_first_commit_names_the_earliest_commit(history_table):
    first = commits(history_table)[0]
    with pytest.raises(UserErrorException, match="before the first commit") as caught:
        read(history_table, timestamp_as_of="2000-01-01T00:00:00Z")
    assert iso(first).replace("000Z", "Z")[:23] in str(caught.value)
    with pytest.raises(UserErrorException, match="before the first commit"):
        read(history_table, timestamp_as_of=iso(first - 1))


def test_timestamp_without_offset_says_to_add_one(history_table):
    table = mltable.from_delta_lake(str(history_table), timestamp_as_of="2024-01-01T00:00:00")  # build: fine
    for kind in (UserErrorException, ExecutionError):  # the reference raises ExecutionError here
        with pytest.raises(kind, match="Add 'Z' for UTC or an offset"):
            table.to_pandas_dataframe()


def test_both_version_and_timestamp_fail_at_build(history_table):
    with pytest.raises(UserErrorException, match="only one of"):
        mltable.from_delta_lake(str(history_table), version_as_of=1, timestamp_as_of="2024-01-01T00:00:00Z")


def test_filters_on_delta_partition_columns_skip_data_files(tmp_path):
    import deltalake

    path = str(tmp_path / "parts")
    deltalake.write_deltalake(path, pa.table({"region": ["eu", "eu", "us"], "v": [1, 2, 3]}),
                              partition_by=["region"])
    tbl = mltable.from_delta_lake(path).filter('region == "us" and v > 0')
    assert tbl.to_pandas_dataframe()["v"].tolist() == [3]
    assert "files: 1 of 2 pruned" in tbl.explain()
    from mltable_lite.executor import to_pandas

    assert to_pandas(tbl._plan, optimize=False).equals(tbl.to_pandas_dataframe())


@pytest.mark.parametrize("outside", ["../outside.parquet", "ABSOLUTE"])
def test_a_log_naming_a_file_outside_the_table_is_refused(tmp_path, outside):
    import pyarrow.parquet as pq

    table = tmp_path / "table"
    write(table, pa.table({"id": [1]}))
    secret = tmp_path / "outside.parquet"
    pq.write_table(pa.table({"id": [666]}), secret)
    if outside == "ABSOLUTE":
        outside = "file://" + str(secret)
    log = next((table / "_delta_log").glob("*.json"))
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    for action in lines:
        if "add" in action:
            action["add"]["path"] = outside
    log.write_text("\n".join(json.dumps(action) for action in lines) + "\n")
    with pytest.raises(UserErrorException, match="outside the table folder") as caught:
        read(table)
    assert outside in str(caught.value)
