"""URI spelling: what the user wrote → one canonical URI per location.

Local paths become ``file:///abs/path`` (normalised, ``..`` collapsed); remote URIs pass through.
fsspec's cache chains (``simplecache::``, ``filecache::``, ``blockcache::`` before a URI) are kept
in front of the URI they cache, and every function here works on that URI (:func:`split_chain`);
a cache in front of a local path is dropped (the file is local already).

Example:
    >>> canonical_uri("data/../a.csv", base_dir="/work")
    'file:///work/a.csv'
    >>> canonical_uri("https://host/x.csv", base_dir="/work")
    'https://host/x.csv'
    >>> join_uri("simplecache::https://host/table", "./data/a.csv")
    'simplecache::https://host/table/data/a.csv'
"""

from __future__ import annotations

import os
import posixpath
import re

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://")
_WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:[\\/]")
CACHE_PROTOCOLS = ("simplecache", "filecache", "blockcache")
_CHAIN = re.compile(r"^((?:(?:simplecache|filecache|blockcache)::)+)", re.IGNORECASE)


def split_chain(uri: str) -> tuple[str, str]:
    """``(cache prefix, URI)``: ``'simplecache::https://h/x'`` → ``('simplecache::', 'https://h/x')``.

    Example:
        >>> split_chain("filecache::az://c/x.csv"), split_chain("/data/x.csv")
        (('filecache::', 'az://c/x.csv'), ('', '/data/x.csv'))
    """
    match = _CHAIN.match(uri)
    return (match.group(1), uri[match.end():]) if match else ("", uri)


def scheme_of(uri: str) -> str:
    """``'file'`` for local paths, else the URI scheme in lower case (``'https'``, ``'abfss'``);
    a cached URI's scheme is that of the URI it caches."""
    uri = split_chain(uri)[1]
    if uri[:8].lower() == "azureml:":  # also the data-asset form azureml:<name>:<version>
        return "azureml"
    match = _SCHEME.match(uri)
    if match is None or _WINDOWS_DRIVE.match(uri):
        return "file"
    return match.group(1).lower()


def is_local(uri: str) -> bool:
    return scheme_of(uri) == "file"


def local_path(uri: str) -> str:
    """The OS path of a local URI or plain path (``file:///a/b`` → ``/a/b``)."""
    if uri.lower().startswith("file://"):
        rest = uri[len("file://"):]
        # file:///abs is absolute; file://relative is accepted by the reference too.
        return rest if rest.startswith("/") else os.path.abspath(rest)
    return uri


def canonical_uri(given: str, base_dir: str | None = None) -> str:
    """Resolve ``given`` against ``base_dir`` (a local folder or a remote URI folder).

    Relative local paths resolve against ``base_dir`` or the current directory.
    """
    prefix, inner = split_chain(given)
    if prefix:
        return canonical_uri(inner, base_dir) if is_local(inner) else prefix + inner
    if not is_local(given):
        return given
    if given.lower().startswith("file://"):
        rest = given[len("file://"):]
        if rest.startswith("/"):
            return "file://" + _normalise(rest)
        given = rest
    if os.path.isabs(given):
        return "file://" + _normalise(given)
    if base_dir is not None and not is_local(base_dir):
        return join_uri(base_dir, given)   # a cached folder's relative paths are cached too
    base = local_path(base_dir) if base_dir is not None else os.getcwd()
    return "file://" + _normalise(os.path.join(base, given))


def join_uri(base: str, relative: str) -> str:
    """Join a relative path onto a folder URI, collapsing ``..``."""
    if is_local(base):
        return canonical_uri(relative, base)
    prefix, base = split_chain(base)
    scheme, rest = base.split("://", 1)
    authority, _, path = rest.partition("/")
    joined = posixpath.normpath(posixpath.join("/" + path, relative))
    return f"{prefix}{scheme}://{authority}{joined}"


def parent_uri(uri: str) -> str:
    if is_local(uri):
        return "file://" + os.path.dirname(local_path(uri).rstrip("/") or "/")
    return uri.rstrip("/").rsplit("/", 1)[0]


def relative_to(uri: str, folder_uri: str) -> str | None:
    """``uri`` relative to ``folder_uri`` if both are local, else ``None``.

    Mirrors the reference's save(): a path that would have to climb to the file-system root is
    not made relative (``None``).
    """
    if not (is_local(uri) and is_local(folder_uri)):
        return None
    target, folder = local_path(uri), local_path(folder_uri)
    relative = os.path.relpath(target, folder)
    climbs = relative.split(os.sep).count("..")
    folder_depth = len([part for part in folder.split(os.sep) if part])
    if climbs >= folder_depth:
        return None
    return relative


def _normalise(path: str) -> str:
    normalised = os.path.normpath(path)
    # normpath keeps a leading '//' (POSIX allows it to mean something else); we do not.
    if normalised.startswith("//"):
        normalised = "/" + normalised.lstrip("/")
    return normalised


def check_web_url(uri: str) -> None:
    """Raise :class:`UserErrorException` unless the ``http(s)://`` ``uri`` has a host and a valid
    port (a malformed one otherwise fails deep in the HTTP client with a bare ``ValueError``).

    Example:
        >>> check_web_url("https://example.org:8443/data/a.csv")
        >>> check_web_url("https://:0/x.csv")
        Traceback (most recent call last):
        mltable_lite.errors.UserErrorException: Invalid URL 'https://:0/x.csv': it names no host. Write it as https://host[:port]/path.
    """
    from urllib.parse import urlsplit

    from ..errors import UserErrorException
    from .secrets import strip_secret_query

    shown = strip_secret_query(uri)
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 - parsing the port is the check
    except ValueError as error:
        raise UserErrorException(f"Invalid URL '{shown}': {error}. Write it as {uri.split(':', 1)[0]}://host[:port]/path."
                                 ) from None
    if not parts.hostname:
        raise UserErrorException(f"Invalid URL '{shown}': it names no host. Write it as "
                                 f"{parts.scheme}://host[:port]/path.")

