"""Round trips, counted: requests and bytes per remote read, over HTTP and Azurite.

The HTTP server logs every request; Azurite is reached through ``tests/servers/fault_proxy.py``
with no fault armed, as a request counter. Each read is also compared with the local read.
"""

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pandas.testing import assert_frame_equal

import mltable_lite as mltable

ACCOUNT = "mltablelite"
SMALL = 12
PARQUET_FILES, GROUPS, GROUP_ROWS = 3, 10, 20_000


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("requests")
    (root / "small").mkdir()
    for index in range(SMALL):
        (root / "small" / f"part-{index:02d}.csv").write_text(
            "id,name\n" + "".join(f"{index * 100 + row},n{row}\n" for row in range(40)))
    (root / "parquet").mkdir()
    rows = GROUPS * GROUP_ROWS
    for index in range(PARQUET_FILES):   # sorted ids: min/max statistics rule row groups out
        start = index * rows
        pq.write_table(pa.table({"id": range(start, start + rows), "text": [f"row {i:08d}" for i in range(rows)],
                                 "value": [i * 0.5 for i in range(rows)]}),
                       root / "parquet" / f"part-{index}.parquet", row_group_size=GROUP_ROWS)
    (root / "medium").mkdir()   # one CSV between the two whole-fetch limits (8 MB with take, 32 MB without)
    with open(root / "medium" / "part-0.csv", "w") as handle:
        handle.write("id,text\n" + "".join(f"{row},{'x' * 40}\n" for row in range(MEDIUM_ROWS)))
    return root


MEDIUM_ROWS = 200_000   # ≈ 9.5 MB


def _df(tbl):
    return tbl.to_pandas_dataframe()


# 1% of the rows: one row group of one file.
LOW = GROUP_ROWS * 13
FILTER = f"id >= {LOW} and id < {LOW + GROUP_ROWS * PARQUET_FILES * GROUPS // 100}"


def _filtered(base: str, options=None):
    return mltable.from_parquet_files([{"folder": base}], storage_options=options).filter(FILTER)


# --- HTTP ---------------------------------------------------------------------------------------


def test_http_small_files_cost_one_request_each_after_listing(serve_http, site):
    served = serve_http(site)
    got = _df(mltable.from_delimited_files([{"folder": served.url + "small"}]))
    assert_frame_equal(got, _df(mltable.from_delimited_files([{"folder": str(site / "small")}])))
    files = [(method, path) for method, path, _ in served.requests if path.endswith(".csv")]
    assert sorted(files) == [("GET", f"/small/part-{index:02d}.csv") for index in range(SMALL)]
    # Before them: the folder found (HEAD) and listed (GET), each redirected once to '/small/'.
    assert [(method, path) for method, path, _ in served.requests if not path.endswith(".csv")] == [
        ("HEAD", "/small"), ("HEAD", "/small/"), ("GET", "/small/")]


def test_http_one_file_costs_one_request_after_its_head(serve_http, site):
    served = serve_http(site)
    got = _df(mltable.from_delimited_files([{"file": served.url + "small/part-03.csv"}]))
    assert got["id"].tolist() == list(range(300, 340))
    assert [method for method, _, _ in served.requests] == ["HEAD", "GET"]


def test_http_filtered_parquet_reads_each_footer_once_and_skips_row_groups(serve_http, site):
    served = serve_http(site)
    got = _df(_filtered(served.url + "parquet"))
    assert_frame_equal(got, _df(_filtered(str(site / "parquet"))))
    assert len(got) == GROUP_ROWS * PARQUET_FILES * GROUPS // 100
    by_file = {}
    for method, path, wanted in served.requests:
        if path.endswith(".parquet"):
            by_file.setdefault(path, []).append((method, wanted))
    assert sorted(by_file) == [f"/parquet/part-{index}.parquet" for index in range(PARQUET_FILES)]
    # Each file: its footer (the end of the file, which tells the size too), and nothing else
    # unless the filter keeps one of its row groups: then one more request for that row group.
    footers = {path: [wanted for method, wanted in seen if wanted and wanted.startswith("bytes=-")]
               for path, seen in by_file.items()}
    assert all(len(found) == 1 for found in footers.values()), by_file
    assert sorted(len(seen) for seen in by_file.values()) == [1] * (PARQUET_FILES - 1) + [2], by_file
    total = sum((site / "parquet" / f"part-{index}.parquet").stat().st_size for index in range(PARQUET_FILES))
    assert served.body_bytes < total / 5, f"{served.body_bytes} of {total} bytes served for a 1% filter"


def test_http_partition_count_and_read_share_footers(serve_http, site):
    served = serve_http(site)
    tbl = mltable.from_parquet_files([{"folder": served.url + "parquet"}])
    assert tbl.get_partition_count() == PARQUET_FILES * GROUPS
    footer_reads = [wanted for _, _, wanted in served.requests if wanted and wanted.startswith("bytes=-")]
    assert len(footer_reads) == PARQUET_FILES


def test_http_to_batches_reads_each_footer_once_for_the_schema_and_the_stream(serve_http, site):
    served = serve_http(site)
    tbl = _filtered(served.url + "parquet")
    reader = tbl.to_batches(columns=["value", "id"])
    assert reader.schema.names == ["value", "id"]
    got = reader.read_all().to_pandas()
    assert_frame_equal(got, _df(_filtered(str(site / "parquet"))).loc[:, ["value", "id"]])
    footer_reads = [wanted for _, _, wanted in served.requests if wanted and wanted.startswith("bytes=-")]
    assert len(footer_reads) == PARQUET_FILES   # the schema's footers serve the stream too


# --- Azurite ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def blobs(azurite, site):
    azurite.create_container(ACCOUNT, "requests")
    azurite.upload_folder(ACCOUNT, "requests", site)
    return azurite


@pytest.fixture
def counted(blobs, fault_proxy):
    proxy = fault_proxy(blobs.endpoint)
    return proxy, {"account_key": blobs.account_key(ACCOUNT), "blob_endpoint": f"{proxy.url}{ACCOUNT}"}


URI = f"wasbs://requests@{ACCOUNT}.blob.core.windows.net/"


def test_azure_small_files_cost_one_request_each_after_listing(counted, site):
    proxy, options = counted
    got = _df(mltable.from_delimited_files([{"folder": URI + "small"}], storage_options=options))
    assert_frame_equal(got, _df(mltable.from_delimited_files([{"folder": str(site / "small")}])))
    blob_requests = [(record.method, record.path.split("?")[0]) for record in proxy.requests()
                     if ".csv" in record.path]
    assert sorted(blob_requests) == [("GET", f"/{ACCOUNT}/requests/small/part-{index:02d}.csv")
                                     for index in range(SMALL)]
    # Before them: finding that small/ is a folder (adlfs asks for a blob of that name, then
    # lists one entry), then the listing, which gives every size.
    others = [record.path.split("?")[-1] for record in proxy.requests() if ".csv" not in record.path]
    assert len(others) == 3 and sum("comp=list" in query for query in others) == 2, others


def test_azure_filtered_parquet_reads_each_footer_once_and_skips_row_groups(counted, site):
    proxy, options = counted
    got = _df(_filtered(URI + "parquet", options))
    assert_frame_equal(got, _df(_filtered(str(site / "parquet"))))
    by_file = {}
    for record in proxy.requests():
        if ".parquet" in record.path:
            by_file.setdefault(record.path.split("?")[0], []).append(record)
    assert len(by_file) == PARQUET_FILES
    # No property request (the listing gave the sizes): a footer each, and one row group's read.
    assert all(record.method == "GET" for seen in by_file.values() for record in seen)
    assert sorted(len(seen) for seen in by_file.values()) == [1] * (PARQUET_FILES - 1) + [2], by_file
    total = sum((site / "parquet" / f"part-{index}.parquet").stat().st_size for index in range(PARQUET_FILES))
    parquet_bytes = sum(record.body_bytes for seen in by_file.values() for record in seen)
    assert parquet_bytes < total / 5, f"{parquet_bytes} of {total} bytes read for a 1% filter"


def test_azure_medium_file_is_one_get_whole_and_take_reads_far_less(counted, site):
    proxy, options = counted
    size = (site / "medium" / "part-0.csv").stat().st_size
    got = _df(mltable.from_delimited_files([{"folder": URI + "medium"}], storage_options=options))
    assert len(got) == MEDIUM_ROWS
    # The listing gave its size, below the whole-fetch limit: one GET for all of it, no range.
    gets = [record for record in proxy.requests() if ".csv" in record.path]
    assert [(record.method, record.body_bytes) for record in gets] == [("GET", size)], gets
    # take() may stop early: the file is not fetched whole, only its start.
    proxy.reset()
    got = _df(mltable.from_delimited_files([{"folder": URI + "medium"}], storage_options=options).take(5))
    assert got["id"].tolist() == list(range(5))
    read = sum(record.body_bytes for record in proxy.requests() if ".csv" in record.path)
    assert read < size / 2, f"{read} of {size} bytes read for take(5)"
