"""One suite, every storage: the same data read, transformed, loaded and saved through local paths,
http://, wasbs:// and abfss:// (Azurite), and azureml:// (a datastore the ARM look-alike resolves to
Azurite) must give the same DataFrames. Each storage is a real server on 127.0.0.1."""

from __future__ import annotations

import os
import textwrap
import uuid
from dataclasses import dataclass

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

import mltable_lite as mltable
from mltable_lite.storage.azureml import Workspace
from mltable_lite.storage.datastores import clear_datastore_cache

STORAGES = ["local", "http", "wasbs", "abfss", "azureml"]
ACCOUNT = "mltablelite"
CONTAINER = "matrix"
WORKSPACE = Workspace("0b5f4a3e-1c2d-4e5f-9a8b-7c6d5e4f3a2b", "rg-matrix", "ws-matrix")


@dataclass
class Storage:
    """Where the shared data set lives: ``uri("csv")`` is its csv folder there."""

    name: str
    root: str
    options: dict | None
    writable: bool

    def uri(self, relative: str = "") -> str:
        if self.name == "local":
            return os.path.join(self.root, relative)
        return self.root + relative

    def scratch(self) -> str:
        """A fresh folder URI to save into."""
        return self.uri(f"saved-{uuid.uuid4().hex[:8]}")


def _write_data(root) -> None:
    """CSV in nested folders, parquet, JSON lines, an MLTable folder and a Delta table (2 versions)."""
    import deltalake
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [(i, f"name{i % 7}", round(i * 1.25, 2), i % 3 == 0, f"2024-0{1 + i % 9}-1{i % 10}") for i in range(60)]
    frame = pd.DataFrame(rows, columns=["id", "name", "score", "flag", "day"])
    for index, (folder, part) in enumerate([("2024/01", frame[:20]), ("2024/02", frame[20:45]), ("2025/01", frame[45:])]):
        os.makedirs(root / "csv" / folder, exist_ok=True)
        part.to_csv(root / "csv" / folder / f"part-{index}.csv", index=False)
    os.makedirs(root / "parquet")
    table = pa.Table.from_pandas(frame, preserve_index=False)
    pq.write_table(table.slice(0, 30), root / "parquet" / "a.parquet", row_group_size=10)
    pq.write_table(table.slice(30), root / "parquet" / "b.parquet", row_group_size=10)
    os.makedirs(root / "jsonl")
    frame[:35].to_json(root / "jsonl" / "a.jsonl", orient="records", lines=True)
    frame[35:].to_json(root / "jsonl" / "b.jsonl", orient="records", lines=True)
    os.makedirs(root / "mlt")
    (root / "mlt" / "MLTable").write_text(textwrap.dedent("""\
        paths:
        - pattern: ../csv/**/*.csv
        transformations:
        - read_delimited:
            delimiter: ','
            header: all_files_same_headers
        - filter: 'score > 10'
        - keep_columns: [id, name, score]
        type: mltable
        """))
    deltalake.write_deltalake(str(root / "delta"), table.slice(0, 40))
    deltalake.write_deltalake(str(root / "delta"), table.slice(40), mode="append")


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("matrix-data")
    _write_data(root)
    return root


@pytest.fixture(scope="module")
def uploaded(azurite, data_root):
    azurite.create_container(ACCOUNT, CONTAINER)
    azurite.upload_folder(ACCOUNT, CONTAINER, data_root)
    return azurite


@pytest.fixture(params=STORAGES)
def storage(request, data_root) -> Storage:
    name = request.param
    if name == "local":
        return Storage(name, str(data_root), None, True)
    if name == "http":
        from servers.http_server import serve_folder

        served = serve_folder(data_root)
        request.addfinalizer(lambda: served.__exit__(None, None, None))
        return Storage(name, served.__enter__().url, None, False)
    azurite = request.getfixturevalue("uploaded")
    if name == "wasbs":
        return Storage(name, f"wasbs://{CONTAINER}@{ACCOUNT}.blob.core.windows.net/",
                       {"connection_string": azurite.connection_string(ACCOUNT)}, True)
    if name == "abfss":
        return Storage(name, f"abfss://{CONTAINER}@{ACCOUNT}.dfs.core.windows.net/",
                       {"account_key": azurite.account_key(ACCOUNT), "blob_endpoint": azurite.blob_endpoint(ACCOUNT)},
                       True)
    arm = request.getfixturevalue("arm_server_session")
    clear_datastore_cache()
    arm.add_blob_datastore(WORKSPACE, "matrixstore", account=ACCOUNT, container=CONTAINER,
                           endpoint=f"127.0.0.1:{azurite.port}", protocol="http", credentials_type="AccountKey",
                           secret=azurite.account_key(ACCOUNT))
    root = (f"azureml://subscriptions/{WORKSPACE.subscription}/resourcegroups/{WORKSPACE.resource_group}/"
            f"workspaces/{WORKSPACE.name}/datastores/matrixstore/paths/")
    return Storage(name, root, arm.options(), True)


@pytest.fixture(scope="module")
def local(data_root) -> Storage:
    return Storage("local", str(data_root), None, True)


def _same(actual: pd.DataFrame, expected: pd.DataFrame) -> None:
    assert len(expected) > 0
    assert_frame_equal(actual.reset_index(drop=True), expected.reset_index(drop=True))


def test_csv_pattern_with_transforms(storage, local):
    def build(where: Storage):
        return (mltable.from_delimited_files([{"pattern": where.uri("csv/**/*.csv")}], storage_options=where.options)
                .filter("flag == True or score > 40").keep_columns(["id", "name", "score", "day"])
                .take_random_sample(0.5, seed=7))
    _same(build(storage).to_pandas_dataframe(), build(local).to_pandas_dataframe())


def test_csv_folder_path_column_names_the_storage(storage, local):
    frame = mltable.from_delimited_files([{"folder": storage.uri("csv")}], include_path_column=True,
                                         storage_options=storage.options).to_pandas_dataframe()
    expected = mltable.from_delimited_files([{"folder": local.uri("csv")}]).to_pandas_dataframe()
    _same(frame.drop(columns=["Path"]), expected)
    paths = sorted(set(frame["Path"]))
    assert paths == [storage.uri(f"csv/{part}") for part in ("2024/01/part-0.csv", "2024/02/part-1.csv",
                                                             "2025/01/part-2.csv")]


def test_parquet_folder_with_pushed_down_filter(storage, local):
    def build(where: Storage):
        return mltable.from_parquet_files([{"folder": where.uri("parquet")}], storage_options=where.options)
    _same(build(storage).to_pandas_dataframe(), build(local).to_pandas_dataframe())
    _same(build(storage).filter("id >= 25 and id < 33").to_pandas_dataframe(),
          build(local).filter("id >= 25 and id < 33").to_pandas_dataframe())
    assert build(storage).get_partition_count() == 6


def test_json_lines_file_and_take(storage, local):
    def build(where: Storage):
        return mltable.from_json_lines_files([{"file": where.uri("jsonl/b.jsonl")}, {"file": where.uri("jsonl/a.jsonl")}],
                                             storage_options=where.options)
    _same(build(storage).to_pandas_dataframe(), build(local).to_pandas_dataframe())
    _same(build(storage).take(3).to_pandas_dataframe(), build(local).take(3).to_pandas_dataframe())


def test_load_an_mltable_folder(storage, local):
    loaded = mltable.load(storage.uri("mlt"), storage_options=storage.options)
    _same(loaded.to_pandas_dataframe(), mltable.load(local.uri("mlt")).to_pandas_dataframe())
    assert loaded.paths == [{"pattern": "../csv/**/*.csv"}]


def test_from_paths_lists_every_file(storage):
    frame = mltable.from_paths([{"pattern": storage.uri("parquet/*.parquet")}],
                               storage_options=storage.options).to_pandas_dataframe()
    assert [str(value) for value in frame["Path"]] == [storage.uri("parquet/a.parquet"), storage.uri("parquet/b.parquet")]


def test_delta_versions(storage, local):
    if storage.name == "http":
        pytest.skip("Delta tables need a store that lists _delta_log; plain HTTP servers are not one (documented)")
    for version in (0, 1):
        _same(mltable.from_delta_lake(storage.uri("delta"), version_as_of=version,
                                      storage_options=storage.options).to_pandas_dataframe(),
              mltable.from_delta_lake(local.uri("delta"), version_as_of=version).to_pandas_dataframe())


def test_save_colocated_then_load_gives_the_same_data(storage, local, tmp_path, monkeypatch):
    monkeypatch.chdir(local.root)  # built from relative paths: colocated keeps their layout
    table = mltable.from_delimited_files([{"pattern": "csv/2024/**/*.csv"}]).filter("id > 5")
    if not storage.writable:
        with pytest.raises(mltable.UserErrorException, match="read-only|cannot write|not writable"):
            mltable.MLTable(table._plan, storage.options).save(storage.scratch(), colocated=True)
        return
    target = storage.scratch() if storage.name != "local" else str(tmp_path / "saved")
    mltable.MLTable(table._plan, storage.options).save(target, colocated=True)
    reloaded = mltable.load(target, storage_options=storage.options)
    assert reloaded.paths == [{"pattern": "csv/2024/**/*.csv"}]
    _same(reloaded.to_pandas_dataframe(), table.to_pandas_dataframe())
