"""The documentation site: it builds with MkDocs in strict mode (a warning, a broken link or a page
left out of the navigation fails), and every ```python example in ``docs/`` runs as written.

Examples run page by page, in order, in one namespace per page, from a fresh folder holding a copy
of ``examples/``, in the world the pages describe:

* ``http://localhost:8000/`` is a real HTTP server serving that copy (the pages start one with
  ``python -m http.server 8000``);
* ``wasbs://examples@mltablelite.blob.core.windows.net/`` is Azurite, holding the same files, with
  ``AZURE_STORAGE_CONNECTION_STRING`` set as on a machine configured for that account;
* an Azure ML workspace (the ARM look-alike) named by the ``AZUREML_ARM_*`` variables, as on Azure
  ML compute, whose ``workspaceblobstore`` datastore is that container and whose ``trips`` data
  asset (version 1) is the MLTable in ``trips/``.
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

import pytest

import mltable_lite
from servers.http_server import serve_folder

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = sorted(path.name for path in DOCS.glob("*.md"))
_FENCE = re.compile(r"^```python[^\n]*\n(.*?)^```[ \t]*$", re.S | re.M)
WORKSPACE = ("6560575d-fa06-4e7d-95fb-f962e74efd7a", "rg-ml", "docs-ws")
HTTP_PLACEHOLDER = "http://localhost:8000/"


def python_blocks(text: str) -> list[tuple[int, str]]:
    """Every ```python block of a page as ``(line of its first code line, code)``."""
    return [(text.count("\n", 0, match.start(1)) + 1, match.group(1)) for match in _FENCE.finditer(text)]


def run_page(name: str, text: str, substitutions: dict[str, str]) -> None:
    """Run a page's examples in order in one namespace; a failure names the page and line."""
    namespace: dict = {"__name__": "__docs__"}
    for line, code in python_blocks(text):
        for placeholder, value in substitutions.items():
            code = code.replace(placeholder, value)
        try:
            exec(compile(code, f"{name}:{line}", "exec"), namespace)
        except Exception as error:
            raise AssertionError(f"the example at {name} line {line} failed: {type(error).__name__}: {error}\n"
                                 f"{code}") from error


# --- the build ----------------------------------------------------------------------------------


def build(config_folder: Path, site: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
                          cwd=config_folder, capture_output=True, text=True, timeout=300)


def test_the_site_builds_in_strict_mode(tmp_path):
    result = build(ROOT, tmp_path / "site")
    assert result.returncode == 0, result.stderr
    built = {path.relative_to(tmp_path / "site").as_posix() for path in (tmp_path / "site").rglob("index.html")}
    for page in PAGES:
        assert (page[:-3] + "/index.html" if page != "index.md" else "index.html") in built, page
    assert "format/index.html" in built and "api/index.html" in built
    api = (tmp_path / "site" / "api" / "index.html").read_text()
    assert "collect_schema" in api and "from_delimited_files" in api


def test_a_broken_link_fails_the_build(tmp_path):
    copy = tmp_path / "repo"
    copy.mkdir()
    for name in ("mkdocs.yml", "docs_hooks.py"):
        shutil.copy(ROOT / name, copy / name)
    shutil.copytree(DOCS, copy / "docs")
    shutil.copytree(ROOT / "specs", copy / "specs")
    shutil.copytree(ROOT / "mltable_lite", copy / "mltable_lite", ignore=shutil.ignore_patterns("__pycache__"))
    page = copy / "docs" / "filters.md"
    page.write_text(page.read_text() + "\nSee [the missing page](no-such-page.md).\n")

    result = build(copy, tmp_path / "site")

    assert result.returncode != 0
    assert "no-such-page.md" in result.stderr


# --- the examples -------------------------------------------------------------------------------


def test_a_failing_example_is_reported_with_its_page_and_line():
    page = "Intro\n\n```python\nvalue = 1\n```\n\n```python\nassert value == 2\n```\n"
    with pytest.raises(AssertionError, match="the example at intro.md line 8 failed"):
        run_page("intro.md", page, {})


@pytest.fixture(scope="module")
def world(tmp_path_factory, azurite, arm_server_session):
    """The servers and data the pages' examples use (see the module docstring)."""
    served_folder = tmp_path_factory.mktemp("docs_served")
    shutil.copytree(ROOT / "examples", served_folder / "examples")
    account = "mltablelite"
    azurite.create_container(account, "examples")
    azurite.upload_folder(account, "examples", ROOT / "examples")
    arm = arm_server_session
    arm.reset()
    arm.add_blob_datastore(WORKSPACE, "workspaceblobstore", account=account, container="examples",
                           endpoint=f"127.0.0.1:{azurite.port}", protocol="http", secret=azurite.account_key(account))
    arm.add_data_asset(WORKSPACE, "trips", "1", "azureml://datastores/workspaceblobstore/paths/trips/")
    environment = {
        "AZURE_STORAGE_CONNECTION_STRING": azurite.connection_string(account),
        "MLTABLE_LITE_ARM_ENDPOINT": arm.endpoint,
        "AZUREML_ARM_SUBSCRIPTION": WORKSPACE[0], "AZUREML_ARM_RESOURCEGROUP": WORKSPACE[1],
        "AZUREML_ARM_WORKSPACE_NAME": WORKSPACE[2],
        "XDG_CONFIG_HOME": str(served_folder / "config"),   # no datastore registry file of the machine's
    }
    with ExitStack() as stack:
        served = stack.enter_context(serve_folder(str(served_folder)))
        yield {"environment": environment, "http": served.url, "credential": arm.credential()}
    arm.reset()


@pytest.mark.parametrize("page", PAGES)
def test_every_example_in_the_docs_runs(page, world, tmp_path, monkeypatch):
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    for name, value in world["environment"].items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("MLTABLE_LITE_DATASTORES", raising=False)
    mltable_lite.clear_datastore_cache()
    mltable_lite.set_default_credential(world["credential"])
    # Pages configure logging as a user would; the tests after them must not inherit it.
    handlers, level = logging.root.handlers[:], logging.getLogger("mltable_lite").level
    try:
        run_page(page, (DOCS / page).read_text(encoding="utf-8"), {HTTP_PLACEHOLDER: world["http"]})
    finally:
        logging.root.handlers[:] = handlers
        logging.getLogger("mltable_lite").setLevel(level)
        mltable_lite.set_default_credential(None)
        mltable_lite.clear_datastore_cache()
