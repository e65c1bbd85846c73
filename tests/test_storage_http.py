"""``http(s)://`` paths through a real file server on 127.0.0.1 (``tests/servers/http_server.py``).

Every read is compared with the same read of the local folder the server serves, so the
listing, globbing, streaming and random-access paths are checked against the local engine.
"""

import json
import os
import socket
import time

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pandas.testing import assert_frame_equal

import mltable_lite as mltable
from mltable_lite import UserErrorException
from mltable_lite.errors import NOT_FOUND_CODE
from mltable_lite.storage import open_store

SECRET_QUERY = "?sv=1&sig=SECRETSIG"


def _write(path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A folder to serve: CSVs in nested folders, JSON lines, parquet, an MLTable folder."""
    root = tmp_path_factory.mktemp("site")
    _write(root / "csv/a.csv", "id,name\n1,alpha\n2,beta\n")
    _write(root / "csv/b.csv", "id,name\n3,gamma\n")
    _write(root / "csv/notes.txt", "id,name\n99,not a csv by its name\n")
    _write(root / "csv/sub/c.csv", "id,name\n4,delta\n")
    _write(root / "csv/sub/deeper/d.csv", "id,name\n5,epsilon\n")
    _write(root / "csv/name with space#%[1].csv", "id,name\n6,zeta\n")
    lines = "".join(json.dumps({"n": i, "text": f"line {i}", "nested": {"even": i % 2 == 0}}) + "\n"
                    for i in range(6000))
    _write(root / "jsonl/big.jsonl", lines)   # several read pieces (> 64 KiB)
    _write(root / "wide/big.csv", "n,text,value\n" + "".join(f"{i},row {i},{i * 0.5}\n" for i in range(20000)))
    (root / "parquet").mkdir()
    pq.write_table(pa.table({"x": range(1000), "y": [f"v{i}" for i in range(1000)]}), root / "parquet/p1.parquet",
                   row_group_size=300)
    pq.write_table(pa.table({"x": range(1000, 1500), "y": ["w"] * 500}), root / "parquet/p2.parquet")
    _write(root / "table/data/part1.csv", "id,value\n1,10\n2,20\n")
    _write(root / "table/data/part2.csv", "id,value\n3,30\n")
    _write(root / "table/MLTable", "paths:\n- pattern: ./data/*.csv\ntransformations:\n- read_delimited:\n"
                                   "    delimiter: ','\n    header: all_files_same_headers\ntype: mltable\n")
    return root


def _df(tbl):
    return tbl.to_pandas_dataframe()


def _ranged_reads(served):
    """Range requests other than the one-byte probe."""
    return [wanted for _, _, wanted in served.requests if wanted and wanted != "bytes=0-0"]


# --- finding files ------------------------------------------------------------------------------


@pytest.mark.parametrize("ranges", [True, False])
def test_file_folder_and_patterns_read_as_locally(serve_http, site, ranges):
    served = serve_http(site, ranges=ranges)
    for spec, local in [
        ({"file": served.url + "csv/a.csv"}, {"file": str(site / "csv/a.csv")}),
        ({"folder": served.url + "csv/sub"}, {"folder": str(site / "csv/sub")}),
        ({"pattern": served.url + "csv/*.csv"}, {"pattern": str(site / "csv/*.csv")}),
        ({"pattern": served.url + "csv/**/*.csv"}, {"pattern": str(site / "csv/**/*.csv")}),
    ]:
        got = _df(mltable.from_delimited_files([spec]))
        assert_frame_equal(got, _df(mltable.from_delimited_files([local])))
    assert len(_df(mltable.from_delimited_files([{"pattern": served.url + "csv/**/*.csv"}]))) == 6


def test_folder_listing_is_recursive_sorted_without_parent_or_sort_links(serve_http, site):
    served = serve_http(site)
    listed = [info.resource_id for info in _df(mltable.from_paths([{"folder": served.url + "csv"}]))["Path"]]
    local = [info.resource_id for info in _df(mltable.from_paths([{"folder": str(site / "csv")}]))["Path"]]
    expected = [served.url + "csv/" + os.path.relpath(path, site / "csv").replace(" ", "%20").replace("#", "%23")
                .replace("%[", "%25%5B").replace("]", "%5D") for path in local]
    assert listed == expected
    assert len(listed) == 6 and all("?" not in url for url in listed)


def test_folder_url_with_trailing_slash_and_site_root(serve_http, site):
    served = serve_http(site / "csv" / "sub")
    assert _df(mltable.from_delimited_files([{"folder": served.url}]))["id"].tolist() == [4, 5]
    assert _df(mltable.from_delimited_files([{"pattern": served.url + "*.csv"}]))["id"].tolist() == [4]
    everything = mltable.from_delimited_files([{"pattern": served.url.rstrip("/") + "/**/*.csv"}])
    assert _df(everything)["id"].tolist() == [4, 5]


def test_listed_files_cost_one_request_each_and_are_fetched_concurrently(serve_http, tmp_path):
    for index in range(30):
        _write(tmp_path / f"f{index:02}.csv", f"n\n{index}\n")
    served = serve_http(tmp_path, delay=0.1)
    found = open_store(served.url).find(served.url)
    assert [size for _, size in found] == [-1] * 30   # a listing tells no sizes, and none is asked for
    assert [method for method, _, _ in served.requests] == ["GET"]
    served.reset()
    started = time.perf_counter()
    df = _df(mltable.from_delimited_files([{"folder": served.url}]))
    elapsed = time.perf_counter() - started
    assert df["n"].tolist() == list(range(30))
    files = [(method, path) for method, path, _ in served.requests if path != "/"]
    assert sorted(files) == [("GET", f"/f{index:02}.csv") for index in range(30)], served.requests
    assert elapsed < 2.0, f"30 GET requests of 0.1 s took {elapsed:.2f} s: not concurrent"


def test_include_path_column_shows_the_urls(serve_http, site):
    served = serve_http(site)
    df = _df(mltable.from_delimited_files([{"pattern": served.url + "csv/*.csv"}], include_path_column=True))
    assert df["Path"].tolist() == [served.url + "csv/a.csv", served.url + "csv/a.csv", served.url + "csv/b.csv",
                                   served.url + "csv/name%20with%20space%23%25%5B1%5D.csv"]


def test_many_small_files_through_the_read_ahead_window(serve_http, tmp_path):
    for index in range(200):
        _write(tmp_path / f"d{index // 50}/f{index:03}.csv", f"n,square\n{index},{index * index}\n")
    served = serve_http(tmp_path)
    df = _df(mltable.from_delimited_files([{"folder": served.url}]))
    assert df["n"].tolist() == list(range(200))
    assert df["square"].tolist() == [index * index for index in range(200)]
    assert_frame_equal(df, _df(mltable.from_delimited_files([{"folder": str(tmp_path)}])))


# --- reading: seekable and streaming ------------------------------------------------------------


@pytest.mark.parametrize("ranges", [True, False])
def test_parquet_with_and_without_range_support(serve_http, site, ranges):
    served = serve_http(site, ranges=ranges)
    for name in ("p1.parquet", "p2.parquet"):
        served.reset()
        got = _df(mltable.from_parquet_files([{"file": served.url + "parquet/" + name}]))
        assert_frame_equal(got, _df(mltable.from_parquet_files([{"file": str(site / "parquet" / name)}])))
        # A small file is fetched whole, in one GET after the HEAD that found it, ranges or not.
        assert [method for method, _, _ in served.requests] == ["HEAD", "GET"], served.requests
    folder = mltable.from_parquet_files([{"folder": served.url + "parquet"}])
    assert_frame_equal(_df(folder), _df(mltable.from_parquet_files([{"folder": str(site / "parquet")}])))
    assert folder.get_partition_count() == 5       # 4 row groups + 1, read from the footers
    assert_frame_equal(_df(folder.select_partitions([1])),
                       _df(mltable.from_parquet_files([{"file": str(site / "parquet/p1.parquet")}]))[300:600]
                       .reset_index(drop=True))


def test_json_lines_stream_from_a_server_without_ranges(serve_http, site):
    served = serve_http(site, ranges=False)
    got = _df(mltable.from_json_lines_files([{"file": served.url + "jsonl/big.jsonl"}]))
    assert_frame_equal(got, _df(mltable.from_json_lines_files([{"file": str(site / "jsonl/big.jsonl")}])))
    assert len(got) == 6000
    assert not _ranged_reads(served)


def test_csv_streams_from_a_server_without_ranges(serve_http, site):
    served = serve_http(site, ranges=False)
    got = _df(mltable.from_delimited_files([{"file": served.url + "wide/big.csv"}]))
    assert_frame_equal(got, _df(mltable.from_delimited_files([{"file": str(site / "wide/big.csv")}])))
    assert len(got) == 20000
    assert not _ranged_reads(served)
    store = open_store(served.url)
    with store.open_input(served.url + "wide/big.csv") as handle:
        assert not handle.seekable()
        assert handle.readline() == b"n,text,value\n"


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory):
    folder = tmp_path_factory.mktemp("big")
    with open(folder / "big.csv", "w") as handle:
        handle.write("id,triple,name\n")
        handle.write("".join(f"{i},{i * 3},name_{i}\n" for i in range(1_300_000)))
    return folder


@pytest.mark.parametrize("ranges", [True, False])
def test_take_reads_only_the_start_of_a_big_file(serve_http, big_csv, ranges):
    served = serve_http(big_csv, ranges=ranges)
    size = os.path.getsize(big_csv / "big.csv")
    df = _df(mltable.from_delimited_files([{"file": served.url + "big.csv"}]).take(5))
    assert df["id"].tolist() == [0, 1, 2, 3, 4]
    if ranges:
        assert served.body_bytes < size / 2, f"served {served.body_bytes} of {size} bytes for take(5)"
    else:  # each GET sends the whole body; the client stopped reading (how much the socket
        # buffers took before that depends on the system)
        assert served.complete_bodies == 0, f"a whole body was read for take(5): {served.requests}"


def test_load_an_mltable_folder_served_over_http(serve_http, site):
    served = serve_http(site)
    tbl = mltable.load(served.url + "table", storage_options={"subscription": "s", "resource_group": "r",
                                                              "workspace": "w", "account_key": "ignored"})
    assert_frame_equal(_df(tbl), _df(mltable.load(str(site / "table"))))
    assert _df(tbl)["value"].tolist() == [10, 20, 30]


# --- errors and credentials ---------------------------------------------------------------------


def test_missing_file_is_not_found_and_hides_the_sas_token(serve_http, site):
    served = serve_http(site)
    url = served.url + "csv/missing.csv"
    with pytest.raises(UserErrorException) as caught:
        _df(mltable.from_delimited_files([{"file": url + SECRET_QUERY}]))
    assert caught.value.error_code == NOT_FOUND_CODE
    assert "The requested stream was not found" in str(caught.value) and url in str(caught.value)
    assert "SECRETSIG" not in str(caught.value)
    with pytest.raises(UserErrorException) as caught:   # the same, found while opening
        open_store(url).fetch(url + SECRET_QUERY)
    assert caught.value.error_code == NOT_FOUND_CODE and url in str(caught.value)
    assert "SECRETSIG" not in str(caught.value)


def test_folder_on_a_server_without_listings(serve_http, site):
    served = serve_http(site, listings=False)
    for spec in ({"folder": served.url + "csv" + SECRET_QUERY}, {"pattern": served.url + "csv/*.csv"}):
        with pytest.raises(UserErrorException, match="server that lists folders") as caught:
            _df(mltable.from_delimited_files([spec]))
        assert served.url + "csv" in str(caught.value) and "'file'" in str(caught.value)
        assert "SECRETSIG" not in str(caught.value)
    # Files named one by one still work.
    assert len(_df(mltable.from_delimited_files([{"file": served.url + "csv/a.csv"}]))) == 2


def test_credentials_in_headers(serve_http, site):
    served = serve_http(site, token="t0ken-value")
    url = served.url + "csv/a.csv"
    with pytest.raises(UserErrorException) as caught:
        _df(mltable.from_delimited_files([{"file": url + SECRET_QUERY}]))
    message = str(caught.value)
    assert "401" in message and url in message and "storage_options" in message and "headers" in message
    assert "SECRETSIG" not in message
    options = {"headers": {"Authorization": "Bearer t0ken-value"}, "workspace": "ignored"}
    tbl = mltable.from_delimited_files([{"pattern": served.url + "csv/**/*.csv"}], storage_options=options)
    assert len(_df(tbl)) == 6
    assert "t0ken-value" not in repr(open_store(url, options))
    wrong = {"headers": {"Authorization": "Bearer wrong-token"}}
    with pytest.raises(UserErrorException) as caught:
        _df(mltable.from_delimited_files([{"folder": served.url + "csv"}], storage_options=wrong))
    assert "wrong-token" not in str(caught.value) and "Access denied" in str(caught.value)


def test_connection_refused_names_host_and_port():
    with socket.socket() as bound:   # bound but not listening: connections to it are refused
        bound.bind(("127.0.0.1", 0))
        port = bound.getsockname()[1]
        with pytest.raises(UserErrorException, match=f"Cannot connect to 127.0.0.1:{port}") as caught:
            _df(mltable.from_delimited_files([{"file": f"http://me:hunter22@127.0.0.1:{port}/a.csv{SECRET_QUERY}"}]))
        assert "hunter22" not in str(caught.value) and "SECRETSIG" not in str(caught.value)


def test_http_is_read_only(serve_http, site):
    served = serve_http(site)
    store = open_store(served.url)
    with pytest.raises(UserErrorException, match="read-only"):
        store.write_bytes(served.url + "new.csv", b"a\n1\n")
    assert not os.path.exists(site / "new.csv")
    with pytest.raises(NotImplementedError):
        store.arrow_filesystem
    assert store.kind(served.url + "csv") == "directory"
    assert store.kind(served.url + "csv/a.csv") == "file"
    assert store.kind(served.url + "csv/nothing.csv") is None
