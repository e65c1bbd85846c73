"""to_dask_dataframe() on a real two-process LocalCluster: every transform gives the rows, order
and dtypes of to_pandas_dataframe(), from local files and from Azurite."""

from __future__ import annotations

import pickle
from dataclasses import replace

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pandas.testing import assert_frame_equal

import mltable_lite as mltable
from mltable_lite import UserErrorException

dask = pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")

ACCOUNT = "mltablelite"
CONTAINER = "daskdata"


@pytest.fixture(scope="module")
def client():
    # One cluster for the module: starting worker processes costs seconds.
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=40) as cluster, distributed.Client(cluster) as client:
        yield client


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """Three CSV files of ~14 KB cut into 4 KB partitions, in year=/month= folders."""
    root = tmp_path_factory.mktemp("dask")
    for month in (1, 2, 3):
        (root / "csv" / "year=2024" / f"month={month}").mkdir(parents=True)
        rows = [f"{month * 1000 + i},2024-0{month}-{1 + i % 28:02d} 1{i % 10}:00:00,n{i % 7},{(i * 37) % 101 / 4},"
                f"{'True' if i % 3 else 'False'}" for i in range(400)]
        (root / "csv" / "year=2024" / f"month={month}" / "part.csv").write_text(
            "id,when,name,score,flag\n" + "\n".join(rows) + "\n")
    frame = mltable.from_delimited_files([{"pattern": str(root / "csv" / "**" / "*.csv")}]).to_arrow()
    (root / "pq").mkdir()
    pq.write_table(frame.slice(0, 700), root / "pq" / "a.parquet", row_group_size=150)
    pq.write_table(frame.slice(700), root / "pq" / "b.parquet", row_group_size=150)
    return root


def _same(frame, tbl):
    """The dask frame computes to exactly ``tbl.to_pandas_dataframe()`` (each partition keeps its
    own RangeIndex, as dask's readers do)."""
    got = frame.compute().reset_index(drop=True)
    assert_frame_equal(got, tbl.to_pandas_dataframe())
    return got


def _csv(folder, **options):
    return mltable.from_delimited_files([{"pattern": str(folder / "csv" / "**" / "*.csv")}],
                                        **options)


TRANSFORMS = {
    "plain": lambda t: t,
    "filter": lambda t: t.filter("score > 10 and name != 'n3'"),
    "keep": lambda t: t.keep_columns(["score", "id"]),
    "drop": lambda t: t.drop_columns("when"),
    "convert": lambda t: t.convert_column_types({"score": "int", "id": "string"}),
    "partition_format": lambda t: t.extract_columns_from_partition_format("year={year}/month={month}/part.csv"),
    "sample": lambda t: t.take_random_sample(0.3, seed=11),
    "filter_then_sample": lambda t: t.filter("flag").take_random_sample(0.5, seed=2),
    "split_first": lambda t: t.random_split(0.7, seed=9)[0],
    "split_second": lambda t: t.random_split(0.7, seed=9)[1],
    "select_partitions": lambda t: t.select_partitions([1, 2, 5]).take_random_sample(0.5, seed=4),
    "take": lambda t: t.filter("score > 5").take(450),
    "skip": lambda t: t.skip(500).take_random_sample(0.5, seed=1),
    "skips_and_filters": lambda t: t.filter("flag").skip(123).take_random_sample(0.6, seed=5).skip(40)
                                    .random_split(0.5, seed=3)[1],
}


@pytest.mark.parametrize("name", TRANSFORMS)
def test_every_transform_matches_to_pandas_on_a_cluster(client, folder, name):
    base = _csv(folder, include_path_column=True)
    tbl = TRANSFORMS[name](base)
    base_partitions = base.get_partition_count()
    assert base_partitions == 12   # 3 files of ~14 KB in 4 KB pieces (partition_size below)
    frame = tbl.to_dask_dataframe()
    got = _same(frame, tbl)
    assert len(got) > 0
    if name == "take":
        assert frame.npartitions == 1    # one task runs the whole plan, stopping early
    elif name != "select_partitions":
        assert frame.npartitions == 6    # 4 KB pieces of a local CSV file are parsed alone, two a task


@pytest.fixture(autouse=True)
def small_pieces(monkeypatch):
    """4 KB partitions, so that every file has several (the default is 20 MB), and a task for
    every two of them (the default is 64 MB of pieces a task)."""
    from mltable_lite import builders, dask as ours

    monkeypatch.setattr(ours, "TASK_BYTES", 8192)

    original = builders.from_delimited_files

    def with_pieces(*args, **kwargs):
        tbl = original(*args, **kwargs)
        return tbl._derive(tbl._plan.replace(reader=replace(tbl._plan.reader, partition_size=4096)))

    monkeypatch.setattr(mltable, "from_delimited_files", with_pieces)


@pytest.mark.parametrize("quoted", [False, True])
def test_a_piece_parsed_alone_has_the_rows_counted_over_the_whole_file(tmp_path, monkeypatch, quoted):
    """A 200-byte piece of a local file is parsed from its own bytes (lines starting in it); with a
    quote (a record might span lines) the file is read whole and cut by line counts, as before.
    Tasks take two pieces."""
    from mltable_lite import dask as ours
    from mltable_lite.readers.delimited import DelimitedFormat

    monkeypatch.setattr(ours, "TASK_BYTES", 400)
    text = "".join(f'{i},{"x" * (i * 7 % 61)},{"q" if i % 5 else ""}\n' for i in range(120))
    (tmp_path / "a.csv").write_text("id,text,tag\n" + (text.replace("q", '"q"') if quoted else text))
    tbl = mltable.from_delimited_files([{"file": str(tmp_path / "a.csv")}])
    tbl = tbl._derive(tbl._plan.replace(reader=replace(tbl._plan.reader, partition_size=200)))
    count = tbl.get_partition_count()
    cases = [[0], [1], [count - 1], list(range(0, count, 3)), list(range(count))]
    derived = [tbl.select_partitions(chosen).take_random_sample(0.6, seed=4) for chosen in cases]
    parsed_alone = [table.to_pandas_dataframe() for table in derived]
    frame = tbl.filter("id > 3").to_dask_dataframe()
    assert frame.npartitions == -(-count // 2)   # (with a quote, each task reads the file whole)
    assert_frame_equal(frame.compute(scheduler="sync").reset_index(drop=True), tbl.filter("id > 3").to_pandas_dataframe())
    monkeypatch.setattr(DelimitedFormat, "ranged", lambda self, step: False)
    for table, alone in zip(derived, parsed_alone):
        assert_frame_equal(alone, table.to_pandas_dataframe())
    assert len(parsed_alone[-1]) > 40


def test_parquet_row_groups_are_partitions_and_pruning_keeps_the_rows(client, folder):
    tbl = mltable.from_parquet_files([{"pattern": str(folder / "pq" / "*.parquet")}])
    frame = tbl.to_dask_dataframe()
    assert frame.npartitions == tbl.get_partition_count() == 9   # 5 + 4 row groups
    _same(frame, tbl)
    for derived in (tbl.filter("id >= 2350"), tbl.filter("id < 1100").take_random_sample(0.4, seed=3),
                    tbl.select_partitions([0, 6, 7]).random_split(0.5, seed=8)[1],
                    tbl.skip(449).take_random_sample(0.5, seed=2), tbl.skip(150).skip(10)):
        _same(derived.to_dask_dataframe(), derived)


def test_meta_comes_from_the_schema_and_tasks_carry_the_plan_as_data(folder):
    tbl = _csv(folder).filter("score > 1")
    frame = tbl.to_dask_dataframe()
    assert list(frame.columns) == ["id", "when", "name", "score", "flag"]
    assert [str(kind) for kind in frame._meta.dtypes] == [str(kind) for kind in tbl.to_pandas_dataframe().dtypes]
    graph = dict(frame.__dask_graph__())
    assert len(graph) == 6   # a task per two 4 KB pieces
    task = next(iter(graph.values()))
    # The task is our module-level function with the MLTable YAML dict as an argument: it pickles
    # without the client's state, and its arguments hold the filter as data.
    text = pickle.dumps(task)
    assert b"mltable_lite.dask" in text and b"read_piece" in text and b"score > 1" in text


def test_from_first_file_headers_and_types_come_from_the_first_file(client, tmp_path):
    (tmp_path / "a.csv").write_text("id,code\n" + "".join(f"{i},{i:03d}\n" for i in range(5)))
    (tmp_path / "b.csv").write_text("".join(f"{i},x{i}\n" for i in range(5, 9)))
    tbl = mltable.from_delimited_files([{"pattern": str(tmp_path / "*.csv")}], header="from_first_file")
    got = _same(tbl.to_dask_dataframe(), tbl)
    assert got["id"].tolist() == list(range(9))


def test_json_lines_and_delta(client, tmp_path):
    deltalake = pytest.importorskip("deltalake")
    (tmp_path / "j").mkdir()
    for part in range(3):
        (tmp_path / "j" / f"{part}.jsonl").write_text("".join(
            f'{{"id": {part * 10 + i}, "tag": "t{i % 3}", "v": {i / 2}}}\n' for i in range(10)))
    jsonl = mltable.from_json_lines_files([{"pattern": str(tmp_path / "j" / "*.jsonl")}])
    _same(jsonl.filter("tag == 't1'").take_random_sample(0.6, seed=1).to_dask_dataframe(),
          jsonl.filter("tag == 't1'").take_random_sample(0.6, seed=1))
    for part in range(3):
        deltalake.write_deltalake(str(tmp_path / "d"), pa.table({"id": list(range(part * 5, part * 5 + 5))}),
                                  mode="append")
    delta = mltable.from_delta_lake(str(tmp_path / "d"))
    frame = delta.to_dask_dataframe()
    assert frame.npartitions == 3
    _same(frame, delta)


def test_a_late_widening_value_is_the_stream_error_from_a_worker(client, tmp_path):
    (tmp_path / "1.csv").write_text("a\n" + "".join(f"{i}\n" for i in range(300)))
    (tmp_path / "2.csv").write_text("a\n7\n2.5\n")
    tbl = mltable.from_delimited_files([{"pattern": str(tmp_path / "*.csv")}])
    frame = tbl.to_dask_dataframe()
    assert str(frame._meta.dtypes["a"]) == "int64"
    with pytest.raises(UserErrorException, match=r"Column 'a' is int64.*2\.csv', line 3 holds 2\.5"):
        frame.compute()


def test_azurite_with_credentials_in_storage_options(client, azurite, folder):
    azurite.create_container(ACCOUNT, CONTAINER)
    azurite.upload_folder(ACCOUNT, CONTAINER, folder / "csv", prefix="csv")
    azurite.upload_folder(ACCOUNT, CONTAINER, folder / "pq", prefix="pq")
    options = {"connection_string": azurite.connection_string(ACCOUNT)}
    base = f"abfss://{CONTAINER}@{ACCOUNT}.dfs.core.windows.net"
    csv = mltable.from_delimited_files([{"pattern": f"{base}/csv/**/*.csv"}], storage_options=options,
                                       include_path_column=True)
    for tbl in (csv.filter("score > 3").take_random_sample(0.5, seed=6),
                csv.extract_columns_from_partition_format("year={year}/month={month}/part.csv").take(20),
                mltable.from_parquet_files([{"pattern": f"{base}/pq/*.parquet"}], storage_options=options)):
        frame = tbl.to_dask_dataframe()
        assert options["connection_string"] not in repr(frame) + str(list(frame.__dask_graph__().keys()))
        _same(frame, tbl)


def test_without_dask_installed_the_error_says_what_to_install(folder, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "dask.dataframe", None)
    with pytest.raises(UserErrorException, match=r"pip install 'mltable-lite\[dask\]'"):
        _csv(folder).to_dask_dataframe()
