"""Cache chains (``simplecache::``, ``filecache::``, ``blockcache::``) and ``local_copy``, over the HTTP
test server and Azurite: the same tables as without a cache, and a second read that fetches no file."""

import json
import os

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from deltalake import write_deltalake
from pandas.testing import assert_frame_equal

import mltable_lite as mltable
from mltable_lite import UserErrorException

MODES = ["simplecache", "filecache", "blockcache"]
ACCOUNT = "mltablelite"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("cached")
    (root / "table" / "data").mkdir(parents=True)
    (root / "table" / "data" / "a.csv").write_text("x,y\n1,one\n2,two\n")
    (root / "table" / "data" / "b.csv").write_text("x,y\n3,three\n")
    (root / "table" / "MLTable").write_text("paths:\n- pattern: ./data/*.csv\ntransformations:\n- read_delimited:\n"
                                            "    delimiter: ','\n    header: all_files_same_headers\n")
    (root / "jsonl").mkdir()
    (root / "jsonl" / "a.jsonl").write_text('{"n": 1, "s": "a"}\n{"n": 2, "s": "b"}\n')
    (root / "parquet").mkdir()
    rows = 300_000
    pq.write_table(pa.table({"id": range(rows), "wide": [f"{'x' * 40}{i}" for i in range(rows)],
                             "value": [i * 0.25 for i in range(rows)]}), root / "parquet" / "big.parquet",
                   row_group_size=100_000)
    write_deltalake(str(root / "delta"), pa.table({"id": [1, 2, 3], "part": ["a", "b", "a"]}), partition_by=["part"])
    return root


def _df(tbl):
    return tbl.to_pandas_dataframe()


def _file_requests(served):
    """GETs of files (a HEAD of a 'file' path is its listing)."""
    return [(method, path, wanted) for method, path, wanted in served.requests if method == "GET"
            and not path.endswith("/") and "." in path.rsplit("/", 1)[-1]]


@pytest.mark.parametrize("mode", MODES)
def test_load_and_every_builder_through_a_cache(serve_http, site, mode, tmp_path):
    served = serve_http(site)
    cases = [
        lambda base, options: mltable.load(f"{base}table", storage_options=options),
        lambda base, options: mltable.from_delimited_files([{"pattern": f"{base}table/data/*.csv"}],
                                                           storage_options=options),
        lambda base, options: mltable.from_json_lines_files([{"file": f"{base}jsonl/a.jsonl"}], storage_options=options),
        lambda base, options: mltable.from_parquet_files([{"folder": f"{base}parquet"}], storage_options=options),
    ]
    for index, case in enumerate(cases):
        options = {mode: {"cache_storage": str(tmp_path / f"cache{index}")}}

        def make(base):
            return case(base, options if "::" in base else None)

        served.reset()
        cached = make(f"{mode}::{served.url}")
        first = _df(cached)
        assert_frame_equal(first, _df(make(str(site) + "/")))
        assert _file_requests(served), "the first read fetched nothing"
        served.reset()
        assert_frame_equal(_df(cached), first)
        assert _file_requests(served) == [], f"the second read fetched files again: {served.requests}"


def test_path_column_and_saved_file_keep_the_paths_as_written(serve_http, site, tmp_path):
    served = serve_http(site)
    tbl = mltable.from_delimited_files([{"pattern": f"simplecache::{served.url}table/data/*.csv"}],
                                       include_path_column=True)
    assert _df(tbl)["Path"].tolist() == [f"{served.url}table/data/a.csv"] * 2 + [f"{served.url}table/data/b.csv"]
    tbl.save(str(tmp_path / "saved"))
    assert f"simplecache::{served.url}table/data/*.csv" in (tmp_path / "saved" / "MLTable").read_text()
    assert_frame_equal(_df(mltable.load(str(tmp_path / "saved"))), _df(tbl))


def test_local_copy_keeps_remote_files_for_the_session(serve_http, site):
    served = serve_http(site)
    tbl = mltable.from_delimited_files([{"folder": served.url + "table/data"}], storage_options={"local_copy": True})
    first = _df(tbl)
    served.reset()
    again = mltable.from_delimited_files([{"folder": served.url + "table/data"}], storage_options={"local_copy": True})
    assert_frame_equal(_df(again), first)
    assert _file_requests(served) == []
    served.reset()   # without the option, the files are fetched
    _df(mltable.from_delimited_files([{"folder": served.url + "table/data"}]))
    assert len(_file_requests(served)) == 2


def test_filecache_persists_and_fetches_a_changed_file_again(serve_http, site, tmp_path):
    served = serve_http(site)
    (tmp_path / "served").mkdir()
    (tmp_path / "served" / "a.csv").write_text("x\n1\n")
    served = serve_http(tmp_path / "served")
    options = {"filecache": {"cache_storage": str(tmp_path / "cache")}}
    uri = f"filecache::{served.url}a.csv"
    assert _df(mltable.from_delimited_files([{"file": uri}], storage_options=options))["x"].tolist() == [1]
    records = [json.loads(path.read_text()) for path in (tmp_path / "cache").glob("*.json")]
    assert [(record["uri"], record["size"]) for record in records] == [(served.url + "a.csv", 4)]
    (tmp_path / "served" / "a.csv").write_text("x\n1\n22\n")   # another size: the copy is stale
    assert _df(mltable.from_delimited_files([{"file": uri}], storage_options=options))["x"].tolist() == [1, 22]


def test_blockcache_keeps_only_the_blocks_read(serve_http, site, tmp_path):
    served = serve_http(site)
    options = {"blockcache": {"cache_storage": str(tmp_path / "cache"), "block_size": 1 << 16}}
    uri = f"blockcache::{served.url}parquet/big.parquet"
    size = (site / "parquet" / "big.parquet").stat().st_size
    ids = _df(mltable.from_parquet_files([{"file": uri}], storage_options=options).keep_columns(["id"]))
    assert ids["id"].tolist() == list(range(300_000))
    record = json.loads(next((tmp_path / "cache").glob("*.json")).read_text())
    cached = len(record["blocks"]) * (1 << 16)
    assert cached < size / 2, f"{cached} of {size} bytes cached for one narrow column"
    served.reset()
    both = _df(mltable.from_parquet_files([{"file": uri}], storage_options=options).keep_columns(["id", "value"]))
    assert both["value"].tolist()[:3] == [0.0, 0.25, 0.5]
    fetched = sum(int(wanted.split("-")[1]) - int(wanted.split("=")[1].split("-")[0]) + 1
                  for method, _, wanted in served.requests if method == "GET" and wanted and "-" in wanted[6:])
    assert 0 < fetched < size / 2, "the second read fetched more than the new column's blocks"


def test_cache_option_errors(serve_http, site):
    served = serve_http(site)
    with pytest.raises(UserErrorException, match="one cache"):
        _df(mltable.from_delimited_files([{"file": f"simplecache::filecache::{served.url}table/data/a.csv"}]))
    with pytest.raises(UserErrorException, match=r"storage_options\['simplecache'\]"):
        _df(mltable.from_delimited_files([{"file": f"simplecache::{served.url}table/data/a.csv"}],
                                         storage_options={"simplecache": {"target_protocol": "http"}}))
    # A cache in front of a local path changes nothing.
    local = mltable.from_delimited_files([{"file": f"simplecache::{site}/table/data/a.csv"}])
    assert _df(local)["x"].tolist() == [1, 2]


@pytest.fixture(scope="module")
def blobs(azurite, site):
    azurite.create_container(ACCOUNT, "cached")
    azurite.upload_folder(ACCOUNT, "cached", site)
    return azurite


def test_azure_and_delta_through_a_cache(blobs, site, fault_proxy, tmp_path):
    proxy = fault_proxy(blobs.endpoint)
    options = {"account_key": blobs.account_key(ACCOUNT), "blob_endpoint": f"{proxy.url}{ACCOUNT}"}
    base = f"simplecache::wasbs://cached@{ACCOUNT}.blob.core.windows.net/"
    parquet = mltable.from_parquet_files([{"folder": base + "parquet"}], storage_options=options)
    assert_frame_equal(_df(parquet), _df(mltable.from_parquet_files([{"folder": str(site / "parquet")}])))
    delta = mltable.from_delta_lake(base + "delta", storage_options=options)
    assert_frame_equal(_df(delta), _df(mltable.from_delta_lake(str(site / "delta"))))
    proxy.reset()
    _df(parquet)
    _df(delta)
    data_reads = [record.path for record in proxy.requests() if record.path.split("?")[0].endswith(".parquet")]
    assert data_reads == [], f"the second reads fetched data files again: {data_reads}"
