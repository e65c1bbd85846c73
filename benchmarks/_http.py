"""A throw-away HTTP file server on 127.0.0.1 (the tests' ``tests/servers/http_server.py``, in its
own process), with the counting proxy in front of it, for the ``http_small_files`` workload.

The server lists folders as HTML (as nginx ``autoindex`` does), keeps connections alive and
honours ``Range``. (``python -m http.server`` would be the obvious choice, but its listen backlog
of 5 connections makes any concurrent client wait for TCP's one-second SYN retry.) Readers are
timed against the server itself and counted once through the proxy (``tests/servers/fault_proxy.py``).
"""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

REPO = Path(__file__).resolve().parent.parent
COUNTING_PROXY = REPO / "tests" / "servers" / "fault_proxy.py"
FILE_SERVER = REPO / "tests" / "servers" / "http_server.py"
_PROXY_LISTENING = re.compile(r"listening on (\d+)")


@dataclass
class Served:
    url: str            # the server, for timed runs
    counting_url: str   # the same through the counting proxy
    counts_url: str

    def counts(self) -> dict:
        with urllib.request.urlopen(self.counts_url, timeout=30) as answer:
            return json.load(answer)


@contextlib.contextmanager
def serve(folder: Path, startup_timeout: float = 30) -> Iterator[Served]:
    """Serve ``folder`` (and count requests through a proxy) until the block ends."""
    server = subprocess.Popen([sys.executable, str(FILE_SERVER), str(folder)], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    processes = [server]
    try:
        line = server.stdout.readline()
        match = _PROXY_LISTENING.search(line)
        if match is None:
            raise RuntimeError(f"the file server did not start: {line.strip()}")
        port = int(match.group(1))
        proxy = subprocess.Popen([sys.executable, str(COUNTING_PROXY), "--target-port", str(port)],
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        processes.append(proxy)
        line = proxy.stdout.readline()
        match = _PROXY_LISTENING.search(line)
        if match is None:
            raise RuntimeError(f"the counting proxy did not start: {line.strip()}")
        counting = int(match.group(1))
        yield Served(f"http://127.0.0.1:{port}/", f"http://127.0.0.1:{counting}/",
                     f"http://127.0.0.1:{counting}/__counts__")
    finally:
        for process in reversed(processes):
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
