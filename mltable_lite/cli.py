"""The ``mltable-lite`` command line (also ``python -m mltable_lite``): look at tables, copy files.

Every command takes the paths the Python API takes: an MLTable folder (or its ``MLTable`` file), an
``azureml:<name>:<version>`` data asset, or data files directly (a file, a folder or a glob pattern
of CSV/TSV, Parquet or JSON lines files, or a Delta table folder; ``--format`` when the names do
not tell). Credentials come from the environment as in Python (``AZURE_STORAGE_CONNECTION_STRING``,
``az login``...) or from ``--storage-option KEY=VALUE``; they are never printed. Errors are one line
on stderr (``--debug`` shows the traceback), with exit status 1; a mistyped command line exits
with 2.

Example:
    >>> main(["ls", "examples/trips"])                                       # doctest: +SKIP
    >>> main(["copy", "wasbs://data@acct.blob.core.windows.net/trips/", "./trips"])   # doctest: +SKIP
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import traceback
from typing import Sequence

from . import __version__
from .errors import MLTableError, UserErrorException
from .storage.secrets import redact

__all__ = ["main"]

PROG = "mltable-lite"

_EXAMPLES = f"""\
examples:
  {PROG} show ./my_table                       first 20 rows of the MLTable in ./my_table
  {PROG} schema "data/*.parquet"               column names and types, from the footers
  {PROG} ls abfss://fs@acct.dfs.core.windows.net/raw/ -o account_key=...
  {PROG} validate azureml:trips:3
  {PROG} copy wasbs://data@acct.blob.core.windows.net/trips/ ./trips
  {PROG} copy ./results/ azureml://datastores/workspaceblobstore/paths/results/
  {PROG} convert "raw/*.csv" ./clean --to parquet

TABLE is an MLTable folder (or its MLTable file), a data asset (azureml:<name>:<version>), or data
files: a file, folder or glob pattern of .csv/.tsv, .parquet or .jsonl files, or a Delta folder.
Paths are local or remote: http(s)://, wasbs://, abfss://, az://, azureml:// datastore URIs.
Credentials: the environment (AZURE_STORAGE_CONNECTION_STRING, az login, managed identity...) or
-o/--storage-option KEY=VALUE (account_key, sas_token, connection_string, subscription, ...).
"""

_FORMATS = ("mltable", "csv", "tsv", "parquet", "jsonl", "delta", "paths")
_EXTENSIONS = {".csv": "csv", ".tsv": "tsv", ".txt": "csv", ".parquet": "parquet", ".pq": "parquet",
               ".jsonl": "jsonl", ".json": "jsonl", ".ndjson": "jsonl"}


class _Parser(argparse.ArgumentParser):
    """argparse, with usage mistakes reported on one line (and without secrets)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {redact(message)} (see '{self.prog} --help')\n")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 failed, 2 bad arguments)."""
    parser = _build_parser()
    arguments = parser.parse_args(argv)
    if arguments.debug:
        logging.basicConfig(level=logging.WARNING, format="%(name)s %(levelname)s: %(message)s")
        logging.getLogger("mltable_lite").setLevel(logging.DEBUG)
    try:
        return arguments.run(arguments) or 0
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `mltable-lite ls ... | head`: the reader left, nothing to report
        sys.stderr.close()
        return 1
    except Exception as error:  # noqa: BLE001 — every failure becomes one line (or a traceback with --debug)
        if arguments.debug:
            print(redact(traceback.format_exc()), file=sys.stderr, end="")
        print(f"{PROG}: error: {_one_line(error)}", file=sys.stderr)
        return 1


def _one_line(error: Exception) -> str:
    if isinstance(error, MLTableError):
        text = error.message
    else:
        text = f"{type(error).__name__}: {error} (an unexpected error: run again with --debug and report it)"
    return redact(" ".join(text.split()))


# --- the parser ---------------------------------------------------------------------------------


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Look at MLTable tables and copy data files between stores.",
                     epilog=_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True, parser_class=_Parser)

    common = _Parser(add_help=False)
    common.add_argument("-o", "--storage-option", dest="storage_options", action="append", default=[],
                        metavar="KEY=VALUE", type=_option, help="a storage option (credentials, workspace); repeatable")
    common.add_argument("--debug", action="store_true", help="show the traceback of an error, and debug logs")

    table = _Parser(add_help=False)
    table.add_argument("table", metavar="TABLE", nargs="+", help="MLTable folder, data asset, or data "
                       "files/folders/patterns (several: read as one table)")
    table.add_argument("--format", choices=_FORMATS, help="how to read TABLE when its names do not tell")
    table.add_argument("--delimiter", help="the delimiter of text files (default: ',' or, for .tsv, tab)")
    table.add_argument("--header", default="all_files_same_headers",
                       choices=("all_files_same_headers", "all_files_different_headers", "from_first_file",
                                "no_header"), help="where text files have their header (default: every file)")
    table.add_argument("--encoding", default="utf8", help="the encoding of text files (default: utf8)")

    def command(name: str, run, summary: str, example: str, parents=(table, common)) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, parents=list(parents), help=summary, description=summary,
                                  epilog=f"example:\n  {PROG} {name} {example}",
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
        sub.set_defaults(run=run)
        return sub

    show = command("show", _show, "print the first rows of a table", "./my_table -n 5")
    show.add_argument("-n", "--rows", type=_positive, default=20, help="how many rows (default 20)")
    command("schema", _schema, "print the columns and their types (from footers or the first rows; the data "
            "is not read)", '"data/*.parquet"')
    command("explain", _explain, "say what a read will do and skip (pruned files, projected columns)",
            "./my_table")
    validate = command("validate", _validate, "check a table: every path resolves, the schema is known, a sample "
                       "reads", "azureml:trips:3")
    validate.add_argument("-n", "--rows", type=_positive, default=100, help="rows to read as a sample (default 100)")
    command("ls", _ls, "list the files a table reads, with their sizes in bytes", "abfss://fs@acct.dfs.core."
            "windows.net/raw/")

    copy = command("copy", _copy, "copy files, folders or glob patterns between stores, like 'azcopy cp'",
                   "wasbs://data@acct.blob.core.windows.net/trips/ ./trips", parents=(common,))
    copy.description += (". A folder's files keep their paths below it; a pattern's, below its fixed part. A file "
                         "already at the destination with the same size and MD5 is skipped, so running a copy again "
                         "finishes it; a different one is replaced only with --overwrite. Files appear whole or not "
                         "at all.")
    copy.add_argument("sources", nargs="+", metavar="SOURCE", help="file, folder or glob pattern (local, http(s), "
                      "wasbs, abfss, az, azureml)")
    copy.add_argument("destination", metavar="DESTINATION", help="folder (or, for one file, a file name); not http(s)")
    copy.add_argument("--overwrite", action="store_true", help="replace destination files that differ")
    copy.add_argument("--dry-run", action="store_true", help="copy nothing: list what would be copied")
    copy.add_argument("-q", "--quiet", action="store_true", help="no progress bar and no summary on success")
    copy.add_argument("-j", "--max-concurrency", type=_positive, default=16, help="files in flight at once "
                      "(default 16)")
    copy.add_argument("-r", "--recursive", action="store_true", help="accepted for azcopy habits: folders are "
                      "always copied with everything below them")
    copy.add_argument("--source-option", dest="source_options", action="append", default=[], metavar="KEY=VALUE",
                      type=_option, help="a storage option for the sources only (replaces -o there)")
    copy.add_argument("--destination-option", dest="destination_options", action="append", default=[],
                      metavar="KEY=VALUE", type=_option, help="a storage option for the destination only")

    convert = command("convert", _convert, "write a table's rows as Parquet, CSV, JSON lines or Delta files",
                      '"raw/*.csv" ./clean --to parquet --partition-by year')
    convert.add_argument("destination", metavar="DESTINATION", help="the folder to write (an MLTable file is "
                         "written beside the data, except for Delta)")
    convert.add_argument("--to", required=True, choices=("parquet", "csv", "jsonl", "delta"), help="the format")
    convert.add_argument("--overwrite", action="store_true", help="replace a table already at DESTINATION")
    convert.add_argument("--partition-by", action="append", default=None, metavar="COLUMN",
                         help="write key=value folders of this column; repeatable")
    convert.add_argument("-q", "--quiet", action="store_true", help="no progress bar and no summary")
    return parser


def _option(text: str) -> tuple[str, object]:
    key, separator, value = text.partition("=")
    if not separator or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got '{key}' without '='")
    lowered = value.lower()
    if lowered in ("true", "false"):
        return key.strip(), lowered == "true"
    if value.isdigit():
        return key.strip(), int(value)
    return key.strip(), value


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {text!r}")
    return value


def _options(pairs: list[tuple[str, object]]) -> dict | None:
    return dict(pairs) or None


# --- opening a table ----------------------------------------------------------------------------


def open_table(arguments) -> "MLTable":  # noqa: F821 — imported when needed
    """The table TABLE names (see the module doc), read with the command's options."""
    import mltable_lite as mltable

    from .storage import canonical_uri, open_store
    from .storage.globbing import has_wildcard

    paths, options = arguments.table, _options(arguments.storage_options)
    fmt = arguments.format
    given = paths[0]
    if fmt is None and len(paths) == 1 and (given.lower().startswith("azureml:") and "://" not in given or
                                            given.rstrip("/").rsplit("/", 1)[-1] == "MLTable"):
        fmt = "mltable"
    if fmt == "mltable":
        if len(paths) > 1:
            raise UserErrorException("An MLTable is one folder: give one TABLE, not several.")
        folder = given.rstrip("/")
        if folder.rsplit("/", 1)[-1] == "MLTable":  # the file itself: load() takes its folder
            folder = folder[: -len("MLTable")].rstrip("/") or "."
        return mltable.load(folder, storage_options=options)
    specs, names = [], []
    for path in paths:
        uri = canonical_uri(path)
        store = open_store(uri, options)
        found = store.path_of(uri)
        kind = store.kind(found)
        if kind is None and has_wildcard(found):
            specs.append({"pattern": path})
            names.append(found)
        elif kind is None:
            raise UserErrorException(f"Nothing exists at '{path}'. Give an MLTable folder, a data asset, or data "
                                     "files, folders or glob patterns.")
        elif kind == "file":
            specs.append({"file": path})
            names.append(found)
        elif fmt is None and len(paths) == 1 and store.kind(store.join(found, "MLTable")) == "file":
            return mltable.load(path, storage_options=options)
        elif fmt is None and len(paths) == 1 and store.kind(store.join(found, "_delta_log")) == "directory":
            fmt = "delta"
        else:
            specs.append({"folder": path})
            names.extend(name for name, _ in store.find(found))
    if fmt is None:
        fmt = _format_of(names, " ".join(paths))
    if fmt == "delta":
        if len(paths) > 1:
            raise UserErrorException("A Delta table is one folder: give one TABLE, not several.")
        return mltable.from_delta_lake(given, storage_options=options)
    if fmt == "parquet":
        return mltable.from_parquet_files(specs, storage_options=options)
    if fmt == "jsonl":
        return mltable.from_json_lines_files(specs, encoding=arguments.encoding, storage_options=options)
    if fmt == "paths":
        return mltable.from_paths(specs, storage_options=options)
    delimiter = arguments.delimiter or ("\t" if fmt == "tsv" else ",")
    return mltable.from_delimited_files(specs, header=arguments.header, delimiter=delimiter,
                                        encoding=arguments.encoding, storage_options=options)


def _format_of(paths: list[str], given: str) -> str:
    """The format the file names say (marker files such as ``_SUCCESS`` and hidden files aside)."""
    found = set()
    for path in paths:
        name = path.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
        if name.startswith((".", "_")):
            continue
        base, extension = os.path.splitext(name.lower())
        if extension in (".gz", ".bz2", ".zst"):
            extension = os.path.splitext(base)[1]
        found.add(_EXTENSIONS.get(extension))
    if len(found) == 1 and None not in found:
        return found.pop()
    raise UserErrorException(f"Cannot tell how to read '{given}' from its file names; pass --format "
                             f"({', '.join(_FORMATS)}).")


# --- the commands -------------------------------------------------------------------------------


def _show(arguments) -> int:
    import pandas as pd

    frame = open_table(arguments).show(arguments.rows)
    width = _terminal_width()
    with pd.option_context("display.max_columns", None, "display.width", width, "display.max_colwidth", 60):
        print(frame.to_string() if len(frame.columns) else f"(no columns; {len(frame)} rows)")
    return 0


def _schema(arguments) -> int:
    from .executor import table_to_pandas

    schema = open_table(arguments).collect_schema()
    dtypes = table_to_pandas(schema.empty_table()).dtypes
    rows = [(field.name, str(dtypes[field.name]), str(field.type)) for field in schema]
    _print_columns([("column", "pandas dtype", "arrow type"), *rows])
    return 0


def _explain(arguments) -> int:
    print(open_table(arguments).explain())
    return 0


def _validate(arguments) -> int:
    from .executor import list_files

    table = open_table(arguments)
    files = list_files(table._plan, table._storage_options)
    schema = table.collect_schema()
    sample = table.take(arguments.rows).to_arrow()
    print(f"valid: {_count(len(files), 'file')} ({_size(sum(max(f.size, 0) for f in files))}), "
          f"{_count(len(schema), 'column')}, {_count(sample.num_rows, 'row')} read as a sample")
    return 0


def _ls(arguments) -> int:
    from .executor import list_files

    table = open_table(arguments)
    from .storage import with_sizes

    files = with_sizes(list_files(table._plan, table._storage_options))   # an HTTP listing tells no sizes
    width = max((len(str(file.size)) for file in files), default=1)
    for file in files:
        print(f"{file.size:>{width}}  {file.display}")
    print(f"{_count(len(files), 'file')}, {_size(sum(max(file.size, 0) for file in files))}")
    return 0


def _copy(arguments) -> int:
    from .storage.copying import CopyFailed, copy

    options = _options(arguments.storage_options)
    source_options = {**(options or {}), **dict(arguments.source_options)} if arguments.source_options else options
    destination_options = {**(options or {}), **dict(arguments.destination_options)} \
        if arguments.destination_options else options
    sources = arguments.sources[0] if len(arguments.sources) == 1 else list(arguments.sources)
    try:
        result = copy(sources, arguments.destination, overwrite=arguments.overwrite, dry_run=arguments.dry_run,
                      source_storage_options=source_options, destination_storage_options=destination_options,
                      max_concurrency=arguments.max_concurrency,
                      show_progress=not arguments.quiet and sys.stderr.isatty())
    except CopyFailed as failed:
        result = failed.result
    if arguments.dry_run:
        for source, destination in result.copied:
            print(f"would copy  {source} -> {destination}")
        for source, destination in result.skipped:
            print(f"up to date  {source} -> {destination}")
    if not result.ok:   # the summary, with a line per failed file
        print(f"{PROG}: error: {result.summary()}", file=sys.stderr)
        return 1
    if arguments.dry_run or not arguments.quiet:
        print(result.summary())
    return 0


def _convert(arguments) -> int:
    from .executor import list_files

    table = open_table(arguments)
    writer = {"parquet": table.to_parquet_files, "csv": table.to_delimited_files,
              "jsonl": table.to_json_lines_files, "delta": table.to_delta_lake}[arguments.to]
    written = writer(arguments.destination, partition_by=arguments.partition_by, overwrite=arguments.overwrite,
                     storage_options=_options(arguments.storage_options),
                     show_progress=not arguments.quiet and sys.stderr.isatty())
    if not arguments.quiet:
        files = list_files(written._plan, written._storage_options)
        print(f"wrote {arguments.to} to {redact(arguments.destination)}: {_count(len(files), 'file')} "
              f"({_size(sum(max(f.size, 0) for f in files))})")
    return 0


# --- output helpers -----------------------------------------------------------------------------


def _print_columns(rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(row[index]) for row in rows) for index in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())


def _terminal_width() -> int:
    import shutil

    return shutil.get_terminal_size((120, 24)).columns


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _size(count: float) -> str:
    from .storage.copying import human_size

    return human_size(count)
