#!/usr/bin/env python
"""How does mltable_lite compare with what you would otherwise use? One command, one report.

Run from the repository root (see benchmarks/README.md)::

    python benchmarks/run.py                 # default sizes (~200 MB CSV, 4 M rows); prints the report
    python benchmarks/run.py --write         # ... and writes benchmarks/RESULTS.md
    python benchmarks/run.py --quick         # small sizes, 3 repeats: a smoke run of a few minutes
    MLTABLE_REFERENCE_PYTHON=/path/to/venv/bin/python python benchmarks/run.py   # + Microsoft's mltable

Contestants (mltable_lite, raw pyarrow, a pandas loop, polars, duckdb, Microsoft's mltable) are
timed on the same generated data, interleaved, and compared as ratios of medians measured in the
same run. Peers that are not installed are skipped with a note.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
if str(REPO) not in sys.path:
    sys.path.insert(1, str(REPO))   # the checkout's mltable_lite, as the child processes see it

import _data  # noqa: E402
import _report  # noqa: E402
import _timing  # noqa: E402
import workloads as _workloads  # noqa: E402

RESULTS_FILE = HERE / "RESULTS.md"
REFERENCE_ENV = "MLTABLE_REFERENCE_PYTHON"
DEFAULT_REPEAT = 5
QUICK = {"rows": 160_000, "small_files": 500, "azure_files": 100, "azure_big_mb": 16, "repeat": 3}
# The test suite's run: does every workload still run and check its result? Its numbers mean nothing.
SMOKE = {"rows": 4_000, "small_files": 40, "azure_files": 20, "azure_big_mb": 1, "repeat": 0}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    names = list(_workloads.build(_data.Data(HERE / "data", _data.Sizes()), None))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", help=f"comma-separated workloads, from: {', '.join(names)}")
    parser.add_argument("--repeat", type=int, help=f"timed runs per contestant (default {DEFAULT_REPEAT}; "
                                                   f"--quick: {QUICK['repeat']})")
    parser.add_argument("--quick", action="store_true",
                        help="small sizes for a smoke run: 20k rows per file, 500 small files, 100 on Azurite, "
                             "3 repeats, data in <data-dir>/quick")
    parser.add_argument("--smoke", action="store_true",
                        help="tiniest sizes (4 000 rows, 40 small files, 20 on Azurite), one checked run per "
                             "contestant and no pauses between processes: checks that every workload runs (the "
                             "test suite's run); the times mean nothing. Data in <data-dir>/smoke")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="multiply the default sizes (rows, small files, Azurite files) by this factor")
    parser.add_argument("--rows", type=int, help="rows of the main data set (default 4_000_000 × scale)")
    parser.add_argument("--files", type=int, default=8, help="files the main rows are split over (≥ 5; default 8)")
    parser.add_argument("--small-files", type=int, help="files in the local small-files folder (default 10_000)")
    parser.add_argument("--azure-files", type=int, help="files uploaded to Azurite (default 500)")
    parser.add_argument("--azure-latency-ms", type=float, default=_workloads.AZURE_LATENCY_MS,
                        help="delay added to every request in the azurite_latency workload (default "
                             f"{_workloads.AZURE_LATENCY_MS:g})")
    parser.add_argument("--data-dir", type=Path, help="cache of generated data (default benchmarks/data, git-ignored)")
    parser.add_argument("--write", action="store_true", help=f"also write {RESULTS_FILE.relative_to(REPO)}")
    parser.add_argument("--output", type=Path, default=RESULTS_FILE, help="where --write writes the report")
    parser.add_argument("--profile", action="store_true",
                        help="profile mltable_lite with pyinstrument in each in-process workload that misses a "
                             "time target, and append the profiles to the report")
    parser.add_argument("--no-bytecode-cache", dest="bytecode_cache", action="store_false",
                        help="run child processes with the environment as it is (see _timing.child_environment)")
    args = parser.parse_args(argv)
    args.workload_names = names
    chosen = names if not args.only else [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in names]
    if unknown:
        parser.error(f"unknown workloads {unknown}; choose from {names}")
    args.chosen = chosen
    if args.quick and args.smoke:
        parser.error("choose one of --quick and --smoke")
    preset = QUICK if args.quick else SMOKE if args.smoke else None
    if args.repeat is None:
        args.repeat = preset["repeat"] if preset else DEFAULT_REPEAT
    defaults = _data.Sizes()
    base = preset or {"rows": round(defaults.rows * args.scale),
                      "small_files": round(defaults.small_files * args.scale),
                      "azure_files": round(defaults.azure_files * args.scale),
                      "azure_big_mb": defaults.azure_big_mb}
    args.sizes = _data.Sizes(rows=args.rows or base["rows"], files=args.files,
                             small_files=args.small_files or base["small_files"],
                             azure_files=args.azure_files or base["azure_files"],
                             azure_big_mb=base["azure_big_mb"])
    if args.data_dir is None:
        args.data_dir = HERE / "data" / ("quick" if args.quick else "smoke" if args.smoke else "")
    if args.azure_latency_ms <= 0:
        parser.error("--azure-latency-ms must be > 0 (the azurite workload is the one without added latency)")
    if args.repeat < (0 if args.smoke else 1) or args.files < 5 or args.sizes.rows < 100 * args.files or min(
            args.sizes.small_files, args.sizes.azure_files) < 1:
        parser.error("need --repeat ≥ 1 (≥ 0 with --smoke), --files ≥ 5, --rows ≥ 100 × files, and at least one small/Azure file")
    return args


def _log(message: str) -> None:
    print(f"# {message}", file=sys.stderr, flush=True)


def run_workload(workload: _workloads.Workload, repeat: int, env: dict[str, str]) -> _report.WorkloadResult:
    result = _report.WorkloadResult(workload)
    reason = workload.unavailable()
    if reason:
        result.skipped = reason
        return result
    started = time.perf_counter()
    try:
        with workload.context():
            if workload.whole_process:
                result.outcomes = _timing.time_whole_processes(workload.contestants, workload.expected, repeat, env,
                                                               REPO)
            else:
                result.outcomes = _timing.time_in_process(workload.contestants, workload.expected, repeat)
            counting = workload.counting()
            if counting is not None:
                result.requests = _timing.count_requests(workload.contestants, result.outcomes, *counting)
    except Exception as error:   # noqa: BLE001 - e.g. Azurite failing to start: report it, run the rest
        result.skipped = f"could not run: {type(error).__name__}: {str(error).splitlines()[0][:200]}"
    result.seconds = time.perf_counter() - started
    return result


def _summary(result: _report.WorkloadResult) -> str:
    if result.skipped:
        return f"skipped: {result.skipped}"
    parts = []
    for name, outcome in result.outcomes.items():
        parts.append(f"{name} {outcome.median:.3f}s" if outcome.ok else f"{name} [{outcome.note}]")
    return ", ".join(parts)


def profile_misses(results: dict[str, _report.WorkloadResult]) -> dict[str, str]:
    """A pyinstrument profile of mltable_lite for each in-process workload that misses a time target."""
    try:
        import pyinstrument  # noqa: F401
    except ImportError:
        _log("--profile: pyinstrument is not installed (pip install pyinstrument)")
        return {}
    profiles = {}
    for target in _workloads.TARGETS:
        result = results.get(target.workload)
        if result is None or result.workload.whole_process or target.metric != "time":
            continue
        emoji, _, _ = _report.target_verdict(target, results)
        if emoji != "❌" or target.workload in profiles:
            continue
        contestant = next(c for c in result.workload.contestants if c.name == "mltable_lite")
        _log(f"profiling mltable_lite in {target.workload} ...")
        with result.workload.context():
            profiles[target.workload] = _timing.profile_in_process(contestant)
    return profiles


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    reference_python = os.environ.get(REFERENCE_ENV) or None
    shown_args = sys.argv[1:] if argv is None else argv
    command = shlex.join([sys.executable, "benchmarks/run.py", *shown_args])
    if reference_python:
        command = f"{REFERENCE_ENV}={shlex.quote(reference_python)} {command}"
    load_before = _report.load_average()

    plan = _workloads.build(_data.Data(args.data_dir.resolve(), args.sizes), reference_python, args.azure_latency_ms)
    chosen = [plan[name] for name in args.chosen]
    data = _data.prepare(args.data_dir, args.sizes, set().union(*(w.data_sets for w in chosen)))
    env = _timing.child_environment(data.root / "pycache" if args.bytecode_cache else None)
    if args.smoke:
        _timing.SETTLE_SECONDS = 0.0   # nothing is measured that a pause could protect

    results: dict[str, _report.WorkloadResult] = {}
    for workload in chosen:
        _log(f"{workload.name}: {workload.title} ...")
        result = run_workload(workload, args.repeat, env)
        results[workload.name] = result
        _log(f"  {result.seconds:.0f}s: {_summary(result)}")

    profiles = profile_misses(results) if args.profile else {}
    sizes = args.sizes
    description = (f"{data.rows:_} rows × 6 columns over {sizes.files} files, as CSV, parquet (row groups of "
                   f"{_data.PARQUET_ROW_GROUP:_} rows, sorted by id), JSON lines and a Delta table of "
                   f"{_data.DELTA_VERSIONS} versions; {sizes.small_files:_} small CSV files of "
                   f"{_data.SMALL_FILE_ROWS} rows; {sizes.azure_files} CSV files of {_data.AZURE_FILE_ROWS} rows "
                   f"on Azurite (and {sizes.azure_big_files} files of {sizes.azure_big_mb} MiB of random bytes for "
                   f"the copy); seed {_data.SEED}; in `{data.root}`")
    report = _report.render(list(results.values()), command=command, data_description=description,
                            repeat=args.repeat, reference_python=reference_python, load_before=load_before,
                            load_after=_report.load_average(), data_root=str(data.root), profiles=profiles)
    print(report)
    if args.write:
        args.output.write_text(report)
        _log(f"wrote {args.output}")
    broken = [name for name, result in results.items()
              if (outcome := result.outcomes.get("mltable_lite")) is not None and outcome.note
              and outcome.note.startswith(("error", "wrong", "unstable"))]
    if broken:
        _log(f"mltable_lite failed in: {', '.join(broken)}")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
