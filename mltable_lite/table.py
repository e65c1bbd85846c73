"""``MLTable``: an immutable plan with builder methods and terminal calls.

Builder methods return a new table; nothing is read until a terminal call
(``to_pandas_dataframe``, ``to_arrow``, ``show``, ``get_partition_count``, ``save``).

Example:
    >>> import mltable_lite as mltable
    >>> tbl = mltable.from_delimited_files([{"file": "examples/data/trips/2024-01.csv"}])
    >>> tbl.take(3).to_pandas_dataframe().shape
    (3, 7)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Union

from .errors import UserErrorException
from .logs import get_logger, timed
from .plan import (ConvertColumnTypes, DropColumns, ExtractPartitionFormat, Filter, FrozenMap, KeepColumns, Plan,
                   RandomPercentSample, SelectPartitions, Skip, Take, TakeRandomSample)

if TYPE_CHECKING:
    import dask.dataframe
    import pandas as pd
    import pyarrow as pa

    from .enums import MLTableSaveOverwriteOption

_log = get_logger(__name__)

# What the writers' and save()'s ``overwrite`` take, and ``partition_by``'s column names.
Overwrite = Union[bool, str, "MLTableSaveOverwriteOption"]
PartitionColumns = Union[str, list, tuple, None]


class MLTable:
    """A table to load: paths, a reader and transforms, recorded as a plan (the MLTable YAML).

    Build one with ``from_delimited_files``, ``from_parquet_files``, ``from_json_lines_files``,
    ``from_delta_lake``, ``from_paths`` or ``load``; chain transforms; then call
    ``to_pandas_dataframe()``.

    Example:
        >>> tbl = mltable.from_delimited_files([{"pattern": "examples/data/trips/*.csv"}])
        >>> tbl.keep_columns(["trip_id", "fare"]).take(2).to_pandas_dataframe()
           trip_id   fare
        0     1000  14.72
        1     1001  18.62
    """

    def __init__(self, plan: Plan, storage_options: dict | None = None):
        self._plan = plan
        self._storage_options = storage_options
        # The result's schema once a call has learned it (collect_schema, to_arrow): shown by the
        # repr, which itself never reads anything.
        self._known_schema: pa.Schema | None = None

    # --- identity and display ---------------------------------------------------------------

    def _derive(self, plan: Plan) -> "MLTable":
        return MLTable(plan, self._storage_options)

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, MLTable) and other._plan == self._plan

    def __hash__(self) -> int:
        return hash(self._plan)

    def __str__(self) -> str:
        from .plan_yaml import plan_to_dict
        from .yaml_io import dump_yaml

        return dump_yaml(plan_to_dict(self._plan))

    def __repr__(self) -> str:
        """A few readable lines: sources, each step in words, the schema if known. Reads nothing.

        ``str(tbl)`` is the MLTable YAML, as in the reference.
        """
        from .display import plain_repr

        return plain_repr(self._plan, self._known_schema)

    def _repr_html_(self) -> str:
        """Jupyter's view of the table: sources, steps and (when known) the schema. Reads nothing."""
        from .display import html_repr

        return html_repr(self._plan, self._known_schema)

    def _to_yaml_dict(self) -> dict:
        from .plan_yaml import plan_to_dict

        return plan_to_dict(self._plan)

    @property
    def paths(self) -> list[dict]:
        """The path specs as given: ``[{'file': 'data/a.csv'}, {'pattern': '...'}]``."""
        return [spec.as_given() for spec in self._plan.paths]

    @property
    def partition_keys(self) -> list[str]:
        """Columns created by ``extract_columns_from_partition_format``: plain keys, then the date column."""
        from .partitions import partition_keys

        return partition_keys(self._plan)

    @property
    def traits(self) -> "Traits":
        """Column roles: ``timestamp_column`` and ``index_columns`` (settable).

        Example: ``tbl.traits.index_columns = ["id"]``
        """
        return Traits(self)

    @property
    def metadata(self) -> "Metadata":
        """Free-form metadata kept in the YAML: ``tbl.metadata.get("owner")``, ``.add(key, value)``."""
        return Metadata(self)

    # --- builder methods (issue: transforms) ----------------------------------------------------

    def take(self, count: int = 20) -> "MLTable":
        """The first ``count`` rows. Example: ``tbl.take(5).to_pandas_dataframe()``"""
        if isinstance(count, bool) or not isinstance(count, int) or count <= 0:
            raise UserErrorException("Number of rows must be a positive integer")
        return self._derive(self._plan.with_transform(Take(count)))

    def skip(self, count: int) -> "MLTable":
        """Every row after the first ``count``. Example: ``tbl.skip(10).take(5)``"""
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise UserErrorException("Count must be an integer > 0.")
        return self._derive(self._plan.with_transform(Skip(count)))

    def show(self, count: int = 20) -> "pd.DataFrame":
        """``take(count).to_pandas_dataframe()``: a quick look. Example: ``tbl.show(5)``"""
        return self.take(count).to_pandas_dataframe()

    def keep_columns(self, columns: str | list[str] | tuple[str, ...] | set[str]) -> "MLTable":
        """Only these columns, kept in the table's order whatever the order given, as in the reference
        (unknown names are ignored, as in the reference too).

        Example: ``tbl.keep_columns(["id", "score"])``
        """
        names = _column_names(columns)
        missing_traits = self._plan.traits.columns() - set(names)
        if missing_traits:
            raise UserErrorException("Columns in traits must be kept and cannot be dropped")
        return self._derive(self._plan.with_transform(KeepColumns(tuple(names), isinstance(columns, str))))

    def drop_columns(self, columns: str | list[str] | tuple[str, ...] | set[str]) -> "MLTable":
        """Every column but these (unknown names are ignored). Example: ``tbl.drop_columns("tmp")``"""
        names = _column_names(columns)
        if self._plan.traits.columns() & set(names):
            raise UserErrorException("Columns in traits must be kept and cannot be dropped")
        return self._derive(self._plan.with_transform(DropColumns(tuple(names), isinstance(columns, str))))

    def filter(self, expression: str) -> "MLTable":
        """Rows for which ``expression`` is true.

        The language is Python-like: comparisons, ``and``/``or``/``not``, arithmetic, string,
        number, ``True``/``False``/``None`` and ``datetime(y, m, d[, H, M, S])`` literals, bare
        column names or ``col("name with spaces")``, and ``name.startswith("a")``. Syntax errors
        are raised here, with their position. The text is parsed by mltable_lite's own grammar;
        it is never evaluated as Python.

        Example: ``tbl.filter('fare > 10 and col("pickup zone").startswith("Down")')``
        """
        if not isinstance(expression, str):
            raise UserErrorException("Expression should be a string")
        from .expressions import parse

        parse(expression)
        return self._derive(self._plan.with_transform(Filter(expression)))

    def take_random_sample(self, probability: float, seed: int | None = None) -> "MLTable":
        """Keep each row independently with ``probability``, in the original order.

        The same ``seed`` keeps the same rows on every run and machine; without one a seed is
        drawn now and written into the plan, so the table stays reproducible once saved.

        Example: ``tbl.take_random_sample(0.1, seed=7)``
        """
        if not isinstance(probability, float) or not 0.0 < probability < 1.0:
            raise UserErrorException("Probability should an float greater than 0 and less than 1")
        seed = _seed(seed)
        return self._derive(self._plan.with_transform(TakeRandomSample(probability, seed)))

    def random_split(self, percent: float = 0.5, seed: int | None = None) -> tuple["MLTable", "MLTable"]:
        """Split the rows in two disjoint tables holding about ``percent`` and ``1 - percent`` of them.

        Example: ``train, test = tbl.random_split(0.8, seed=1)``
        """
        if not isinstance(percent, float) or not 0.0 < percent < 1.0:
            raise UserErrorException("Percent should be a float greater than 0 and less than 1")
        seed = _seed(seed)
        first = self._derive(self._plan.with_transform(RandomPercentSample(0.0, percent, seed)))
        second = self._derive(self._plan.with_transform(RandomPercentSample(percent, 1.0, seed)))
        return first, second

    def convert_column_types(self, column_types: dict) -> "MLTable":
        """Convert columns: ``{name or (names, ...): DataType or alias}``.

        Aliases: 'string', 'int', 'float', 'boolean', 'stream_info'. Values that do not convert
        become null; unknown column names are ignored (as in the reference).

        Example:
            >>> from mltable_lite import DataType
            >>> tbl = mltable.load("examples/trips")
            >>> converted = tbl.convert_column_types({"fare": "float", ("trip_id", "passengers"): DataType.to_int(),
            ...                                       "pickup_time": DataType.to_datetime("%Y-%m-%d %H:%M:%S")})
            >>> converted.take(1).to_pandas_dataframe().dtypes["fare"]
            dtype('float64')
        """
        from .conversions import validate_data_type
        from .types import column_type_pairs

        pairs = column_type_pairs(column_types)
        for _, dtype in pairs:
            validate_data_type(dtype)
        return self._derive(self._plan.with_transform(ConvertColumnTypes(pairs)))

    def extract_columns_from_partition_format(self, partition_format: str) -> "MLTable":
        """Add columns taken from each file's path, e.g. ``'{year}/{month}/{file}.csv'`` or
        ``'{day:yyyy/MM/dd}/*.parquet'`` (one datetime column).

        The format matches the path relative to its path spec's folder. As in the reference, delimited
        files put the new columns first and type them like CSV values (``2024`` → int64) when column
        types are inferred; other readers put them after the file's columns, as strings.

        Example:
            >>> tbl = mltable.load("examples/trips").extract_columns_from_partition_format("{year}-{month}.csv")
            >>> tbl.keep_columns(["year", "month", "trip_id"]).take(1).to_pandas_dataframe()
               year  month  trip_id
            0  2024      1     1000
        """
        from .partitions import PartitionFormat

        if not isinstance(partition_format, str):
            raise UserErrorException("partition_format must be a string such as '{year}/{month}/{file}.csv'")
        PartitionFormat.parse(partition_format)
        return self._derive(self._plan.with_transform(ExtractPartitionFormat(partition_format)))

    def get_partition_count(self) -> int:
        """How many partitions the data has: CSV/JSON lines files split every ``partition_size``
        bytes, parquet row groups, Delta data files; 1 for ``from_paths``. As in the reference,
        after ``select_partitions`` the ones selected, after ``take`` one.

        Example: ``tbl.get_partition_count()``
        """
        from .executor import partition_count

        return partition_count(self._plan, self._storage_options)

    def select_partitions(self, partition_index_list: int | list[int]) -> "MLTable":
        """Keep only these partitions (in ascending order, whatever the order given).

        Example: ``tbl.select_partitions([0, 2])``
        """
        indices = [partition_index_list] if isinstance(partition_index_list, int) else partition_index_list
        if (isinstance(partition_index_list, bool) or not isinstance(indices, list) or not indices
                or not all(isinstance(i, int) and not isinstance(i, bool) for i in indices)):
            raise UserErrorException("Columns should be a int or list of int with at least one element")
        negative = [i for i in indices if i < 0]
        if negative:
            raise UserErrorException(f'Invalid argument "partitions". Expected ">= 0", Actual {negative[0]}')
        return self._derive(self._plan.with_transform(SelectPartitions(tuple(indices))))

    def validate(self) -> None:
        """Check that the table can be read: list its files and read its first row.

        Raises an error that is both ``UserErrorException`` and ``RuntimeError`` (the reference's
        class) naming what failed. Example: ``tbl.validate()``
        """
        from .errors import MLTableError, ValidationError

        try:
            self.take(1).to_arrow()
        except MLTableError as error:
            raise ValidationError(
                "Can not load data from this MLTable's associated datastores. Please check the associated paths. "
                f"{error.message}") from None

    def explain(self) -> str:
        """What a read of this table will skip: projected columns, pruned files and row groups.

        mltable_lite only. Lists the files (nothing is read but parquet footers when filters are
        pushed down) and returns the description as text.

        Example:
            >>> tbl = mltable.load("examples/trips")
            >>> print(tbl.filter("fare > 30").keep_columns(["trip_id"]).explain())
            plan: 3 files, reader read_delimited, transforms: filter, keep_columns
            projection: read only columns ['fare', 'trip_id']
        """
        from .executor import list_files
        from .optimizer import optimise
        from .plan_yaml import plan_to_dict

        files = list_files(self._plan, self._storage_options)
        steps = plan_to_dict(self._plan).get("transformations", [])
        reader = next((name for step in steps for name in step if name.startswith("read_")), "paths only")
        names = [name for step in steps for name in step if not name.startswith("read_")]
        lines = [f"plan: {len(files)} files, reader {reader}, transforms: {', '.join(names) or 'none'}"]
        notes = optimise(self._plan, files).describe()
        lines.append(notes or "nothing to prune: every file and column is read")
        if any(isinstance(step, (Take,)) for step in self._plan.transforms):
            lines.append("early stop: reading stops once take() has its rows")
        return "\n".join(lines)

    # --- terminal calls ------------------------------------------------------------------------

    def to_pandas_dataframe(self, show_progress: bool = False) -> "pd.DataFrame":
        """Read everything into a pandas DataFrame (fresh RangeIndex, the reference's dtypes).

        ``show_progress=True`` (mltable_lite only) draws a progress bar of the bytes, files and
        rows read (``tqdm``: on stderr, or a widget in Jupyter).

        Example:
            >>> df = mltable.from_delimited_files([{"file": "examples/data/trips/2024-01.csv"}]).to_pandas_dataframe()
            >>> len(df)
            200
        """
        from .executor import to_pandas
        from .progress import listing, progress, tracking_reader

        with timed(_log, "to_pandas_dataframe"), listing(show_progress), \
                progress(show_progress, "reading", by_bytes=True) as bar:
            return to_pandas(self._plan, self._storage_options, wrap_reader=tracking_reader(bar) if show_progress
                             else None)

    def to_arrow(self, show_progress: bool = False) -> "pa.Table":
        """Read everything into one ``pyarrow.Table`` (mltable_lite only; no pandas copy).

        ``show_progress=True`` draws a progress bar, as for :meth:`to_pandas_dataframe`.

        Example: ``table = tbl.to_arrow(); table.schema``
        """
        from .executor import to_arrow
        from .progress import listing, progress, tracking_reader

        with timed(_log, "to_arrow"), listing(show_progress), progress(show_progress, "reading", by_bytes=True) as bar:
            table = to_arrow(self._plan, self._storage_options, wrap_reader=tracking_reader(bar) if show_progress
                             else None)
        self._known_schema = table.schema
        return table

    def collect_schema(self) -> "pa.Schema":
        """The ``pyarrow.Schema`` that :meth:`to_arrow` would return, without reading the data.

        Parquet files give it from their footers, a Delta table from its log, delimited and JSON
        lines files from the first rows (the type-inference sample); every step of the table is
        applied to it. mltable_lite only (the name polars uses). The one case where it can differ
        from ``to_arrow().schema``: a text file whose later rows do not fit the sampled type,
        which the full read widens (to float or text) rather than lose.

        Example:
            >>> tbl = mltable.load("examples/trips")
            >>> tbl.keep_columns(["trip_id", "fare"]).collect_schema()
            trip_id: int64
            fare: double
        """
        from .result_schema import collect_schema

        with timed(_log, "collect_schema"):
            self._known_schema = collect_schema(self._plan, self._storage_options)
        return self._known_schema

    def to_batches(self, batch_size: int | None = None, columns: str | list[str] | None = None
                   ) -> "pa.RecordBatchReader":
        """Stream the result as Arrow record batches with ONE schema, known before the first batch
        (mltable_lite only).

        Returns a ``pyarrow.RecordBatchReader``: iterate it (or ``read_next_batch()``), and read
        ``.schema`` first to allocate buffers. The schema is :meth:`collect_schema`'s (footers, the
        Delta log, the first rows of text files), the types ``to_pandas_dataframe()`` gives, and
        every batch has exactly it: a narrower later file is cast up, and a value that would need
        a wider type (a text file holding ``2.5`` after its sample, in a column sampled as int)
        raises a ``UserErrorException`` naming the file, line and column rather than change the
        type mid-stream. Memory holds a table of the read and a batch, whatever the data's size.

        Args:
            batch_size: rows per batch (every batch but the last has exactly this many);
                default: the batches as read (a piece of a CSV file, a parquet row group).
            columns: only these columns, in this order (only they are read where the format can).

        Example:
            >>> tbl = mltable.load("examples/trips")
            >>> reader = tbl.to_batches(batch_size=250, columns=["trip_id", "fare"])
            >>> reader.schema
            trip_id: int64
            fare: double
            >>> [batch.num_rows for batch in reader]
            [250, 250, 100]
        """
        from .batches import batch_reader

        with timed(_log, "to_batches"):
            return batch_reader(self._plan, self._storage_options, columns, batch_size)

    def to_dask_dataframe(self) -> "dask.dataframe.DataFrame":
        """The table as a lazy ``dask.dataframe.DataFrame``, one task per partition (a parquet row
        group, a Delta file, a piece of a local CSV file; a remote CSV or JSON lines file), for data
        beyond one machine's memory or a cluster (mltable_lite only; Azure ML's previous dataset
        API had the same method).

        Nothing is read but the listing and the schema (``meta``: footers, the Delta log, the first
        rows) until dask computes. Each task carries the plan as its MLTable YAML and the storage
        options, so a worker on another machine reads its partitions itself. The rows, their order
        and their dtypes are ``to_pandas_dataframe()``'s (each partition has its own RangeIndex; text
        columns keep their pandas dtype rather than dask's ``string[pyarrow]`` conversion),
        including ``take_random_sample``, ``random_split`` and ``skip`` (run in stages: each
        partition up to the skip, then its share of the skip after a count); with ``take`` the
        frame is one partition, which stops early. Columns keep one type, as in
        :meth:`to_batches`. Needs ``pip install 'mltable-lite[dask]'``.

        Example:
            >>> tbl = mltable.load("examples/trips")
            >>> frame = tbl.filter("fare > 20").to_dask_dataframe()
            >>> frame.npartitions
            3
            >>> frame.groupby("vendor").fare.mean().compute(scheduler="sync").round(2).sort_index().to_dict()
            {'Contoso': 35.79, 'Fabrikam': 37.29, 'Northwind': 36.98}
        """
        from .dask import to_dask_dataframe

        with timed(_log, "to_dask_dataframe"):
            return to_dask_dataframe(self._plan, self._storage_options)

    # --- writing (mltable_lite only: the reference writes only the YAML) -------------------------

    def to_parquet_files(self, destination: str, *, partition_by: PartitionColumns = None,
                         row_group_size: int | None = None, max_rows_per_file: int | None = None,
                         compression: str = "snappy",
                         storage_options: dict | None = None, overwrite: Overwrite = False,
                         show_progress: bool = False) -> "MLTable":
        """Write this table's rows as Parquet files into the folder ``destination``, with an
        ``MLTable`` file beside them, and return the table that reads them back.

        ``destination`` is a local folder or any URI ``save()`` takes (``wasbs://``, ``abfss://``,
        ``az://``, ``azureml://`` datastore paths; ``http(s)`` is read-only). The plan runs as a
        stream: memory holds a table or two, whatever the data's size. The write is atomic: data
        files get names of their own and the MLTable file, written last, lists exactly them, so a
        reader (or a process killed mid-write) sees the previous table or the new one, never half.
        Data files of the table it replaces are deleted after the commit; other files are never
        touched.

        Args:
            partition_by: column name(s) whose values become ``key=value`` folders (hive style);
                they leave the data files and come back, typed, as the last columns.
            row_group_size: rows per row group at most (row groups are a parquet read's partitions).
            max_rows_per_file: start a new file after this many rows (default: one file per folder).
            compression: 'snappy' (default), 'zstd', 'gzip', 'brotli', 'lz4' or 'none'.
            storage_options: credentials for the destination (default: this table's).
            overwrite: False or 'fail' (default: an existing MLTable there is an error), True or
                'overwrite' (replace it), 'skip' (keep it, write nothing), or an
                ``MLTableSaveOverwriteOption``.
            show_progress: a progress bar (rows, files) on stderr / in the notebook.

        Example:
            >>> clean = tbl.filter("fare > 0").to_parquet_files("./outputs/clean")       # doctest: +SKIP
            >>> mltable.load("./outputs/clean").to_pandas_dataframe()                   # doctest: +SKIP
        """
        from .writers.parquet import ParquetFormat

        return self._write(destination, ParquetFormat(compression, row_group_size), partition_by=partition_by,
                           max_rows_per_file=max_rows_per_file, storage_options=storage_options,
                           overwrite=overwrite, show_progress=show_progress)

    def to_delimited_files(self, destination: str, *, delimiter: str = ",", header: bool = True,
                           encoding: str = "utf8", partition_by: PartitionColumns = None,
                           max_rows_per_file: int | None = None,
                           storage_options: dict | None = None, overwrite: Overwrite = False,
                           show_progress: bool = False) -> "MLTable":
        """Write this table's rows as delimited text files (CSV; TSV with ``delimiter="\\t"``) into
        the folder ``destination``, with an ``MLTable`` file that reads them back with the same
        column types, and return that table. Atomic and streaming as :meth:`to_parquet_files`,
        which documents ``partition_by``, ``max_rows_per_file``, ``storage_options``,
        ``overwrite`` and ``show_progress``.

        ``header=False`` writes no names line (the table then reads back as Column1, Column2...);
        ``encoding`` is any encoding ``from_delimited_files`` reads. Nested and binary columns
        cannot be text: drop or convert them first. Dates come back as datetimes.

        Example:
            >>> tbl.to_delimited_files("./outputs/csv", overwrite=True)                    # doctest: +SKIP
        """
        from .writers.delimited import DelimitedFormat

        return self._write(destination, DelimitedFormat(delimiter, header, encoding), partition_by=partition_by,
                           max_rows_per_file=max_rows_per_file, storage_options=storage_options,
                           overwrite=overwrite, show_progress=show_progress)

    def to_json_lines_files(self, destination: str, *, partition_by: PartitionColumns = None,
                            max_rows_per_file: int | None = None,
                            storage_options: dict | None = None, overwrite: Overwrite = False,
                            show_progress: bool = False) -> "MLTable":
        """Write this table's rows as JSON lines files (one object per row) into the folder
        ``destination``, with an ``MLTable`` file that reads them back, and return that table.
        Atomic and streaming as :meth:`to_parquet_files`, which documents the other arguments.

        Times are written as ISO 8601 text and converted back by the MLTable; binary columns
        cannot be JSON.

        Example:
            >>> tbl.to_json_lines_files("./outputs/jsonl", max_rows_per_file=100_000)        # doctest: +SKIP
        """
        from .writers.json_lines import JsonLinesFormat

        return self._write(destination, JsonLinesFormat(), partition_by=partition_by,
                           max_rows_per_file=max_rows_per_file, storage_options=storage_options,
                           overwrite=overwrite, show_progress=show_progress)

    def to_delta_lake(self, destination: str, *, mode: str | None = None, partition_by: PartitionColumns = None,
                      storage_options: dict | None = None, overwrite: Overwrite = False,
                      show_progress: bool = False) -> "MLTable":
        """Write this table's rows as a Delta Lake table at ``destination`` (through ``deltalake``,
        whose transaction log makes the write atomic) and return ``from_delta_lake(destination)``.

        ``mode``: 'error' (default: an existing table is an error), 'append', 'overwrite' or
        'ignore' (keep an existing table). Without ``mode``, ``overwrite`` decides: True or
        'overwrite' → 'overwrite', 'skip' → 'ignore'. ``partition_by`` columns become Delta
        partitions. The table's folder gets no MLTable file (Delta's VACUUM would delete it):
        read it with ``from_delta_lake``.

        Example:
            >>> tbl.to_delta_lake("abfss://lake@acct.dfs.core.windows.net/trips", mode="append")   # doctest: +SKIP
        """
        from .writers.delta import write_delta

        plan = write_delta(self._plan, self._storage_options, destination, mode=mode, partition_by=partition_by,
                           storage_options=storage_options, overwrite=overwrite, show_progress=show_progress)
        return MLTable(plan, self._storage_options if storage_options is None else storage_options)

    def _write(self, destination: str, file_format, *, storage_options: dict | None, **options) -> "MLTable":
        from .writers import write_files

        plan = write_files(self._plan, self._storage_options, destination, file_format,
                           storage_options=storage_options, **options)
        written_options = self._storage_options if storage_options is None else storage_options
        if plan is None:  # overwrite='skip' and a table was there: it is the result
            from .loading import load_plan

            return MLTable(load_plan(destination, written_options), written_options)
        return MLTable(plan, written_options)

    def download(self, target_path: str | None = None, *, overwrite: bool = False, ignore_not_found: bool = False,
                 stream_column: str | None = None, storage_options: dict | None = None, max_concurrency: int = 16,
                 show_progress: bool = False) -> list[str]:
        """Copy the files this table names (a ``from_paths`` table's ``Path`` column, or any
        column of paths or URIs given as ``stream_column``) into the local folder ``target_path``
        (default: a new temporary folder); return the local paths, in the table's order.

        Each file lands at its absolute local path or its path in its store below ``target_path``
        (as the reference's ``_download`` lays them out): ``wasbs://c@acct.blob.core.windows.net/x/a.png``
        → ``<target_path>/c/x/a.png``. Files are fetched many at once (``max_concurrency``), big ones
        in parallel parts, each written whole or not at all and checked against the source's MD5
        where it has one. A file already there with the same size (and MD5) is kept and listed; a
        different one is replaced only with ``overwrite=True``. ``ignore_not_found`` skips
        ``file`` paths that do not exist. mltable_lite only; ``mltable_lite.copy`` copies folders
        with their relative layout instead.

        Example:
            >>> images = mltable.from_paths([{"pattern": "wasbs://data@acct.blob.core.windows.net/img/*.png"}])  # doctest: +SKIP
            >>> local = images.download("/mnt/ssd/images", show_progress=True)                                 # doctest: +SKIP
        """
        from .downloading import download

        return download(self, target_path, stream_column=stream_column, overwrite=overwrite,
                        ignore_not_found=ignore_not_found, storage_options=storage_options,
                        max_concurrency=max_concurrency, show_progress=show_progress)

    def _download(self, stream_column: str | None = None, target_path: str | None = None,
                  ignore_not_found: bool = False, storage_options: dict | None = None) -> list[str]:
        """The reference's semi-private name and signature for :meth:`download`."""
        return self.download(target_path, stream_column=stream_column, ignore_not_found=ignore_not_found,
                             storage_options=storage_options)

    def save(self, path: str | None = None, overwrite: Overwrite = True, colocated: bool = False,
             show_progress: bool = False, if_err_remove_files: bool = True) -> "MLTable":
        """Write this table as ``<path>/MLTable`` (paths relative to ``path``) and return it.

        Only the plan is written; to write the table's *data*, use :meth:`to_parquet_files` and
        the other writers.

        Args:
            path: the folder (default: the working directory); local or remote (``wasbs://``,
                ``abfss://``, ``azureml://``...).
            overwrite: True or 'overwrite' (default) replaces an existing MLTable file and data
                files; False or 'fail' raises if either exists; 'skip' keeps what is there. An
                ``MLTableSaveOverwriteOption`` works too.
            colocated: also copy the data files (local or remote) into ``path`` and point the
                MLTable at those copies, so the folder is self-contained.
            show_progress: a progress bar of the bytes copied.
            if_err_remove_files: when the save fails, remove the files it had copied (never files
                that were there before).

        Each file appears whole or not at all: a save killed at any moment leaves no partial file.

        Example: ``tbl.save("./my_table", colocated=True)`` then ``mltable.load("./my_table")``
        """
        from .saving import save

        save(self, path, overwrite=overwrite, colocated=colocated, show_progress=show_progress,
             if_err_remove_files=if_err_remove_files)
        return self


class Traits:
    """A live view of a table's ``traits``; setting a value updates the table.

    Example:
        >>> tbl = mltable.load("examples/trips")
        >>> tbl.traits.timestamp_column = "pickup_time"
        >>> tbl.traits.index_columns = ["trip_id"]
        >>> tbl.traits
        Traits(timestamp_column='pickup_time', index_columns=('trip_id',))
    """

    def __init__(self, table: MLTable):
        self._table = table

    @property
    def timestamp_column(self) -> str:
        value = self._table._plan.traits.timestamp_column
        if value is None:
            raise UserErrorException("Timestamp column does not appear to be set. Please make sure you have set it.")
        return value

    @timestamp_column.setter
    def timestamp_column(self, value: str) -> None:
        if not isinstance(value, str):
            raise UserErrorException(f"An object of type string is expected, but encountered type: {type(value)}")
        self._set(timestamp_column=value)

    @property
    def index_columns(self) -> list:
        columns = self._table._plan.traits.index_columns
        if columns is None:
            raise UserErrorException("Index columns do not appear to be set. Please make sure you have set them.")
        return list(columns)

    @index_columns.setter
    def index_columns(self, value: list) -> None:
        if not isinstance(value, list):
            raise UserErrorException(f"An object of type list is expected, but encountered type: {type(value)}")
        self._set(index_columns=tuple(value))

    def _set(self, **changes) -> None:
        from dataclasses import replace

        plan = self._table._plan
        self._table._plan = plan.replace(traits=replace(plan.traits, **changes))

    def __repr__(self) -> str:
        traits = self._table._plan.traits
        return f"Traits(timestamp_column={traits.timestamp_column!r}, index_columns={traits.index_columns!r})"


class Metadata:
    """A live view of a table's free-form ``metadata`` mapping, kept in the YAML.

    Example:
        >>> tbl = mltable.load("examples/trips")
        >>> tbl.metadata.add("owner", "data-team")
        >>> tbl.metadata.get("owner")
        'data-team'
    """

    def __init__(self, table: MLTable):
        self._table = table

    def _current(self) -> dict:
        metadata = self._table._plan.metadata
        return metadata.to_python() if metadata else {}

    def has(self, key: str) -> bool:
        _check_key(key)
        return key in self._current()

    def get(self, key: str) -> Any:
        return self._current().get(key)

    def add(self, key: str, value: Any) -> None:
        _check_key(key)
        current = self._current()
        current[key] = value
        self._table._plan = self._table._plan.replace(metadata=FrozenMap.of(current))

    def __repr__(self) -> str:
        return f"Metadata({self._current()!r})"


def _check_key(key: Any) -> None:
    if not isinstance(key, str):
        raise UserErrorException(f"Metadata only supports string property names, but encountered {type(key)}.")


def _seed(seed: int | None) -> int:
    if seed is None:
        import random

        # As the reference: a seed drawn at build time and recorded, so a saved table is reproducible.
        return random.randint(1, 1000)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise UserErrorException("A random seed must be an integer")
    if not 0 <= seed < 2 ** 64:
        raise UserErrorException(f"A random seed must be an integer between 0 and 2**64 - 1, not {seed}")
    return seed


def _column_names(columns) -> list[str]:
    if isinstance(columns, str):
        names = [columns]
    elif isinstance(columns, (list, tuple, set)) and all(isinstance(c, str) for c in columns):
        names = list(columns)
    else:
        raise UserErrorException(
            "Expect column names to be a string, a list of strings, a tuple of strings, or a set of strings")
    duplicates = {name for name in names if names.count(name) > 1}
    if duplicates:
        raise UserErrorException(f"Found duplicate columns in given column names: {duplicates}")
    return names

