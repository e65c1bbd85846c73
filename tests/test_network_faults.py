"""Network faults: retries, timeouts and no short data, over HTTP and Azure (Azurite).

Each server is reached through ``tests/servers/fault_proxy.py``, which answers 503 with
``Retry-After``, drops connections, stalls, and cuts bodies short on the requests a test arms it
for. Every read is compared with the same read of the local files; a fault that outlasts the
retries must raise our error, never give a shorter table.
"""

import os
import time

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pandas.testing import assert_frame_equal

import mltable_lite as mltable
from mltable_lite import ExecutionError, UserErrorException
from mltable_lite.storage import open_store
from mltable_lite.storage.network import NetworkPolicy, retry_after_seconds

FAST = {"retry_backoff_factor": 0.01}   # keep backoff short: the tests count retries, not seconds
ACCOUNT = "mltablelite"


@pytest.fixture(autouse=True)
def ranged_big_files(monkeypatch):
    """big.csv (12 MB) is read in ranged parts, as files beyond the whole-fetch limit are: the
    limit is lowered below its size so that the faults hit ranged GETs (a whole read would fetch
    it in one GET; test_remote_requests counts that)."""
    from mltable_lite.storage import remote

    monkeypatch.setattr(remote, "SMALL_FILE", 8 << 20)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("faults")
    (root / "small").mkdir()
    for index in range(6):
        (root / "small" / f"part-{index}.csv").write_text(
            "id,name\n" + "".join(f"{index * 100 + row},name {row}\n" for row in range(50)))
    with open(root / "big.csv", "w") as handle:   # several ranged parts
        handle.write("n,text,value\n")
        handle.write("".join(f"{i},row {i},{i * 0.5}\n" for i in range(450_000)))
    pq.write_table(pa.table({"x": range(200_000), "y": [f"v{i % 1000}" for i in range(200_000)]}),
                   root / "data.parquet", row_group_size=50_000)
    return root


def _df(tbl):
    return tbl.to_pandas_dataframe()


def _local(site, name: str):
    return _df(mltable.from_delimited_files([{"file": str(site / name)}]))


# --- the policy ---------------------------------------------------------------------------------


def test_defaults_bound_every_wait():
    policy = NetworkPolicy.from_options({})
    timeout = policy.aiohttp_timeout()
    assert (policy.connection_timeout, policy.read_timeout, policy.retry_total) == (10.0, 20.0, 3)
    assert timeout.sock_connect == 10.0 and timeout.sock_read == 20.0
    assert all(policy.backoff(retry) <= policy.retry_backoff_max for retry in range(1, 20))
    assert policy.backoff(1, retry_after=2.0) == 2.0 and policy.backoff(1, retry_after=3600.0) == 30.0
    assert retry_after_seconds("3") == 3.0 and retry_after_seconds("soon") is None


@pytest.mark.parametrize("name, value", [("read_timeout", "fast"), ("read_timeout", 0), ("retry_total", -1),
                                         ("connection_timeout", float("inf")), ("retry_total", True)])
def test_bad_option_values_are_named(site, name, value):
    with pytest.raises(UserErrorException, match=f"storage_options\\['{name}'\\]"):
        open_store("http://127.0.0.1:1/x.csv", {name: value})


# --- HTTP ---------------------------------------------------------------------------------------


@pytest.fixture
def http(serve_http, fault_proxy, site):
    served = serve_http(site)
    return fault_proxy(served.url)


@pytest.mark.parametrize("status", [500, 502, 503, 504, 429])
def test_http_retries_server_errors(http, site, status):
    http.arm("status", status=status, match=r"^GET /big\.csv", times=2)
    got = _df(mltable.from_delimited_files([{"file": http.url + "big.csv"}], storage_options=FAST))
    assert_frame_equal(got, _local(site, "big.csv"))
    assert [record.status for record in http.requests("GET", "/big.csv")][:3] == [status, status, 206]


def test_http_waits_what_retry_after_asks(http, site):
    http.arm("status", status=503, retry_after="1", match=r"^GET /small/part-1\.csv", times=2)
    started = time.monotonic()
    got = _df(mltable.from_delimited_files([{"folder": http.url + "small"}], storage_options=FAST))
    assert time.monotonic() - started >= 1.9, "Retry-After: 1 was not waited for, twice"
    assert_frame_equal(got, _df(mltable.from_delimited_files([{"folder": str(site / "small")}])))
    assert http.count("GET", "/small/part-1.csv") == 3


def test_http_retries_are_bounded(http):
    http.arm("status", status=503, match=r"^GET /small/part-2\.csv", times=1000)
    with pytest.raises(UserErrorException, match=r"HTTP 503 .*part-2\.csv.* 3 attempts") as caught:
        _df(mltable.from_delimited_files([{"folder": http.url + "small"}],
                                         storage_options={**FAST, "retry_total": 2}))
    assert http.count("GET", "/small/part-2.csv") == 3
    assert isinstance(caught.value, UserErrorException)


@pytest.mark.parametrize("kind", ["drop", "truncate"])
def test_http_dropped_and_cut_bodies_are_fetched_again(http, site, kind):
    # Small files (fetched whole), and a big one in ranged parts: 3 faults each.
    http.arm(kind, match=r"^GET /small/part-3\.csv", times=3, after_bytes=100)
    http.arm(kind, match=r"^GET /big\.csv", times=3, after_bytes=1000)
    small = _df(mltable.from_delimited_files([{"folder": http.url + "small"}], storage_options=FAST))
    big = _df(mltable.from_delimited_files([{"file": http.url + "big.csv"}], storage_options=FAST))
    assert_frame_equal(small, _df(mltable.from_delimited_files([{"folder": str(site / "small")}])))
    assert_frame_equal(big, _local(site, "big.csv"))
    assert sum(record.fault == kind for record in http.requests()) == 6


def test_http_cut_bodies_that_stay_cut_raise_instead_of_a_short_table(http):
    http.arm("truncate", match=r"^GET /small/part-4\.csv", times=1000, after_bytes=100)
    with pytest.raises(ExecutionError, match=r"part-4\.csv.*cut short"):
        _df(mltable.from_delimited_files([{"folder": http.url + "small"}], storage_options=FAST))


def test_http_file_shorter_than_announced_is_an_error(serve_http, tmp_path):
    """A consistent answer (Content-Length agrees) with fewer bytes than the listing said: the
    file changed between listing and reading. Never a silently shorter table."""
    (tmp_path / "a.csv").write_text("n\n" + "".join(f"{i}\n" for i in range(100)))
    served = serve_http(tmp_path)
    url = served.url + "a.csv"
    store = open_store(url, FAST)
    assert store.kind(url) == "file"
    (tmp_path / "a.csv").write_text("n\n1\n")
    with pytest.raises(ExecutionError, match=r"a\.csv.* ended after 4 of 292 bytes"):
        store.fetch(url)
    with pytest.raises(ExecutionError, match=r"a\.csv.* ended after 4 bytes, but it was announced as 292"):
        with store.open_input(url) as handle:
            handle.read()


@pytest.mark.parametrize("kind", ["stall", "stall_body"])
def test_http_server_that_never_answers_times_out(http, kind):
    # Accepts the connection and never answers, or stops for good inside the body.
    http.arm(kind, match=r"^GET /big\.csv", times=1000, after_bytes=5000)
    started = time.monotonic()
    with pytest.raises(ExecutionError, match=r"big\.csv.*stopped sending data for 0.5 s \(2 attempts\)"):
        _df(mltable.from_delimited_files([{"file": http.url + "big.csv"}],
                                         storage_options={**FAST, "read_timeout": 0.5}))
    assert time.monotonic() - started < 30


def test_http_stall_inside_a_body_is_retried(http, site):
    http.arm("stall_body", match=r"^GET /big\.csv", times=1, after_bytes=5000)
    started = time.monotonic()
    got = _df(mltable.from_delimited_files([{"file": http.url + "big.csv"}],
                                           storage_options={**FAST, "read_timeout": 0.5}))
    assert time.monotonic() - started < 30, "a stalled body must fail over within read_timeout, not minutes"
    assert_frame_equal(got, _local(site, "big.csv"))
    assert any(record.fault == "stall_body" for record in http.requests())


@pytest.mark.parametrize("kind", ["drop", "truncate", "stall_body"])
def test_http_stream_without_ranges_resumes(serve_http, fault_proxy, site, kind):
    proxy = fault_proxy(serve_http(site, ranges=False).url)
    proxy.arm(kind, match=r"^GET /big\.csv", times=2, after_bytes=300_000)
    started = time.monotonic()
    got = _df(mltable.from_delimited_files([{"file": proxy.url + "big.csv"}],
                                           storage_options={**FAST, "read_timeout": 0.5}))
    assert time.monotonic() - started < 30
    assert_frame_equal(got, _local(site, "big.csv"))
    assert sum(record.fault == kind for record in proxy.requests()) == 2


def test_http_parquet_with_faults(http, site):
    http.arm("truncate", match=r"^GET /data\.parquet", times=2, after_bytes=10)
    http.arm("status", status=503, match=r"^GET /data\.parquet", times=2)
    got = _df(mltable.from_parquet_files([{"file": http.url + "data.parquet"}],
                                         storage_options={**FAST, "retry_total": 5}))
    assert_frame_equal(got, _df(mltable.from_parquet_files([{"file": str(site / "data.parquet")}])))


# --- Azure (Azurite behind the proxy) -----------------------------------------------------------


@pytest.fixture(scope="module")
def blobs(azurite, site):
    azurite.create_container(ACCOUNT, "faults")
    azurite.upload_folder(ACCOUNT, "faults", site)
    return azurite


@pytest.fixture
def azure(blobs, fault_proxy):
    proxy = fault_proxy(blobs.endpoint)
    options = {"account_key": blobs.account_key(ACCOUNT), "blob_endpoint": f"{proxy.url}{ACCOUNT}", **FAST}
    return proxy, options


URI = f"wasbs://faults@{ACCOUNT}.blob.core.windows.net/"


def test_azure_retries_503_waiting_retry_after(azure, site):
    proxy, options = azure
    proxy.arm("status", status=503, retry_after="1", match=r"^GET /mltablelite/faults/small/part-1\.csv", times=2)
    started = time.monotonic()
    got = _df(mltable.from_delimited_files([{"folder": URI + "small"}], storage_options=options))
    assert time.monotonic() - started >= 1.9
    assert_frame_equal(got, _df(mltable.from_delimited_files([{"folder": str(site / "small")}])))
    assert proxy.count("GET", "/small/part-1.csv") == 3


@pytest.mark.parametrize("kind", ["drop", "truncate", "status"])
def test_azure_faults_on_listing_small_and_big_blobs(azure, site, kind):
    proxy, options = azure
    proxy.arm(kind, match=r"comp=list", times=2, after_bytes=50)
    proxy.arm(kind, match=r"^GET /mltablelite/faults/small/part-2\.csv", times=2, after_bytes=50)
    proxy.arm(kind, match=r"^GET /mltablelite/faults/big\.csv", times=2, after_bytes=5000)
    small = _df(mltable.from_delimited_files([{"folder": URI + "small"}], storage_options=options))
    big = _df(mltable.from_delimited_files([{"file": URI + "big.csv"}], storage_options=options))
    assert_frame_equal(small, _df(mltable.from_delimited_files([{"folder": str(site / "small")}])))
    assert_frame_equal(big, _local(site, "big.csv"))
    assert sum(record.fault == kind for record in proxy.requests()) == 6


def test_azure_stalled_service_times_out_after_two_attempts(azure):
    proxy, options = azure
    proxy.arm("stall", match=r"^GET /mltablelite/faults/small/part-3\.csv", times=1000)
    started = time.monotonic()
    with pytest.raises(UserErrorException, match=r"part-3\.csv"):
        _df(mltable.from_delimited_files([{"folder": URI + "small"}],
                                         storage_options={**options, "read_timeout": 0.5}))
    assert time.monotonic() - started < 30
    assert proxy.count("GET", "/small/part-3.csv") == 2


def test_azure_errors_that_outlast_the_retries_are_raised(azure):
    proxy, options = azure
    proxy.arm("truncate", match=r"^GET /mltablelite/faults/small/part-4\.csv", times=1000, after_bytes=10)
    with pytest.raises(UserErrorException, match=r"part-4\.csv"):
        _df(mltable.from_delimited_files([{"folder": URI + "small"}],
                                         storage_options={**options, "retry_total": 2}))
    assert proxy.count("GET", "/small/part-4.csv") == 3
