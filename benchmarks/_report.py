"""The Markdown report: targets with ✅/❌, tables of medians and ratios, notes, machine, command, code."""

from __future__ import annotations

import datetime as _dt
import importlib.metadata
import os
import platform
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from _timing import Outcome
from workloads import CONTESTANTS, COPY_COLUMNS, TARGETS, Target, Workload

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ["pyarrow", "pandas", "numpy", "polars", "duckdb", "deltalake", "adlfs", "azure-storage-blob"]
MB = 1024 * 1024


@dataclass
class WorkloadResult:
    workload: Workload
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    skipped: str | None = None     # why the whole workload did not run
    seconds: float = 0.0           # how long it took, generation excluded
    requests: dict = field(default_factory=dict)   # contestant → requests counted in one untimed run


# --- machine --------------------------------------------------------------------------------------


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def _field(text: str, key: str) -> str | None:
    for line in text.splitlines():
        name, _, value = line.partition(":") if ":" in line else line.partition("=")
        if name.strip() == key:
            return value.strip().strip('"')
    return None


def load_average() -> str:
    try:
        return "/".join(f"{value:.2f}" for value in os.getloadavg()) + " (1/5/15 min)"
    except OSError:
        return "unknown"


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _git_revision() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True,
                              timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "mltable_lite"], cwd=REPO, capture_output=True,
                               text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown revision"
    return f"commit {head}" + (" + uncommitted changes in mltable_lite/" if dirty else "") if head else "unknown revision"


def reference_versions(python: str | None) -> str | None:
    """``mltable X, pandas Y, pyarrow Z, Python W`` as seen by the reference interpreter."""
    if not python:
        return None
    program = ("import importlib.metadata as m, platform; "
               "print(', '.join(f'{p} {m.version(p)}' for p in ('mltable', 'pandas', 'pyarrow')) "
               "+ ', Python ' + platform.python_version())")
    try:
        done = subprocess.run([python, "-c", program], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as error:
        return f"cannot run {python}: {error}"
    return done.stdout.strip() if done.returncode == 0 else f"cannot query {python}: {done.stderr.strip()[-200:]}"


def machine_lines(reference_python: str | None, load_before: str, load_after: str) -> list[str]:
    cpuinfo, meminfo, os_release = _read("/proc/cpuinfo"), _read("/proc/meminfo"), _read("/etc/os-release")
    mem_kb = _field(meminfo, "MemTotal")
    ram = f"{int(mem_kb.split()[0]) / 1024 / 1024:.1f} GiB" if mem_kb else "unknown"
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    import mltable_lite

    packages = ", ".join(f"{name} {_version(name)}" for name in PACKAGES)
    lines = [
        f"- CPU: {_field(cpuinfo, 'model name') or platform.processor() or 'unknown'}; "
        f"{os.cpu_count()} logical cores ({usable} usable by this process); RAM {ram}",
        f"- OS: {_field(os_release, 'PRETTY_NAME') or platform.system()}, kernel {platform.release()} "
        f"({platform.machine()})",
        f"- Python {platform.python_version()} (`{sys.executable}`); mltable_lite {mltable_lite.__version__} "
        f"({_git_revision()})",
        f"- Packages: {packages}",
        f"- Load average: {load_before} before, {load_after} after",
    ]
    reference = reference_versions(reference_python)
    lines.append(f"- Reference: {reference} (`{reference_python}`)" if reference
                 else "- Reference: not measured (MLTABLE_REFERENCE_PYTHON is not set)")
    return lines


# --- cells ----------------------------------------------------------------------------------------


class Notes:
    """Numbered notes for the cells that have no number; the same text gets the same number."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def ref(self, text: str) -> str:
        if text not in self.texts:
            self.texts.append(text)
        return f"[{self.texts.index(text) + 1}]"

    def lines(self) -> list[str]:
        return [f"{number}. {text}" for number, text in enumerate(self.texts, 1)]


def _value(outcome: Outcome, metric: str) -> float:
    return {"time": lambda: outcome.median, "memory": lambda: outcome.median_rss,
            "cpu": lambda: outcome.median_cpu, "ready": lambda: outcome.median_ready}[metric]()


def _format(value: float, metric: str) -> str:
    if metric == "memory":
        return f"{value / MB:,.0f} MB"
    return f"{value:.3f} s" if value < 10 else f"{value:.1f} s"


def _missing(result: WorkloadResult, name: str) -> str | None:
    """Why ``name`` has no number in this workload, or None."""
    if result.skipped:
        return result.skipped
    outcome = result.outcomes.get(name)
    if outcome is None:
        return result.workload.absent.get(name, "not part of this workload")
    if not outcome.ok:
        return outcome.note or "no timed run"
    return None


def _cell(result: WorkloadResult, name: str, metric: str, notes: Notes) -> str:
    why = _missing(result, name)
    if why:
        return "– " + notes.ref(why)
    value = _value(result.outcomes[name], metric)
    text = _format(value, metric)
    mine = result.outcomes.get("mltable_lite")
    if name != "mltable_lite" and mine is not None and mine.ok:
        text += f" ({_value(mine, metric) / value:.2f})"
    return text


def _table(results: list[WorkloadResult], columns: list[str], metric: str, notes: Notes) -> list[str]:
    header = ["workload"] + [CONTESTANTS[name] for name in columns]
    lines = ["| " + " | ".join(header) + " |", "|---" + "|---:" * len(columns) + "|"]
    for result in results:
        cells = [_cell(result, name, metric, notes) for name in columns]
        lines.append(f"| {result.workload.title} | " + " | ".join(cells) + " |")
    return lines


def _copy_table(results: list[WorkloadResult], notes: Notes) -> list[str]:
    """Time, MB/s and mltable_lite's ratio for each contestant of the copy workloads."""
    lines = ["| workload | " + " | ".join(CONTESTANTS[name] for name in COPY_COLUMNS) + " |",
             "|---" + "|---:" * len(COPY_COLUMNS) + "|"]
    for result in results:
        moved = result.workload.bytes_moved() if not result.skipped else 0
        cells = []
        for name in COPY_COLUMNS:
            text = _cell(result, name, "time", notes)
            if not _missing(result, name) and moved:
                seconds = _value(result.outcomes[name], "time")
                text = text.replace(" s", f" s, {moved / MB / seconds:,.0f} MB/s", 1)
            cells.append(text)
        lines.append(f"| {result.workload.title} | " + " | ".join(cells) + " |")
    return lines


# --- targets --------------------------------------------------------------------------------------


def target_verdict(target: Target, results: dict[str, WorkloadResult]) -> tuple[str, float | None, str]:
    """(emoji, ratio or None, explanation) for one target."""
    result = results.get(target.workload)
    if result is None:
        return "⚪", None, "workload not run (--only)"
    for name in ("mltable_lite", target.peer):
        why = _missing(result, name)
        if why:
            failed = name == "mltable_lite" and not result.skipped and not why.startswith(("skipped", "not installed"))
            return ("❌" if failed else "⚪"), None, f"{CONTESTANTS[name]}: {why}"
    ratio = _value(result.outcomes["mltable_lite"], target.metric) / _value(result.outcomes[target.peer], target.metric)
    if target.context:
        return "ℹ️", ratio, ""
    return ("✅" if target.met(ratio) else "❌"), ratio, ""


def _requests_table(results: list[WorkloadResult]) -> list[str]:
    """Requests per contestant, counted by a proxy in one extra untimed run of each."""
    columns = [name for name in CONTESTANTS if any(name in result.requests for result in results)]
    lines = ["| workload | " + " | ".join(CONTESTANTS[name] for name in columns) + " |",
             "|---|" + "---:|" * len(columns)]
    for result in results:
        cells = []
        for name in columns:
            counted = result.requests.get(name)
            if counted is None:
                cells.append("–")
                continue
            methods = ", ".join(f"{method} {count}" for method, count in sorted(counted["by_method"].items()))
            cells.append(f"{counted['requests']} ({methods}); {counted['body_bytes'] / MB:.1f} MB")
        lines.append(f"| {result.workload.name} | " + " | ".join(cells) + " |")
    return lines


def _targets_table(results: dict[str, WorkloadResult]) -> list[str]:
    lines = ["| target | mltable_lite | peer | ratio | limit | result | raw pyarrow's ratio to the same peer |",
             "|---|---:|---:|---:|---:|---|---:|"]
    for target in TARGETS:
        emoji, ratio, why = target_verdict(target, results)
        if ratio is None:
            lines.append(f"| {target.label} | – | – | – | {_limit(target)} | {emoji} {why} | |")
            continue
        outcomes = results[target.workload].outcomes
        metric = target.metric
        mine = _format(_value(outcomes["mltable_lite"], metric), metric)
        peer = _format(_value(outcomes[target.peer], metric), metric)
        speed = f" ({1 / ratio:.1f}× faster)" if target.limit < 1 and metric != "memory" else ""
        limit = ""
        pyarrow = outcomes.get("pyarrow")
        if target.peer != "pyarrow" and pyarrow is not None and pyarrow.ok:
            limit = f"{_value(pyarrow, metric) / _value(outcomes[target.peer], metric):.2f}"
        lines.append(f"| {target.label} | {mine} | {CONTESTANTS[target.peer]} {peer} | {ratio:.2f}{speed} | "
                     f"{_limit(target)} | {emoji} | {limit} |")
    return lines


def _limit(target: Target) -> str:
    if target.context:
        return "(context)"
    return f"{'<' if target.strict else '≤'} {target.limit:.2f}"


# --- the report -----------------------------------------------------------------------------------


def _spread(results: list[WorkloadResult]) -> list[str]:
    lines = []
    for result in results:
        parts = [f"{CONTESTANTS[name]} {min(o.times):.3f}–{max(o.times):.3f} s ×{len(o.times)}"
                 for name, o in result.outcomes.items() if o.ok]
        if parts:
            lines.append(f"- {result.workload.name}: " + "; ".join(parts))
    return lines


def _code(results: list[WorkloadResult], data_root: str) -> list[str]:
    lines = ["<details><summary>The exact code of every contestant (setup untimed in process; "
             f"<code>DATA</code> = <code>{data_root}</code>)</summary>", ""]
    for result in results:
        lines += [f"**{result.workload.name}** — {result.workload.title}", ""]
        for contestant in result.workload.contestants:
            code = (contestant.setup + "\n" + contestant.run).strip().replace(data_root, "DATA")
            python = f" (run by `{contestant.python}`)" if contestant.python else ""
            lines += [f"*{CONTESTANTS[contestant.name]}*{python}:", "", "```python", code, "```", ""]
    return lines + ["</details>"]


def render(results: list[WorkloadResult], *, command: str, data_description: str, repeat: int,
           reference_python: str | None, load_before: str, load_after: str, data_root: str,
           profiles: dict[str, str]) -> str:
    by_name = {result.workload.name: result for result in results}
    in_process = [r for r in results if not r.workload.whole_process and not r.workload.moves_files]
    copies = [r for r in results if r.workload.moves_files]
    whole = [r for r in results if r.workload.whole_process]
    notes = Notes()
    lines = [
        "# Benchmark results",
        "",
        f"Written by `benchmarks/run.py` on {_dt.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}; "
        "see [README.md](README.md) for what each workload measures.",
        "",
        f"Command: `{command}`",
        "",
        "Every number is the **median** of the timed runs (one untimed, checked warm-up first; contestants "
        "interleaved, order rotating every round). In parentheses: **mltable_lite ÷ that contestant** — below "
        "1.00 mltable_lite is faster (or smaller). Every result's row and column count was checked against the "
        "expected one; a contestant that returned a wrong result has no number.",
        "",
        "## Targets",
        "",
        *_targets_table(by_name),
    ]
    if in_process:
        lines += ["", "## Time, in process (imports already paid)", "",
                  *_table(in_process, ["mltable_lite", "pyarrow", "pandas", "polars", "duckdb"], "time", notes)]
    counted = [r for r in results if r.requests]
    if counted:
        lines += ["", "## Requests per read (one extra untimed run through a counting proxy; body bytes sent)", "",
                  *_requests_table(counted)]
    if copies:
        lines += ["", "## Copying files (time and throughput; imports already paid)", "",
                  *_copy_table(copies, notes)]
    if whole:
        columns = list(CONTESTANTS)
        lines += ["", "## Whole process: time to DataFrame (interpreter start, imports, read; exit excluded)", "",
                  *_table(whole, columns, "ready", notes),
                  "", "## Whole process: wall time to exit (as above, plus interpreter shutdown)", "",
                  *_table(whole, columns, "time", notes),
                  "", "## Whole process: peak memory (max RSS of the process)", "",
                  *_table(whole, columns, "memory", notes),
                  "", "## Whole process: CPU time (user + system; less sensitive to other load than wall time)", "",
                  *_table(whole, columns, "cpu", notes)]
    if notes.texts:
        lines += ["", "Notes:", "", *notes.lines()]
    lines += [
        "",
        "## Machine and run",
        "",
        *machine_lines(reference_python, load_before, load_after),
        f"- Data: {data_description}",
        f"- Timed runs per contestant: {repeat} (after one untimed warm-up)",
        "- Time per workload: " + ", ".join(f"{r.workload.name} {r.seconds:.0f} s" for r in results),
        "",
        "Spread of the timed runs (min–max wall seconds × runs), to judge the noise:",
        "",
        *_spread(results),
    ]
    for name, text in profiles.items():
        lines += ["", f"## Profile: {name} (mltable_lite, one run under pyinstrument)", "", "```", text.strip(), "```"]
    lines += ["", *_code(results, data_root)]
    return "\n".join(lines) + "\n"
