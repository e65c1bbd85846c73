"""Secrets planted in URLs (a password in ``user:password@``, credential query parameters) never
reach what the library shows or writes: repr, str, saved MLTable files, the Path column,
explain(), error messages, tracebacks and log records (issue 18 item 8). Reads still use them."""

import logging
import traceback

import pytest

import mltable_lite as mltable

PASSWORD = "pw-Hunter2-secret"
TOKEN = "tok-9f8e7d6c5b4a"
SIGNATURE = "sig-Zm9vYmFy"


@pytest.fixture
def site(serve_http, tmp_path):
    data = tmp_path / "site"
    (data / "data").mkdir(parents=True)
    (data / "data" / "a.csv").write_text("id,name\n1,x\n2,y\n")
    return serve_http(data)


def _secret_url(served, path):
    host = served.url.split("://", 1)[1].rstrip("/")
    return f"http://ann:{PASSWORD}@{host}/{path}?page=2&token={TOKEN}&X-Amz-Signature={SIGNATURE}"


def _assert_clean(text, where):
    for secret in (PASSWORD, TOKEN, SIGNATURE):
        assert secret not in text, f"{where} shows a secret: {text[:2000]}"


def _everything_shown(error: BaseException) -> str:
    return "".join(traceback.format_exception(error)) + str(error) + repr(error) + getattr(error, "message", "")


def test_a_table_with_secret_urls_shows_and_saves_none_of_them(site, tmp_path, caplog):
    url = _secret_url(site, "data/a.csv")
    table = mltable.from_delimited_files([{"file": url}], include_path_column=True)
    with caplog.at_level(logging.DEBUG):
        frame = table.to_pandas_dataframe()
        shown = [repr(table), str(table), table.explain()]
        table.save(str(tmp_path / "saved"))
    assert frame["id"].tolist() == [1, 2]   # the read itself used the URL as given
    shown += [(tmp_path / "saved" / "MLTable").read_text(), " ".join(map(str, frame["Path"])), caplog.text]
    for index, text in enumerate(shown):
        _assert_clean(text, ["repr", "str", "explain", "saved MLTable", "Path column", "logs"][index])
    assert "page=2" in str(table) and "ann@" in str(table)   # what is not secret stays


def test_from_paths_stream_infos_show_no_secret(site):
    frame = mltable.from_paths([{"file": _secret_url(site, "data/a.csv")}]).to_pandas_dataframe()
    info = frame["Path"][0]
    _assert_clean(repr(info) + str(info) + str(frame), "from_paths")


@pytest.mark.parametrize("path", ["data/missing.csv", "nothing/"])
def test_errors_and_tracebacks_show_no_secret(site, caplog, path):
    url = _secret_url(site, path)
    with caplog.at_level(logging.DEBUG), pytest.raises(mltable.UserErrorException) as caught:
        mltable.from_delimited_files([{"folder" if path.endswith("/") else "file": url}]).to_pandas_dataframe()
    _assert_clean(_everything_shown(caught.value), "the error")
    _assert_clean(caplog.text, "the logs")
    with pytest.raises(mltable.MLTableError) as explained:
        mltable.from_delimited_files([{"file": url}]).explain()
    _assert_clean(_everything_shown(explained.value), "explain's error")


@pytest.mark.parametrize("host", ["127.0.0.1:9", "[::1", ":0", "127.0.0.1:99999"])
def test_unreachable_or_malformed_hosts_show_no_secret(host, caplog):
    url = f"http://ann:{PASSWORD}@{host}/x.csv?token={TOKEN}"
    with caplog.at_level(logging.DEBUG), pytest.raises(mltable.MLTableError) as caught:
        mltable.from_delimited_files([{"file": url}], storage_options={"retry_total": 0}).to_pandas_dataframe()
    _assert_clean(_everything_shown(caught.value), "the error")
    _assert_clean(caplog.text, "the logs")
    if host != "127.0.0.1:9":  # malformed: our error naming the URL, not the HTTP client's ValueError
        assert isinstance(caught.value, mltable.UserErrorException) and "Invalid URL 'http://ann" in str(caught.value)


def test_a_saved_table_loads_and_names_the_files_without_secrets(site, tmp_path):
    url = _secret_url(site, "data/a.csv")
    mltable.from_delimited_files([{"file": url}]).save(str(tmp_path / "saved"))
    loaded = mltable.load(str(tmp_path / "saved"))
    _assert_clean(str(loaded) + repr(loaded), "the loaded table")


@pytest.fixture(scope="module")
def blobs(azurite):
    account = "mltablelite"
    azurite.create_container(account, "secrets")
    azurite.upload_bytes(account, "secrets", "d/a.csv", b"id\n1\n2\n")
    return azurite, account


@pytest.mark.parametrize("credential", ["sas_option", "account_key"])
def test_azure_credentials_show_nowhere(blobs, tmp_path, caplog, credential):
    azurite, account = blobs
    sas = azurite.sas_token(account, "secrets")
    key = azurite.account_key(account)
    signature = sas.split("sig=", 1)[1].split("&", 1)[0]
    options = {"blob_endpoint": azurite.blob_endpoint(account)}
    base = f"wasbs://secrets@{account}.blob.core.windows.net"
    if credential == "sas_option":
        options["sas_token"] = sas
    else:
        options["account_key"] = key
    shown = []
    with caplog.at_level(logging.DEBUG):
        table = mltable.from_delimited_files([{"file": f"{base}/d/a.csv"}], include_path_column=True,
                                             storage_options=options)
        frame = table.to_pandas_dataframe()
        assert frame["id"].tolist() == [1, 2]
        table.save(str(tmp_path / "saved"))
        shown += [repr(table), str(table), table.explain(), " ".join(frame["Path"]),
                  (tmp_path / "saved" / "MLTable").read_text()]
        for missing in (f"{base}/d/missing.csv", f"{base}/nothing/"):
            kind = "folder" if "nothing" in missing else "file"
            with pytest.raises(mltable.MLTableError) as caught:
                mltable.from_delimited_files([{kind: missing}], storage_options=options).to_pandas_dataframe()
            shown.append(_everything_shown(caught.value))
    shown.append(caplog.text)
    for text in shown:
        assert signature not in text and key not in text, text[:2000]
