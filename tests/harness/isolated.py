"""Run mltable_lite calls in a worker process, so that a call which crashes the interpreter, never
returns or eats all memory fails its test instead of taking the test run down with it.

The worker (:mod:`.worker`) answers one request at a time over pipes; the parent waits at most
``timeout`` seconds for each answer, and a worker that died or overran is killed and replaced
before the next call. Memory is capped (``RLIMIT_AS``) so a runaway read fails fast.

Example:
    >>> with Worker() as worker:                                                    # doctest: +SKIP
    ...     outcome = worker.call({"op": "read", "builder": "from_delimited_files",
    ...                            "paths": [{"file": "/tmp/a.csv"}]}, timeout=10)
    >>> outcome.kind, outcome.result["rows"]                                          # doctest: +SKIP
    ('ok', 3)
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field

_WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "worker.py")
MEMORY_LIMIT = 6 << 30


@dataclass
class Outcome:
    """What one call did: ``kind`` is ``ok``, ``error`` (an exception was raised), ``crash``
    (the worker died: ``detail`` says how) or ``hang`` (no answer in time)."""

    kind: str
    result: dict = field(default_factory=dict)
    error_type: str = ""
    ours: bool = False
    message: str = ""
    traceback: str = ""
    detail: str = ""
    seconds: float = 0.0

    def __str__(self) -> str:
        if self.kind == "error":
            return f"{self.error_type}: {self.message[:300]}"
        return f"{self.kind} {self.detail} {json.dumps(self.result, default=str)[:300]}"


class Worker:
    """A worker process, restarted whenever a call crashed or hung it."""

    def __init__(self, memory_limit: int = MEMORY_LIMIT, cwd: str | None = None):
        self.memory_limit = memory_limit
        self.cwd = cwd
        self.process: subprocess.Popen | None = None
        self._buffer = b""
        self._eof = False

    def __enter__(self) -> "Worker":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self.process is not None:
            try:
                self.process.stdin.close()
                self.process.wait(timeout=5)
            except Exception:  # noqa: BLE001 - already gone or stuck: kill below
                pass
            self._kill()

    def call(self, request: dict, timeout: float) -> Outcome:
        if self.process is None or self.process.poll() is not None:
            self._start()
        started = time.monotonic()
        self.process.stdin.write(json.dumps(request).encode() + b"\n")
        self.process.stdin.flush()
        line = self._read_line(timeout)
        seconds = time.monotonic() - started
        if line is None:
            try:  # the worker closed its output (it died) or did not answer in time
                code = self.process.wait(timeout=5 if self._eof else 0.01)
            except subprocess.TimeoutExpired:
                self._kill()
                return Outcome("hang", detail=f"no answer within {timeout} s", seconds=seconds)
            stderr = self._stderr_tail()
            self._kill()
            how = f"signal {signal.Signals(-code).name}" if code < 0 else f"exit code {code}"
            return Outcome("crash", detail=f"{how}; stderr: {stderr}", seconds=seconds)
        answer = json.loads(line)
        if answer["outcome"] == "ok":
            return Outcome("ok", result=answer["result"], seconds=seconds)
        return Outcome("error", error_type=answer["type"], ours=answer["ours"], message=answer["message"],
                       traceback=answer["traceback"], seconds=seconds)

    # --- process -----------------------------------------------------------------------------

    def _start(self) -> None:
        self._buffer = b""
        limit = self.memory_limit

        def limits():  # in the child, before exec
            import resource

            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

        self.process = subprocess.Popen(
            [sys.executable, _WORKER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, preexec_fn=limits, cwd=self.cwd)
        os.set_blocking(self.process.stderr.fileno(), False)

    def _kill(self) -> None:
        if self.process is not None:
            if self.process.poll() is None:
                self.process.kill()
            self.process.wait()
            for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
                try:
                    stream.close()
                except Exception:  # noqa: BLE001 - a broken pipe on a dead process
                    pass
        self.process = None

    def _read_line(self, timeout: float) -> bytes | None:
        self._eof = False
        deadline = time.monotonic() + timeout
        stdout = self.process.stdout
        with selectors.DefaultSelector() as selector:
            selector.register(stdout, selectors.EVENT_READ)
            while b"\n" not in self._buffer:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not selector.select(remaining):
                    return None
                chunk = os.read(stdout.fileno(), 1 << 20)
                if not chunk:
                    self._eof = True
                    return None
                self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line

    def _stderr_tail(self) -> str:
        try:
            text = (self.process.stderr.read() or b"").decode(errors="replace")
        except Exception:  # noqa: BLE001
            return ""
        return text[-1500:]
