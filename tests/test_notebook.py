"""``examples/walkthrough.ipynb`` runs from top to bottom in a real Jupyter kernel (nbclient):
load from an ``azureml://`` datastore URI, filter, sample, look, write back.

The datastore ``workspaceblobstore`` is described by a registry file (``MLTABLE_LITE_DATASTORES``)
pointing at a container on Azurite holding ``examples/``, with the connection string in an
environment variable, as a user without an Azure ML workspace would set it up.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "examples" / "walkthrough.ipynb"


@pytest.fixture
def datastore(azurite, tmp_path, monkeypatch):
    account = "mltablelite"
    azurite.create_container(account, "walkthrough")
    azurite.upload_folder(account, "walkthrough", ROOT / "examples")
    registry = tmp_path / "datastores.yaml"
    registry.write_text(json.dumps({"datastores": {"workspaceblobstore": {
        "type": "azure_blob", "account": account, "container": "walkthrough",
        "endpoint": f"127.0.0.1:{azurite.port}", "protocol": "http",
        "credential": "connection_string", "connection_string_env": "WALKTHROUGH_STORAGE"}}}))
    # The kernel is a child process: it inherits these.
    monkeypatch.setenv("MLTABLE_LITE_DATASTORES", str(registry))
    monkeypatch.setenv("WALKTHROUGH_STORAGE", azurite.connection_string(account))
    return azurite.service(account).get_container_client("walkthrough")


def test_the_walkthrough_notebook_runs(datastore, tmp_path):
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(NOTEBOOK, as_version=4)
    assert not any(cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code"), \
        "commit the notebook without outputs"

    NotebookClient(notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
                   ).execute()

    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    assert not [output for output in outputs if output.output_type == "error"]
    html = [output["data"]["text/html"] for output in outputs if "text/html" in output.get("data", {})]
    assert any('class="mltable-lite"' in page and "azureml://datastores/workspaceblobstore/paths/data/trips/*.csv" in page
               for page in html)
    streams = "".join(output.get("text", "") for output in outputs if output.output_type == "stream")
    assert "reading" in streams and "100%" in streams            # show_progress=True drew its bar
    written = [blob.name for blob in datastore.list_blobs(name_starts_with="outputs/long_trips/")]
    assert "outputs/long_trips/MLTable" in written and any(name.endswith(".parquet") for name in written)
