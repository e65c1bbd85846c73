#!/usr/bin/env python
"""Core read benchmarks: mltable_lite against plain PyArrow, as ratios measured in one run.

Run from the repository root (see benchmarks/README.md)::

    python benchmarks/bench_core.py                  # default sizes: 8 files x 500_000 rows
    python benchmarks/bench_core.py --write          # also write benchmarks/RESULTS-core.md
    python benchmarks/bench_core.py --rows-per-file 20000 --repeat 3   # quick smoke run

Workloads (each contestant pair is timed interleaved, A B B A A B ..., and the median is kept):

* ``csv_folder``  ``from_delimited_files([{'folder': d}]).to_pandas_dataframe()`` vs
  ``pyarrow.dataset.dataset(d, format='csv').to_table().to_pandas()``
* ``parquet_folder``  ``from_parquet_files([{'folder': d}]).to_pandas_dataframe()`` vs
  ``pyarrow.dataset.dataset(d, format='parquet').to_table().to_pandas()``
* ``fresh_tiny_csv``  a new ``python -c`` process reading a 5-row CSV, import time included, vs a
  new process importing pyarrow + pandas and using ``pyarrow.csv.read_csv``.

The machine is shared and noisy: only the ratio (mltable_lite median / baseline median) of the
same run is meaningful. Row counts of both contestants are asserted equal (a correctness guard).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import gc
import json
import os
import platform
import resource
import shlex
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.dataset as pads
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS_FILE = HERE / "RESULTS-core.md"

# Bump when the generated data changes shape or content, so cached data gets regenerated.
DATA_VERSION = 2
SEED = 20240607
COLUMNS = ["id", "name", "score", "count", "ts", "flag"]

TARGETS = {"csv_folder": 1.15, "parquet_folder": 1.10, "fresh_tiny_csv": 1.30}

TINY_CSV = (
    "id,name,score,count,ts,flag\n"
    "1,Alice Smith,1.5,10,2021-01-01 00:00:00,True\n"
    "2,Bob Jones,2.25,20,2021-06-15 12:30:45,False\n"
    "3,Carol White,3.125,30,2022-02-28 23:59:59,True\n"
    "4,Dan Brown,4.0,40,2023-07-04 08:00:00,False\n"
    "5,Eve Black,5.5,50,2024-12-31 18:15:30,True\n"
)

# --- data -----------------------------------------------------------------------------------------

_FIRST = ["Alice", "Bob", "Carol", "Dan", "Eve", "Frank", "Grace", "Heidi", "Ivan", "Judy", "Mallory",
          "Niaj", "Olivia", "Peggy", "Rupert", "Sybil", "Trent", "Uma", "Victor", "Walter"]
_LAST = ["Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
         "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore",
         "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris"]
_TS_START = np.datetime64("2020-01-01T00:00:00", "s")
_TS_SPAN_S = 4 * 365 * 24 * 3600


def _typed_table(file_index: int, rows: int) -> pa.Table:
    """The rows of one file with their true Arrow types (deterministic in seed, index, rows)."""
    rng = np.random.default_rng([SEED, file_index])
    names = pa.array([f"{first} {last}" for first in _FIRST for last in _LAST], pa.string())
    start = file_index * rows
    seconds = rng.integers(0, _TS_SPAN_S, size=rows, dtype=np.int64)
    return pa.table({
        "id": pa.array(np.arange(start, start + rows, dtype=np.int64)),
        "name": names.take(pa.array(rng.integers(0, len(names), size=rows, dtype=np.int32))),
        "score": pa.array(np.round(rng.normal(50.0, 15.0, size=rows), 3)),
        "count": pa.array(rng.integers(0, 10_000, size=rows, dtype=np.int64)),
        "ts": pa.array(_TS_START + seconds.astype("timedelta64[s]")),  # timestamp[s]
        "flag": pa.array(rng.random(size=rows) < 0.5),
    })


def _csv_table(typed: pa.Table) -> pa.Table:
    """``ts`` as 'YYYY-MM-DD HH:MM:SS' and ``flag`` as 'True'/'False' text, the rest unchanged."""
    ts_text = pc.strftime(typed.column("ts"), format="%Y-%m-%d %H:%M:%S")
    flag_text = pc.if_else(typed.column("flag"), "True", "False")
    table = typed.set_column(typed.schema.get_field_index("ts"), "ts", ts_text)
    return table.set_column(table.schema.get_field_index("flag"), "flag", flag_text)


@dataclass
class Data:
    csv_dir: Path
    parquet_dir: Path
    tiny_csv: Path
    total_rows: int
    data_dir: Path
    bytecode_cache: bool = True


def prepare_data(data_dir: Path, files: int, rows_per_file: int) -> Data:
    """Generate the data set once; reuse it while the parameters are unchanged."""
    csv_dir, parquet_dir, tiny = data_dir / "csv", data_dir / "parquet", data_dir / "tiny" / "tiny.csv"
    manifest_path = data_dir / "manifest.json"
    manifest = {"version": DATA_VERSION, "seed": SEED, "files": files, "rows_per_file": rows_per_file,
                "pyarrow": pa.__version__}
    data = Data(csv_dir, parquet_dir, tiny, files * rows_per_file, data_dir)
    expected = [f"part-{i:03d}" for i in range(files)]
    try:
        cached = json.loads(manifest_path.read_text())
    except (OSError, ValueError):
        cached = None
    if (cached == manifest and tiny.exists()
            and sorted(p.stem for p in csv_dir.glob("*.csv")) == expected
            and sorted(p.stem for p in parquet_dir.glob("*.parquet")) == expected):
        print(f"# using cached data in {data_dir}", file=sys.stderr)
        return data

    print(f"# generating {files} x {rows_per_file:_} rows in {data_dir} ...", file=sys.stderr)
    started = time.perf_counter()
    if manifest_path.exists():
        manifest_path.unlink()
    for directory in (csv_dir, parquet_dir, tiny.parent):
        directory.mkdir(parents=True, exist_ok=True)
        for old in directory.iterdir():
            if old.is_file():
                old.unlink()
    # Unquoted values (quoting_style="none" raises if a value would need quotes; ours never do),
    # so the file holds exactly 2021-01-01 00:00:00 and True, as a hand-written CSV would.
    write_options = pacsv.WriteOptions(include_header=True, quoting_style="none", quoting_header="none")
    for index, stem in enumerate(expected):
        typed = _typed_table(index, rows_per_file)
        pacsv.write_csv(_csv_table(typed), str(csv_dir / f"{stem}.csv"), write_options)
        pq.write_table(typed.set_column(4, "ts", typed.column("ts").cast(pa.timestamp("us"))),
                       str(parquet_dir / f"{stem}.parquet"))
    tiny.write_text(TINY_CSV)
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"# generated in {time.perf_counter() - started:.1f}s", file=sys.stderr)
    return data


# --- measuring ------------------------------------------------------------------------------------


@dataclass
class Result:
    workload: str
    times: dict[str, list[float]] = field(default_factory=lambda: {"mltable_lite": [], "baseline": []})
    shapes: dict[str, tuple] = field(default_factory=dict)
    error: str | None = None
    cpu: dict[str, list[float]] | None = None  # child CPU seconds, fresh-process workload only

    def median(self, who: str) -> float:
        return statistics.median(self.times[who])

    @property
    def ratio(self) -> float:
        return self.median("mltable_lite") / self.median("baseline")


def _interleaved(result: Result, contestants: dict[str, Callable[[], tuple]], repeat: int,
                 warmup: bool) -> Result:
    """Time both contestants ``repeat`` times each, interleaved; the first runner alternates."""
    order = list(contestants)
    if warmup:  # page cache, lazy imports, thread pools: not what a repeated read costs
        for who in order:
            result.shapes[who] = contestants[who]()
            gc.collect()
    for run in range(repeat):
        for who in (order if run % 2 == 0 else order[::-1]):
            gc.collect()
            started = time.perf_counter()
            shape = contestants[who]()
            result.times[who].append(time.perf_counter() - started)
            result.shapes.setdefault(who, shape)
            if shape != result.shapes[who]:
                raise AssertionError(f"{result.workload}: {who} gave {shape}, earlier {result.shapes[who]}")
    rows = {who: shape[0] for who, shape in result.shapes.items()}
    if len(set(rows.values())) != 1:
        raise AssertionError(f"{result.workload}: row counts differ: {rows}")
    return result


def _in_process(read: Callable[[], object]) -> Callable[[], tuple]:
    def run() -> tuple:
        frame = read()
        shape = tuple(frame.shape)
        del frame
        return shape

    return run


def bench_csv_folder(data: Data, repeat: int) -> Result:
    import mltable_lite as mltable

    folder = str(data.csv_dir)
    return _interleaved(Result("csv_folder"), {
        "mltable_lite": _in_process(lambda: mltable.from_delimited_files([{"folder": folder}]).to_pandas_dataframe()),
        "baseline": _in_process(lambda: pads.dataset(folder, format="csv").to_table().to_pandas()),
    }, repeat, warmup=True)


def bench_parquet_folder(data: Data, repeat: int) -> Result:
    import mltable_lite as mltable

    folder = str(data.parquet_dir)
    return _interleaved(Result("parquet_folder"), {
        "mltable_lite": _in_process(lambda: mltable.from_parquet_files([{"folder": folder}]).to_pandas_dataframe()),
        "baseline": _in_process(lambda: pads.dataset(folder, format="parquet").to_table().to_pandas()),
    }, repeat, warmup=True)


def tiny_programs(tiny_csv: Path) -> dict[str, str]:
    """The two ``python -c`` programs; each prints its frame's shape for the row-count guard."""
    path = repr(str(tiny_csv))
    return {
        "mltable_lite": ("import mltable_lite as m; "
                         f"df = m.from_delimited_files([{{'file': {path}}}]).to_pandas_dataframe(); "
                         "print(df.shape)"),
        "baseline": ("import pyarrow, pandas, pyarrow.csv as c; "
                     f"df = c.read_csv({path}).to_pandas(); "
                     "print(df.shape)"),
    }


def subprocess_env(data_dir: Path, bytecode_cache: bool) -> dict[str, str]:
    """The fresh processes' environment.

    With ``bytecode_cache`` (the default) both programs load compiled bytecode, as they would from
    an installed wheel: ``PYTHONDONTWRITEBYTECODE`` is dropped and ``PYTHONPYCACHEPREFIX`` points
    into the data directory, so the untimed warm-up run compiles every module once (the in-tree
    package and site-packages alike) and nothing is written outside ``--data-dir``. Without it a
    checkout run under ``PYTHONDONTWRITEBYTECODE=1`` recompiles mltable_lite's sources in every
    process while pandas and pyarrow come precompiled from site-packages.
    """
    env = dict(os.environ)
    if bytecode_cache:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(data_dir / "pycache")
    return env


def _subprocess(code: str, env: dict[str, str], cpu_times: list[float]) -> Callable[[], tuple]:
    def run() -> tuple:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=str(REPO),
                              env=env)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        # CPU seconds of the child (user + system): far less disturbed by other load than wall time.
        cpu_times.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
        if done.returncode != 0:
            raise RuntimeError(f"`python -c {code!r}` failed:\n{done.stderr.strip()}")
        return tuple(int(x) for x in done.stdout.strip().strip("()").split(","))

    return run


def bench_fresh_tiny_csv(data: Data, repeat: int) -> Result:
    programs = tiny_programs(data.tiny_csv)
    env = subprocess_env(data.data_dir, data.bytecode_cache)
    cpu: dict[str, list[float]] = {who: [] for who in programs}
    # Warm-up once each: the first-ever run pays for .pyc compilation and a cold page cache.
    result = _interleaved(Result("fresh_tiny_csv"),
                          {who: _subprocess(code, env, cpu[who]) for who, code in programs.items()},
                          2 * repeat, warmup=True)
    result.cpu = {who: times[1:] for who, times in cpu.items()}  # without the warm-up run
    return result


WORKLOADS = {
    "csv_folder": ("CSV folder → pandas", bench_csv_folder),
    "parquet_folder": ("Parquet folder → pandas", bench_parquet_folder),
    "fresh_tiny_csv": ("Fresh process, 5-row CSV", bench_fresh_tiny_csv),
}


# --- reporting ------------------------------------------------------------------------------------


def machine() -> str:
    import pandas

    return (f"nproc {os.cpu_count()}, {platform.system()} {platform.machine()}, "
            f"Python {platform.python_version()}, pyarrow {pa.__version__}, pandas {pandas.__version__}, "
            f"numpy {np.__version__} (interpreter {sys.executable})")


def render(results: list[Result], args: argparse.Namespace, command: str) -> str:
    lines = [
        "| workload | mltable_lite median (s) | baseline median (s) | ratio | target | result |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for result in results:
        label = WORKLOADS[result.workload][0]
        target = TARGETS[result.workload]
        if result.error:
            lines.append(f"| {label} | – | – | – | ≤ {target:.2f} | ERROR: {result.error} |")
            continue
        verdict = "PASS" if result.ratio <= target else "MISS"
        lines.append(f"| {label} | {result.median('mltable_lite'):.4f} | {result.median('baseline'):.4f} | "
                     f"{result.ratio:.3f} | ≤ {target:.2f} | {verdict} |")
    shapes = "; ".join(
        f"{r.workload}: " + ", ".join(f"{who} {shape[0]}×{shape[1]}" for who, shape in r.shapes.items())
        for r in results if not r.error)
    runs = "; ".join(f"{r.workload}: {len(r.times['mltable_lite'])}" for r in results if not r.error)
    spread = "; ".join(
        f"{r.workload}: " + ", ".join(f"{who} {min(t):.4f}/{max(t):.4f}" for who, t in r.times.items())
        + f" (ratio of minima {min(r.times['mltable_lite']) / min(r.times['baseline']):.3f})"
        for r in results if not r.error)
    cpu = "; ".join(
        f"{r.workload}: " + ", ".join(f"{who} {statistics.median(t):.4f}" for who, t in r.cpu.items())
        + f" (ratio {statistics.median(r.cpu['mltable_lite']) / statistics.median(r.cpu['baseline']):.3f})"
        for r in results if r.cpu and not r.error)
    return "\n".join(lines + [
        "",
        f"- Date: {_dt.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}",
        f"- Machine: {machine()}",
        f"- Data: {args.files} CSV files × {args.rows_per_file:_} rows × 6 columns "
        f"({args.files * args.rows_per_file:_} rows), same data as {args.files} parquet files",
        f"- Timed runs per contestant (interleaved, median kept, one untimed warm-up each): {runs}",
        f"- Spread, min/max seconds (noise check; the verdict uses the medians): {spread}",
        *([f"- Child CPU time (user + system), median seconds (less load-sensitive than wall time): {cpu}"]
          if cpu else []),
        f"- Fresh processes: " + ("bytecode cached in --data-dir (PYTHONPYCACHEPREFIX; PYTHONDONTWRITEBYTECODE "
                                  "dropped)" if args.bytecode_cache else "environment as is (--no-bytecode-cache)")
        + f"; this shell has PYTHONDONTWRITEBYTECODE={os.environ.get('PYTHONDONTWRITEBYTECODE', '(unset)')}",
        f"- Result shapes (rows × columns): {shapes}",
        f"- Command: `{command}`",
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows-per-file", type=int, default=500_000)
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per contestant (fresh-process: 2x)")
    parser.add_argument("--data-dir", type=Path, default=HERE / "data",
                        help="cache for generated data (default benchmarks/data, git-ignored)")
    parser.add_argument("--only", default=",".join(WORKLOADS),
                        help=f"comma-separated subset of {','.join(WORKLOADS)}")
    parser.add_argument("--no-bytecode-cache", dest="bytecode_cache", action="store_false",
                        help="run the fresh processes with the environment as is (see subprocess_env)")
    parser.add_argument("--write", action="store_true", help=f"also write {RESULTS_FILE.relative_to(REPO)}")
    args = parser.parse_args(argv)
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in WORKLOADS]
    if unknown or args.repeat < 1 or args.files < 1 or args.rows_per_file < 1:
        parser.error(f"bad arguments (unknown workloads: {unknown})" if unknown else "sizes must be >= 1")

    command = shlex.join(["python", "benchmarks/bench_core.py", *(sys.argv[1:] if argv is None else argv)])
    data = prepare_data(args.data_dir.resolve(), args.files, args.rows_per_file)
    data.bytecode_cache = args.bytecode_cache

    results = []
    for name in chosen:
        print(f"# running {name} ...", file=sys.stderr)
        started = time.perf_counter()
        try:
            result = WORKLOADS[name][1](data, args.repeat)
        except AssertionError:
            raise
        except Exception as error:  # a contestant that cannot run yet: report it, keep going
            message = f"{type(error).__name__}: {error}".splitlines()[0][:160]
            result = Result(name, error=message.replace("|", "/"))
        if not result.error and name != "fresh_tiny_csv" and result.shapes["mltable_lite"][0] != data.total_rows:
            raise AssertionError(f"{name}: expected {data.total_rows} rows, got {result.shapes}")
        print(f"#   done in {time.perf_counter() - started:.1f}s", file=sys.stderr)
        results.append(result)

    report = render(results, args, command)
    print(report)
    if args.write:
        RESULTS_FILE.write_text("# Core benchmark results\n\nWritten by `benchmarks/bench_core.py --write`; "
                                "see benchmarks/README.md for what each workload measures.\n\n" + report + "\n")
        print(f"# wrote {RESULTS_FILE}", file=sys.stderr)
    return 1 if any(r.error for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
