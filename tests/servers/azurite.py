"""Azurite, the Azure Storage emulator, as a session fixture: a real blob service on 127.0.0.1.

``azurite-blob`` (npm, pinned in ``tests/azurite/package.json``) starts once per test session on a
free port with two accounts, ``mltablelite`` and ``mltablepublic``, and stops at the end. Without
the binary, tests that use it are skipped locally (with the install command) and fail on CI.

``azurite_oauth`` is a second one that also takes Microsoft Entra ID bearer tokens: over HTTPS (a
self-signed certificate made for the session; Azure clients refuse bearer tokens over plain HTTP)
with ``--oauth basic``, which checks a token's issuer, audience and lifetime (not its signature),
so a test can hand out tokens that expire within seconds (:func:`entra_token`).

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

__all__ = ["azurite", "azurite_oauth", "Azurite", "ACCOUNTS", "entra_token"]

AZURITE_DIR = Path(__file__).resolve().parent.parent / "azurite"
BINARY = AZURITE_DIR / "node_modules" / ".bin" / "azurite-blob"
INSTALL = "cd tests/azurite && npm ci --ignore-scripts"
START_TIMEOUT = 60.0
# Realistic account names; keys are 64 random-looking bytes, base64, like Azure's.
ACCOUNTS = {name: base64.b64encode(hashlib.sha512(f"{name}-test-key".encode()).digest()).decode()
            for name in ("mltablelite", "mltablepublic")}
_LISTENING = re.compile(r"Azurite Blob service successfully listens on (https?)://127\.0\.0\.1:(\d+)")


class Azurite:
    """A running ``azurite-blob``: endpoints, credentials and helpers that put data in it."""

    def __init__(self, process: subprocess.Popen, port: int, location: str, scheme: str = "http"):
        self.process = process
        self.port = port
        self.location = location
        self.scheme = scheme

    @property
    def endpoint(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

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

        # The HTTPS instance's certificate is self-signed: the helpers that upload do not check it.
        return BlobServiceClient.from_connection_string(self.connection_string(account),
                                                        connection_verify=self.scheme == "http")

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


def _start(location: str, extra: tuple = ()) -> Azurite:
    env = dict(os.environ, AZURITE_ACCOUNTS=";".join(f"{name}:{key}" for name, key in ACCOUNTS.items()))
    process = subprocess.Popen(
        [str(BINARY), "--blobHost", "127.0.0.1", "--blobPort", "0", "--location", location, "--silent",
         "--disableTelemetry", "--skipApiVersionCheck", "--loose", *extra],
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
                server = Azurite(process, int(match.group(2)), location, match.group(1))
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


def _require_binary() -> None:
    if not BINARY.exists() or shutil.which("node") is None:
        message = f"Azurite is not installed ({BINARY}); install it with: {INSTALL}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="session")
def azurite():
    """The session's Azurite blob service (see the module doc)."""
    _require_binary()
    location = tempfile.mkdtemp(prefix="mltable_lite_azurite_")
    try:
        server = _start(location)
        try:
            yield server
        finally:
            _stop(server.process)
    finally:
        shutil.rmtree(location, ignore_errors=True)


@pytest.fixture(scope="session")
def azurite_oauth():
    """An Azurite blob service over HTTPS that accepts Entra ID bearer tokens (see the module doc)."""
    _require_binary()
    location = tempfile.mkdtemp(prefix="mltable_lite_azurite_oauth_")
    try:
        cert, key = _self_signed_certificate(Path(location))
        server = _start(str(Path(location) / "blobs"), ("--oauth", "basic", "--cert", str(cert), "--key", str(key)))
        try:
            yield server
        finally:
            _stop(server.process)
    finally:
        shutil.rmtree(location, ignore_errors=True)


def _self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate and key (PEM) for 127.0.0.1, valid for a day."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.timezone.utc)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
                   .not_valid_after(now + dt.timedelta(days=1))
                   .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                                  critical=False)
                   .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def entra_token(lifetime: float, audience: str = "https://storage.azure.com"):
    """An ``azure.core.credentials.AccessToken`` shaped like Entra ID's, expiring ``lifetime``
    seconds from now (unsigned: ``--oauth basic`` does not check signatures)."""
    import json

    from azure.core.credentials import AccessToken

    def part(value) -> str:
        raw = value if isinstance(value, bytes) else json.dumps(value).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    now = time.time()
    claims = {"aud": audience, "iss": "https://sts.windows.net/00000000-0000-0000-0000-000000000000/",
              "nbf": int(now) - 60, "iat": int(now), "exp": int(now + lifetime), "oid": "test"}
    return AccessToken(f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.{part(b'unsigned')}", int(now + lifetime))
