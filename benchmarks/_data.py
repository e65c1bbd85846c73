"""The benchmark data: generated once from a seed, cached on disk, regenerated when its parameters change.

Every data set is built from the same six columns (:data:`COLUMNS`), drawn with numpy from
:data:`SEED`, so every machine gets byte-identical files:

* ``csv/``, ``parquet/``, ``jsonl/`` -- the *main rows*: ``rows`` rows over ``files`` files, the
  same rows in each format. ``id`` runs 0, 1, ... across the files in name order, so the parquet
  folder is sorted by ``id`` (row groups of :data:`PARQUET_ROW_GROUP` rows, whose min/max
  statistics let a range filter skip most of them).
* ``delta/`` -- the main rows as a Delta table with 5 versions (write, 2 appends, an overwrite,
  an append); the latest version holds exactly the main rows, so readers must skip the files the
  overwrite removed.
* ``small-csv/`` -- ``small_files`` CSV files of :data:`SMALL_FILE_ROWS` rows (about 5 KB each).
* ``azure-csv/`` -- ``azure_files`` CSV files of :data:`AZURE_FILE_ROWS` rows (about 20 KB each),
  uploaded to Azurite by the Azure workload.
* ``azure-big/`` -- ``azure_big_files`` files of ``azure_big_mb`` MiB of random bytes, uploaded to
  Azurite beside ``azure-csv/`` by the copy workload.
* ``tiny/tiny.csv`` -- 5 rows, for the fresh-process workload.

Each data set has its own manifest in ``<data-dir>/manifests/``; only the sets that the chosen
workloads need are generated.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

# Bump when generated content or layout changes, so that cached data is regenerated.
DATA_VERSION = 3
SEED = 20240607
COLUMNS = ["id", "name", "score", "count", "ts", "flag"]
PARQUET_ROW_GROUP = 100_000
SMALL_FILE_ROWS = 100
AZURE_FILE_ROWS = 360
DELTA_VERSIONS = 5

TINY_CSV = (
    "id,name,score,count,ts,flag\n"
    "1,Alice Smith,1.5,10,2021-01-01 00:00:00,True\n"
    "2,Bob Jones,2.25,20,2021-06-15 12:30:45,False\n"
    "3,Carol White,3.125,30,2022-02-28 23:59:59,True\n"
    "4,Dan Brown,4.0,40,2023-07-04 08:00:00,False\n"
    "5,Eve Black,5.5,50,2024-12-31 18:15:30,True\n"
)

_FIRST = ["Alice", "Bob", "Carol", "Dan", "Eve", "Frank", "Grace", "Heidi", "Ivan", "Judy", "Mallory",
          "Niaj", "Olivia", "Peggy", "Rupert", "Sybil", "Trent", "Uma", "Victor", "Walter"]
_LAST = ["Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
         "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore",
         "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris"]
_TS_START = np.datetime64("2020-01-01T00:00:00", "s")
_TS_SPAN_S = 4 * 365 * 24 * 3600
# Unquoted values, as a hand-written file would have them ("none" raises if one needed quotes).
_CSV_OPTIONS = pacsv.WriteOptions(include_header=True, quoting_style="none", quoting_header="none")


@dataclass(frozen=True)
class Sizes:
    """How much data to generate (the command-line size options)."""

    rows: int = 4_000_000
    files: int = 8
    small_files: int = 10_000
    azure_files: int = 500
    azure_big_files: int = 4
    azure_big_mb: int = 64

    @property
    def rows_per_file(self) -> int:
        return self.rows // self.files


@dataclass(frozen=True)
class Data:
    """Where each data set lives, and how many rows each holds."""

    root: Path
    sizes: Sizes

    csv_dir = property(lambda self: self.root / "csv")
    parquet_dir = property(lambda self: self.root / "parquet")
    jsonl_dir = property(lambda self: self.root / "jsonl")
    delta_dir = property(lambda self: self.root / "delta")
    small_dir = property(lambda self: self.root / "small-csv")
    azure_dir = property(lambda self: self.root / "azure-csv")
    azure_big_dir = property(lambda self: self.root / "azure-big")
    tiny_csv = property(lambda self: self.root / "tiny" / "tiny.csv")

    @property
    def rows(self) -> int:
        return self.sizes.rows_per_file * self.sizes.files

    @property
    def small_rows(self) -> int:
        return self.sizes.small_files * SMALL_FILE_ROWS

    @property
    def azure_rows(self) -> int:
        return self.sizes.azure_files * AZURE_FILE_ROWS


# --- rows -----------------------------------------------------------------------------------------


def typed_rows(stream: int, index: int, rows: int, first_id: int) -> pa.Table:
    """``rows`` rows with their true Arrow types, deterministic in (stream, index, rows, first_id)."""
    rng = np.random.default_rng([SEED, stream, index])
    names = pa.array([f"{first} {last}" for first in _FIRST for last in _LAST], pa.string())
    seconds = rng.integers(0, _TS_SPAN_S, size=rows, dtype=np.int64)
    return pa.table({
        "id": pa.array(np.arange(first_id, first_id + rows, dtype=np.int64)),
        "name": names.take(pa.array(rng.integers(0, len(names), size=rows, dtype=np.int32))),
        "score": pa.array(np.round(rng.normal(50.0, 15.0, size=rows), 3)),
        "count": pa.array(rng.integers(0, 10_000, size=rows, dtype=np.int64)),
        "ts": pa.array(_TS_START + seconds.astype("timedelta64[s]")),  # timestamp[s]
        "flag": pa.array(rng.random(size=rows) < 0.5),
    })


def main_part(data: Data, index: int) -> pa.Table:
    """File ``index`` of the main rows (ids ``index * rows_per_file`` onwards)."""
    per_file = data.sizes.rows_per_file
    return typed_rows(0, index, per_file, index * per_file)


def _with_ts(table: pa.Table, ts_type: pa.DataType) -> pa.Table:
    return table.set_column(COLUMNS.index("ts"), "ts", table.column("ts").cast(ts_type))


def _csv_text_columns(typed: pa.Table) -> pa.Table:
    """``ts`` as ``2022-07-15 13:06:09`` and ``flag`` as ``True``/``False``, the rest unchanged."""
    ts_text = pc.strftime(typed.column("ts"), format="%Y-%m-%d %H:%M:%S")
    flag_text = pc.if_else(typed.column("flag"), "True", "False")
    table = typed.set_column(COLUMNS.index("ts"), "ts", ts_text)
    return table.set_column(COLUMNS.index("flag"), "flag", flag_text)


def write_csv(typed: pa.Table, path: Path) -> None:
    pacsv.write_csv(_csv_text_columns(typed), str(path), _CSV_OPTIONS)


def json_lines(typed: pa.Table) -> str:
    """The rows as JSON lines: ``{"id":0,"name":"Grace Rodriguez","score":42.211,...,"flag":true}``.

    ``score`` always has a decimal point (``42.0``, never ``42``) so that every line has the same
    JSON type; ``ts`` is an ISO 8601 string (``2022-07-15T13:06:09``).
    """
    score = pc.cast(typed.column("score"), pa.string())
    score = pc.if_else(pc.match_substring(score, "."), score, pc.binary_join_element_wise(score, ".0", ""))
    parts = [
        '{"id":', pc.cast(typed.column("id"), pa.string()),
        ',"name":"', typed.column("name"),
        '","score":', score,
        ',"count":', pc.cast(typed.column("count"), pa.string()),
        ',"ts":"', pc.strftime(typed.column("ts"), format="%Y-%m-%dT%H:%M:%S"),
        '","flag":', pc.if_else(typed.column("flag"), "true", "false"),
        "}",
    ]
    lines = pc.binary_join_element_wise(*parts, "")
    return "\n".join(lines.to_pylist()) + "\n"


# --- data sets ------------------------------------------------------------------------------------


def _write_main_formats(data: Data) -> None:
    for directory in (data.csv_dir, data.parquet_dir, data.jsonl_dir):
        _empty(directory)
    for index in range(data.sizes.files):
        typed = main_part(data, index)
        stem = f"part-{index:03d}"
        write_csv(typed, data.csv_dir / f"{stem}.csv")
        pq.write_table(_with_ts(typed, pa.timestamp("us")), str(data.parquet_dir / f"{stem}.parquet"),
                       row_group_size=PARQUET_ROW_GROUP)
        (data.jsonl_dir / f"{stem}.jsonl").write_text(json_lines(typed))


def _write_delta(data: Data) -> None:
    """Five versions whose latest holds exactly the main rows.

    v0 writes part 0; v1 and v2 append parts 1-2 and 3-4; v3 overwrites everything with all parts
    but the last two (so the files of v0-v2 are removed from the table but stay on disk); v4 appends the rest.
    Timestamps are UTC (the classic Delta ``timestamp`` type that every reader supports).
    """
    from deltalake import write_deltalake

    files = data.sizes.files   # at least 5 (checked by run.py)
    overwritten = files - 2    # parts 0 .. overwritten-1 come with the overwrite

    def parts(indexes: range) -> pa.Table:
        return pa.concat_tables([_with_ts(main_part(data, i), pa.timestamp("us", tz="UTC")) for i in indexes])

    _empty(data.delta_dir)
    steps = [("overwrite", range(0, 1)), ("append", range(1, 3)), ("append", range(3, 5)),
             ("overwrite", range(0, overwritten)), ("append", range(overwritten, files))]
    for mode, indexes in steps:
        write_deltalake(str(data.delta_dir), parts(indexes), mode=mode)


def _write_small_files(directory: Path, count: int, rows_each: int, stream: int) -> None:
    _empty(directory)
    width = max(5, len(str(count - 1)))
    batch = 1000   # files generated per numpy draw (bounded memory, deterministic)
    for start in range(0, count, batch):
        stop = min(count, start + batch)
        typed = typed_rows(stream, start // batch, (stop - start) * rows_each, start * rows_each)
        for number in range(start, stop):
            piece = typed.slice((number - start) * rows_each, rows_each)
            write_csv(piece, directory / f"part-{number:0{width}d}.csv")


def _write_big_files(directory: Path, count: int, mib: int) -> None:
    _empty(directory)
    generator = np.random.default_rng([SEED, 3])
    for number in range(count):
        (directory / f"blob-{number}.bin").write_bytes(generator.bytes(mib << 20))


def _write_tiny(data: Data) -> None:
    _empty(data.tiny_csv.parent)
    data.tiny_csv.write_text(TINY_CSV)


def _empty(directory: Path) -> None:
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)


# name -> (parameters that decide its content, writer)
def _data_sets(data: Data) -> dict[str, tuple[dict, Callable[[Data], None]]]:
    main = {"rows_per_file": data.sizes.rows_per_file, "files": data.sizes.files,
            "parquet_row_group": PARQUET_ROW_GROUP}
    return {
        "main": (main, _write_main_formats),
        "delta": ({**main, "versions": DELTA_VERSIONS}, _write_delta),
        "small": ({"files": data.sizes.small_files, "rows_each": SMALL_FILE_ROWS},
                  lambda d: _write_small_files(d.small_dir, d.sizes.small_files, SMALL_FILE_ROWS, stream=1)),
        "azure": ({"files": data.sizes.azure_files, "rows_each": AZURE_FILE_ROWS},
                  lambda d: _write_small_files(d.azure_dir, d.sizes.azure_files, AZURE_FILE_ROWS, stream=2)),
        "azure_big": ({"files": data.sizes.azure_big_files, "mib_each": data.sizes.azure_big_mb},
                      lambda d: _write_big_files(d.azure_big_dir, d.sizes.azure_big_files, d.sizes.azure_big_mb)),
        "tiny": ({}, _write_tiny),
    }


DATA_SETS = ("main", "delta", "small", "azure", "azure_big", "tiny")


def prepare(root: Path, sizes: Sizes, needed: set[str]) -> Data:
    """Generate the ``needed`` data sets under ``root`` unless their manifest says they are current."""
    data = Data(root.resolve(), sizes)
    manifests = data.root / "manifests"
    manifests.mkdir(parents=True, exist_ok=True)
    for name, (parameters, write) in _data_sets(data).items():
        if name not in needed:
            continue
        manifest = {"data_version": DATA_VERSION, "seed": SEED, "pyarrow": pa.__version__, **parameters}
        manifest_path = manifests / f"{name}.json"
        try:
            if json.loads(manifest_path.read_text()) == manifest:
                continue
        except (OSError, ValueError):
            pass
        print(f"# generating data set '{name}' {parameters} in {data.root} ...", file=sys.stderr, flush=True)
        started = time.perf_counter()
        manifest_path.unlink(missing_ok=True)   # a half-written set is never taken as current
        write(data)
        manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
        print(f"#   generated in {time.perf_counter() - started:.1f}s", file=sys.stderr, flush=True)
    return data
