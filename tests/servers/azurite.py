"""Azurite, the Azure Storage emulator, as a session fixture: a real blob service on 127.0.0.1.

``azurite-blob`` (npm, pinned in ``tests/azurite/package.json``) starts once per test session on a
free port with two accounts, ``mltablelite`` and ``mltablepublic``, and stops at the end. Without
the binary, tests that use it are skipped locally (with the install command) and fail on CI.

Example:
    def test_read(azurite, tmp_path):
        azurite.create_container("mltablelite", "data")
        azurite.upload_folder("mltablelite", "data", tmp_path, prefix="csv")
        options = {"connection_string": azurite.connection_string("mltablelite")}
        store = open_store("wasbs://data@mltablelite.blob.core.windows.net/csv", options)
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
import queue
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

__all__ = ["azurite", "Azurite", "ACCOUNTS"]

AZURITE_DIR = Path(__file__).resolve().parent.parent / "azurite"
BINARY = AZURITE_DIR / "node_modules" / ".bin" / "azurite-blob"
INSTALL = "cd tests/azurite && npm ci --ignore-scripts"
START_TIMEOUT = 60.0
# Realistic account names; keys are 64 random-looking bytes, base64, like Azure's.
ACCOUNTS = {name: base64.b64encode(hashlib.sha512(f"{name}-test-key".encode()).digest()).decode()
            for name in ("mltablelite", "mltablepublic")}
_LISTENING = re.compile(r"Azurite Blob service successfully listens on http://127\.0\.0\.1:(\d+)")


class Azurite:
    """A running ``azurite-blob``: endpoints, credentials and helpers that put data in it."""

    def __init__(self, process: subprocess.Popen, port: int, location: str):
        self.process = process
        self.port = port
        self.location = location

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def blob_endpoint(self, account: str) -> str:
        """The account's blob service URL (path style): ``http://127.0.0.1:<port>/<account>``."""
        return f"{self.endpoint}/{account}"

    def account_key(self, account: str) -> str:
        return ACCOUNTS[account]

    def connection_string(self, account: str) -> str:
        return (f"DefaultEndpointsProtocol=http;AccountName={account};AccountKey={ACCOUNTS[account]};"
                f"BlobEndpoint={self.blob_endpoint(account)};")

    def service(self, account: str):
        from azure.storage.blob import BlobServiceClient

        return BlobServiceClient.from_connection_string(self.connection_string(account))

    def create_container(self, account: str, name: str, public_access: str | None = None):
        """Create the container (or keep the one there); ``public_access='container'`` makes it
        readable anonymously. Returns its ``ContainerClient``."""
        from azure.core.exceptions import ResourceExistsError

        client = self.service(account).get_container_client(name)
        try:
            client.create_container(public_access=public_access)
        except ResourceExistsError:
            client.set_container_access_policy(signed_identifiers={}, public_access=public_access)
        return client

    def upload_bytes(self, account: str, container: str, name: str, data: bytes) -> None:
        self.service(account).get_blob_client(container, name).upload_blob(data, overwrite=True)

    def upload_folder(self, account: str, container: str, folder, prefix: str = "") -> list[str]:
        """Upload every file below ``folder`` to ``<container>/<prefix>/<relative path>``, on threads."""
        from concurrent.futures import ThreadPoolExecutor

        client = self.service(account).get_container_client(container)
        root = Path(folder)
        files = sorted(path for path in root.rglob("*") if path.is_file())
        names = ["/".join(filter(None, [prefix.strip("/"), path.relative_to(root).as_posix()])) for path in files]

        def upload(item):
            path, name = item
            with open(path, "rb") as handle:
                client.upload_blob(name, handle, overwrite=True)

        with ThreadPoolExecutor(max_workers=16) as pool:
            list(pool.map(upload, zip(files, names)))
        return names

    def sas_token(self, account: str, container: str, permission: str = "rl", hours: float = 1.0) -> str:
        """A container SAS (``generate_container_sas``), ``r``ead and ``l``ist by default."""
        from azure.storage.blob import ContainerSasPermissions, generate_container_sas

        return generate_container_sas(
            account_name=account, container_name=container, account_key=ACCOUNTS[account],
            permission=ContainerSasPermissions.from_string(permission),
            start=dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5),
            expiry=dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=hours))


def _start(location: str) -> Azurite:
    env = dict(os.environ, AZURITE_ACCOUNTS=";".join(f"{name}:{key}" for name, key in ACCOUNTS.items()))
    process = subprocess.Popen(
        [str(BINARY), "--blobHost", "127.0.0.1", "--blobPort", "0", "--location", location, "--silent",
         "--disableTelemetry", "--skipApiVersionCheck", "--loose"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True,
        start_new_session=True)
    lines: queue.Queue = queue.Queue()

    def pump():  # read the log for the port, then keep draining it so Azurite never blocks
        with process.stdout:
            for line in process.stdout:
                lines.put(line)
        lines.put(None)

    process.pump = threading.Thread(target=pump, daemon=True, name="azurite-log")
    process.pump.start()
    seen: list[str] = []
    deadline = time.monotonic() + START_TIMEOUT
    try:
        while True:
            try:
                line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                line = None
            if line is None or time.monotonic() > deadline:
                raise RuntimeError("Azurite did not start: " + "".join(seen[-20:]))
            seen.append(line)
            match = _LISTENING.search(line)
            if match:
                server = Azurite(process, int(match.group(1)), location)
                _wait_ready(server, deadline)
                return server
    except BaseException:
        _stop(process)
        raise


def _wait_ready(server: Azurite, deadline: float) -> None:
    """Poll with a real, authenticated request until the blob service answers."""
    last = None
    while time.monotonic() < deadline:
        try:
            list(server.service("mltablelite").list_containers(results_per_page=1))
            return
        except Exception as error:  # noqa: BLE001 — not up yet; retried until the deadline
            last = error
            time.sleep(0.1)
    raise RuntimeError(f"Azurite did not answer on {server.endpoint}: {last!r}")


def _stop(process: subprocess.Popen) -> None:
    """Stop Azurite by its PID: SIGTERM, then SIGKILL if it is still there after 10 s."""
    if process.poll() is None:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
    pump = getattr(process, "pump", None)
    if pump is not None:
        pump.join(timeout=5)  # it closes the log pipe at its end


@pytest.fixture(scope="session")
def azurite():
    """The session's Azurite blob service (see the module doc)."""
    if not BINARY.exists() or shutil.which("node") is None:
        message = f"Azurite is not installed ({BINARY}); install it with: {INSTALL}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    location = tempfile.mkdtemp(prefix="mltable_lite_azurite_")
    try:
        server = _start(location)
        try:
            yield server
        finally:
            _stop(server.process)
    finally:
        shutil.rmtree(location, ignore_errors=True)
