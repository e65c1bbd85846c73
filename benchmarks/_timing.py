"""Timing contestants fairly: interleaved rounds, medians, and a row-count check on every run.

A *contestant* is a short Python program (``setup`` statements, then ``run`` statements that bind
a pandas DataFrame to ``df``), so one definition can be timed two ways:

* **in process** (:func:`time_in_process`): ``setup`` runs once, untimed; each timed run executes
  ``run`` in this interpreter, imports already paid.
* **whole process** (:func:`time_whole_processes`): each run starts a new interpreter with
  ``setup`` + ``run`` and times it from spawn to exit; ``wait4`` gives the child's CPU time, and
  the child reports its own peak resident memory (``VmHWM``) on its last line.

Either way every contestant first runs once untimed (page cache, lazy imports, ``.pyc`` files,
and the correctness check), then all are timed in rounds whose order rotates and reverses from
round to round, with ``gc.collect()`` before each run, so that no contestant always runs right
after another's garbage or in a quieter minute. A run whose shape differs from the expected
one excludes the contestant with a note: a wrong answer never looks fast.
"""

from __future__ import annotations

import gc
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable


# The last line of every whole-process program. The peak resident set is the kernel's high-water
# mark of the process's own address space (VmHWM). ``ru_maxrss`` from wait4 cannot be used: the
# child is started with vfork, and the kernel carries the parent's (this benchmark's) high-water
# mark into the child at exec, so every child would "peak" at least at the benchmark's size.
# The line also carries the wall-clock moment the DataFrame was ready, so that interpreter
# shutdown (atexit handlers: the reference mltable flushes its telemetry there) can be told apart.
# Pause after each whole process (untimed): freeing a big process's memory goes on in the kernel
# after it exits, and would otherwise be charged to the next contestant.
SETTLE_SECONDS = 0.5

_REPORT_SHAPE_AND_PEAK = """
import time as _time
_ready = _time.time()
with open('/proc/self/status') as _status:
    _peak_kb = next(int(line.split()[1]) for line in _status if line.startswith('VmHWM:'))
print('SHAPE', len(df), len(df.columns), _peak_kb, repr(_ready))
"""


@dataclass(frozen=True)
class Contestant:
    """One way of producing the workload's pandas DataFrame."""

    name: str                      # a results column: mltable_lite, pyarrow, pandas, polars, duckdb, mltable
    run: str                       # statements that bind the DataFrame to ``df`` (the timed part in process)
    setup: str = ""                # imports and preparation, untimed in process
    requires: tuple[str, ...] = ()  # modules that must be importable here, else "not installed"
    python: str | None = None      # interpreter for whole-process runs; None: this one
    in_process: bool = True        # False: can only run as a whole process (another virtualenv)
    unavailable: Callable[[], str | None] | None = None   # why it cannot run here, checked before running

    def program(self) -> str:
        """The whole-process program: setup, run, then a line with the shape and the peak RSS."""
        return f"{self.setup}\n{self.run}\n{_REPORT_SHAPE_AND_PEAK}"

    def missing_module(self) -> str | None:
        for module in self.requires:
            if importlib.util.find_spec(module) is None:
                return module
        return None


@dataclass(frozen=True)
class Expected:
    """The shape every contestant must return: exact rows, or ``rows ± tolerance`` for samples."""

    rows: int
    columns: int
    tolerance: int = 0

    def problem(self, shape: tuple[int, int]) -> str | None:
        rows, columns = shape
        if abs(rows - self.rows) > self.tolerance or columns != self.columns:
            wanted = f"{self.rows}" + (f" ± {self.tolerance}" if self.tolerance else "")
            return f"wrong result: {rows} rows × {columns} columns, expected {wanted} × {self.columns}"
        return None


@dataclass
class Outcome:
    """What one contestant did in one workload."""

    times: list[float] = field(default_factory=list)      # wall seconds per timed run (whole process: to exit)
    ready: list[float] = field(default_factory=list)      # whole process: seconds from spawn to DataFrame ready
    cpu: list[float] = field(default_factory=list)        # whole process: user + system seconds
    max_rss: list[int] = field(default_factory=list)      # whole process: peak RSS in bytes
    shape: tuple[int, int] | None = None
    note: str | None = None                               # why there are no times, if there are none

    @property
    def ok(self) -> bool:
        return self.note is None and bool(self.times)

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def median_rss(self) -> float:
        return statistics.median(self.max_rss)

    @property
    def median_cpu(self) -> float:
        return statistics.median(self.cpu)

    @property
    def median_ready(self) -> float:
        return statistics.median(self.ready)


def _rounds(names: list[str], repeat: int):
    """The order of each round, balanced for carry-over (a Williams design): over a cycle of
    rounds every contestant runs directly after every other one equally often.

    A plain rotation put mltable_lite right after the real mltable in most rounds. That process
    leaves the kernel reclaiming gigabytes as it exits, and whoever runs next pays for it in
    system time, so one contestant was always the unlucky one.

    Example:
        >>> list(_rounds(["a", "b", "c", "d"], 2))
        [['a', 'b', 'd', 'c'], ['b', 'c', 'a', 'd']]
    """
    count = len(names)
    first, low, high = [0], 1, count - 1
    while len(first) < count:  # 0, 1, n-1, 2, n-2, ...: each step a different distance
        first.append(low)
        low += 1
        if len(first) < count:
            first.append(high)
            high -= 1
    orders = [[(position + shift) % count for position in first] for shift in range(count)]
    if count % 2:  # an odd count needs the mirrored square too
        orders += [order[::-1] for order in orders]
    for round_number in range(repeat):
        yield [names[position] for position in orders[round_number % len(orders)]]


def _short(error: BaseException) -> str:
    lines = [line for line in f"{type(error).__name__}: {error}".splitlines() if line.strip()]
    return (lines[0] if lines else type(error).__name__)[:200]


def _time_rounds(contestants: list[Contestant], outcomes: dict[str, Outcome], expected: Expected,
                 repeat: int, run_once: Callable[[Contestant, Outcome], tuple[int, int]]) -> None:
    """Warm up and check every active contestant, then time them in interleaved rounds.

    ``repeat == 0`` is a smoke run: the checked warm-up is the only run and its (cold) numbers are kept.
    """
    active = []
    for contestant in contestants:
        outcome = outcomes[contestant.name]
        if outcome.note:
            continue
        try:
            shape = run_once(contestant, outcome)   # warm-up: untimed, but checked
        except Exception as error:                 # noqa: BLE001 - any failure is reported, not fatal
            outcome.note = f"error: {_short(error)}"
            continue
        if repeat:   # the warm-up's measurements are not kept, unless it is the only run (smoke)
            outcome.times.clear()
            outcome.cpu.clear()
            outcome.max_rss.clear()
            outcome.ready.clear()
        outcome.shape = shape
        outcome.note = expected.problem(shape)
        if outcome.note is None:
            active.append(contestant)
    by_name = {contestant.name: contestant for contestant in active}
    for order in (_rounds(list(by_name), repeat) if repeat else []):
        for name in order:
            outcome = outcomes[name]
            if outcome.note:
                continue
            try:
                shape = run_once(by_name[name], outcome)
            except Exception as error:             # noqa: BLE001
                outcome.note = f"error in a timed run: {_short(error)}"
                continue
            if shape != outcome.shape:
                outcome.note = f"unstable result: {shape} after {outcome.shape}"


def _initial_outcomes(contestants: list[Contestant], whole_process: bool) -> dict[str, Outcome]:
    outcomes = {}
    for contestant in contestants:
        outcome = Outcome()
        missing = contestant.missing_module()
        if missing:
            outcome.note = f"not installed (`{missing}`)"
        elif contestant.unavailable is not None:
            outcome.note = contestant.unavailable()   # None when it can run
        elif not whole_process and not contestant.in_process:
            outcome.note = "whole process only"
        outcomes[contestant.name] = outcome
    return outcomes


# --- in process -----------------------------------------------------------------------------------


def time_in_process(contestants: list[Contestant], expected: Expected, repeat: int) -> dict[str, Outcome]:
    """Median-ready wall times of each contestant's ``run`` in this interpreter."""
    outcomes = _initial_outcomes(contestants, whole_process=False)
    namespaces: dict[str, dict] = {}
    compiled = {}

    def run_once(contestant: Contestant, outcome: Outcome) -> tuple[int, int]:
        if contestant.name not in namespaces:      # first call: the untimed setup
            namespace = {"__name__": f"bench_{contestant.name}"}
            exec(compile(contestant.setup, f"<{contestant.name} setup>", "exec"), namespace)
            namespaces[contestant.name] = namespace
            compiled[contestant.name] = compile(contestant.run, f"<{contestant.name}>", "exec")
        namespace = namespaces[contestant.name]
        gc.collect()
        started = time.perf_counter()
        exec(compiled[contestant.name], namespace)
        elapsed = time.perf_counter() - started
        frame = namespace.pop("df")
        shape = (len(frame), len(frame.columns))
        del frame
        outcome.times.append(elapsed)
        return shape

    _time_rounds(contestants, outcomes, expected, repeat, run_once)
    namespaces.clear()
    gc.collect()
    return outcomes


def count_requests(contestants: list[Contestant], outcomes: dict[str, Outcome], variable: str, value: str,
                   counts: Callable[[], dict]) -> dict[str, dict]:
    """One more, untimed run of each contestant that ran well, with ``variable`` set to ``value``
    (a connection through a counting proxy): the requests and bytes ``counts()`` saw during its run
    (its untimed setup excluded)."""
    counted = {}
    before = os.environ.get(variable)
    os.environ[variable] = value
    try:
        for contestant in contestants:
            if not outcomes[contestant.name].ok:
                continue
            namespace: dict = {"__name__": f"bench_{contestant.name}"}
            exec(compile(contestant.setup, f"<{contestant.name} setup>", "exec"), namespace)
            counts()   # forget the setup's requests
            exec(compile(contestant.run, f"<{contestant.name}>", "exec"), namespace)
            counted[contestant.name] = counts()
            namespace.clear()
    finally:
        if before is None:
            os.environ.pop(variable, None)
        else:
            os.environ[variable] = before
    return counted


def profile_in_process(contestant: Contestant) -> str:
    """One run of ``contestant`` under pyinstrument (after an unprofiled warm-up), as text."""
    from pyinstrument import Profiler

    namespace: dict = {"__name__": f"bench_{contestant.name}"}
    exec(contestant.setup, namespace)
    code = compile(contestant.run, f"<{contestant.name}>", "exec")
    exec(code, namespace)
    namespace.pop("df")
    profiler = Profiler(interval=0.001)
    profiler.start()
    exec(code, namespace)
    profiler.stop()
    namespace.pop("df")
    return profiler.output_text(unicode=True, color=False, show_all=False)


# --- whole process --------------------------------------------------------------------------------


def child_environment(pycache: Path | None) -> dict[str, str]:
    """The environment of the benchmark's child processes.

    With ``pycache`` every interpreter loads compiled bytecode, as it would from installed wheels:
    ``PYTHONDONTWRITEBYTECODE`` is dropped and ``PYTHONPYCACHEPREFIX`` points into the data
    directory, so the untimed warm-up compiles every module once (the checkout of mltable_lite
    and site-packages alike) and nothing is written outside ``--data-dir``. Without it, a checkout
    run under ``PYTHONDONTWRITEBYTECODE=1`` recompiles mltable_lite's sources in every process
    while pandas and pyarrow come precompiled from site-packages.
    """
    env = dict(os.environ)
    if pycache is not None:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(pycache)
    return env


@dataclass(frozen=True)
class ProcessRun:
    wall: float       # spawn to exit
    ready: float      # spawn to DataFrame ready
    cpu: float
    max_rss: int
    shape: tuple[int, int]


def run_process(python: str, program: str, env: dict[str, str], cwd: Path, timeout: float = 3600) -> ProcessRun:
    """Run ``python -c program``: wall time, CPU time (``wait4``) and peak RSS (reported by the child)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        spawned_at = time.time()
        started = time.perf_counter()
        child = subprocess.Popen([python, "-c", program], stdout=out, stderr=err, env=env, cwd=str(cwd))
        watchdog = threading.Timer(timeout, child.kill)   # a hung contestant must not hang the suite
        watchdog.start()
        try:
            _, status, usage = os.wait4(child.pid, 0)
        finally:
            watchdog.cancel()
        wall = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)   # reaped here; Popen must not wait again
        out.seek(0), err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    if child.returncode != 0:
        message = [line for line in stderr.strip().splitlines() if line.strip()]
        raise RuntimeError(f"exit status {child.returncode}: {message[-1] if message else '(no output)'}")
    last = [line for line in stdout.splitlines() if line.startswith("SHAPE ")][-1]
    _, rows, columns, peak_kb, ready_at = last.split()
    return ProcessRun(wall, float(ready_at) - spawned_at, usage.ru_utime + usage.ru_stime, int(peak_kb) * 1024,
                      (int(rows), int(columns)))


def time_whole_processes(contestants: list[Contestant], expected: Expected, repeat: int, env: dict[str, str],
                         cwd: Path) -> dict[str, Outcome]:
    """Wall time, CPU time and peak RSS of each contestant's program as a fresh process."""
    outcomes = _initial_outcomes(contestants, whole_process=True)

    def run_once(contestant: Contestant, outcome: Outcome) -> tuple[int, int]:
        done = run_process(contestant.python or sys.executable, contestant.program(), env, cwd)
        time.sleep(SETTLE_SECONDS)  # the kernel frees the exited process's memory before the next one runs
        outcome.times.append(done.wall)
        outcome.ready.append(done.ready)
        outcome.cpu.append(done.cpu)
        outcome.max_rss.append(done.max_rss)
        return done.shape

    _time_rounds(contestants, outcomes, expected, repeat, run_once)
    return outcomes
