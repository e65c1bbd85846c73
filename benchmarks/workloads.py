"""What is measured: each workload, its contestants' exact code, the expected result, and the targets.

Contestants are the columns of the results tables:

* ``mltable_lite`` -- this package, written the drop-in way (``import mltable_lite as mltable``).
* ``pyarrow`` -- raw PyArrow to pandas: the practical limit, and the baseline of every ratio.
* ``pandas`` -- a ``pd.read_*`` + ``pd.concat`` loop over the files, as Azure ML's docs show users.
* ``polars`` and ``duckdb`` -- other fast engines, converting their result to pandas.
* ``mltable`` -- Microsoft's ``mltable`` (set ``MLTABLE_REFERENCE_PYTHON`` to an interpreter that
  has it); it needs its own virtualenv, so it runs only in the whole-process workloads.

Every contestant is asked for the same typed frame where its API allows (``ts`` parsed as a
timestamp: ``parse_dates`` for pandas, ``try_parse_dates`` for polars), and must return exactly
the expected number of rows and columns.
"""

from __future__ import annotations

import contextlib
import importlib.util
import math
import os
from dataclasses import dataclass, field, replace
from typing import Callable, ContextManager

from _data import COLUMNS, Data
from _timing import Contestant, Expected

SAMPLE_PROBABILITY = 0.01
SAMPLE_SEED = 7
KEPT_COLUMNS = ["id", "score"]
AZURITE_ENV = "BENCH_AZURITE_CONNECTION_STRING"
AZURE_LATENCY_MS = 10.0   # the azurite_latency workload: a same-region round trip, roughly
REMOTE_LATENCY_MS = 20.0  # the azurite_*_folder_latency workloads: issue 19's cross-region-ish round trip

# Column order and headings of the results tables.
CONTESTANTS = {
    "mltable_lite": "mltable_lite",
    "pyarrow": "pyarrow",
    "pandas": "pandas loop",
    "polars": "polars",
    "duckdb": "duckdb",
    "mltable": "mltable (reference)",
    "one_file": "mltable_lite, 1 of the files",
    "adlfs_get": "adlfs fs.get loop",
    "sdk_download": "download_blob(max_concurrency=8) per file",
    "to_pandas": "mltable_lite to_pandas_dataframe()",
    "dask_read_csv": "dask.dataframe.read_csv",
}
COPY_COLUMNS = ["mltable_lite", "adlfs_get", "sdk_download"]


@dataclass
class Workload:
    name: str
    title: str
    whole_process: bool
    data_sets: frozenset[str]
    expected: Expected
    contestants: list[Contestant]
    absent: dict[str, str] = field(default_factory=dict)    # contestant -> why it has no code here
    context: Callable[[], ContextManager] = contextlib.nullcontext   # e.g. a running Azurite
    unavailable: Callable[[], str | None] = lambda: None    # why the whole workload cannot run
    moves_files: bool = False    # a copy: reported in its own table, with MB/s (see bytes_moved)
    bytes_moved: Callable[[], int] = lambda: 0
    # Inside ``context``: (environment variable, its value for the counting pass, a function that
    # returns the requests counted since it was last called), or None when requests are not counted.
    counting: Callable[[], tuple[str, str, Callable[[], dict]] | None] = lambda: None


@dataclass(frozen=True)
class Target:
    """``mltable_lite ÷ peer`` (median time, or median peak RSS) must be ≤ ``limit`` (``<`` if strict).

    A ``context`` row is measured and shown beside the targets but judged by no one: it is there
    to read a target's number against (a stricter clock, say), not to pass or fail.
    """

    workload: str
    peer: str
    limit: float
    label: str
    metric: str = "time"      # "time" (wall; whole process: to exit), "ready" (spawn to DataFrame), "memory"
    strict: bool = False
    context: bool = False

    def met(self, ratio: float) -> bool:
        return ratio < self.limit if self.strict else ratio <= self.limit


TARGETS = [
    Target("csv", "pyarrow", 1.10, "CSV folder → pandas ≤ 1.1× raw pyarrow"),
    Target("csv", "polars", 1.0, "CSV folder → pandas faster than polars", strict=True),
    Target("csv", "duckdb", 1.0, "CSV folder → pandas faster than duckdb", strict=True),
    Target("parquet", "pyarrow", 1.10, "Parquet folder → pandas ≤ 1.1× raw pyarrow"),
    # Issue 19: the local workloads keep their lead while remote reads are optimised.
    Target("jsonl", "polars", 1.0, "JSON lines folder → pandas ≤ 1.0× polars"),
    Target("filter_parquet", "polars", 1.0, "Parquet folder, 1% filter → pandas ≤ 1.0× polars"),
    Target("small_files", "pyarrow", 1.0, "10 000 small local CSV files → pandas ≤ 1.0× raw pyarrow"),
    Target("process_csv", "pyarrow", 1.10, "Peak memory, CSV folder ≤ 1.1× raw pyarrow's", metric="memory"),
    Target("process_parquet", "pyarrow", 1.10, "Peak memory, parquet folder ≤ 1.1× raw pyarrow's",
           metric="memory"),
    Target("process_jsonl", "pyarrow", 1.10, "Peak memory, JSON lines folder ≤ 1.1× raw pyarrow's",
           metric="memory"),
    Target("process_delta", "pyarrow", 1.10, "Peak memory, Delta table ≤ 1.1× raw pyarrow's", metric="memory"),
    Target("fresh_tiny_csv", "pyarrow", 1.30, "Fresh process, 5-row CSV ≤ 1.3× the import floor"),
    # The target is the whole process, start-up and exit included: the ~3 s the reference
    # spends at exit offline (flushing its telemetry) is time its users wait for too.
    Target("process_csv", "mltable", 0.20, "≥ 5× faster than mltable, CSV folder (whole process, to exit)"),
    Target("process_parquet", "mltable", 0.20, "≥ 5× faster than mltable, parquet folder (whole process, to exit)"),
    # The same processes timed only to the DataFrame: what the reference's read itself costs. Even
    # raw pyarrow is not 5× faster by that clock, so it is context for the two rows above.
    Target("process_csv", "mltable", 0.20, "Context: the same, CSV folder, timed to the DataFrame (exit left out)",
           metric="ready", context=True),
    Target("process_parquet", "mltable", 0.20,
           "Context: the same, parquet folder, timed to the DataFrame (exit left out)", metric="ready", context=True),
    Target("write_parquet", "pyarrow", 1.10,
           "CSV folder → Parquet files (read + write, whole process) ≤ 1.1× pyarrow.dataset.write_dataset"),
    Target("write_parquet", "one_file", 1.30,
           "Peak memory writing all the CSV files as Parquet ≤ 1.3× writing one of them (streaming)", metric="memory"),
    Target("dask_csv", "to_pandas", 1.50,
           "to_dask_dataframe().compute() on 2 worker processes ≤ 1.5× to_pandas_dataframe(), CSV folder"),
    Target("dask_csv", "dask_read_csv", 1.0,
           "to_dask_dataframe().compute() at least as fast as dask.dataframe.read_csv on the same files"),
    Target("batches_csv", "one_file", 1.30,
           "Peak memory iterating to_batches() over all the CSV files ≤ 1.3× over one of them", metric="memory"),
    Target("azurite", "pandas", 0.25, "Azurite, small files ≥ 4× faster than the sequential adlfs loop"),
    Target("azurite_latency", "pandas", 0.25,
           "Azurite + emulated round trip, small files ≥ 4× faster than the sequential adlfs loop"),
    Target("azurite_csv_folder", "pyarrow", 0.80,
           "Azurite, CSV folder → pandas ≤ 0.8× pyarrow.dataset over adlfs"),
    Target("azurite_parquet_folder", "pyarrow", 0.80,
           "Azurite, parquet folder → pandas ≤ 0.8× pyarrow.dataset over adlfs"),
    Target("azurite_csv_folder_latency", "pyarrow", 0.80,
           "Azurite + 20 ms per request, CSV folder → pandas ≤ 0.8× pyarrow.dataset over adlfs"),
    Target("azurite_parquet_folder_latency", "pyarrow", 0.80,
           "Azurite + 20 ms per request, parquet folder → pandas ≤ 0.8× pyarrow.dataset over adlfs"),
    Target("azurite_copy", "adlfs_get", 0.50,
           "Download from Azurite (small files + 64 MB files) ≥ 2× faster than a sequential adlfs fs.get loop"),
    Target("azurite_copy", "sdk_download", 1.0,
           "Download from Azurite no slower than azure-storage-blob download_blob(max_concurrency=8) per file"),
]


# --- contestants ----------------------------------------------------------------------------------


def _mltable_lite(call: str, name: str = "mltable_lite", **extra) -> Contestant:
    return Contestant(name, f"df = mltable.{call}.to_pandas_dataframe()", "import mltable_lite as mltable", **extra)


def _reference(call: str, python: str | None) -> Contestant:
    """The same program as :func:`_mltable_lite` with ``import mltable``, in the reference virtualenv."""
    return Contestant("mltable", f"df = mltable.{call}.to_pandas_dataframe()", "import mltable",
                      python=python, in_process=False)


def _pyarrow(run: str, setup: str = "import pyarrow.dataset as ds") -> Contestant:
    return Contestant("pyarrow", run, setup)


def _pandas_loop(files: str, read: str, after: str = "") -> Contestant:
    """``pd.concat`` of ``read`` (a call on ``f``) over the sorted files matching ``files``."""
    run = f"df = pd.concat([{read} for f in sorted(glob.glob({files!r}))], ignore_index=True)"
    return Contestant("pandas", run + (f"\n{after}" if after else ""), "import glob\nimport pandas as pd",
                      requires=("pandas",))


def _polars(run: str) -> Contestant:
    return Contestant("polars", run, "import polars as pl", requires=("polars",))


def _duckdb(sql: str, setup: str = "") -> Contestant:
    return Contestant("duckdb", f"df = duckdb.sql({sql!r}).df()", "import duckdb" + (f"\n{setup}" if setup else ""),
                      requires=("duckdb",))


def _folder_contestants(kind: str, data: Data, reference_python: str | None) -> list[Contestant]:
    """Whole-folder reads to pandas, for ``kind`` in csv, parquet, jsonl, delta."""
    if kind == "csv":
        folder = str(data.csv_dir)
        return [
            _mltable_lite(f"from_delimited_files([{{'folder': {folder!r}}}])"),
            _pyarrow(f"df = ds.dataset({folder!r}, format='csv').to_table().to_pandas()"),
            _pandas_loop(f"{folder}/*.csv", "pd.read_csv(f, parse_dates=['ts'])"),
            _polars(f"df = pl.scan_csv({folder + '/*.csv'!r}, try_parse_dates=True).collect().to_pandas()"),
            _duckdb(f"select * from read_csv_auto('{folder}/*.csv')"),
            _reference(f"from_delimited_files([{{'folder': {folder!r}}}])", reference_python),
        ]
    if kind == "parquet":
        folder = str(data.parquet_dir)
        return [
            _mltable_lite(f"from_parquet_files([{{'folder': {folder!r}}}])"),
            _pyarrow(f"df = ds.dataset({folder!r}, format='parquet').to_table().to_pandas()"),
            _pandas_loop(f"{folder}/*.parquet", "pd.read_parquet(f)"),
            _polars(f"df = pl.scan_parquet({folder + '/*.parquet'!r}).collect().to_pandas()"),
            _duckdb(f"select * from read_parquet('{folder}/*.parquet')"),
            _reference(f"from_parquet_files([{{'folder': {folder!r}}}])", reference_python),
        ]
    if kind == "jsonl":
        folder = str(data.jsonl_dir)
        return [
            _mltable_lite(f"from_json_lines_files([{{'folder': {folder!r}}}])"),
            # pyarrow.dataset's JSON format hangs on 3+ files here (pyarrow 26, 2 cores): one
            # multi-threaded pyarrow.json.read_json per file instead.
            _pyarrow(f"df = pa.concat_tables([pj.read_json(f) for f in sorted(glob.glob({folder + '/*.jsonl'!r}))])"
                     ".to_pandas()", "import glob\nimport pyarrow as pa\nimport pyarrow.json as pj"),
            _pandas_loop(f"{folder}/*.jsonl", "pd.read_json(f, lines=True)"),
            _polars(f"df = pl.scan_ndjson({folder + '/*.jsonl'!r}).collect().to_pandas()"),
            _duckdb(f"select * from read_json_auto('{folder}/*.jsonl')"),
            _reference(f"from_json_lines_files([{{'folder': {folder!r}}}])", reference_python),
        ]
    if kind == "delta":
        folder = str(data.delta_dir)
        return [
            _mltable_lite(f"from_delta_lake({folder!r})"),
            _pyarrow(f"df = DeltaTable({folder!r}).to_pyarrow_table().to_pandas()",
                     "from deltalake import DeltaTable"),
            _polars(f"df = pl.read_delta({folder!r}).to_pandas()"),
            Contestant("duckdb", f"df = duckdb.sql(\"select * from delta_scan('{folder}')\").df()",
                       "import duckdb\nduckdb.sql('LOAD delta')", requires=("duckdb",)),
            _reference(f"from_delta_lake({folder!r})", reference_python),
        ]
    raise ValueError(kind)


def _duckdb_extension_missing(name: str) -> Callable[[], str | None]:
    def check() -> str | None:
        try:
            import duckdb
        except ImportError:
            return None      # reported as "not installed"
        try:
            duckdb.connect().sql(f"LOAD {name}")
        except Exception:    # noqa: BLE001 - any failure means the extension cannot be used here
            return f"duckdb's `{name}` extension is not installed (duckdb downloads it on first use)"
        return None
    return check


def _with_availability(contestants: list[Contestant], name: str, reason: Callable[[], str | None]) -> list[Contestant]:
    return [replace(c, unavailable=reason) if c.name == name else c for c in contestants]


def _without(contestants: list[Contestant], *names: str) -> list[Contestant]:
    return [c for c in contestants if c.name not in names]


# --- workloads ------------------------------------------------------------------------------------


def build(data: Data, reference_python: str | None, azure_latency_ms: float = AZURE_LATENCY_MS) -> dict[str, Workload]:
    """Every workload, in the order they run, with paths and sizes from ``data``."""
    rows = data.rows
    full = Expected(rows, len(COLUMNS))
    one_percent = rows // 100
    csv_folder, parquet_folder = str(data.csv_dir), str(data.parquet_dir)
    csv_glob, parquet_glob = f"{csv_folder}/*.csv", f"{parquet_folder}/*.parquet"
    reference_note = ("set MLTABLE_REFERENCE_PYTHON to measure it" if not reference_python
                      else "runs only as a whole process (own virtualenv): see the whole-process table")
    no_reference = {"mltable": reference_note}

    def folder_workload(kind: str, title: str, data_set: str, whole_process: bool) -> Workload:
        contestants = _folder_contestants(kind, data, reference_python)
        absent = {} if whole_process else dict(no_reference)
        if kind == "delta":
            absent["pandas"] = "pandas has no Delta reader (deltalake's own to_pandas() is the pyarrow column)"
            contestants = _with_availability(contestants, "duckdb", _duckdb_extension_missing("delta"))
        if not whole_process:
            contestants = _without(contestants, "mltable")
        elif not reference_python:
            contestants = _without(contestants, "mltable")
            absent.update(no_reference)
        return Workload(kind if not whole_process else f"process_{kind}", title, whole_process,
                        frozenset({data_set}), full, contestants, absent)

    workloads = [
        folder_workload("csv", "CSV folder → pandas", "main", False),
        folder_workload("parquet", "Parquet folder → pandas", "main", False),
        folder_workload("jsonl", "JSON lines folder → pandas", "main", False),
        folder_workload("delta", "Delta table (latest of 5 versions) → pandas", "delta", False),
        Workload("take20_csv", "CSV folder, first 20 rows", False, frozenset({"main"}), Expected(20, len(COLUMNS)), [
            _mltable_lite(f"from_delimited_files([{{'folder': {csv_folder!r}}}]).take(20)"),
            _pyarrow(f"df = ds.dataset({csv_folder!r}, format='csv').head(20).to_pandas()"),
            Contestant("pandas", f"df = pd.read_csv(sorted(glob.glob({csv_glob!r}))[0], nrows=20, parse_dates=['ts'])",
                       "import glob\nimport pandas as pd"),
            _polars(f"df = pl.scan_csv({csv_glob!r}, try_parse_dates=True).head(20).collect().to_pandas()"),
            _duckdb(f"select * from read_csv_auto('{csv_glob}') limit 20"),
        ], dict(no_reference)),
        Workload("filter_parquet", f"Parquet folder, 1% filter `id < {one_percent}`", False, frozenset({"main"}),
                 Expected(one_percent, len(COLUMNS)), [
            _mltable_lite(f"from_parquet_files([{{'folder': {parquet_folder!r}}}]).filter('id < {one_percent}')"),
            _pyarrow(f"df = ds.dataset({parquet_folder!r}, format='parquet')"
                     f".to_table(filter=ds.field('id') < {one_percent}).to_pandas()"),
            _pandas_loop(parquet_glob, f"pd.read_parquet(f, filters=[('id', '<', {one_percent})])"),
            _polars(f"df = pl.scan_parquet({parquet_glob!r}).filter(pl.col('id') < {one_percent}).collect().to_pandas()"),
            _duckdb(f"select * from read_parquet('{parquet_glob}') where id < {one_percent}"),
        ], dict(no_reference)),
        Workload("filter_csv", f"CSV folder, 1% filter `id < {one_percent}`", False, frozenset({"main"}),
                 Expected(one_percent, len(COLUMNS)), [
            _mltable_lite(f"from_delimited_files([{{'folder': {csv_folder!r}}}]).filter('id < {one_percent}')"),
            _pyarrow(f"df = ds.dataset({csv_folder!r}, format='csv')"
                     f".to_table(filter=ds.field('id') < {one_percent}).to_pandas()"),
            _pandas_loop(csv_glob, "pd.read_csv(f, parse_dates=['ts'])",
                         after=f"df = df[df['id'] < {one_percent}]"),
            _polars(f"df = pl.scan_csv({csv_glob!r}, try_parse_dates=True).filter(pl.col('id') < {one_percent})"
                    ".collect().to_pandas()"),
            _duckdb(f"select * from read_csv_auto('{csv_glob}') where id < {one_percent}"),
        ], dict(no_reference)),
        Workload("keep_columns_parquet", "Parquet folder, 2 of 6 columns (`id`, `score`)", False,
                 frozenset({"main"}), Expected(rows, len(KEPT_COLUMNS)), [
            _mltable_lite(f"from_parquet_files([{{'folder': {parquet_folder!r}}}]).keep_columns({KEPT_COLUMNS!r})"),
            _pyarrow(f"df = ds.dataset({parquet_folder!r}, format='parquet').to_table(columns={KEPT_COLUMNS!r})"
                     ".to_pandas()"),
            _pandas_loop(parquet_glob, f"pd.read_parquet(f, columns={KEPT_COLUMNS!r})"),
            _polars(f"df = pl.scan_parquet({parquet_glob!r}).select({KEPT_COLUMNS!r}).collect().to_pandas()"),
            _duckdb(f"select {', '.join(KEPT_COLUMNS)} from read_parquet('{parquet_glob}')"),
        ], dict(no_reference)),
        Workload("sample_parquet", f"Parquet folder, 1% random sample (seed {SAMPLE_SEED})", False,
                 frozenset({"main"}), _sample_expected(rows), [
            _mltable_lite(f"from_parquet_files([{{'folder': {parquet_folder!r}}}])"
                          f".take_random_sample({SAMPLE_PROBABILITY}, seed={SAMPLE_SEED})"),
            _pyarrow(f"table = ds.dataset({parquet_folder!r}, format='parquet').to_table()\n"
                     f"keep = np.random.default_rng({SAMPLE_SEED}).random(table.num_rows) < {SAMPLE_PROBABILITY}\n"
                     "df = table.filter(keep).to_pandas()", "import numpy as np\nimport pyarrow.dataset as ds"),
            _pandas_loop(parquet_glob, "pd.read_parquet(f)",
                         after=f"df = df.sample(frac={SAMPLE_PROBABILITY}, random_state={SAMPLE_SEED})"),
            _polars(f"df = pl.scan_parquet({parquet_glob!r}).collect()"
                    f".sample(fraction={SAMPLE_PROBABILITY}, seed={SAMPLE_SEED}).to_pandas()"),
            _duckdb(f"select * from read_parquet('{parquet_glob}') "
                    f"using sample {SAMPLE_PROBABILITY * 100:g}% (bernoulli, {SAMPLE_SEED})"),
        ], dict(no_reference)),
        _small_files_workload(data, no_reference),
        _azurite_workload(data, no_reference),
        _azurite_workload(data, no_reference, azure_latency_ms),
        _http_small_files_workload(data, no_reference),
        _azurite_folder_workload("csv", data, no_reference),
        _azurite_folder_workload("parquet", data, no_reference),
        _azurite_folder_workload("csv", data, no_reference, REMOTE_LATENCY_MS),
        _azurite_folder_workload("parquet", data, no_reference, REMOTE_LATENCY_MS),
        _azurite_copy_workload(data),
        folder_workload("csv", "CSV folder → pandas", "main", True),
        folder_workload("parquet", "Parquet folder → pandas", "main", True),
        folder_workload("jsonl", "JSON lines folder → pandas", "main", True),
        folder_workload("delta", "Delta table → pandas", "delta", True),
        _write_parquet_workload(data),
        _dask_csv_workload(data),
        _batches_csv_workload(data),
        _fresh_tiny_workload(data, reference_python, reference_note),
    ]
    return {workload.name: workload for workload in workloads}


def _sample_expected(rows: int) -> Expected:
    """About ``p × rows`` rows: within 6 standard deviations of a Bernoulli sample's count."""
    mean = rows * SAMPLE_PROBABILITY
    spread = math.ceil(6 * math.sqrt(rows * SAMPLE_PROBABILITY * (1 - SAMPLE_PROBABILITY))) + 1
    return Expected(round(mean), len(COLUMNS), tolerance=spread)


def _small_files_workload(data: Data, no_reference: dict[str, str]) -> Workload:
    folder = str(data.small_dir)
    pattern = f"{folder}/*.csv"
    return Workload(
        "small_files", f"{data.sizes.small_files:_} small CSV files (local) → pandas", False, frozenset({"small"}),
        Expected(data.small_rows, len(COLUMNS)), [
            _mltable_lite(f"from_delimited_files([{{'folder': {folder!r}}}])"),
            _pyarrow(f"df = ds.dataset({folder!r}, format='csv').to_table().to_pandas()"),
            _pandas_loop(pattern, "pd.read_csv(f, parse_dates=['ts'])"),
            _polars(f"df = pl.scan_csv({pattern!r}, try_parse_dates=True).collect().to_pandas()"),
            _duckdb(f"select * from read_csv_auto('{pattern}')"),
        ], dict(no_reference))


def _azurite_workload(data: Data, no_reference: dict[str, str], latency_ms: float = 0) -> Workload:
    """mltable_lite's ``wasbs://`` store against adlfs, on a local Azurite server (behind a proxy
    that delays each request by ``latency_ms``, if given)."""
    import _azurite

    connect = f"import os\nCONNECTION_STRING = os.environ[{AZURITE_ENV!r}]"
    container_folder = f"{_azurite.CONTAINER}/{_azurite.FOLDER}"

    def store_missing() -> str | None:
        if importlib.util.find_spec("mltable_lite.storage.azure") is None:
            return "skipped: mltable_lite's wasbs:// store (mltable_lite/storage/azure.py) does not exist yet"
        return None

    running_azurite, counting = _azurite_context({_azurite.FOLDER: data.azure_dir}, latency_ms)

    # One client per contestant, made untimed in setup and reused by every run, with no listings
    # cache: like mltable_lite, which keeps one filesystem per credential and lists afresh each read.
    adlfs_setup = (f"import adlfs\n{connect}\n"
                   "fs = adlfs.AzureBlobFileSystem(connection_string=CONNECTION_STRING, use_listings_cache=False)")
    contestants = [
        Contestant("mltable_lite",
                   f"df = mltable.from_delimited_files([{{'folder': {_azurite.URI!r}}}],\n"
                   "    storage_options={'connection_string': CONNECTION_STRING}).to_pandas_dataframe()",
                   f"import mltable_lite as mltable\n{connect}", unavailable=store_missing),
        # The practical limit: every blob fetched at once (adlfs's concurrent cat), parsed by pyarrow.
        Contestant("pyarrow",
                   f"blobs = fs.cat(fs.find({container_folder!r}))\n"
                   "df = pa.concat_tables([csv.read_csv(pa.py_buffer(blobs[path])) for path in sorted(blobs)])"
                   ".to_pandas()",
                   f"import pyarrow as pa\nimport pyarrow.csv as csv\n{adlfs_setup}", requires=("adlfs",)),
        # The sequential loop users write with adlfs (the baseline of the Azure target).
        Contestant("pandas",
                   f"frames = []\nfor path in fs.find({container_folder!r}):\n"
                   "    with fs.open(path) as f:\n        frames.append(pd.read_csv(f, parse_dates=['ts']))\n"
                   "df = pd.concat(frames, ignore_index=True)",
                   f"import pandas as pd\n{adlfs_setup}", requires=("adlfs",)),
    ]
    absent = {**no_reference,
              "polars": "not measured: needs its own object-store configuration for Azurite",
              "duckdb": "not measured: needs the azure extension (downloaded on first use)"}
    name, title = "azurite", f"{data.sizes.azure_files} small CSV files on Azurite (wasbs://) → pandas"
    if latency_ms:
        name, title = "azurite_latency", f"{title}, {latency_ms:g} ms added per request"
    return Workload(name, title, False, frozenset({"azure"}), Expected(data.azure_rows, len(COLUMNS)), contestants,
                    absent, context=running_azurite, unavailable=_azurite.unavailable, counting=counting)


HTTP_ENV = "BENCH_HTTP_URL"


def _http_small_files_workload(data: Data, no_reference: dict[str, str]) -> Workload:
    """The small CSV files of the Azure workloads, served by ``python -m http.server`` (HTML
    listings, no ``Range``): mltable_lite's folder read against fsspec's concurrent ``cat`` + pyarrow,
    and a sequential ``pd.read_csv(url)`` loop."""
    import _http

    running: dict = {}

    @contextlib.contextmanager
    def context():
        with _http.serve(data.azure_dir) as served:
            os.environ[HTTP_ENV] = served.url
            running["served"] = served
            try:
                yield
            finally:
                running.clear()
                os.environ.pop(HTTP_ENV, None)

    def counting():
        served = running.get("served")
        return None if served is None else (HTTP_ENV, served.counting_url, served.counts)

    url = f"import os\nURL = os.environ[{HTTP_ENV!r}]"
    contestants = [
        Contestant("mltable_lite", "df = mltable.from_delimited_files([{'folder': URL}]).to_pandas_dataframe()",
                   f"import mltable_lite as mltable\n{url}"),
        Contestant("pyarrow", "urls = sorted(u for u in fs.find(URL) if u.endswith('.csv'))\nblobs = fs.cat(urls)\n"
                   "df = pa.concat_tables([csv.read_csv(pa.py_buffer(blobs[u])) for u in urls]).to_pandas()",
                   f"import fsspec\nimport pyarrow as pa\nimport pyarrow.csv as csv\n{url}\n"
                   "fs = fsspec.filesystem('http', skip_instance_cache=True)"),
        # The served files' names, read from the local folder when the program starts (the data may
        # not exist yet when the workloads are built).
        Contestant("pandas", "df = pd.concat([pd.read_csv(URL + name, parse_dates=['ts']) for name in NAMES], "
                   "ignore_index=True)", f"import pathlib\nimport pandas as pd\n{url}\n"
                   f"NAMES = sorted(p.name for p in pathlib.Path({str(data.azure_dir)!r}).glob('*.csv'))"),
    ]
    absent = {**no_reference, "polars": "not measured", "duckdb": "not measured"}
    return Workload("http_small_files", f"{data.sizes.azure_files} small CSV files over HTTP (python -m http.server) "
                    "→ pandas", False, frozenset({"azure"}), Expected(data.azure_rows, len(COLUMNS)), contestants,
                    absent, context=context, counting=counting)


def _azurite_context(folders: dict, latency_ms: float = 0):
    """A context running Azurite with ``folders`` uploaded (``AZURITE_ENV`` holds the readers'
    connection string meanwhile), and the workload's ``counting`` function."""
    import _azurite

    running: dict = {}

    @contextlib.contextmanager
    def context():
        with _azurite.azurite_services(folders, latency_ms) as services:
            os.environ[AZURITE_ENV] = services.connection
            running["services"] = services
            try:
                yield
            finally:
                running.clear()
                os.environ.pop(AZURITE_ENV, None)

    def counting():
        services = running.get("services")
        return None if services is None else (AZURITE_ENV, services.counting_connection, services.counts)

    return context, counting


def _azurite_folder_workload(kind: str, data: Data, no_reference: dict[str, str], latency_ms: float = 0) -> Workload:
    """The main CSV or parquet folder on Azurite into pandas: mltable_lite against
    ``pyarrow.dataset`` over adlfs (the issue's baseline), with ``latency_ms`` added per request."""
    import _azurite

    folder = {"csv": data.csv_dir, "parquet": data.parquet_dir}[kind]
    remote = f"{kind}_main"
    running_azurite, counting = _azurite_context({remote: folder}, latency_ms)
    connect = f"import os\nCONNECTION_STRING = os.environ[{AZURITE_ENV!r}]"
    uri = f"wasbs://{_azurite.CONTAINER}@{_azurite.ACCOUNT}.blob.core.windows.net/{remote}"
    builder = {"csv": "from_delimited_files", "parquet": "from_parquet_files"}[kind]
    contestants = [
        Contestant("mltable_lite", f"df = mltable.{builder}([{{'folder': {uri!r}}}],\n"
                   "    storage_options={'connection_string': CONNECTION_STRING}).to_pandas_dataframe()",
                   f"import mltable_lite as mltable\n{connect}"),
        # What a pyarrow user writes for a remote folder: a dataset over the fsspec Azure filesystem.
        Contestant("pyarrow", f"df = ds.dataset({_azurite.CONTAINER + '/' + remote!r}, filesystem=fs, "
                   f"format={kind!r}).to_table().to_pandas()",
                   f"import adlfs\nimport pyarrow.dataset as ds\n{connect}\n"
                   "fs = adlfs.AzureBlobFileSystem(connection_string=CONNECTION_STRING, use_listings_cache=False)",
                   requires=("adlfs",)),
    ]
    absent = {**no_reference, "pandas": "not measured: the pyarrow column is the baseline here",
              "polars": "not measured: needs its own object-store configuration for Azurite",
              "duckdb": "not measured: needs the azure extension (downloaded on first use)"}
    name = f"azurite_{kind}_folder" + ("_latency" if latency_ms else "")
    title = f"{kind.upper() if kind == 'csv' else 'Parquet'} folder ({data.sizes.files} files) on Azurite → pandas" + (
        f", {latency_ms:g} ms added per request" if latency_ms else "")
    return Workload(name, title, False, frozenset({"main"}), Expected(data.rows, len(COLUMNS)), contestants, absent,
                    context=running_azurite, unavailable=_azurite.unavailable, counting=counting)


def _azurite_copy_workload(data: Data) -> Workload:
    """Download a container holding the small CSV files and a few big files from Azurite to local
    disk: ``mltable_lite.copy`` against the loops users write with adlfs and with the Azure SDK.
    Every run starts from an empty destination and ends by checking the files and bytes there."""
    import _azurite

    local_folders = [str(data.azure_dir), str(data.azure_big_dir)]
    source = f"wasbs://{_azurite.CONTAINER}@{_azurite.ACCOUNT}.blob.core.windows.net/"

    def destination(name: str) -> str:
        return str(data.root / "copied" / name)

    def program(name: str, copy: str) -> str:
        return (f"shutil.rmtree({destination(name)!r}, ignore_errors=True)\n{copy}\n"
                f"_got = [os.path.join(r, f) for r, _, names in os.walk({destination(name)!r}) for f in names]\n"
                f"_want = [os.path.join(r, f) for folder in {local_folders!r} for r, _, names in os.walk(folder) "
                "for f in names]\n"
                "assert (len(_got), sum(map(os.path.getsize, _got))) == (len(_want), sum(map(os.path.getsize, _want)))\n"
                "df = pd.DataFrame({'files': [len(_got)]})")

    @contextlib.contextmanager
    def running_azurite():
        with _azurite.azurite_with_files(data.azure_dir, big_folder=data.azure_big_dir) as connection:
            os.environ[AZURITE_ENV] = connection
            try:
                yield
            finally:
                os.environ.pop(AZURITE_ENV, None)

    def bytes_moved() -> int:
        return sum(os.path.getsize(os.path.join(folder, name)) for folder in local_folders
                   for name in os.listdir(folder))

    setup = f"import os, shutil\nimport pandas as pd\nCONNECTION_STRING = os.environ[{AZURITE_ENV!r}]"
    contestants = [
        Contestant("mltable_lite", program("mltable_lite", f"mltable.copy({source!r}, {destination('mltable_lite')!r}, "
                                           "storage_options={'connection_string': CONNECTION_STRING})"),
                   f"import mltable_lite as mltable\n{setup}"),
        # The loop a user writes with adlfs: one blob after another.
        Contestant("adlfs_get", program("adlfs_get", (
            f"for path in fs.find({_azurite.CONTAINER!r}):\n"
            f"    target = os.path.join({destination('adlfs_get')!r}, path.split('/', 1)[1])\n"
            "    os.makedirs(os.path.dirname(target), exist_ok=True)\n"
            "    fs.get(path, target)")),
            f"import adlfs\n{setup}\n"
            "fs = adlfs.AzureBlobFileSystem(connection_string=CONNECTION_STRING, use_listings_cache=False)",
            requires=("adlfs",)),
        # The SDK's own parallel download, one blob after another (8 ranges in flight for a big one).
        Contestant("sdk_download", program("sdk_download", (
            "for blob in container.list_blobs():\n"
            f"    target = os.path.join({destination('sdk_download')!r}, blob.name)\n"
            "    os.makedirs(os.path.dirname(target), exist_ok=True)\n"
            "    with open(target, 'wb') as handle:\n"
            "        container.download_blob(blob.name, max_concurrency=8).readinto(handle)")),
            f"from azure.storage.blob import BlobServiceClient\n{setup}\n"
            f"container = BlobServiceClient.from_connection_string(CONNECTION_STRING).get_container_client("
            f"{_azurite.CONTAINER!r})", requires=("azure.storage.blob",)),
    ]
    sizes = data.sizes
    title = (f"{sizes.azure_files} small CSV files + {sizes.azure_big_files} files of {sizes.azure_big_mb} MiB, "
             "Azurite → local disk")
    return Workload("azurite_copy", title, False, frozenset({"azure", "azure_big"}), Expected(1, 1), contestants,
                    context=running_azurite, unavailable=_azurite.unavailable, moves_files=True,
                    bytes_moved=bytes_moved)


def _write_parquet_workload(data: Data) -> Workload:
    """The CSV folder read and written back as Parquet, each contestant's own way, as a whole process.

    Every program ends by counting the rows written (parquet footers) and checking them, then
    binds a one-cell frame: the shape the suite checks."""
    csv_folder, out = str(data.csv_dir), str(data.root / "written")
    first_file = f"{csv_folder}/part-000.csv"  # as _data names the main files

    def counted(folder: str, rows: int) -> str:
        return ("import glob as _g, pandas as _pd, pyarrow.parquet as _pq\n"
                f"_n = sum(_pq.ParquetFile(f).metadata.num_rows for f in _g.glob({folder!r} + '/**/*.parquet', "
                "recursive=True))\n"
                f"assert _n == {rows}, f'wrote {{_n}} rows, expected {rows}'\n"
                "df = _pd.DataFrame({'rows': [_n]})")

    def folder(name: str) -> str:
        return f"{out}/{name}"

    one_file_rows = data.sizes.rows_per_file
    contestants = [
        Contestant("mltable_lite", f"mltable.from_delimited_files([{{'folder': {csv_folder!r}}}])"
                   f".to_parquet_files({folder('mltable_lite')!r}, overwrite=True)\n"
                   + counted(folder("mltable_lite"), data.rows), "import mltable_lite as mltable"),
        Contestant("one_file", f"mltable.from_delimited_files([{{'file': {first_file!r}}}])"
                   f".to_parquet_files({folder('one_file')!r}, overwrite=True)\n"
                   + counted(folder("one_file"), one_file_rows), "import mltable_lite as mltable"),
        _pyarrow(f"ds.write_dataset(ds.dataset({csv_folder!r}, format='csv').to_table(), {folder('pyarrow')!r}, "
                 "format='parquet', existing_data_behavior='delete_matching')\n" + counted(folder("pyarrow"), data.rows)),
        _polars(f"import os\nos.makedirs({folder('polars')!r}, exist_ok=True)\n"
                f"pl.scan_csv({csv_folder + '/*.csv'!r}, try_parse_dates=True)"
                f".sink_parquet({folder('polars') + '/data.parquet'!r})\n" + counted(folder("polars"), data.rows)),
        Contestant("duckdb", f"import os\nos.makedirs({folder('duckdb')!r}, exist_ok=True)\n"
                   f"duckdb.sql(\"COPY (select * from read_csv_auto('{csv_folder}/*.csv')) TO "
                   f"'{folder('duckdb')}/data.parquet' (FORMAT parquet)\")\n" + counted(folder("duckdb"), data.rows),
                   "import duckdb", requires=("duckdb",)),
    ]
    absent = {"pandas": "not measured: pd.concat(...).to_parquet holds the whole frame twice",
              "mltable": "the reference cannot write data (save() writes only the YAML)"}
    return Workload("write_parquet", "CSV folder → Parquet files (read + write)", True, frozenset({"main"}),
                    Expected(1, 1), contestants, absent)


DASK_WORKERS = 2


def _dask_available() -> str | None:
    missing = [name for name in ("dask", "distributed") if importlib.util.find_spec(name) is None]
    return f"{' and '.join(missing)} not installed (pip install 'mltable-lite[dask]')" if missing else None


def _dask_csv_workload(data: Data) -> Workload:
    """The CSV folder to one pandas frame through a dask cluster of two worker processes (one
    thread each; started once, outside the timing, and used by both dask contestants), against
    ``to_pandas_dataframe()`` in this process and dask's own ``read_csv`` on the same files."""
    csv_folder = str(data.csv_dir)

    @contextlib.contextmanager
    def cluster():
        import distributed

        with distributed.LocalCluster(n_workers=DASK_WORKERS, threads_per_worker=1, processes=True,
                                      dashboard_address=None, silence_logs=40) as local, \
                distributed.Client(local):
            yield

    contestants = [
        Contestant("mltable_lite", f"df = mltable.from_delimited_files([{{'folder': {csv_folder!r}}}])"
                   ".to_dask_dataframe().compute()", "import mltable_lite as mltable", requires=("dask",)),
        _mltable_lite(f"from_delimited_files([{{'folder': {csv_folder!r}}}])", name="to_pandas"),
        Contestant("dask_read_csv", f"df = dd.read_csv({csv_folder + '/*.csv'!r}, parse_dates=['ts']).compute()",
                   "import dask.dataframe as dd", requires=("dask",)),
    ]
    return Workload("dask_csv", f"CSV folder → pandas through dask ({DASK_WORKERS} worker processes)", False,
                    frozenset({"main"}), Expected(data.rows, len(COLUMNS)), contestants,
                    {"pyarrow": "the peers here are to_pandas_dataframe() and dask's read_csv"},
                    context=cluster, unavailable=_dask_available)


def _batches_csv_workload(data: Data) -> Workload:
    """Peak memory of a whole process iterating ``to_batches()`` over the CSV folder, against
    the same over one of its files: flat in the number of files if the stream is bounded."""
    csv_folder = str(data.csv_dir)
    first_file = f"{csv_folder}/part-000.csv"

    def program(paths: str) -> str:
        return (f"rows = sum(batch.num_rows for batch in mltable.from_delimited_files({paths}).to_batches())\n"
                "df = pd.DataFrame({'rows': [rows]})")

    contestants = [
        Contestant("mltable_lite", program(f"[{{'folder': {csv_folder!r}}}]"),
                   "import pandas as pd\nimport mltable_lite as mltable"),
        Contestant("one_file", program(f"[{{'file': {first_file!r}}}]"),
                   "import pandas as pd\nimport mltable_lite as mltable"),
    ]
    return Workload("batches_csv", "CSV folder streamed by to_batches() (whole process)", True,
                    frozenset({"main"}), Expected(1, 1), contestants)


def _fresh_tiny_workload(data: Data, reference_python: str | None, reference_note: str) -> Workload:
    tiny = str(data.tiny_csv)
    contestants = [
        _mltable_lite(f"from_delimited_files([{{'file': {tiny!r}}}])"),
        # The floor: importing pyarrow and pandas, and pyarrow's own CSV reader.
        Contestant("pyarrow", f"df = c.read_csv({tiny!r}).to_pandas()", "import pyarrow, pandas, pyarrow.csv as c"),
        Contestant("pandas", f"df = pd.read_csv({tiny!r}, parse_dates=['ts'])", "import pandas as pd"),
        _polars(f"df = pl.read_csv({tiny!r}, try_parse_dates=True).to_pandas()"),
        _duckdb(f"select * from read_csv_auto('{tiny}')"),
    ]
    absent = {}
    if reference_python:
        contestants.append(_reference(f"from_delimited_files([{{'file': {tiny!r}}}])", reference_python))
    else:
        absent["mltable"] = reference_note
    return Workload("fresh_tiny_csv", "Fresh process, 5-row CSV (import + read)", True, frozenset({"tiny"}),
                    Expected(5, len(COLUMNS)), contestants, absent)
