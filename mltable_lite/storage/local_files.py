"""Local files as data: only regular files are read, and every refusal names the path.

A path given to a reader may be anything the file system holds: a FIFO (opening it blocks until
a writer comes), a device (``/dev/zero`` never ends), a ``/proc`` pseudo-file (its listed size is
0 but it holds the environment), a symbolic link to nothing or to itself. Each is refused here
with a :class:`UserErrorException` saying what the path is, before anything is opened; opening
checks again on the open descriptor, so a file swapped for a FIFO in between cannot block a read.

Folder walks follow symbolic links, as the reference does, but never around a cycle (a link to an
ancestor folder): the files below it are listed once, through the real folder.

Example:
    >>> kind_of("/dev/null")
    Traceback (most recent call last):
    mltable_lite.errors.UserErrorException: '/dev/null' is not a regular file (a character device). Only regular files are read as data; copy the data into a file first.
"""

from __future__ import annotations

import errno
import os
import stat
from functools import lru_cache
from typing import Callable

from ..errors import ExecutionError, UserErrorException

_KINDS = ((stat.S_ISFIFO, "a named pipe"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))
_MISSING = (errno.ENOENT, errno.ENOTDIR)


def kind_of(path: str) -> str | None:
    """``'file'`` (a regular file), ``'directory'``, or ``None`` when nothing is there; raises for
    anything else at ``path`` (see the module doc)."""
    _check_characters(path)
    try:
        status = os.stat(path)
    except OSError as error:
        if error.errno in _MISSING and not os.path.islink(path):
            return None
        raise refusal(path, error) from None
    if stat.S_ISDIR(status.st_mode):
        return "directory"
    check_regular(path, status)
    return "file"


def check_regular(path: str, status: os.stat_result) -> None:
    """Raise unless ``status`` (of ``path``) is a regular file that holds real data."""
    if not stat.S_ISREG(status.st_mode):
        what = next((name for test, name in _KINDS if test(status.st_mode)), "not a file")
        raise _not_regular(path, what)
    if status.st_dev in _pseudo_devices():
        raise _not_regular(path, "a /proc or /sys pseudo-file")


def refusal(path: str, error: OSError) -> UserErrorException | ExecutionError:
    """The error for an ``OSError`` met while looking at or opening local ``path``."""
    if error.errno in _MISSING and os.path.islink(path):
        target = _link_target(path)
        return UserErrorException(
            f"'{path}' is a symbolic link to '{target}', which does not exist. Remove the link or restore "
            "its target.")
    if error.errno == errno.ELOOP:
        return UserErrorException(
            f"'{path}' is a symbolic link loop (it leads back to itself through symbolic links). Fix or "
            "remove the link.")
    if error.errno == errno.ENAMETOOLONG:
        shown = path if len(path) <= 200 else path[:200] + "..."
        # The reference's class for it (an OS error in its engine).
        return ExecutionError(f"File name too long: the path '{shown}' ({len(path)} characters) is too long "
                              "for the file system. Check the path or pattern.")
    if error.errno in (errno.EACCES, errno.EPERM):
        return UserErrorException(f"Permission denied: cannot read '{path}'. Check the file's permissions.")
    return UserErrorException(f"Cannot read '{path}': {error.strerror or error}.")


def open_regular(path: str):
    """``path`` opened for binary reading, after checking on the open descriptor that it is a
    regular file (opening does not block: a FIFO is refused, not waited on)."""
    _check_characters(path)
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        if os.path.islink(path):
            raise refusal(path, FileNotFoundError(errno.ENOENT, "missing")) from None
        raise
    except OSError as error:
        raise refusal(path, error) from None
    try:
        check_regular(path, os.fstat(descriptor))
        if hasattr(os, "set_blocking"):
            os.set_blocking(descriptor, True)
        return os.fdopen(descriptor, "rb")
    except BaseException:
        os.close(descriptor)
        raise


def walk(folder: str, glob=None) -> list[tuple[str, int]]:
    """Every regular file below ``folder`` (recursively, through symbolic links) with its size,
    sorted by path; with a :class:`~.globbing.Glob`, only the files it matches, walking down only
    the folders it can still match (``/*.csv`` reads one folder, not the whole disk).

    A selected entry that is not a regular file (a dangling link, a FIFO...) raises, naming it.
    """
    _check_characters(folder)
    found: list[tuple[str, int]] = []
    pending = [(folder, _identities(folder, ()), glob.start() if glob is not None else None)]
    while pending:
        current, ancestors, states = pending.pop()
        try:
            entries = list(os.scandir(current))
        except OSError as error:
            raise refusal(current, error) from None
        for entry in entries:
            try:
                is_dir = entry.is_dir()
            except OSError:
                is_dir = False   # a link loop: judged below, if it is selected
            if is_dir:
                following = None if glob is None else glob.folder_states(states, entry.name)
                if glob is not None and not following:
                    continue
                identity = _identity(entry.path)
                if entry.is_symlink() and (identity is None or identity in ancestors):
                    continue  # a link back to a folder being walked: its files are listed already
                pending.append((entry.path, ancestors + ((identity,) if identity else ()), following))
                continue
            if glob is not None and not (glob.matches_file(states, entry.name) and glob.regex.match(entry.path)):
                continue
            try:
                status = entry.stat()
            except OSError as error:
                raise refusal(entry.path, error) from None
            check_regular(entry.path, status)
            found.append((entry.path, status.st_size))
    found.sort()
    return found


def _check_characters(path: str) -> None:
    if "\x00" in path:  # the OS cannot take it (Python raises ValueError)
        raise UserErrorException(f"The path {path!r} contains a NUL character (\\x00), which no file name can "
                                 "hold. Check how the path was built.")


def _identities(folder: str, ancestors: tuple) -> tuple:
    identity = _identity(folder)
    return ancestors + ((identity,) if identity is not None else ())


def _identity(path: str) -> tuple[int, int] | None:
    try:
        status = os.stat(path)
    except OSError:
        return None
    return status.st_dev, status.st_ino


def _link_target(path: str) -> str:
    try:
        return os.readlink(path)
    except OSError:
        return "?"


def _not_regular(path: str, what: str) -> UserErrorException:
    return UserErrorException(
        f"'{path}' is not a regular file ({what}). Only regular files are read as data; copy the data "
        "into a file first.")


@lru_cache(maxsize=1)
def _pseudo_devices() -> frozenset:
    """The devices of ``/proc`` and ``/sys`` (kernel pseudo-file systems), when they are mounts of
    their own: their files list size 0 and hold whatever the kernel reports."""
    devices = set()
    try:
        root = os.stat("/").st_dev
    except OSError:
        return frozenset()
    for mount in ("/proc", "/sys"):
        try:
            device = os.stat(mount).st_dev
        except OSError:
            continue
        if device != root:
            devices.add(device)
    return frozenset(devices)
