"""A throw-away Azurite blob server on 127.0.0.1, holding the small CSV files of the Azure workloads.

Azurite (the Azure Storage emulator) is installed by ``tests/azurite/package.json``. The server
listens on a free port chosen by the OS, stores its blobs in a temporary folder, and is stopped
(and the folder deleted) when the ``with`` block ends. Optionally the readers reach it through
``_latency_proxy.py``, which delays every request to emulate a network round trip.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

REPO = Path(__file__).resolve().parent.parent
AZURITE_BLOB = REPO / "tests" / "azurite" / "node_modules" / ".bin" / "azurite-blob"
COUNTING_PROXY = REPO / "tests" / "servers" / "fault_proxy.py"
ACCOUNT = "devstoreaccount1"
# Azurite's documented, public development key: not a secret.
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
CONTAINER = "bench"
FOLDER = "small"
BIG_FOLDER = "big"
URI = f"wasbs://{CONTAINER}@{ACCOUNT}.blob.core.windows.net/{FOLDER}"
_LISTENING = re.compile(r"successfully listens on http://127\.0\.0\.1:(\d+)")
_PROXY_LISTENING = re.compile(r"listening on (\d+)")


def connection_string(port: int) -> str:
    return (f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
            f"BlobEndpoint=http://127.0.0.1:{port}/{ACCOUNT};")


def unavailable() -> str | None:
    """Why the Azure workload cannot run here, or None."""
    if not AZURITE_BLOB.exists():
        return f"Azurite is not installed ({AZURITE_BLOB.relative_to(REPO)}; `npm ci` in tests/azurite)"
    if shutil.which("node") is None:
        return "node is not installed (Azurite needs it)"
    try:
        import azure.storage.blob  # noqa: F401
    except ImportError:
        return "azure-storage-blob is not installed (needed to upload the files)"
    return None


@dataclass
class Services:
    """A running Azurite with the benchmark's files: the connection string readers use (through
    the latency proxy, if any), and one through the counting proxy, whose requests :meth:`counts`
    reads (and resets)."""

    connection: str
    counting_connection: str
    counts_url: str

    def counts(self) -> dict:
        with urllib.request.urlopen(self.counts_url, timeout=30) as answer:
            return json.load(answer)


@contextlib.contextmanager
def azurite_with_files(local_folder: Path, latency_ms: float = 0, startup_timeout: float = 60,
                       big_folder: Path | None = None) -> Iterator[str]:
    """Start Azurite, upload every file of ``local_folder`` under ``bench/small/`` (and of
    ``big_folder``, if given, under ``bench/big/``); yield the connection string the readers use
    (through a latency proxy when ``latency_ms`` > 0)."""
    folders = {FOLDER: local_folder, **({BIG_FOLDER: big_folder} if big_folder is not None else {})}
    with azurite_services(folders, latency_ms, startup_timeout) as services:
        yield services.connection


@contextlib.contextmanager
def azurite_services(folders: dict[str, Path], latency_ms: float = 0,
                     startup_timeout: float = 60) -> Iterator[Services]:
    """Start Azurite, upload each local folder of ``folders`` under ``bench/<name>/``, and start
    the proxies: a latency proxy (if ``latency_ms`` > 0) for the timed runs, and a counting proxy
    (``tests/servers/fault_proxy.py``, no delay) for one untimed pass that counts requests."""
    location = Path(tempfile.mkdtemp(prefix="bench-azurite-"))
    log = (location / "azurite.log").open("w+")
    proxy_log = (location / "proxy.log").open("w+")
    counting_log = (location / "counting.log").open("w+")
    processes = [subprocess.Popen(
        [str(AZURITE_BLOB), "--blobHost", "127.0.0.1", "--blobPort", "0", "--location", str(location / "blobs"),
         "--silent", "--disableTelemetry", "--skipApiVersionCheck", "--loose"],
        stdout=log, stderr=subprocess.STDOUT)]
    try:
        port = _wait_for_port(log, processes[0], _LISTENING, "Azurite", startup_timeout)
        for name, folder in folders.items():
            _upload(folder, connection_string(port), name)
        timed_port = port
        if latency_ms > 0:
            processes.append(subprocess.Popen(
                [sys.executable, str(Path(__file__).with_name("_latency_proxy.py")), "--target-port", str(port),
                 "--delay-ms", str(latency_ms)], stdout=proxy_log, stderr=subprocess.STDOUT))
            timed_port = _wait_for_port(proxy_log, processes[-1], _PROXY_LISTENING, "the latency proxy",
                                        startup_timeout)
        processes.append(subprocess.Popen([sys.executable, str(COUNTING_PROXY), "--target-port", str(port)],
                                          stdout=counting_log, stderr=subprocess.STDOUT))
        counting_port = _wait_for_port(counting_log, processes[-1], _PROXY_LISTENING, "the counting proxy",
                                       startup_timeout)
        yield Services(connection_string(timed_port), connection_string(counting_port),
                       f"http://127.0.0.1:{counting_port}/__counts__")
    finally:
        for process in reversed(processes):
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.close()
        proxy_log.close()
        counting_log.close()
        shutil.rmtree(location, ignore_errors=True)


def _wait_for_port(log, server: subprocess.Popen, pattern: re.Pattern, name: str, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        log.seek(0)
        found = pattern.search(log.read())
        if found:
            return int(found.group(1))
        if server.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"{name} exited with status {server.returncode}: {log.read().strip()[-500:]}")
        time.sleep(0.05)
    raise RuntimeError(f"{name} did not start listening within {timeout:.0f}s")


def _upload(local_folder: Path, connection: str, folder: str = FOLDER) -> None:
    from azure.core.exceptions import ResourceExistsError
    from azure.storage.blob import BlobServiceClient

    service = BlobServiceClient.from_connection_string(connection)
    container = service.get_container_client(CONTAINER)
    try:
        container.create_container()
    except ResourceExistsError:
        pass
    files = sorted(path for path in local_folder.iterdir() if path.is_file() and not path.name.startswith("."))

    def upload(path: Path) -> None:
        # One Put Blob per file (max_single_put_size covers 64 MiB): the service keeps its Content-MD5.
        container.upload_blob(f"{folder}/{path.name}", path.read_bytes(), overwrite=True,
                              max_concurrency=1)

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(upload, files))
