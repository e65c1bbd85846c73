"""``MLTable.download`` (and the reference's ``_download``): the files a table names, copied to a local folder.

As the reference lays them out, each file lands under ``target_path`` at its *portable path*: a
local file's absolute path (``/data/a.csv`` → ``<target>/data/a.csv``), a remote file's path in
its store (``wasbs://c@acct…/x/a.csv`` → ``<target>/c/x/a.csv``, ``https://host/x/a.csv`` →
``<target>/host/x/a.csv``). So files from several folders never collide. The bytes are moved by the
copy engine (:mod:`.storage.copying`): many files at once, big ones in parts, each written whole
or not at all, checked against the source's MD5 where it has one.

A file already at its place with the same size (and MD5 where known) is not fetched again and is
listed as downloaded; a *different* file there is an error unless ``overwrite=True`` (the
reference keeps it silently). Missing ``file`` paths are skipped with a warning when
``ignore_not_found``; otherwise every failure is collected and raised at the end as
``UserErrorException('Some files have failed to download: ...')``, as in the reference.

Example:
    >>> tbl = mltable.from_paths([{"folder": "wasbs://data@acct.blob.core.windows.net/images"}])  # doctest: +SKIP
    >>> tbl.download("/mnt/ssd/images")                                                          # doctest: +SKIP
    ['/mnt/ssd/images/data/images/a.png', '/mnt/ssd/images/data/images/b.png']
"""

from __future__ import annotations

import logging
import os
import tempfile
from urllib.parse import unquote, urlsplit

from .errors import NOT_FOUND_CODE, UserErrorException
from .plan import PathSpec, Plan
from .storage import FileRef, canonical_uri, expand_paths, is_local, local_path, open_store, scheme_of
from .storage.copying import MAX_CONCURRENCY, Transfer, run_transfers
from .storage.secrets import strip_secret_query

__all__ = ["download"]

_log = logging.getLogger("mltable_lite.download")
STREAM_COLUMN = "Path"


def download(table, target_path: str | None = None, *, stream_column: str | None = None, overwrite: bool = False,
             ignore_not_found: bool = False, storage_options: dict | None = None,
             max_concurrency: int = MAX_CONCURRENCY, show_progress: bool = False) -> list[str]:
    """Copy the files of ``table``'s ``stream_column`` below ``target_path`` (a new temporary folder
    by default); the local paths written (or found up to date), in the table's order."""
    if target_path is None:
        target_path = tempfile.mkdtemp()
    if not isinstance(target_path, (str, os.PathLike)):
        raise UserErrorException(f"target_path must be a local folder path, not {target_path!r}.")
    target = os.path.abspath(os.fspath(target_path))
    options = table._storage_options if storage_options is None else storage_options
    files, missing = _files(table, stream_column or STREAM_COLUMN, options, ignore_not_found)
    store = open_store(target)
    places = [os.path.join(target, *_portable_path(file).split("/")) for file in files]
    transfers = [Transfer(file, place, place) for file, place in zip(files, places)]
    result = run_transfers(transfers, store, overwrite=overwrite,
                           max_concurrency=max_concurrency, show_progress=show_progress)
    failures = missing + [(source, why) for source, _, why in result.failed]
    if failures:
        listed = "\n".join(f"('{source}', '{why}')" for source, why in failures)
        raise UserErrorException(f"Some files have failed to download: {listed}")
    return places


def _files(table, column: str, options: dict | None, ignore_not_found: bool
           ) -> tuple[list[FileRef], list[tuple[str, str]]]:
    """The files to fetch, and the ``file`` paths that do not exist with why: the path specs
    themselves for a plain ``from_paths`` table (its listing keeps credentials in URLs),
    otherwise the values of ``column`` after every step."""
    plan: Plan = table._plan
    if plan.reader is None and not plan.transforms and column == STREAM_COLUMN:
        specs = plan.paths
    else:
        specs = tuple(PathSpec("file", canonical_uri(value), value) for value in _column_values(table, column))
    files: list[FileRef] = []
    missing: list[tuple[str, str]] = []
    for spec in specs:
        try:
            files.extend(expand_paths([spec], options))
        except UserErrorException as error:
            if spec.kind != "file" or error.error_code != NOT_FOUND_CODE:
                raise  # a folder or pattern that finds nothing fails at once, as in the reference
            shown = local_path(spec.uri) if is_local(spec.uri) else strip_secret_query(spec.uri)
            if not ignore_not_found:
                missing.append((shown, "not found: nothing exists at this path"))
                continue
            _log.warning("'%s' hasn't been downloaded as it was not present at the source. Download is proceeding.",
                         shown)
    return files, missing


def _column_values(table, column: str) -> list[str]:
    arrow = table.to_arrow()
    if column not in arrow.column_names:
        raise UserErrorException(f"The table has no column '{column}' to download the files of; its columns are "
                                 f"{arrow.column_names}. Pass stream_column= one of them (a column of paths or "
                                 "URIs, such as from_paths' 'Path').")
    return [str(value) for value in arrow.column(column).to_pylist() if value is not None]


def _portable_path(file: FileRef) -> str:
    """Where a file goes below the target: its absolute local path, or its path in its store
    (a URL's host and path), ``/``-separated and without a leading ``/``."""
    if scheme_of(file.uri) in ("http", "https"):
        parts = urlsplit(file.path)
        return f"{parts.hostname or ''}/{unquote(parts.path).lstrip('/')}"
    path = file.path.replace(os.sep, "/")
    drive, rest = os.path.splitdrive(path)
    return (drive.rstrip(":") + "/" if drive else "") + rest.lstrip("/")
