"""Writers and save() against real remote stores: Azurite over wasbs:// and abfss://, and an azureml://
datastore registered on Azurite. The written tables load back equal, and no credential is written."""

from __future__ import annotations

import pytest
from pandas.testing import assert_frame_equal

import mltable_lite as mltable
from mltable_lite import UserErrorException
from mltable_lite.storage import datastores, open_store
from mltable_lite.storage.datastores import register_datastore

ACCOUNT = "mltablelite"
CONTAINER = "outputs"
WASBS = f"wasbs://{CONTAINER}@{ACCOUNT}.blob.core.windows.net"
ABFSS = f"abfss://{CONTAINER}@{ACCOUNT}.dfs.core.windows.net"


@pytest.fixture(scope="module")
def account(azurite):
    azurite.create_container(ACCOUNT, CONTAINER)
    return azurite


@pytest.fixture
def table(tmp_path):
    (tmp_path / "in").mkdir()
    for month in (1, 2):
        (tmp_path / "in" / f"m{month}.csv").write_text("id,when,name,score\n" + "".join(
            f"{month * 100 + i},2024-0{month}-{1 + i % 28:02d} 10:00:00,n{i % 7},{i / 4}\n" for i in range(150)))
    return mltable.from_delimited_files([{"folder": str(tmp_path / "in")}]).filter("score > 3").take_random_sample(
        0.8, seed=5)


def connection(azurite) -> dict:
    return {"connection_string": azurite.connection_string(ACCOUNT)}


@pytest.mark.parametrize("base", [WASBS, ABFSS])
@pytest.mark.parametrize("kind", ["parquet", "csv", "jsonl"])
def test_write_to_blob_storage_and_load_back(account, table, base, kind):
    dest = f"{base}/{kind}-{base.split(':')[0]}"
    write = {"parquet": table.to_parquet_files, "csv": table.to_delimited_files,
             "jsonl": table.to_json_lines_files}[kind]
    written = write(dest, storage_options=connection(account), max_rows_per_file=60)
    expected = table.to_pandas_dataframe()
    assert_frame_equal(written.to_pandas_dataframe(), expected)
    assert_frame_equal(mltable.load(dest, storage_options=connection(account)).to_pandas_dataframe(), expected)
    with pytest.raises(UserErrorException, match="already holds an MLTable"):
        write(dest, storage_options=connection(account))


def test_overwrite_on_blob_storage_removes_the_replaced_files(account, table):
    options = connection(account)
    dest = f"{WASBS}/replaced"
    store = open_store(dest, options)
    store.write_bytes(f"{CONTAINER}/replaced/readme.txt", b"the user's own blob")
    table.to_parquet_files(dest, storage_options=options, max_rows_per_file=40)
    before = {path for path, _ in store.find(f"{CONTAINER}/replaced")}
    table.take(5).to_parquet_files(dest, storage_options=options, overwrite=True)
    after = {path for path, _ in store.find(f"{CONTAINER}/replaced")}
    assert f"{CONTAINER}/replaced/readme.txt" in after and not (before - after) == set()
    assert len([path for path in after if path.endswith(".parquet")]) == 1
    assert len(mltable.load(dest, storage_options=options).to_pandas_dataframe()) == 5


def test_partitioned_delta_on_blob_storage(account, table):
    options = connection(account)
    written = table.to_delta_lake(f"{ABFSS}/delta", partition_by="name", storage_options=options)
    expected = table.to_pandas_dataframe().sort_values(["id", "when"], ignore_index=True)
    frame = written.to_pandas_dataframe().sort_values(["id", "when"], ignore_index=True)
    frame["when"] = frame["when"].astype(expected["when"].dtype)
    assert_frame_equal(frame[expected.columns], expected)


def test_no_credential_reaches_the_written_mltable(account, table):
    sas = account.sas_token(ACCOUNT, CONTAINER, permission="racwdl")
    options = {"blob_endpoint": account.blob_endpoint(ACCOUNT), "sas_token": sas}
    dest = f"{WASBS}/with_sas"
    table.to_parquet_files(dest, storage_options=options)
    text = open_store(dest, options).fetch(f"{CONTAINER}/with_sas/MLTable").decode()
    assert "sig=" not in text and sas.split("sig=")[1][:10] not in text
    assert len(mltable.load(dest, storage_options=options).to_pandas_dataframe()) == len(table.to_pandas_dataframe())


@pytest.fixture
def datastore(account):
    register_datastore("outputs", account=ACCOUNT, container=CONTAINER, endpoint=f"127.0.0.1:{account.port}",
                       protocol="http", account_key=account.account_key(ACCOUNT))
    yield "azureml://datastores/outputs/paths"
    datastores._REGISTERED.clear()
    datastores.clear_datastore_cache()


def test_write_to_an_azureml_datastore(datastore, account, table):
    dest = f"{datastore}/runs/42/clean"
    table.to_parquet_files(dest)
    expected = table.to_pandas_dataframe()
    assert_frame_equal(mltable.load(dest).to_pandas_dataframe(), expected)
    # The files are in the datastore's container, where other tools find them.
    assert_frame_equal(mltable.load(f"{WASBS}/runs/42/clean", storage_options=connection(account))
                       .to_pandas_dataframe(), expected)


def test_save_colocated_copies_remote_files(account, tmp_path):
    options = connection(account)
    store = open_store(WASBS, options)
    store.write_bytes(f"{CONTAINER}/raw/2024/a.csv", b"k,v\n1,one\n")
    store.write_bytes(f"{CONTAINER}/raw/2024/deeper/b.csv", b"k,v\n2,two\n")
    remote = mltable.from_delimited_files([{"folder": f"{WASBS}/raw/2024"}], storage_options=options)
    remote.save(str(tmp_path / "copy"), colocated=True)
    assert sorted(p.relative_to(tmp_path / "copy").as_posix() for p in (tmp_path / "copy").rglob("*.csv")) == \
        ["2024/a.csv", "2024/deeper/b.csv"]
    assert_frame_equal(mltable.load(str(tmp_path / "copy")).to_pandas_dataframe(), remote.to_pandas_dataframe())


def test_save_to_blob_storage_refuses_local_paths_it_would_not_copy(account, table):
    with pytest.raises(UserErrorException, match="colocated=True"):
        mltable.MLTable(table._plan, connection(account)).save(f"{WASBS}/plan_only")
