#!/usr/bin/env python
"""Transform push-down benchmarks: take / filter / keep_columns against a full read, in one run.

Run from the repository root (see benchmarks/README.md)::

    python benchmarks/bench_transforms.py                 # default sizes: 8 files x 500_000 rows
    python benchmarks/bench_transforms.py --write         # also write benchmarks/RESULTS-transforms.md
    python benchmarks/bench_transforms.py --rows-per-file 20000 --repeat 3   # quick smoke run

Each workload is timed against the full read of the same folder by mltable_lite
(``.to_pandas_dataframe()`` with no transforms), interleaved in the same run (A B B A ..., or a
rotating order for three contestants), and the ratio of medians is compared with its target:

* ``take20_csv``     ``from_delimited_files([{'folder': csv}]).take(20)``          ≤ 0.05 × full CSV read
* ``filter1pct_pq``  ``from_parquet_files(...).filter('id >= X and id < Y')`` (1%) ≤ 0.30 × full parquet read
* ``keep2of6_pq``    ``from_parquet_files(...).keep_columns(['id', 'score'])``      ≤ 0.50 × full parquet read

Data: the CSV folder is ``benchmarks/bench_core.py``'s (8 files × 500_000 rows × 6 columns, about
230 MB, generated once and shared). The parquet folder is written here from the same generator,
with ``id`` sorted across files and row groups of 100_000 rows so min/max statistics can prune.
Row counts are asserted (the 1% filter must return exactly the ids X..Y-1). A workload that misses
its target is profiled once with cProfile and the top functions are printed with the report.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as _dt
import gc
import io
import json
import os
import platform
import pstats
import shlex
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS_FILE = HERE / "RESULTS-transforms.md"
sys.path.insert(0, str(HERE))

import bench_core  # noqa: E402  (the shared data generator: same rows, same cache)

PARQUET_VERSION = 1            # bump when the sorted parquet layout below changes
ROW_GROUP_SIZE = 100_000
FULL = "full read"             # the baseline contestant of every group


# --- data -----------------------------------------------------------------------------------------


@dataclass
class Data:
    csv_dir: Path
    parquet_dir: Path
    total_rows: int


def prepare_sorted_parquet(data_dir: Path, files: int, rows_per_file: int) -> Path:
    """Parquet copy of bench_core's rows, ``id`` ascending across files, 100k-row row groups."""
    out = data_dir / "parquet-sorted"
    manifest_path = data_dir / "parquet-sorted.manifest.json"   # outside: the folder is read whole
    manifest = {"version": PARQUET_VERSION, "core_data_version": bench_core.DATA_VERSION,
                "seed": bench_core.SEED, "files": files, "rows_per_file": rows_per_file,
                "row_group_size": ROW_GROUP_SIZE, "pyarrow": pa.__version__}
    expected = [f"part-{i:03d}" for i in range(files)]
    try:
        cached = json.loads(manifest_path.read_text())
    except (OSError, ValueError):
        cached = None
    if cached == manifest and sorted(p.stem for p in out.glob("*.parquet")) == expected:
        print(f"# using cached sorted parquet in {out}", file=sys.stderr)
        return out
    print(f"# writing sorted parquet ({files} files, row groups of {ROW_GROUP_SIZE:_}) in {out} ...",
          file=sys.stderr)
    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    if manifest_path.exists():
        manifest_path.unlink()
    for old in out.glob("*.parquet"):
        old.unlink()
    for index, stem in enumerate(expected):
        typed = bench_core._typed_table(index, rows_per_file)   # ids index*rows .. (index+1)*rows-1
        typed = typed.set_column(4, "ts", typed.column("ts").cast(pa.timestamp("us")))
        tmp = data_dir / f".parquet-sorted-{stem}.tmp"
        pq.write_table(typed, str(tmp), row_group_size=ROW_GROUP_SIZE)
        tmp.replace(out / f"{stem}.parquet")
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"# written in {time.perf_counter() - started:.1f}s", file=sys.stderr)
    return out


def prepare_data(data_dir: Path, files: int, rows_per_file: int) -> Data:
    core = bench_core.prepare_data(data_dir, files, rows_per_file)   # CSV (and core's own parquet)
    parquet_dir = prepare_sorted_parquet(data_dir, files, rows_per_file)
    return Data(core.csv_dir, parquet_dir, files * rows_per_file)


# --- measuring ------------------------------------------------------------------------------------


@dataclass
class Workload:
    name: str
    label: str
    target: float
    run: Callable[[], object]              # returns the DataFrame (checked, then dropped)
    check: Callable[[object], None]        # raises AssertionError on a wrong result
    explain: str = ""


@dataclass
class Group:
    """Contestants timed together; ``FULL`` is every workload's baseline."""
    contestants: dict[str, Callable[[], object]]
    times: dict[str, list[float]] = field(default_factory=dict)

    def median(self, who: str) -> float:
        return statistics.median(self.times[who])


def _timed(read: Callable[[], object]) -> tuple[float, object]:
    gc.collect()
    started = time.perf_counter()
    frame = read()
    return time.perf_counter() - started, frame


def run_group(group: Group, checks: dict[str, Callable[[object], None]], repeat: int) -> Group:
    """One untimed warm-up each (checked), then ``repeat`` timed rounds in a rotating order."""
    order = list(group.contestants)
    group.times = {who: [] for who in order}
    for who in order:
        _, frame = _timed(group.contestants[who])
        checks[who](frame)
        del frame
    for run in range(repeat):
        shift = run % len(order)
        rotated = order[shift:] + order[:shift]
        if run % 2 == 1:
            rotated = rotated[::-1]
        for who in rotated:
            elapsed, frame = _timed(group.contestants[who])
            checks[who](frame)          # outside the timed region
            del frame
            group.times[who].append(elapsed)
    return group


def _expect_shape(rows: int, columns: list[str]) -> Callable[[object], None]:
    def check(frame) -> None:
        if frame.shape != (rows, len(columns)) or list(frame.columns) != columns:
            raise AssertionError(f"expected {rows} rows × {columns}, got {frame.shape} {list(frame.columns)}")
    return check


def _expect_ids(low: int, high: int) -> Callable[[object], None]:
    def check(frame) -> None:
        _expect_shape(high - low, bench_core.COLUMNS)(frame)
        ids = frame["id"].to_numpy()
        if not (ids.min() == low and ids.max() == high - 1 and len(set(ids.tolist())) == high - low):
            raise AssertionError(f"filter returned ids {ids.min()}..{ids.max()}, expected {low}..{high - 1}")
    return check


def _expect_first_ids(n: int) -> Callable[[object], None]:
    def check(frame) -> None:
        _expect_shape(n, bench_core.COLUMNS)(frame)
        if frame["id"].tolist() != list(range(n)):   # sorted file order: part-000 first
            raise AssertionError(f"take({n}) returned ids {frame['id'].tolist()}")
    return check


def profile(run: Callable[[], object], top: int = 15) -> str:
    """One cProfile'd run: the ``top`` functions by cumulative time, then by own time."""
    profiler = cProfile.Profile()
    profiler.enable()
    frame = run()
    profiler.disable()
    del frame
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs()
    out.write(f"--- top {top} by cumulative time\n")
    stats.sort_stats("cumulative").print_stats(top)
    out.write(f"--- top {top} by own time\n")
    stats.sort_stats("tottime").print_stats(top)
    text = out.getvalue()
    return "\n".join(line.rstrip() for line in text.splitlines()
                     if line.strip() and not line.lstrip().startswith(("Ordered by", "List reduced")))


# --- reporting ------------------------------------------------------------------------------------


def machine() -> str:
    import pandas

    try:
        nproc = len(os.sched_getaffinity(0))
    except AttributeError:
        nproc = os.cpu_count()
    return (f"nproc {nproc}, {platform.system()} {platform.machine()}, Python {platform.python_version()}, "
            f"pyarrow {pa.__version__}, pandas {pandas.__version__}")


def render(rows: list[tuple[Workload, Group]], args: argparse.Namespace, command: str, low: int, high: int,
           profiles: dict[str, str]) -> str:
    lines = [
        "| workload | median (s) | full-read median (s) | ratio | target | result |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for workload, group in rows:
        mine, full = group.median(workload.name), group.median(FULL)
        ratio = mine / full
        verdict = "PASS" if ratio <= workload.target else "MISS"
        lines.append(f"| {workload.label} | {mine:.4f} | {full:.4f} | {ratio:.3f} | "
                     f"≤ {workload.target:.2f} | {verdict} |")
    spread = "; ".join(
        f"{workload.name} {min(group.times[workload.name]):.4f}–{max(group.times[workload.name]):.4f} s "
        f"(ratio of minima {min(group.times[workload.name]) / min(group.times[FULL]):.3f})"
        for workload, group in rows)
    fulls = "; ".join(f"{label} {min(group.times[FULL]):.4f}–{max(group.times[FULL]):.4f} s"
                      for label, group in {"CSV": rows[0][1], "parquet": rows[-1][1]}.items())
    total = args.files * args.rows_per_file
    lines += [
        "",
        f"- Date: {_dt.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}",
        f"- Machine: {machine()}",
        f"- Data: {args.files} files × {args.rows_per_file:_} rows × 6 columns ({total:_} rows); CSV "
        f"folder from bench_core.py, parquet folder sorted by `id` with {ROW_GROUP_SIZE:_}-row row groups",
        f"- Filter: `id >= {low} and id < {high}` ({high - low:_} rows, asserted exact)",
        f"- Timed runs per contestant: {args.repeat} (interleaved, rotating order, one untimed warm-up "
        "each; the full read is timed in each group, so every ratio compares runs of the same minutes)",
        f"- Spread (min–max): {spread}; full reads: {fulls}",
        f"- Command: `{command}`",
    ]
    for workload, _ in rows:
        if workload.explain:
            lines += ["", f"`explain()` for {workload.label}:", "", "```", workload.explain, "```"]
    for name, text in profiles.items():
        lines += ["", f"cProfile of one `{name}` run (missed its target):", "", "```", text, "```"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows-per-file", type=int, default=500_000)
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per contestant")
    parser.add_argument("--data-dir", type=Path, default=HERE / "data",
                        help="cache for generated data (default benchmarks/data, git-ignored)")
    parser.add_argument("--no-profile", action="store_true", help="do not cProfile workloads that miss")
    parser.add_argument("--write", action="store_true", help=f"also write {RESULTS_FILE.relative_to(REPO)}")
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.files < 1 or args.rows_per_file < 100:
        parser.error("--repeat and --files must be >= 1, --rows-per-file >= 100")

    import mltable_lite as mltable

    command = shlex.join(["python", "benchmarks/bench_transforms.py", *(sys.argv[1:] if argv is None else argv)])
    data = prepare_data(args.data_dir.resolve(), args.files, args.rows_per_file)
    csv_folder, pq_folder, total = str(data.csv_dir), str(data.parquet_dir), data.total_rows
    # A contiguous 1% id range, off row-group boundaries (touches two row groups at default sizes).
    low = int(total * 0.545)
    high = low + total // 100

    def csv() -> "mltable.MLTable":
        return mltable.from_delimited_files([{"folder": csv_folder}])

    def parquet() -> "mltable.MLTable":
        return mltable.from_parquet_files([{"folder": pq_folder}])

    take = Workload("take20_csv", "CSV folder `.take(20)`", 0.05,
                    lambda: csv().take(20).to_pandas_dataframe(), _expect_first_ids(20))
    filt = Workload("filter1pct_pq", "Parquet `.filter(id range)`, 1% of rows", 0.30,
                    lambda: parquet().filter(f"id >= {low} and id < {high}").to_pandas_dataframe(),
                    _expect_ids(low, high))
    keep = Workload("keep2of6_pq", "Parquet `.keep_columns(['id', 'score'])`", 0.50,
                    lambda: parquet().keep_columns(["id", "score"]).to_pandas_dataframe(),
                    _expect_shape(total, ["id", "score"]))
    take.explain = csv().take(20).explain()
    filt.explain = parquet().filter(f"id >= {low} and id < {high}").explain()
    keep.explain = parquet().keep_columns(["id", "score"]).explain()
    for workload in (take, filt, keep):
        print(f"# explain() {workload.name}:\n" + "\n".join(f"#   {line}" for line in workload.explain.splitlines()),
              file=sys.stderr)

    full_check = _expect_shape(total, bench_core.COLUMNS)
    rows: list[tuple[Workload, Group]] = []
    print("# running CSV group (full read, take(20)) ...", file=sys.stderr)
    started = time.perf_counter()
    csv_group = run_group(Group({FULL: lambda: csv().to_pandas_dataframe(), take.name: take.run}),
                          {FULL: full_check, take.name: take.check}, args.repeat)
    print(f"#   done in {time.perf_counter() - started:.1f}s", file=sys.stderr)
    rows.append((take, csv_group))
    print("# running parquet group (full read, filter, keep_columns) ...", file=sys.stderr)
    started = time.perf_counter()
    pq_group = run_group(Group({FULL: lambda: parquet().to_pandas_dataframe(), filt.name: filt.run,
                                keep.name: keep.run}),
                         {FULL: full_check, filt.name: filt.check, keep.name: keep.check}, args.repeat)
    print(f"#   done in {time.perf_counter() - started:.1f}s", file=sys.stderr)
    rows += [(filt, pq_group), (keep, pq_group)]

    profiles = {}
    if not args.no_profile:
        for workload, group in rows:
            if group.median(workload.name) / group.median(FULL) > workload.target:
                print(f"# profiling {workload.name} (missed) ...", file=sys.stderr)
                profiles[workload.name] = profile(workload.run)

    report = render(rows, args, command, low, high, profiles)
    print(report)
    if args.write:
        RESULTS_FILE.write_text("# Transform benchmark results\n\nWritten by `benchmarks/bench_transforms.py "
                                "--write`; see benchmarks/README.md for what each workload measures.\n\n"
                                + report + "\n")
        print(f"# wrote {RESULTS_FILE}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
