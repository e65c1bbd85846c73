"""wasbs://, abfss:// and az:// paths, read from a real Azurite blob service (tests/servers/azurite.py).

Every remote read is compared with the same call on the local folder the blobs were uploaded
from. Account ``mltablelite`` holds container ``data`` (private) and ``mltablepublic`` holds
``public`` (anonymous read).
"""

import gc
import os
import subprocess
import sys
import time
import weakref
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from deltalake import write_deltalake
from pandas.testing import assert_frame_equal

import mltable_lite as mltable
from mltable_lite.errors import NOT_FOUND_CODE, NOT_FOUND_MESSAGE, UserErrorException
from mltable_lite.storage import open_store

ACCOUNT, PUBLIC = "mltablelite", "mltablepublic"
WASBS = f"wasbs://data@{ACCOUNT}.blob.core.windows.net"
ABFSS = f"abfss://data@{ACCOUNT}.dfs.core.windows.net"
AZ = "az://data"
SMALL_FILES = 300


# --- data ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    """The folder uploaded to Azurite: CSV, parquet, JSON lines, an MLTable, small files, Delta."""
    root = tmp_path_factory.mktemp("azure_data")
    for name, rows in {"csv/a.csv": [(1, "x", 1.5), (2, "y", 2.5)], "csv/b.csv": [(3, "z", 3.5)],
                       "csv/sub/c.csv": [(4, "w", None)]}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("id,name,score\n" + "".join(f"{i},{n},{'' if s is None else s}\n" for i, n, s in rows))
    (root / "parquet").mkdir()
    for index in range(3):
        pq.write_table(pa.table({"id": [index * 10 + k for k in range(5)], "label": [f"l{k}" for k in range(5)]}),
                       root / "parquet" / f"part-{index}.parquet")
    (root / "jsonl").mkdir()
    (root / "jsonl" / "x.jsonl").write_text('{"id": 1, "tags": "a"}\n{"id": 2, "tags": "b"}\n')
    (root / "jsonl" / "y.jsonl").write_text('{"id": 3, "tags": "c"}\n')
    (root / "table").mkdir()
    (root / "table" / "rows.csv").write_text("k,v\n1,one\n2,two\n")
    (root / "table" / "MLTable").write_text(
        "paths:\n  - file: ./rows.csv\ntransformations:\n  - read_delimited:\n      delimiter: ','\n"
        "      header: all_files_same_headers\n  - take: 1\n")
    (root / "small").mkdir()
    for index in range(SMALL_FILES):
        body = "".join(f"{index},{row},{'v' * 20}\n" for row in range(75))  # about 2 KB
        (root / "small" / f"f{index:04d}.csv").write_text("file,row,value\n" + body)
    delta = root / "delta" / "t"
    write_deltalake(str(delta), pa.table({"id": [1, 2, 3], "part": ["a", "b", "a"]}), partition_by=["part"])
    write_deltalake(str(delta), pa.table({"id": [4], "part": ["b"]}), partition_by=["part"], mode="append")
    return root


@pytest.fixture(scope="module")
def remote(azurite, local):
    """Azurite with ``local`` uploaded to data (private, mltablelite) and its csv/ to public (mltablepublic)."""
    azurite.create_container(ACCOUNT, "data")
    azurite.upload_folder(ACCOUNT, "data", local)
    azurite.create_container(PUBLIC, "public", public_access="container")
    azurite.upload_folder(PUBLIC, "public", local / "csv", prefix="csv")
    azurite.upload_folder(PUBLIC, "public", local / "delta", prefix="delta")
    return azurite


@pytest.fixture(autouse=True)
def no_azure_environment(monkeypatch):
    for name in ("AZURE_STORAGE_CONNECTION_STRING", "AZURE_STORAGE_ACCOUNT_NAME", "AZURE_STORAGE_ACCOUNT_KEY",
                 "AZURE_STORAGE_SAS_TOKEN", "AZURE_STORAGE_ANON"):
        monkeypatch.delenv(name, raising=False)


def conn(azurite, account=ACCOUNT) -> dict:
    return {"connection_string": azurite.connection_string(account)}


BUILDERS = {"csv": mltable.from_delimited_files, "parquet": mltable.from_parquet_files,
            "jsonl": mltable.from_json_lines_files}


def read(kind, paths, options=None, **arguments) -> pd.DataFrame:
    return BUILDERS[kind](paths, storage_options=options, **arguments).to_pandas_dataframe()


def same(kind, base, local, spec_kind, relative, options, **arguments):
    """The remote read of ``base/relative`` equals the local one; returns the remote frame."""
    remote_frame = read(kind, [{spec_kind: f"{base}/{relative}"}], options, **arguments)
    local_frame = read(kind, [{spec_kind: str(local / relative)}], None, **arguments)
    assert_frame_equal(remote_frame, local_frame)
    assert len(remote_frame) > 0
    return remote_frame


# --- reading, every URI form --------------------------------------------------------------------

CASES = [
    ("csv", "file", "csv/a.csv"), ("csv", "folder", "csv"), ("csv", "pattern", "csv/**/*.csv"),
    ("csv", "pattern", "csv/*.csv"), ("parquet", "folder", "parquet"), ("parquet", "pattern", "parquet/*-1.parquet"),
    ("parquet", "file", "parquet/part-2.parquet"), ("jsonl", "folder", "jsonl"), ("jsonl", "file", "jsonl/y.jsonl"),
]


@pytest.mark.parametrize("base", [WASBS, ABFSS, AZ], ids=["wasbs", "abfss", "az"])
@pytest.mark.parametrize("kind, spec_kind, relative", CASES, ids=[f"{k}-{s}-{r}" for k, s, r in CASES])
def test_reads_equal_local(remote, local, base, kind, spec_kind, relative):
    same(kind, base, local, spec_kind, relative, conn(remote))


def test_wasb_scheme_reads_too(remote, local):
    same("csv", f"wasb://data@{ACCOUNT}.blob.core.windows.net", local, "folder", "csv", conn(remote))


def test_path_column_shows_the_uris_as_written(remote, local):
    for base in (WASBS, ABFSS, AZ):
        frame = read("csv", [{"folder": f"{base}/csv"}], conn(remote), include_path_column=True)
        assert sorted(set(frame["Path"])) == [f"{base}/csv/a.csv", f"{base}/csv/b.csv", f"{base}/csv/sub/c.csv"]


def test_load_an_mltable_folder(remote, local):
    remote_frame = mltable.load(f"{WASBS}/table", storage_options=conn(remote)).to_pandas_dataframe()
    assert_frame_equal(remote_frame, mltable.load(str(local / "table")).to_pandas_dataframe())
    assert remote_frame.to_dict("records") == [{"k": 1, "v": "one"}]


def test_many_small_files(remote, local):
    same("csv", WASBS, local, "folder", "small", conn(remote))
    frame = read("csv", [{"folder": f"{WASBS}/small"}], conn(remote), include_path_column=True)
    assert len(frame) == SMALL_FILES * 75
    assert list(frame["Path"].unique()) == [f"{WASBS}/small/f{index:04d}.csv" for index in range(SMALL_FILES)]
    assert frame.groupby("file")["row"].count().eq(75).all()


def test_fetch_is_thread_safe(remote, local):
    store = open_store(f"{WASBS}/small", conn(remote))
    paths = [path for path, _ in store.find("data/small")]
    assert len(paths) == SMALL_FILES
    with ThreadPoolExecutor(max_workers=16) as pool:
        fetched = list(pool.map(store.fetch, paths))
    assert fetched == [(local / "small" / path.rsplit("/", 1)[1]).read_bytes() for path in paths]



def test_listing_follows_continuation_markers(remote):
    from fsspec.asyn import sync

    from mltable_lite.storage.azure_rest import list_blobs

    store = open_store(f"{WASBS}/small", conn(remote))
    paged = sync(store.fs.loop, list_blobs, store.fs, "data", "small/", page_size=7)
    assert len(paged) == SMALL_FILES and paged == store.find("data/small")
    assert paged[0][0] == "data/small/f0000.csv"
    assert all(size > 1500 for _, size in paged)


def test_a_folder_with_empty_marker_blobs(remote):
    """Spark leaves 0-byte _SUCCESS blobs beside its output: fetching them must not fail."""
    store = open_store(f"{WASBS}/spark_out", conn(remote))
    store.write_bytes("data/spark_out/part-0.csv", b"k,v\n1,a\n")
    store.write_bytes("data/spark_out/part-1.csv", b"k,v\n2,b\n")
    store.write_bytes("data/spark_out/_SUCCESS", b"")
    assert store.fetch("data/spark_out/_SUCCESS") == b""
    frame = read("csv", [{"folder": f"{WASBS}/spark_out"}], conn(remote))
    assert frame["k"].tolist() == [1, 2]


def test_awkward_blob_names_and_folder_markers(remote):
    names = ["odd/a b.csv", "odd/ü+%41.csv", "odd/nested/x&y=1.csv", "odd/~tilde.csv"]
    for index, name in enumerate(names):
        remote.upload_bytes(ACCOUNT, "data", name, f"n\n{index}\n".encode())
    # Folder markers: an empty blob named like a folder, and an ADLS Gen2 directory blob.
    remote.upload_bytes(ACCOUNT, "data", "odd/empty/", b"")
    remote.service(ACCOUNT).get_blob_client("data", "odd/hdir").upload_blob(
        b"", overwrite=True, metadata={"hdi_isfolder": "true"})
    store = open_store(f"{WASBS}/odd", conn(remote))
    assert [path for path, _ in store.find("data/odd")] == sorted(f"data/{name}" for name in names)
    frame = read("csv", [{"folder": f"{WASBS}/odd"}], conn(remote), include_path_column=True)
    assert sorted(frame["n"]) == [0, 1, 2, 3]
    assert sorted(frame["Path"]) == sorted(f"{WASBS}/{name}" for name in names)
    assert [store.fetch(f"data/{name}") for name in names] == [f"n\n{i}\n".encode() for i in range(4)]


@pytest.mark.parametrize("how", ["public calls", "changed pipeline"])
def test_without_the_sdk_private_pipeline(remote, local, monkeypatch, how):
    """Listing and fetching fall back to the SDK's public calls when its private pipeline is gone
    or no longer works as one; the results are the same."""
    from mltable_lite.storage import azure_rest

    if how == "public calls":
        monkeypatch.setattr(azure_rest, "LEAN", False)
    else:  # a pipeline object whose run no longer takes a request the way we call it
        class Changed:
            async def run(self, *args, **kwargs):
                raise TypeError("run() got an unexpected argument")

        store = open_store(f"{WASBS}/small", conn(remote))
        monkeypatch.setattr(azure_rest, "_UNUSABLE", set())
        real = store.fs.service_client._pipeline
        monkeypatch.setattr(store.fs.service_client, "_pipeline", Changed())
        Changed._transport, Changed._impl_policies = real._transport, real._impl_policies
    same("csv", WASBS, local, "folder", "csv", conn(remote))
    test_awkward_blob_names_and_folder_markers(remote)
    test_fetch_errors_are_translated(remote)
    if how == "changed pipeline":
        assert azure_rest._UNUSABLE == {Changed}


def _open_sockets() -> int:
    count = 0
    for descriptor in os.listdir("/proc/self/fd"):
        try:
            count += os.readlink(f"/proc/self/fd/{descriptor}").startswith("socket:")
        except OSError:
            pass
    return count


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts sockets in /proc")
def test_filesystem_cache_is_bounded(remote):
    """A fresh SAS per read (as a long-running service makes) never grows memory or connections:
    the caches keep the most recent filesystems, and one they drop is freed, its connections
    closed, as soon as no store still uses it; a store still held keeps working."""
    from mltable_lite.storage import azure

    limit = azure.CACHED_FILESYSTEMS
    kept = open_store(f"{WASBS}/csv", conn(remote))
    gc.collect()
    sockets = _open_sockets()
    made = []
    for index in range(4 * limit):
        sas = remote.sas_token(ACCOUNT, "data", hours=1 + index / 100)
        store = open_store(f"{WASBS}/csv", {"sas_token": sas, "blob_endpoint": remote.blob_endpoint(ACCOUNT)})
        assert store.fetch("data/csv/b.csv").startswith(b"id,name,score")
        made.append(weakref.ref(store.fs))
    del store
    gc.collect()
    assert len(azure._FILESYSTEMS) <= limit and len(azure._STORES) <= 2 * limit
    alive = sum(ref() is not None for ref in made)
    assert alive <= 2 * limit, f"{alive} of {len(made)} filesystems are still alive"
    assert _open_sockets() - sockets <= 2 * limit + 2
    assert kept.fetch("data/csv/b.csv").startswith(b"id,name,score")   # an evicted store keeps working


def test_fetch_errors_are_translated(remote):
    store = open_store(f"{WASBS}/csv", conn(remote))
    with pytest.raises(UserErrorException) as caught:
        store.fetch("data/csv/missing.csv")
    assert caught.value.error_code == NOT_FOUND_CODE and f"{WASBS}/csv/missing.csv" in str(caught.value)
    with pytest.raises(UserErrorException) as caught:  # the event-loop path of the read-ahead window
        store.fetch_later("data/csv/missing.csv", None).result(timeout=30)
    assert caught.value.error_code == NOT_FOUND_CODE
    wrong = {"account_key": remote.account_key(PUBLIC), "blob_endpoint": remote.blob_endpoint(ACCOUNT)}
    with pytest.raises(UserErrorException) as caught:
        open_store(f"{WASBS}/csv", wrong).fetch_later("data/csv/a.csv", None).result(timeout=30)
    assert caught.value.error_code == "ScriptExecution.StreamAccess.Authentication" and "403" in str(caught.value)


# --- credentials --------------------------------------------------------------------------------


def test_connection_string_from_the_environment(remote, local, monkeypatch):
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", remote.connection_string(ACCOUNT))
    same("csv", WASBS, local, "folder", "csv", None)
    same("parquet", AZ, local, "folder", "parquet", None)


def test_account_key_and_blob_endpoint(remote, local):
    options = {"account_key": remote.account_key(ACCOUNT), "blob_endpoint": remote.blob_endpoint(ACCOUNT)}
    same("parquet", ABFSS, local, "folder", "parquet", options)
    same("csv", AZ, local, "folder", "csv", options)  # the account comes from the endpoint


def test_sas_token(remote, local):
    options = {"sas_token": remote.sas_token(ACCOUNT, "data"), "blob_endpoint": remote.blob_endpoint(ACCOUNT)}
    same("csv", WASBS, local, "pattern", "csv/**/*.csv", options)
    same("parquet", WASBS, local, "folder", "parquet", options)


def test_anonymous_read_of_a_public_container(remote, local):
    options = {"anon": True, "blob_endpoint": remote.blob_endpoint(PUBLIC)}
    frame = read("csv", [{"folder": f"wasbs://public@{PUBLIC}.blob.core.windows.net/csv"}], options)
    assert_frame_equal(frame, read("csv", [{"folder": str(local / "csv")}]))


def test_explicit_options_beat_the_environment(remote, local, monkeypatch):
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", remote.connection_string(PUBLIC))  # wrong account
    options = {"account_key": remote.account_key(ACCOUNT), "blob_endpoint": remote.blob_endpoint(ACCOUNT)}
    same("csv", WASBS, local, "file", "csv/a.csv", options)


def test_azure_ml_options_are_ignored(remote, local):
    options = dict(conn(remote), subscription="0000", resource_group="rg", workspace="ws", unknown_key=1)
    same("jsonl", WASBS, local, "folder", "jsonl", options)


def test_blob_filesystem_for_another_module(remote, local):
    from mltable_lite.storage.azure import blob_filesystem

    fs = blob_filesystem(ACCOUNT, {"sas_token": remote.sas_token(ACCOUNT, "data"),
                                   "blob_endpoint": remote.blob_endpoint(ACCOUNT)})
    assert fs.cat_file("data/csv/a.csv") == (local / "csv" / "a.csv").read_bytes()
    assert sorted(fs.find("data/jsonl")) == ["data/jsonl/x.jsonl", "data/jsonl/y.jsonl"]


def test_credential_resolution_order(monkeypatch):
    from mltable_lite.storage.azure_credentials import resolve_access as _resolve

    key = "a2V5a2V5a2V5"
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", f"AccountName=acct;AccountKey={key}")
    assert _resolve("acct", {"sas_token": "sv=1&sig=x"}).kind == "sas"  # explicit first
    assert _resolve("acct", {"account_key": key, "sas_token": "sv=1&sig=x"}).kind == "key"
    from_env = _resolve("acct", {})
    assert (from_env.kind, from_env.url) == ("key", "https://acct.blob.core.windows.net")
    assert "AZURE_STORAGE_CONNECTION_STRING" in from_env.source
    monkeypatch.delenv("AZURE_STORAGE_CONNECTION_STRING")
    anonymous = _resolve("acct", {"anon": True}, blob_host="acct.blob.core.chinacloudapi.cn")
    assert (anonymous.credential, anonymous.url) == (None, "https://acct.blob.core.chinacloudapi.cn")

    class Sync:  # a synchronous TokenCredential: tokens are fetched on a thread for adlfs' async client
        def get_token(self, *scopes, **kwargs):
            return ("token", 0)

    token = _resolve("acct", {"credential": Sync()})
    assert token.kind == "token" and hasattr(token.credential, "get_token")
    default = _resolve("acct", {})
    try:
        import azure.identity.aio  # noqa: F401 — the optional extra mltable-lite[azure-identity]
    except ImportError:
        assert default.credential is None and "anonymous" in default.source
    else:
        assert default.kind == "token" and type(default.credential).__name__ == "DefaultAzureCredential"
    with pytest.raises(UserErrorException, match="TokenCredential"):
        _resolve("acct", {"credential": "a-sas-or-key"})
    with pytest.raises(UserErrorException, match="not valid base64"):
        _resolve("acct", {"account_key": "not base64!"})
    with pytest.raises(UserErrorException, match="must be an http"):
        _resolve("acct", {"anon": True, "blob_endpoint": "127.0.0.1:10000/acct"})


# --- errors and secrets -------------------------------------------------------------------------


def test_wrong_key_is_a_clear_error(remote):
    wrong = remote.account_key(PUBLIC)
    options = {"account_key": wrong, "blob_endpoint": remote.blob_endpoint(ACCOUNT)}
    with pytest.raises(UserErrorException) as caught:
        read("csv", [{"folder": f"{WASBS}/csv"}], options)
    text = str(caught.value)
    assert caught.value.error_code == "ScriptExecution.StreamAccess.Authentication"
    assert f"{WASBS}/csv" in text and "403" in text and "storage_options['account_key']" in text
    listed = text[text.index("first match wins"):]
    words = ("'connection_string'", "'account_key'", "'sas_token'", "AZURE_STORAGE_CONNECTION_STRING",
             "pip install mltable-lite[azure-identity]")
    order = [listed.index(word) for word in words]
    assert order == sorted(order)
    assert wrong not in text and wrong not in repr(caught.value)


def test_sas_without_list_permission(remote):
    sas = remote.sas_token(ACCOUNT, "data", permission="r")
    options = {"sas_token": sas, "blob_endpoint": remote.blob_endpoint(ACCOUNT)}
    with pytest.raises(UserErrorException) as caught:
        read("csv", [{"folder": f"{WASBS}/csv"}], options)
    assert "AuthorizationPermissionMismatch" in str(caught.value)
    assert "sig=" not in str(caught.value) and sas.split("sig=")[1] not in str(caught.value)
    # ...but a single file needs only read permission.
    assert len(read("csv", [{"file": f"{WASBS}/csv/a.csv"}], options)) == 2


def test_private_container_read_anonymously(remote):
    with pytest.raises(UserErrorException) as caught:
        read("csv", [{"file": f"{WASBS}/csv/a.csv"}], {"anon": True, "blob_endpoint": remote.blob_endpoint(ACCOUNT)})
    assert f"{WASBS}/csv/a.csv" in str(caught.value) and "anon" in str(caught.value)


@pytest.mark.parametrize("uri", [f"{WASBS}/csv/missing.csv", f"{ABFSS}/nofolder",
                                 f"wasbs://nocontainer@{ACCOUNT}.blob.core.windows.net/a.csv"])
def test_missing_blob_is_not_found(remote, uri):
    spec = "folder" if uri.endswith("nofolder") else "file"
    with pytest.raises(UserErrorException) as caught:
        read("csv", [{spec: uri}], conn(remote))
    assert caught.value.error_code == NOT_FOUND_CODE
    assert NOT_FOUND_MESSAGE in str(caught.value) and uri in str(caught.value)


def test_blob_deleted_after_open_is_not_found(remote):
    remote.upload_bytes(ACCOUNT, "data", "gone/x.csv", b"a\n1\n")
    store = open_store(f"{WASBS}/gone/x.csv", conn(remote))
    handle = store.open_input("data/gone/x.csv")
    remote.service(ACCOUNT).get_blob_client("data", "gone/x.csv").delete_blob()
    with pytest.raises(UserErrorException) as caught:
        handle.read()
    assert caught.value.error_code == NOT_FOUND_CODE and f"{WASBS}/gone/x.csv" in str(caught.value)


def test_connection_string_of_another_account(remote):
    options = conn(remote, PUBLIC)
    with pytest.raises(UserErrorException) as caught:
        read("csv", [{"folder": f"{WASBS}/csv"}], options)
    text = str(caught.value)
    assert f"'{PUBLIC}'" in text and f"'{ACCOUNT}'" in text
    assert remote.account_key(PUBLIC) not in text


def test_no_account_for_az_uri():
    with pytest.raises(UserErrorException, match="account_name"):
        read("csv", [{"folder": "az://data/csv"}], {"anon": True})


def test_secrets_never_shown(remote):
    key, sas = remote.account_key(ACCOUNT), remote.sas_token(ACCOUNT, "data")
    for options in ({"account_key": key, "blob_endpoint": remote.blob_endpoint(ACCOUNT)},
                    {"sas_token": sas, "blob_endpoint": remote.blob_endpoint(ACCOUNT)}, conn(remote)):
        table = mltable.from_delimited_files([{"folder": f"{WASBS}/csv"}], storage_options=options)
        store = open_store(f"{WASBS}/csv", options)
        files = table._plan.paths
        shown = " ".join([repr(table), str(table), repr(store), str(store), repr(store.fs), repr(files)])
        for secret in (key, sas, sas.split("sig=")[1]):
            assert secret not in shown
        with pytest.raises(UserErrorException) as caught:
            mltable.from_delimited_files([{"file": f"{WASBS}/csv/none.csv"}], storage_options=options
                                         ).to_pandas_dataframe()
        for secret in (key, sas, sas.split("sig=")[1]):
            assert secret not in str(caught.value) and secret not in repr(caught.value)


# --- the store and the wasbs fsspec filesystem --------------------------------------------------


def test_uri_mapping_and_one_store_per_account():
    from mltable_lite.storage.azure import parse_uri

    options = {"anon": True}
    store = open_store(f"{WASBS}/a/x.csv", options)
    assert store.path_of(f"{WASBS}/a/x.csv") == "data/a/x.csv"
    assert store.uri_of("data/a/x.csv") == f"{WASBS}/a/x.csv"
    assert store.uri_of("other/b") == f"wasbs://other@{ACCOUNT}.blob.core.windows.net/b"
    assert open_store(f"{WASBS}/elsewhere", options) is store
    abfss = open_store(f"{ABFSS}/a", options)
    assert abfss is not store and abfss.fs is store.fs  # one filesystem per account and credential
    assert abfss.uri_of("data/a/y.csv") == f"{ABFSS}/a/y.csv"
    china = parse_uri("abfss://fs@acct.dfs.core.chinacloudapi.cn/p/q")
    assert (china.account, china.blob_host, china.path) == ("acct", "acct.blob.core.chinacloudapi.cn", "fs/p/q")
    sovereign = open_store("abfss://fs@acct.dfs.core.chinacloudapi.cn/p", options)
    assert sovereign.access.url == "https://acct.blob.core.chinacloudapi.cn"
    assert sovereign.uri_of("fs/p/q.csv") == "abfss://fs@acct.dfs.core.chinacloudapi.cn/p/q.csv"
    with pytest.raises(UserErrorException, match="blob_endpoint"):
        open_store("wasbs://c@files.example.com/x", options)


def test_write_bytes(remote):
    store = open_store(f"{WASBS}/written", conn(remote))
    store.write_bytes("data/written/MLTable", b"paths: []\n")
    assert store.fetch("data/written/MLTable") == b"paths: []\n"
    assert store.kind("data/written") == "directory"


def test_wasbs_fsspec_filesystem(remote, local):
    import fsspec

    from mltable_lite.storage.azure_wasb import WasbFileSystem

    fsspec.register_implementation("wasbs", WasbFileSystem, clobber=True)
    fs = fsspec.filesystem("wasbs", connection_string=remote.connection_string(ACCOUNT), skip_instance_cache=True)
    assert fs.cat_file(f"{WASBS}/csv/a.csv") == (local / "csv" / "a.csv").read_bytes()
    assert fs.unstrip_protocol("data/csv/a.csv") == f"{WASBS}/csv/a.csv"


def test_importing_mltable_lite_imports_no_azure():
    code = ("import sys, mltable_lite; mltable_lite.from_delimited_files([{'file': 'x.csv'}]); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('adlfs', 'azure', 'aiohttp')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=os.getcwd())
    assert out.stdout.strip() == "[]"


# --- Delta Lake ---------------------------------------------------------------------------------


@pytest.mark.parametrize("version", [0, None])
def test_delta_table(remote, local, version):
    tables = [(f"{ABFSS}/delta/t", conn(remote)),
              (f"{WASBS}/delta/t", {"sas_token": remote.sas_token(ACCOUNT, "data"),
                                    "blob_endpoint": remote.blob_endpoint(ACCOUNT)}),
              (f"abfss://public@{PUBLIC}.dfs.core.windows.net/delta/t",
               {"anon": True, "blob_endpoint": remote.blob_endpoint(PUBLIC)})]
    for uri, options in tables:
        remote_frame = mltable.from_delta_lake(uri, version_as_of=version,
                                               storage_options=options).to_pandas_dataframe()
        local_frame = mltable.from_delta_lake(str(local / "delta" / "t"), version_as_of=version).to_pandas_dataframe()
        assert_frame_equal(remote_frame, local_frame)
        assert len(remote_frame) == (3 if version == 0 else 4)


class ShortLivedTokens:
    """A synchronous TokenCredential whose Entra-shaped tokens expire ``lifetime`` s after issue."""

    def __init__(self, lifetime: float):
        self.lifetime = lifetime
        self.issued: list = []

    def get_token(self, *scopes, **kwargs):
        from servers.azurite import entra_token

        token = entra_token(self.lifetime)
        self.issued.append(time.monotonic())
        return token


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_a_long_delta_read_outlives_its_bearer_tokens(azurite_oauth, tmp_path):
    """Tokens live 3 s; the reader pauses longer than that after its first batch, so the files
    fetched after the pause need fresh tokens: each request must carry one still valid (Azurite
    checks lifetimes)."""
    files = 70   # more than the read-ahead window holds (64), so the last ones are fetched late
    write_deltalake(str(tmp_path / "t"), pa.table({"id": range(files), "part": [f"p{i:03d}" for i in range(files)]}),
                    partition_by=["part"])
    azurite_oauth.create_container(ACCOUNT, "tokens")
    azurite_oauth.upload_folder(ACCOUNT, "tokens", tmp_path / "t", prefix="t")
    credential = ShortLivedTokens(lifetime=3)
    options = {"credential": credential, "blob_endpoint": azurite_oauth.blob_endpoint(ACCOUNT),
               "connection_verify": False}   # the emulator's certificate is self-signed
    tbl = mltable.from_delta_lake(f"abfss://tokens@{ACCOUNT}.dfs.core.windows.net/t", storage_options=options)
    ids = []
    for batch in tbl.to_batches():
        if not ids:
            time.sleep(credential.lifetime + 1)
        ids.extend(batch.column("id").to_pylist())
    assert sorted(ids) == list(range(files))
    assert credential.issued[-1] - credential.issued[0] > credential.lifetime, "no request came after a token expired"
    with pytest.raises(UserErrorException, match="Access denied"):   # Azurite does refuse expired tokens
        expired = {**options, "credential": ShortLivedTokens(lifetime=-60)}
        mltable.from_delimited_files([{"file": f"abfss://tokens@{ACCOUNT}.dfs.core.windows.net/t/_delta_log/"
                                               "00000000000000000000.json"}], storage_options=expired
                                     ).to_pandas_dataframe()
