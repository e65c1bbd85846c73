"""``azureml:`` URIs end to end: the parser, the workspace, the datastore chain (code registry → registry
file → ARM), the ARM client against a local ARM look-alike, the store over local folders and Azurite,
data assets in load(), and the fsspec filesystem. Nothing of ours is mocked."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import fsspec
import pandas as pd
import pytest

import mltable_lite as mltable
from mltable_lite import UserErrorException
from mltable_lite.storage import datastores, open_store
from mltable_lite.storage.arm import set_default_credential
from mltable_lite.storage.azureml import (WORKSPACE_ENV, DataAssetUri, DatastoreUri, Workspace, parse_azureml_uri,
                                          resolve_load_uri, resolve_workspace)
from mltable_lite.storage.azureml_fs import AzureMachineLearningFileSystem, AzureMLFileSystem
from mltable_lite.storage.azureml_store import AzureMLStore
from mltable_lite.storage.datastores import (Datastore, clear_datastore_cache, register_datastore, resolve_datastore,
                                             unregister_datastore)

SUB, RG, WS = "6560575d-fa06-4e7d-95fb-f962e74efd7a", "rg-ml", "ws-main"
WORKSPACE = Workspace(SUB, RG, WS)
LONG = f"azureml://subscriptions/{SUB}/resourcegroups/{RG}/workspaces/{WS}"
ACCOUNT = "mltablelite"
CONTAINER = "azureml-tests"
CSV_ONE = "a,b\n1,x\n2,y\n"
CSV_TWO = "a,b\n3,z\n"
MLTABLE = textwrap.dedent("""\
    paths:
    - pattern: ./*.csv
    transformations:
    - read_delimited:
        delimiter: ','
        header: all_files_same_headers
        include_path_column: true
    type: mltable
    """)


# --- fixtures ------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    """No workspace, registry file or credential leaks in from the machine or from another test."""
    for name in (*WORKSPACE_ENV, "MLTABLE_LITE_DATASTORES", "MLTABLE_LITE_ARM_ENDPOINT",
                 "AZURE_STORAGE_CONNECTION_STRING"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    yield
    datastores._REGISTERED.clear()
    clear_datastore_cache()
    set_default_credential(None)
    AzureMachineLearningFileSystem.clear_instance_cache()


def _write_tree(root):
    (root / "data" / "deeper").mkdir(parents=True)
    (root / "data" / "one.csv").write_text(CSV_ONE)
    (root / "data" / "two.csv").write_text(CSV_TWO)
    (root / "data" / "deeper" / "three.csv").write_text("a,b\n4,w\n")
    (root / "mltable_folder").mkdir()
    (root / "mltable_folder" / "MLTable").write_text(MLTABLE)
    (root / "mltable_folder" / "part1.csv").write_text(CSV_ONE)
    (root / "mltable_folder" / "part2.csv").write_text(CSV_TWO)
    (root / "parquet").mkdir()
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"n": [1, 2, 3], "s": ["p", "q", "r"]}), root / "parquet" / "p1.parquet")
    return root


@pytest.fixture
def local_store(tmp_path):
    """A folder laid out like a datastore: data/*.csv and an MLTable folder."""
    return _write_tree(tmp_path / "store")


@pytest.fixture(scope="module")
def azurite_store(azurite, tmp_path_factory):
    """The same tree in an Azurite container."""
    root = _write_tree(tmp_path_factory.mktemp("azurite_tree"))
    azurite.create_container(ACCOUNT, CONTAINER)
    azurite.upload_folder(ACCOUNT, CONTAINER, root)
    return root


@pytest.fixture
def arm_blob(arm_server, azurite, azurite_store):
    """ARM answering 'store' as an AzureBlob datastore on Azurite with an account key (the Azurite way:
    endpoint '127.0.0.1:<port>', protocol http)."""
    arm_server.add_blob_datastore(WORKSPACE, "store", account=ACCOUNT, container=CONTAINER,
                                  endpoint=f"127.0.0.1:{azurite.port}", protocol="http",
                                  credentials_type="AccountKey", secret=azurite.account_key(ACCOUNT))
    return arm_server


@pytest.fixture
def azureml_protocol():
    """``azureml://`` known to fsspec (the package's entry point does this once installed with it)."""
    try:
        registered = fsspec.get_filesystem_class("azureml")
    except (ValueError, ImportError):
        registered = None
    if registered is not AzureMachineLearningFileSystem:
        fsspec.register_implementation("azureml", AzureMachineLearningFileSystem, clobber=True)


def _expected_frame(*contents):
    import io

    return pd.concat([pd.read_csv(io.StringIO(text)) for text in contents], ignore_index=True)


def _without_path(frame):
    return frame.drop(columns=["Path"]).reset_index(drop=True)


# --- the parser ----------------------------------------------------------------------------------


@pytest.mark.parametrize("uri", [
    f"{LONG}/datastores/store/paths/data/a.csv",
    f"azureml://subscriptions/{SUB}/resourceGroups/{RG}/workspaces/{WS}/datastores/store/paths/data/a.csv",
    f"azureml://subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.MachineLearningServices/workspaces/{WS}"
    "/datastores/store/paths/data/a.csv",
    f"AZUREML://SUBSCRIPTIONS/{SUB}/RESOURCEGROUPS/{RG}/WORKSPACES/{WS}/DATASTORES/store/PATHS/data/a.csv",
    f"{LONG}/datastore/store/paths/data/a.csv",
])
def test_long_datastore_forms(uri):
    parsed = parse_azureml_uri(uri)
    assert parsed == DatastoreUri(WORKSPACE, "store", "data/a.csv", uri[:-len("data/a.csv")])
    assert parsed.with_path("data/b.csv") == uri.replace("a.csv", "b.csv")


def test_short_datastore_form_and_datastore_roots():
    assert parse_azureml_uri("azureml://datastores/store/paths/a/b/*.csv") == DatastoreUri(
        None, "store", "a/b/*.csv", "azureml://datastores/store/paths/")
    root = parse_azureml_uri(f"{LONG}/datastore/store")
    assert (root.path, root.prefix, root.root) == ("", f"{LONG}/datastore/store/paths/", f"{LONG}/datastore/store")
    assert parse_azureml_uri("azureml://datastores/store/paths/").path == ""
    assert parse_azureml_uri("azureml://datastores/store/paths/a/./b/../c//d.csv").path == "a/c/d.csv"
    with pytest.raises(UserErrorException, match="climbs above the root of datastore 'store'"):
        parse_azureml_uri("azureml://datastores/store/paths/a/../../b")


@pytest.mark.parametrize("uri, expected", [
    (f"{LONG}/data/iris/versions/3", DataAssetUri(WORKSPACE, "iris", "3")),
    (f"azureml://subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.MachineLearningServices/workspaces/"
     f"{WS}/data/iris/versions/3", DataAssetUri(WORKSPACE, "iris", "3")),
    ("azureml://data/iris/versions/3", DataAssetUri(None, "iris", "3")),
    ("azureml:iris:3", DataAssetUri(None, "iris", "3")),
    ("AzureML:iris:3", DataAssetUri(None, "iris", "3")),
    ("azureml:iris@latest", DataAssetUri(None, "iris", "latest")),
])
def test_data_asset_forms(uri, expected):
    assert parse_azureml_uri(uri) == expected


@pytest.mark.parametrize("uri", [
    "azureml://", "azureml://datastores", "azureml://paths/a.csv", "azureml://datastores//paths/a",
    f"azureml://subscriptions/{SUB}/workspaces/{WS}/datastores/s/paths/a",
    f"{LONG}/datastores/store/files/a.csv", f"{LONG}/data/iris", "azureml:iris", "azureml:iris:1:2",
    "azureml:iris@newest", "azureml://data/iris/versions/",
])
def test_malformed_uris_name_the_uri_and_the_accepted_forms(uri):
    with pytest.raises(UserErrorException) as caught:
        parse_azureml_uri(uri)
    message = str(caught.value)
    assert repr(uri) in message
    assert "azureml://datastores/<datastore>/paths/<path>" in message
    assert "azureml:<asset>:<version>" in message


# --- which workspace -----------------------------------------------------------------------------


def _config(folder, subscription="cfg-sub", resource_group="cfg-rg", workspace="cfg-ws"):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(
        {"subscription_id": subscription, "resource_group": resource_group, "workspace_name": workspace}))


def test_workspace_options_beat_env_which_beats_config(monkeypatch, tmp_path):
    _config(tmp_path / "work")
    for name, value in zip(WORKSPACE_ENV, ("env-sub", "env-rg", "env-ws")):
        monkeypatch.setenv(name, value)
    options = {"subscription": "opt-sub", "resource_group": "opt-rg", "workspace": "opt-ws"}
    assert resolve_workspace(options) == Workspace("opt-sub", "opt-rg", "opt-ws")
    assert resolve_workspace({}) == Workspace("env-sub", "env-rg", "env-ws")
    monkeypatch.delenv(WORKSPACE_ENV[2])  # a partial environment does not answer
    assert resolve_workspace({}) == Workspace("cfg-sub", "cfg-rg", "cfg-ws")
    with pytest.raises(UserErrorException, match="not subscription, resource_group: give"):
        resolve_workspace({"workspace": "only-this"})  # partial options are an error, never overridden


def test_workspace_from_sdk_option_names_and_ml_client():
    options = {"subscription_id": "s", "resource_group_name": "rg", "workspace_name": "ws"}
    assert resolve_workspace(options) == Workspace("s", "rg", "ws")

    class MLClient:  # duck-typed like azure.ai.ml.MLClient
        subscription_id, resource_group_name, workspace_name = "cs", "crg", "cws"
        _credential = None

    assert resolve_workspace({"ml_client": MLClient()}) == Workspace("cs", "crg", "cws")


def test_workspace_from_config_json_in_a_parent_or_its_azureml_folder(tmp_path, monkeypatch):
    nested = tmp_path / "work" / "a" / "b"
    nested.mkdir(parents=True)
    monkeypatch.chdir(nested)
    _config(tmp_path / "work" / ".azureml", workspace="dot-azureml")
    assert resolve_workspace().name == "dot-azureml"
    _config(tmp_path / "work" / "a", workspace="nearer")
    assert resolve_workspace().name == "nearer"
    assert resolve_workspace({"config_path": str(tmp_path / "work" / ".azureml" / "config.json")}).name == "dot-azureml"


def test_no_workspace_is_a_clear_error_naming_the_three_ways():
    with pytest.raises(UserErrorException) as caught:
        resolve_workspace({})
    message = str(caught.value)
    for part in ("storage_options", "AZUREML_ARM_SUBSCRIPTION", "AZUREML_ARM_WORKSPACE_NAME", "config.json"):
        assert part in message


def test_a_broken_config_json_names_the_file(tmp_path):
    (tmp_path / "work" / "config.json").write_text('{"subscription_id": "s"}')
    with pytest.raises(UserErrorException, match="config.json' lacks resource_group, workspace_name"):
        resolve_workspace()


# --- the resolver chain --------------------------------------------------------------------------


def _registry_file(tmp_path, text, name="datastores.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def test_code_registry_beats_the_file_which_beats_arm(arm_server, local_store, tmp_path, monkeypatch):
    other = _write_tree(tmp_path / "other")
    (other / "data" / "one.csv").write_text("a,b\n100,from-file\n")
    registry = _registry_file(tmp_path, f"""\
        workspaces:
          {WS}:
            store: {{type: local, folder: {other}}}
        """)
    monkeypatch.setenv("MLTABLE_LITE_DATASTORES", str(registry))
    arm_server.add_datastore(WORKSPACE, "store", {"datastoreType": "AzureBlob", "accountName": "nope",
                                                  "containerName": "nope", "credentials": {"credentialsType": "None"}})
    options = arm_server.options()
    uri = f"{LONG}/datastores/store/paths/data/one.csv"

    assert resolve_datastore(WORKSPACE, "store", options).folder == str(other)
    register_datastore("store", kind="local", folder=str(local_store), workspace=WS)
    assert resolve_datastore(WORKSPACE, "store", options).folder == str(local_store)
    frame = mltable.load(str(_mltable_pointing_at(tmp_path, uri)), storage_options=options).to_pandas_dataframe()
    assert frame["b"].tolist() == ["x", "y"]
    assert arm_server.requests == []  # ARM was never asked

    unregister_datastore("store", workspace=WS)
    monkeypatch.delenv("MLTABLE_LITE_DATASTORES")
    assert resolve_datastore(WORKSPACE, "store", options).account == "nope"
    assert len(arm_server.requests_to("/datastores/store")) == 1


def _mltable_pointing_at(tmp_path, uri, kind="file"):
    folder = tmp_path / "table"
    folder.mkdir(exist_ok=True)
    (folder / "MLTable").write_text(f"paths:\n- {kind}: {uri}\ntransformations:\n- read_delimited: {{}}\n")
    return folder


def test_workspace_specific_registration_beats_any_workspace(local_store, tmp_path):
    register_datastore("store", kind="local", folder=str(tmp_path), workspace=None)
    register_datastore("store", kind="local", folder=str(local_store), workspace=f"{SUB}/{RG}/{WS}")
    assert resolve_datastore(WORKSPACE, "store").folder == str(local_store)
    assert resolve_datastore(Workspace(SUB, RG, "another"), "store").folder == str(tmp_path)
    assert resolve_datastore(None, "store").folder == str(tmp_path)


def test_short_form_with_an_any_workspace_registration_needs_no_workspace(local_store):
    register_datastore("store", kind="local", folder=str(local_store))
    tbl = mltable.from_delimited_files([{"pattern": "azureml://datastores/store/paths/data/*.csv"}],
                                       include_path_column=True)
    frame = tbl.to_pandas_dataframe()
    assert frame["Path"].tolist() == ["azureml://datastores/store/paths/data/one.csv"] * 2 + [
        "azureml://datastores/store/paths/data/two.csv"]
    assert frame.drop(columns=["Path"]).equals(_expected_frame(CSV_ONE, CSV_TWO))


def test_short_form_unknown_datastore_without_workspace_says_how_to_name_one():
    with pytest.raises(UserErrorException, match="AZUREML_ARM_SUBSCRIPTION"):
        mltable.from_delimited_files([{"file": "azureml://datastores/unknown/paths/a.csv"}]).to_pandas_dataframe()


def test_registry_file_at_the_default_location_with_secrets_from_env(tmp_path, monkeypatch, local_store):
    default = tmp_path / "xdg" / "mltable_lite"
    default.mkdir(parents=True)
    _registry_file(default, f"""\
        datastores:              # for every workspace
          shared: {{type: local, folder: {local_store}}}
        workspaces:
          {SUB}/{RG}/{WS}:
            blobby:
              type: azure_blob
              account: acct
              container: data
              credential: account_key
              account_key_env: TEST_BLOBBY_KEY
            lake:
              type: adls_gen2
              account: acct
              filesystem: fs
              endpoint: core.chinacloudapi.cn
              sas_token_env: TEST_LAKE_SAS
        """)
    monkeypatch.setenv("TEST_BLOBBY_KEY", "c2VjcmV0LWtleS1mcm9tLWVudg==")
    monkeypatch.setenv("TEST_LAKE_SAS", "sv=2024-01-01&sp=rl&sig=c2VjcmV0")
    assert resolve_datastore(None, "shared").folder == str(local_store)
    blobby = resolve_datastore(WORKSPACE, "blobby")
    assert blobby.storage_uri("x/y.csv") == "wasbs://data@acct.blob.core.windows.net/x/y.csv"
    assert blobby.storage_options() == {"account_name": "acct", "blob_endpoint": "https://acct.blob.core.windows.net",
                                        "account_key": "c2VjcmV0LWtleS1mcm9tLWVudg=="}
    assert "c2VjcmV0LWtleS1mcm9tLWVudg==" not in repr(blobby) + str(blobby)
    lake = resolve_datastore(WORKSPACE, "lake")
    assert lake.storage_uri("t") == "abfss://fs@acct.dfs.core.chinacloudapi.cn/t"
    assert lake.storage_options()["sas_token"] == "sv=2024-01-01&sp=rl&sig=c2VjcmV0"
    assert lake.storage_options()["blob_endpoint"] == "https://acct.blob.core.chinacloudapi.cn"
    assert resolve_datastore(Workspace("x", "y", "z"), "shared").kind == "local"


@pytest.mark.parametrize("text, message", [
    ("datastores:\n  s: {type: local, folder: /x, colour: red}\n", "'datastores.s.colour'"),
    ("datastores:\n  s: {type: ftp, folder: /x}\n", "datastores.s: type must be one of"),
    ("datastores:\n  s: {type: azure_blob, account: a}\n", "datastores.s: an azure_blob datastore needs 'container'"),
    ("datastores:\n  s: {type: azure_blob, account: a, container: c, account_key_env: NOT_SET_ANYWHERE}\n",
     "datastores.s.account_key_env: the environment variable NOT_SET_ANYWHERE is not set"),
    ("datastores:\n  s: {type: azure_blob, account: a, container: c, credential: sas}\n",
     "datastores.s.credential is sas but neither sas_token_env nor sas_token is given"),
    ("workspaces: [1, 2]\n", "'workspaces' must be a mapping"),
    ("stores: {}\n", "unknown key 'stores'"),
    ("datastores: {s: [unclosed\n", "cannot be read"),
])
def test_a_bad_registry_file_names_the_file_and_the_key(tmp_path, monkeypatch, text, message):
    path = _registry_file(tmp_path, text)
    monkeypatch.setenv("MLTABLE_LITE_DATASTORES", str(path))
    with pytest.raises(UserErrorException) as caught:
        resolve_datastore(None, "s")
    assert str(path) in str(caught.value)
    assert message in str(caught.value)


def test_a_registry_file_named_by_env_must_exist(tmp_path, monkeypatch):
    monkeypatch.setenv("MLTABLE_LITE_DATASTORES", str(tmp_path / "missing.yaml"))
    with pytest.raises(UserErrorException, match="missing.yaml' named by MLTABLE_LITE_DATASTORES does not exist"):
        resolve_datastore(None, "s")


def test_register_datastore_checks_its_arguments(tmp_path):
    with pytest.raises(UserErrorException, match="give one credential, not account_key and sas"):
        register_datastore("s", account="a", container="c", account_key="a2V5", sas_token="sv=1&sig=x")
    with pytest.raises(UserErrorException, match="needs 'folder'"):
        register_datastore("s", kind="local")
    with pytest.raises(UserErrorException, match="protocol must be 'https' or 'http'"):
        register_datastore("s", account="a", container="c", protocol="ftp")
    from_connection_string = register_datastore(
        "s", container="c", connection_string="DefaultEndpointsProtocol=http;AccountName=devacct;AccountKey=a2V5;"
                                              "BlobEndpoint=http://127.0.0.1:10000/devacct;")
    assert (from_connection_string.account, from_connection_string.blob_endpoint) == (
        "devacct", "http://127.0.0.1:10000/devacct")
    assert "a2V5" not in repr(from_connection_string)


@pytest.mark.parametrize("endpoint, protocol, blob_endpoint", [
    ("core.windows.net", "https", "https://acct.blob.core.windows.net"),
    ("core.usgovcloudapi.net", "https", "https://acct.blob.core.usgovcloudapi.net"),
    ("127.0.0.1:10000", "http", "http://127.0.0.1:10000/acct"),
    ("localhost:10000", "http", "http://localhost:10000/acct"),
    ("[::1]:10000", "http", "http://[::1]:10000/acct"),
])
def test_blob_endpoints_follow_the_azure_sdk_host_rules(endpoint, protocol, blob_endpoint):
    datastore = register_datastore("s", account="acct", container="c", endpoint=endpoint, protocol=protocol)
    assert datastore.blob_endpoint == blob_endpoint
    scheme = "wasbs" if protocol == "https" else "wasb"
    suffix = endpoint if "." in endpoint and not endpoint[0].isdigit() else "core.windows.net"
    assert datastore.storage_uri("p") == f"{scheme}://c@acct.blob.{suffix}/p"


# --- ARM -----------------------------------------------------------------------------------------


def test_arm_resolves_a_datastore_with_its_secret_once_per_process(arm_server):
    arm_server.add_blob_datastore(WORKSPACE, "blobs", account="acct", container="data",
                                  credentials_type="AccountKey", secret="c2VjcmV0a2V5c2VjcmV0a2V5")
    options = arm_server.options()
    first = resolve_datastore(WORKSPACE, "blobs", options)
    assert first == Datastore("blobs", "azure_blob", "acct", "data", "core.windows.net", "https",
                              credential=first.credential)
    assert first.storage_options()["account_key"] == "c2VjcmV0a2V5c2VjcmV0a2V5"
    assert resolve_datastore(WORKSPACE, "blobs", arm_server.options()) == first
    assert [(request.method, request.path.rsplit("/", 1)[-1], request.api_version)
            for request in arm_server.requests] == [("GET", "blobs", "2024-04-01"),
                                                    ("POST", "listSecrets", "2024-04-01")]
    clear_datastore_cache()
    resolve_datastore(WORKSPACE, "blobs", options)
    assert len(arm_server.requests) == 4


def test_arm_sas_adls_and_identity_datastores(arm_server):
    arm_server.add_blob_datastore(WORKSPACE, "lake", account="acct", container="fs", credentials_type="Sas",
                                  secret="?sv=2024-01-01&sp=rl&sig=abcSECRETdef", adls_gen2=True)
    arm_server.add_blob_datastore(WORKSPACE, "identity", account="acct", container="c", credentials_type="None")
    credential = arm_server.credential()
    options = {"credential": credential, "arm_endpoint": arm_server.endpoint}
    lake = resolve_datastore(WORKSPACE, "lake", options)
    assert lake.storage_uri("t/x.parquet") == "abfss://fs@acct.dfs.core.windows.net/t/x.parquet"
    assert lake.storage_options()["sas_token"] == "sv=2024-01-01&sp=rl&sig=abcSECRETdef"
    identity = resolve_datastore(WORKSPACE, "identity", options)
    assert identity.credential.kind == "identity"
    assert not arm_server.requests_to("/identity/listSecrets")
    from mltable_lite.storage.azureml_store import inner_storage_options

    # Identity-based: no secret, and the caller's own credential goes to the storage too.
    assert inner_storage_options(identity, options) == {"account_name": "acct", "credential": credential,
                                                        "blob_endpoint": "https://acct.blob.core.windows.net"}
    assert credential.scopes[0] == (f"{arm_server.endpoint}/.default",)


def test_ml_client_gives_the_workspace_and_the_credential(arm_server, local_store):
    class MLClient:  # duck-typed like azure.ai.ml.MLClient
        subscription_id, resource_group_name, workspace_name = SUB, RG, WS

        def __init__(self, credential):
            self._credential = credential

    credential = arm_server.credential()
    register_datastore("store", kind="local", folder=str(local_store))
    arm_server.add_data_asset(WORKSPACE, "sales", "4", "azureml://datastores/store/paths/mltable_folder")
    options = {"ml_client": MLClient(credential), "arm_endpoint": arm_server.endpoint}
    assert resolve_load_uri("azureml:sales:4", options) == f"{LONG}/datastores/store/paths/mltable_folder"
    assert len(credential.scopes) == 1


def test_a_missing_datastore_names_it_and_the_workspace(arm_server):
    with pytest.raises(UserErrorException) as caught:
        mltable.load(f"{LONG}/datastores/nosuchstore/paths/folder", storage_options=arm_server.options())
    message = str(caught.value)
    assert "datastore 'nosuchstore' does not exist in workspace 'ws-main'" in message
    assert SUB in message and RG in message
    assert arm_server.token not in message


def test_permission_errors_name_the_role(arm_server):
    arm_server.add_blob_datastore(WORKSPACE, "locked", account="acct", container="c",
                                  credentials_type="AccountKey", secret="a2V5")
    arm_server.forbid("secrets", WORKSPACE, "locked")
    with pytest.raises(UserErrorException) as caught:
        resolve_datastore(WORKSPACE, "locked", arm_server.options())
    message = str(caught.value)
    assert "Permission denied (HTTP 403)" in message and "listsecrets" in message
    assert "'AzureML Data Scientist'" in message and "'Reader' is not enough" in message
    assert "AuthorizationFailed" in message


def test_a_wrong_token_is_a_401_with_a_clear_message(arm_server):
    from servers.arm_server import StaticTokenCredential

    options = {"credential": StaticTokenCredential("not-the-token"), "arm_endpoint": arm_server.endpoint}
    with pytest.raises(UserErrorException) as caught:
        resolve_datastore(WORKSPACE, "any", options)
    assert "Permission denied (HTTP 401)" in str(caught.value)
    assert "InvalidAuthenticationToken" in str(caught.value)
    assert "not-the-token" not in str(caught.value)


def test_a_credential_that_fails_and_an_unreachable_endpoint(arm_server):
    class Failing:
        def get_token(self, *scopes, **kwargs):
            raise RuntimeError("no account signed in; run az login")

    with pytest.raises(UserErrorException, match="Cannot get an Azure token.*az login"):
        resolve_datastore(WORKSPACE, "any", {"credential": Failing(), "arm_endpoint": arm_server.endpoint})
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    with pytest.raises(UserErrorException, match=f"Cannot reach the Azure ML control plane at {closed}"):
        resolve_datastore(WORKSPACE, "any", {"credential": arm_server.credential(), "arm_endpoint": closed})


def test_arm_endpoint_from_env_and_default_credential(arm_server, monkeypatch, local_store):
    monkeypatch.setenv("MLTABLE_LITE_ARM_ENDPOINT", arm_server.endpoint)
    set_default_credential(arm_server.credential())
    arm_server.add_data_asset(WORKSPACE, "iris", "1", f"{LONG}/datastores/store/paths/data/one.csv", "uri_file")
    register_datastore("store", kind="local", folder=str(local_store))
    tbl = mltable.from_delimited_files([{"file": f"{LONG}/data/iris/versions/1"}], include_path_column=True)
    frame = tbl.to_pandas_dataframe()
    assert frame["Path"].tolist() == [f"{LONG}/datastores/store/paths/data/one.csv"] * 2
    assert _without_path(frame).equals(_expected_frame(CSV_ONE))


def test_unsupported_datastore_types_are_named(arm_server):
    arm_server.add_datastore(WORKSPACE, "files", {"datastoreType": "AzureFile", "accountName": "a",
                                                  "fileShareName": "s", "credentials": {"credentialsType": "None"}})
    with pytest.raises(UserErrorException, match="is of type AzureFile; mltable_lite reads AzureBlob"):
        resolve_datastore(WORKSPACE, "files", arm_server.options())


# --- data assets in load() -----------------------------------------------------------------------


def test_resolve_load_uri_leaves_other_uris_alone():
    for uri in ("./folder", "/abs/folder", "https://host/x", f"{LONG}/datastores/s/paths/f"):
        assert resolve_load_uri(uri, None) == uri


def test_load_a_data_asset_by_name_and_version(arm_server, local_store):
    register_datastore("store", kind="local", folder=str(local_store))
    arm_server.add_data_asset(WORKSPACE, "sales", "1", "azureml://datastores/store/paths/mltable_folder/")
    arm_server.add_data_asset(WORKSPACE, "sales", "2", "azureml://datastores/store/paths/data/", "uri_folder")
    arm_server.add_data_asset(WORKSPACE, "one", "1", "azureml://datastores/store/paths/data/one.csv", "uri_file")
    options = arm_server.options(subscription=SUB, resource_group=RG, workspace=WS)

    resolved = resolve_load_uri("azureml:sales:1", options)
    assert resolved == f"{LONG}/datastores/store/paths/mltable_folder"  # in its workspace's long form
    frame = mltable.load(resolved, storage_options=options).to_pandas_dataframe()
    assert _without_path(frame).equals(_expected_frame(CSV_ONE, CSV_TWO))
    assert frame["Path"].tolist()[-1] == f"{LONG}/datastores/store/paths/mltable_folder/part2.csv"
    assert resolve_load_uri("azureml:sales@latest", options) == f"{LONG}/datastores/store/paths/data"
    resolve_load_uri("azureml:sales:1", options)
    assert len(arm_server.requests_to("/data/sales/versions/1")) == 1  # versions are immutable: asked once
    assert resolve_load_uri(f"{LONG}/data/sales/versions/2", arm_server.options()).endswith("/paths/data")
    with pytest.raises(UserErrorException, match="is a uri_file"):
        resolve_load_uri("azureml:one:1", options)
    with pytest.raises(UserErrorException, match="data asset 'sales' version 9 does not exist in workspace 'ws-main'"):
        resolve_load_uri("azureml:sales:9", options)


def _load_resolves_assets() -> bool:
    import inspect

    from mltable_lite import loading

    return "resolve_load_uri" in inspect.getsource(loading)


@pytest.mark.skipif(not _load_resolves_assets(), reason="loading.load_plan does not call resolve_load_uri yet")
def test_load_takes_data_asset_uris(arm_server, local_store, monkeypatch):
    register_datastore("store", kind="local", folder=str(local_store))
    arm_server.add_data_asset(WORKSPACE, "sales", "1", "azureml://datastores/store/paths/mltable_folder")
    for name, value in zip(WORKSPACE_ENV, (SUB, RG, WS)):
        monkeypatch.setenv(name, value)
    for uri in ("azureml:sales:1", f"{LONG}/data/sales/versions/1", "azureml:sales@latest"):
        frame = mltable.load(uri, storage_options=arm_server.options()).to_pandas_dataframe()
        assert _without_path(frame).equals(_expected_frame(CSV_ONE, CSV_TWO))


# --- the store on Azurite, resolved through ARM --------------------------------------------------


def test_arm_datastore_on_azurite_reads_like_the_local_files(arm_blob, azurite_store, tmp_path):
    options = arm_blob.options()
    pattern = f"{LONG}/datastores/store/paths/data/*.csv"
    tbl = mltable.load(str(_mltable_pointing_at(tmp_path, pattern, "pattern")),
                       storage_options=options)
    local = mltable.from_delimited_files([{"pattern": str(azurite_store / "data" / "*.csv")}]).to_pandas_dataframe()
    assert tbl.to_pandas_dataframe().equals(local)

    set_default_credential(arm_blob.credential())  # builders take no options: the process default
    os.environ["MLTABLE_LITE_ARM_ENDPOINT"] = arm_blob.endpoint
    try:
        built = mltable.from_delimited_files([{"pattern": pattern}], include_path_column=True)
        frame = built.to_pandas_dataframe()
    finally:
        del os.environ["MLTABLE_LITE_ARM_ENDPOINT"]
    assert _without_path(frame).equals(local)
    assert frame["Path"].tolist() == [f"{LONG}/datastores/store/paths/data/one.csv"] * 2 + [
        f"{LONG}/datastores/store/paths/data/two.csv"]
    assert len(arm_blob.requests_to("/datastores/store")) == 2  # GET + listSecrets, once for the process


def test_short_form_on_azurite_with_the_workspace_from_env(arm_blob, monkeypatch):
    for name, value in zip(WORKSPACE_ENV, (SUB, RG, WS)):
        monkeypatch.setenv(name, value)
    store = open_store("azureml://datastores/store/paths/data", arm_blob.options())
    assert isinstance(store, AzureMLStore) and store.remote
    found = [store.uri_of(path) for path, _ in store.find(store.path_of("azureml://datastores/store/paths/data"))]
    assert found == ["azureml://datastores/store/paths/data/deeper/three.csv",
                     "azureml://datastores/store/paths/data/one.csv", "azureml://datastores/store/paths/data/two.csv"]
    with store.open_input(store.path_of("azureml://datastores/store/paths/data/two.csv")) as handle:
        assert handle.read().decode() == CSV_TWO


def test_load_an_mltable_folder_on_azurite(arm_blob):
    folder = f"{LONG}/datastores/store/paths/mltable_folder"
    frame = mltable.load(folder, storage_options=arm_blob.options()).to_pandas_dataframe()
    assert _without_path(frame).equals(_expected_frame(CSV_ONE, CSV_TWO))
    assert frame["Path"].tolist() == [f"{folder}/part1.csv"] * 2 + [f"{folder}/part2.csv"]


def test_load_a_data_asset_on_azurite(arm_blob):
    arm_blob.add_data_asset(WORKSPACE, "sales", "1", f"{LONG}/datastores/store/paths/mltable_folder/")
    options = arm_blob.options(subscription=SUB, resource_group=RG, workspace=WS)
    frame = mltable.load(resolve_load_uri("azureml:sales:1", options), storage_options=options).to_pandas_dataframe()
    assert _without_path(frame).equals(_expected_frame(CSV_ONE, CSV_TWO))


def test_parquet_through_the_arrow_filesystem_on_azurite(arm_blob, tmp_path):
    uri = f"{LONG}/datastores/store/paths/parquet/*.parquet"
    tbl = mltable.load(str(_mltable_pointing_at_parquet(tmp_path, uri)), storage_options=arm_blob.options())
    frame = tbl.to_pandas_dataframe()
    assert frame["n"].tolist() == [1, 2, 3] and frame["s"].tolist() == ["p", "q", "r"]


def _mltable_pointing_at_parquet(tmp_path, pattern):
    folder = tmp_path / "parquet_table"
    folder.mkdir()
    (folder / "MLTable").write_text(f"paths:\n- pattern: {pattern}\ntransformations:\n- read_parquet: {{}}\n")
    return folder


def test_a_sas_datastore_on_azurite(arm_server, azurite, azurite_store):
    sas = azurite.sas_token(ACCOUNT, CONTAINER)
    arm_server.add_blob_datastore(WORKSPACE, "sasstore", account=ACCOUNT, container=CONTAINER,
                                  endpoint=f"127.0.0.1:{azurite.port}", protocol="http",
                                  credentials_type="Sas", secret=sas)
    frame = mltable.load(f"{LONG}/datastores/sasstore/paths/mltable_folder",
                         storage_options=arm_server.options()).to_pandas_dataframe()
    assert len(frame) == 3


# --- the fsspec filesystem -----------------------------------------------------------------------


def test_filesystem_on_a_local_datastore(local_store):
    register_datastore("store", kind="local", folder=str(local_store), workspace=WS)
    fs = AzureMachineLearningFileSystem(f"{LONG}/datastore/store")
    assert AzureMLFileSystem is AzureMachineLearningFileSystem
    assert fs.ls() == ["data", "mltable_folder", "parquet"]
    assert fs.ls("data") == ["data/deeper", "data/one.csv", "data/two.csv"]
    assert [entry["type"] for entry in fs.ls("/data/", detail=True)] == ["directory", "file", "file"]
    assert fs.glob("/data/*.csv") == ["data/one.csv", "data/two.csv"]
    assert fs.glob("data/**/*.csv") == ["data/deeper/three.csv", "data/one.csv", "data/two.csv"]
    assert fs.find("data") == ["data/deeper/three.csv", "data/one.csv", "data/two.csv"]
    assert fs.exists("./data/one.csv") and not fs.exists("data/nope.csv") and fs.isdir("data")
    assert fs.info("data/one.csv")["name"] == "data/one.csv"
    assert fs.info("data/one.csv")["size"] == len(CSV_ONE)
    with fs.open("./data/one.csv") as handle:
        assert pd.read_csv(handle).equals(_expected_frame(CSV_ONE))
    with fs.open("data/one.csv", "r") as handle:
        assert handle.read() == CSV_ONE
    assert fs.cat_file("data/two.csv") == CSV_TWO.encode()
    assert fs.cat_file(f"{LONG}/datastores/store/paths/data/two.csv", start=0, end=3) == b"a,b"
    assert fs.unstrip_protocol("data/one.csv") == f"{LONG}/datastore/store/paths/data/one.csv"


def test_filesystem_strips_full_uris_and_relative_spellings():
    strip = AzureMachineLearningFileSystem._strip_protocol
    assert strip(f"{LONG}/datastores/store/paths/a/b.csv") == "a/b.csv"
    assert strip("azureml://datastores/store/paths/a/") == "a"
    assert strip("./a/b.csv") == strip("/a/b.csv") == "a/b.csv"
    assert strip(".") == strip("/") == strip("") == ""
    assert AzureMachineLearningFileSystem._get_kwargs_from_urls(f"{LONG}/datastores/store/paths/a") == {
        "uri": f"{LONG}/datastores/store"}


def test_fsspec_open_and_pandas_read_csv(local_store, azureml_protocol):
    register_datastore("store", kind="local", folder=str(local_store))
    uri = f"{LONG}/datastores/store/paths/data/one.csv"
    with fsspec.open(uri, "rt") as handle:
        assert handle.read() == CSV_ONE
    fs = fsspec.filesystem("azureml", uri="azureml://datastores/store")
    assert fs.glob("data/*.csv") == ["data/one.csv", "data/two.csv"]
    assert pd.read_csv(uri).equals(_expected_frame(CSV_ONE))
    assert pd.read_csv("azureml://datastores/store/paths/data/two.csv", storage_options={}).equals(
        _expected_frame(CSV_TWO))


def test_filesystem_on_azurite_through_arm(arm_blob, azureml_protocol):
    options = arm_blob.options()
    fs = AzureMachineLearningFileSystem(f"{LONG}/datastores/store", **options)
    assert fs.ls() == ["data", "mltable_folder", "parquet"]
    assert fs.glob("/data/*.csv") == ["data/one.csv", "data/two.csv"]
    assert fs.exists("data/one.csv") and not fs.exists("data/nope.csv")
    assert fs.info("data/two.csv")["size"] == len(CSV_TWO)
    with fs.open("data/one.csv") as handle:
        assert handle.read().decode() == CSV_ONE
    frame = pd.read_csv(f"{LONG}/datastores/store/paths/data/two.csv", storage_options=options)
    assert frame.equals(_expected_frame(CSV_TWO))


def test_filesystem_needs_a_datastore():
    with pytest.raises(UserErrorException, match="needs a datastore"):
        AzureMachineLearningFileSystem()
    with pytest.raises(UserErrorException, match="not the data asset"):
        AzureMachineLearningFileSystem("azureml:iris:1")


# --- secrets never shown -------------------------------------------------------------------------


def test_secrets_appear_in_no_repr_str_or_error(arm_server, azurite, azurite_store):
    key = azurite.account_key(ACCOUNT)
    sas = azurite.sas_token(ACCOUNT, CONTAINER)
    arm_server.add_blob_datastore(WORKSPACE, "store", account=ACCOUNT, container=CONTAINER,
                                  endpoint=f"127.0.0.1:{azurite.port}", protocol="http",
                                  credentials_type="AccountKey", secret=key)
    arm_server.add_blob_datastore(WORKSPACE, "sasstore", account=ACCOUNT, container=CONTAINER,
                                  endpoint=f"127.0.0.1:{azurite.port}", protocol="http",
                                  credentials_type="Sas", secret=sas)
    options = arm_server.options()
    shown = []
    for name in ("store", "sasstore"):
        folder = f"{LONG}/datastores/{name}/paths/mltable_folder"
        tbl = mltable.load(folder, storage_options=options)
        tbl.to_pandas_dataframe()
        store = open_store(folder, options)
        datastore = resolve_datastore(WORKSPACE, name, options)
        fs = AzureMachineLearningFileSystem(f"{LONG}/datastores/{name}", **options)
        shown += [repr(tbl), str(tbl), repr(store), str(store), repr(store.inner), repr(datastore), str(datastore),
                  repr(datastore.credential), repr(fs), str(fs), repr(tbl.paths)]
        for failing in (lambda: mltable.load(f"{LONG}/datastores/{name}/paths/nope", storage_options=options),
                        lambda: fs.info("no/such.csv"),
                        lambda: fs.open("no/such.csv").read()):
            try:
                failing()
            except Exception as error:  # noqa: BLE001 — every error's text is checked below
                shown.append(f"{type(error).__name__}: {error}")
    wrong_key = "d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXktd3Jvbmcta2V5LXdyb25nLWtleQ=="
    arm_server.add_blob_datastore(WORKSPACE, "wrongkey", account=ACCOUNT, container=CONTAINER,
                                  endpoint=f"127.0.0.1:{azurite.port}", protocol="http",
                                  credentials_type="AccountKey", secret=wrong_key)
    with pytest.raises(UserErrorException) as caught:
        mltable.load(f"{LONG}/datastores/wrongkey/paths/mltable_folder", storage_options=options)
    shown.append(str(caught.value))
    arm_server.forbid("secrets", WORKSPACE, "locked")
    arm_server.add_blob_datastore(WORKSPACE, "locked", account=ACCOUNT, container=CONTAINER,
                                  credentials_type="AccountKey", secret=key)
    with pytest.raises(UserErrorException) as caught:
        resolve_datastore(WORKSPACE, "locked", options)
    shown.append(str(caught.value))
    text = "\n".join(shown)
    for happened in ("Not able to find MLTable", "No such file", "Access denied", "Permission denied (HTTP 403)"):
        assert happened in text
    signature = sas.split("sig=", 1)[1].split("&", 1)[0]
    for secret in (key, wrong_key, sas, signature, arm_server.token):
        assert secret not in text


def test_importing_mltable_lite_imports_none_of_this():
    code = ("import sys, mltable_lite; print(sorted(m for m in sys.modules if m.split('.')[-1] in "
            "('azureml', 'arm', 'datastores', 'azureml_store', 'azureml_fs')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
