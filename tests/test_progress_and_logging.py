"""Progress bars appear on stderr with ``show_progress=True`` and never otherwise; the
``mltable_lite`` logger tells at DEBUG what was listed, read, pushed down and how long it took,
says nothing at WARNING when all is well, and never logs a secret."""

import logging

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import mltable_lite as mltable
from mltable_lite.progress import progress

SAS = "sv=2024-01-01&se=2030-01-01&sp=rl&sig=bG9nZ2Vkc2lnbmF0dXJl"


@pytest.fixture
def folder(tmp_path):
    for number in range(3):
        rows = "".join(f"{i},{i * 1.5},v{i % 4}\n" for i in range(number * 100, number * 100 + 100))
        (tmp_path / f"part-{number}.csv").write_text("id,fare,vendor\n" + rows)
    pq.write_table(pa.table({"id": list(range(50))}), tmp_path / "data.parquet")
    return tmp_path


@pytest.mark.parametrize("call", ["to_pandas_dataframe", "to_arrow"])
def test_progress_goes_to_stderr_only_when_asked(folder, capfd, call):
    tbl = mltable.from_delimited_files([{"pattern": str(folder / "*.csv")}])

    getattr(tbl, call)()
    quiet = capfd.readouterr()
    getattr(tbl, call)(show_progress=True)
    shown = capfd.readouterr()

    assert quiet.out == quiet.err == ""
    assert shown.out == ""
    assert "reading" in shown.err and "100%" in shown.err and "files=3/3" in shown.err and "rows=300" in shown.err


def test_progress_counts_a_parquet_read_and_an_early_stop(folder, capfd):
    mltable.from_parquet_files([{"file": str(folder / "data.parquet")}]).to_arrow(show_progress=True)
    assert "files=1/1, rows=50" in capfd.readouterr().err
    mltable.from_delimited_files([{"pattern": str(folder / "*.csv")}]).take(5).to_arrow(show_progress=True)
    assert "rows=100" in capfd.readouterr().err   # the first file only: the read stopped there


def test_the_progress_api_writers_and_copies_report_through(capfd):
    with progress(False, "writing", total_files=2) as silent:
        silent.advance(files=2, rows=10)
    assert (silent.files, silent.rows) == (2, 10) and capfd.readouterr().err == ""

    with progress(True, "writing", total_files=2) as bar:
        bar.advance(files=1, rows=7)
        bar.advance(files=1, rows=3)
    shown = capfd.readouterr().err
    assert "writing" in shown and "2/2" in shown and "rows=10" in shown

    with progress(True, "copying", total_bytes=2048) as bar:
        bar.advance(files=1, nbytes=2048)
    assert "2.00k" in capfd.readouterr().err


def test_debug_log_tells_files_pushdowns_and_timings(folder, caplog):
    tbl = mltable.from_delimited_files([{"pattern": str(folder / "*.csv")}]).filter("fare > 10").keep_columns(["id"])
    with caplog.at_level(logging.DEBUG, logger="mltable_lite"):
        tbl.to_pandas_dataframe()
    messages = [record.getMessage() for record in caplog.records if record.name.startswith("mltable_lite")]
    text = "\n".join(messages)

    assert f"listed pattern {folder}/*.csv: 3 files" in text
    assert "reading 3 files" in text and str(folder / "part-0.csv") in text
    assert "pushdown: projection: read only columns ['fare', 'id']" in text
    assert any(message.startswith("to_pandas_dataframe took") for message in messages)
    assert all(record.levelno == logging.DEBUG for record in caplog.records)


def test_parquet_pruning_is_logged(folder, caplog):
    tbl = mltable.from_parquet_files([{"file": str(folder / "data.parquet")}]).filter("id > 1000")
    with caplog.at_level(logging.DEBUG, logger="mltable_lite"):
        assert tbl.to_arrow().num_rows == 0
    assert "row groups: parquet statistics prune row groups for filter('id > 1000')" in caplog.text


def test_nothing_is_logged_at_warning_or_info_when_all_is_well(folder, caplog):
    with caplog.at_level(logging.INFO):
        mltable.from_delimited_files([{"pattern": str(folder / "*.csv")}]).filter("id > 5").to_pandas_dataframe()
        mltable.from_parquet_files([{"file": str(folder / "data.parquet")}]).collect_schema()
    assert [record for record in caplog.records if record.name.startswith("mltable_lite")] == []


def test_a_sas_token_never_reaches_the_log(folder, serve_http, caplog):
    served = serve_http(folder)
    tbl = mltable.from_delimited_files([{"file": f"{served.url}part-0.csv?{SAS}"},
                                        {"file": f"{served.url}part-1.csv?{SAS}"}])
    with caplog.at_level(logging.DEBUG):
        frame = tbl.to_pandas_dataframe()
        tbl.collect_schema()
    assert len(frame) == 200
    assert "bG9nZ2Vkc2lnbmF0dXJl" not in caplog.text
    assert "part-0.csv" in caplog.text


def test_requests_are_logged_at_debug(folder, serve_http, caplog):
    served = serve_http(folder)
    tbl = mltable.from_delimited_files([{"pattern": f"{served.url}part-*.csv"}])
    with caplog.at_level(logging.DEBUG, logger="mltable_lite"):
        tbl.to_pandas_dataframe()
    requests = [record.getMessage() for record in caplog.records if record.name == "mltable_lite.storage.http"]
    assert any(message.endswith("(folder listing)") for message in requests), requests
    assert any(message.startswith(f"GET {served.url}part-0.csv") for message in requests), requests
    assert not any(message.startswith(f"HEAD {served.url}part-") for message in requests), requests  # one GET a file


def test_azure_requests_are_logged_without_their_sas(azurite, tmp_path, caplog):
    (tmp_path / "a.csv").write_text("x\n1\n")
    azurite.create_container("mltablelite", "logged")
    azurite.upload_folder("mltablelite", "logged", tmp_path)
    sas = azurite.sas_token("mltablelite", "logged")
    options = {"sas_token": sas, "blob_endpoint": azurite.blob_endpoint("mltablelite")}
    tbl = mltable.from_delimited_files([{"file": "wasbs://logged@mltablelite.blob.core.windows.net/a.csv"}],
                                       storage_options=options)
    with caplog.at_level(logging.DEBUG):
        assert len(tbl.to_pandas_dataframe()) == 1
    requests = [record.getMessage() for record in caplog.records if record.name.startswith("mltable_lite.storage.azure")]
    assert any(message.startswith("GET ") and message.split()[1].endswith("/logged/a.csv")
               for message in requests), requests
    signature = dict(part.split("=", 1) for part in sas.split("&"))["sig"]
    assert signature not in caplog.text


def test_a_remote_listing_counts_its_files_on_a_bar(tmp_path, serve_http, capfd):
    for number in range(30):
        (tmp_path / f"f{number:02d}.csv").write_text(f"x\n{number}\n")
    tbl = mltable.from_delimited_files([{"folder": serve_http(tmp_path).url}])

    assert tbl.to_arrow().num_rows == 30
    assert capfd.readouterr().err == ""
    tbl.to_arrow(show_progress=True)
    shown = capfd.readouterr().err

    assert "listing: 30file" in shown
    assert "reading: 100%" in shown


def test_a_blob_listing_counts_its_files_on_a_bar(azurite, tmp_path, capfd):
    for number in range(12):
        (tmp_path / f"f{number:02d}.csv").write_text(f"x\n{number}\n")
    azurite.create_container("mltablelite", "listed")
    azurite.upload_folder("mltablelite", "listed", tmp_path, prefix="many")
    options = {"connection_string": azurite.connection_string("mltablelite")}
    tbl = mltable.from_delimited_files([{"folder": "wasbs://listed@mltablelite.blob.core.windows.net/many"}],
                                       storage_options=options)
    capfd.readouterr()
    assert tbl.to_arrow(show_progress=True).num_rows == 12
    assert "listing: 12file" in capfd.readouterr().err
