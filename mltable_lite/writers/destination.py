"""Where a write goes, and how it commits: data files first, the MLTable file last.

A destination is a folder on any writable store. A write names its data files with an id of its
own (``part-00000-<id>.parquet``), so they never replace anyone's files and stay invisible to the
destination's MLTable until the write commits by writing that file, which lists exactly them.
On local disk every file is written under a temporary name and renamed; on object stores a blob
appears whole when its upload completes. So a reader (or a process killed at any moment) sees
the previous table or the new one, never half of one. After the commit, data files of earlier
writes (the replaced table's, and leftovers of writes that never committed) are deleted.

Example:
    >>> destination = Destination.open("./outputs/clean", None, OverwriteMode.FAIL_ON_CONFLICT)  # doctest: +SKIP
    >>> with destination.writing("part-00000-" + destination.write_id + ".parquet") as handle:  # doctest: +SKIP
    ...     handle.write(data)
    >>> destination.commit(document)                                                            # doctest: +SKIP
"""

from __future__ import annotations

import re
import secrets
from contextlib import contextmanager
from typing import Any

from ..enums import MLTableSaveOverwriteOption as OverwriteMode
from ..errors import UserErrorException
from ..storage import Store, canonical_uri, is_local, local_path, open_store
from ..storage.secrets import strip_secret_query
from ..yaml_io import dump_yaml

MLTABLE_FILE = "MLTable"
ALREADY_EXISTS_CODE = "ScriptExecution.WriteStreams.AlreadyExists"
# Data files a write makes: part-<5 digits>-<write id>.<extension>, possibly under key=value folders;
# and the hidden temporary names they have while written on local disk (Store.writing), which a
# killed write leaves behind.
_OUR_FILE = re.compile(r"(?:^|/)(?P<hidden>\.)?part-\d{5,}-(?P<id>[0-9a-f]{12})\.[A-Za-z0-9.]+?"
                       r"(?(hidden)\.[0-9a-f]{12}\.tmp)$")
# The hidden temporary name the MLTable file has for the few milliseconds before its rename
# (Store.writing). One older than a minute was left by a killed write; a younger one may be another
# writer's, in flight, and deleting it would break that writer's rename.
_MLTABLE_TEMPORARY = re.compile(r"(?:^|/)\.MLTable\.[0-9a-f]{12}\.tmp$")
_STALE_SECONDS = 60

__all__ = ["Destination", "OverwriteMode", "overwrite_mode", "ALREADY_EXISTS_CODE", "MLTABLE_FILE"]


def overwrite_mode(value: Any) -> OverwriteMode:
    """The reference's ``overwrite`` spellings: ``True``/``'overwrite'``, ``False``/``'fail'``,
    ``'skip'`` or a :class:`MLTableSaveOverwriteOption`.

    Example:
        >>> overwrite_mode("skip")
        <MLTableSaveOverwriteOption.SKIP: 3>
    """
    if isinstance(value, OverwriteMode):
        return value
    if value is True or value == "overwrite":
        return OverwriteMode.OVERWRITE
    if value is False or value == "fail":
        return OverwriteMode.FAIL_ON_CONFLICT
    if value == "skip":
        return OverwriteMode.SKIP
    raise UserErrorException(
        f'{value} is not a supported overwrite option. Support boolean, a MLTableSaveOverwriteOption, or string '
        '(one of "append", "overwrite", or "fail"). mltable_lite takes True or "overwrite", False or "fail", "skip", '
        "or MLTableSaveOverwriteOption.OVERWRITE / FAIL_ON_CONFLICT / SKIP.")


class Destination:
    """A folder being written: its store, the files this write has made, and the commit."""

    def __init__(self, uri: str, store: Store, folder: str, mode: OverwriteMode, had_table: bool):
        self.uri = uri
        self.store = store
        self.folder = folder
        self.mode = mode
        self.had_table = had_table
        self.write_id = secrets.token_hex(6)
        self.written: list[str] = []

    @classmethod
    def open(cls, destination: Any, storage_options: dict | None, mode: OverwriteMode) -> "Destination":
        """Resolve ``destination`` and check it: a file there, or an MLTable with ``FAIL_ON_CONFLICT``,
        is an error naming it."""
        if not isinstance(destination, str) or not destination.strip():
            raise UserErrorException(f"The destination must be a folder path or URI (a non-empty string), "
                                     f"not {destination!r}.")
        uri = canonical_uri(destination)
        store = open_store(uri, storage_options)
        folder = store.path_of(uri).rstrip("/") or "/"
        target = cls(uri, store, folder, mode, had_table=False)
        if store.kind(folder) == "file":
            raise target.conflict("is a file; give the folder to write the table into")
        target.had_table = store.kind(target.mltable_path) == "file"
        if target.had_table and mode is OverwriteMode.FAIL_ON_CONFLICT:
            raise target.conflict("already holds an MLTable; pass overwrite=True to replace that table")
        return target

    @property
    def shown(self) -> str:
        """The destination as the user knows it, without credentials."""
        return local_path(self.uri) if is_local(self.uri) else strip_secret_query(self.uri)

    @property
    def mltable_path(self) -> str:
        return self.store.join(self.folder, MLTABLE_FILE)

    @property
    def skipped(self) -> bool:
        """``SKIP`` and a table is already there: nothing is written."""
        return self.mode is OverwriteMode.SKIP and self.had_table

    def conflict(self, why: str) -> UserErrorException:
        return UserErrorException(f"Destination already exists or is not empty. '{self.shown}' {why}.",
                                  error_code=ALREADY_EXISTS_CODE)

    def data_name(self, index: int, extension: str, folder: str = "") -> str:
        """The relative path of this write's ``index``-th data file (in ``folder``, ``/``-separated)."""
        name = f"part-{index:05d}-{self.write_id}.{extension}"
        return f"{folder}/{name}" if folder else name

    @contextmanager
    def writing(self, relative: str):
        """A file of this write (never replacing another file); see :meth:`Store.writing`."""
        path = self.store.join(self.folder, relative)
        with self.store.writing(path, overwrite=False) as handle:
            yield handle
        self.written.append(path)

    def discard(self) -> None:
        """Delete the files this write made (a failed or restarted write); nothing else is touched."""
        for path in self.written:
            try:
                self.store.delete(path)
            except Exception:  # noqa: BLE001 — best effort: they are invisible, the next write removes them
                pass
        self.written = []

    def commit(self, document: dict) -> None:
        """Write the MLTable file (the moment the new table becomes visible), then delete the data
        files of earlier writes. Under ``FAIL_ON_CONFLICT`` a table that appeared meanwhile is an error."""
        data = dump_yaml(document).encode("utf-8")
        try:
            self.store.write_bytes(self.mltable_path, data, overwrite=self.mode is OverwriteMode.OVERWRITE)
        except FileExistsError:
            self.discard()
            raise self.conflict("got an MLTable from another writer while this one was writing") from None
        self.remove_earlier_writes()

    def remove_earlier_writes(self) -> None:
        """Delete data files of other writes (``part-NNNNN-<id>.*`` with another id, and their
        hidden temporary files), and MLTable temporary files a killed write left. Only names of
        those forms are touched: files the user put in the folder stay."""
        try:
            found = self.store.find(self.folder)
        except Exception:  # noqa: BLE001 — the new table is committed; stale files are only clutter
            return
        prefix = self.folder.rstrip("/") + "/"
        for path, _ in found:
            match = _OUR_FILE.search(path[len(prefix):] if path.startswith(prefix) else path)
            if (match is not None and match.group("id") != self.write_id) or (
                    not self.store.remote and _stale_mltable_temporary(path)):
                try:
                    self.store.delete(path)
                except Exception:  # noqa: BLE001
                    pass
        if not self.store.remote:
            _remove_empty_folders(self.folder)


def _stale_mltable_temporary(path: str) -> bool:
    """A local ``.MLTable.<token>.tmp`` older than a minute (remote stores write no temporary files)."""
    import os
    import time

    if _MLTABLE_TEMPORARY.search(path) is None:
        return False
    try:
        return time.time() - os.stat(local_path(path)).st_mtime > _STALE_SECONDS
    except (OSError, ValueError):
        return False


def _remove_empty_folders(folder: str) -> None:
    """Partition folders (``key=value``) that the deletions left empty; no other folder."""
    import os

    for root, _, _ in sorted(os.walk(folder), key=lambda item: -len(item[0])):
        if root != folder and "=" in os.path.basename(root):
            try:
                os.rmdir(root)
            except OSError:  # not empty: it holds files of the new table, or the user's
                pass
