"""fsspec's ``wasb://`` and ``wasbs://`` filesystem (adlfs registers ``abfs``, ``abfss`` and ``az`` only).

A thin :class:`adlfs.AzureBlobFileSystem` whose paths are written the Hadoop way,
``wasbs://<container>@<account>.blob.<suffix>/<path>``. It is registered through the
``fsspec.specs`` entry point, so this module imports nothing of mltable_lite. mltable_lite's own
reads do not go through it (:mod:`.azure` maps URIs itself); it is for ``fsspec.open`` and the
libraries built on it.

Example:
    >>> WasbFileSystem._strip_protocol("wasbs://data@acct.blob.core.windows.net/a/x.csv")
    'data/a/x.csv'
    >>> WasbFileSystem._get_kwargs_from_urls("wasbs://data@acct.blob.core.chinacloudapi.cn/x.csv")
    {'account_name': 'acct', 'account_host': 'acct.blob.core.chinacloudapi.cn'}
    >>> import fsspec
    >>> fsspec.open("wasbs://data@acct.blob.core.windows.net/x.csv", anon=True).read()  # doctest: +SKIP
"""

from __future__ import annotations

from urllib.parse import urlsplit

from adlfs import AzureBlobFileSystem

__all__ = ["WasbFileSystem"]


class WasbFileSystem(AzureBlobFileSystem):
    """adlfs for ``wasb://`` and ``wasbs://`` URIs (always over HTTPS: accounts refuse plain HTTP
    by default, and the blob API is the same)."""

    protocol = ("wasb", "wasbs")

    @classmethod
    def _strip_protocol(cls, path):
        """``wasbs://container@account.blob.core.windows.net/a/b`` → ``container/a/b``."""
        if isinstance(path, list):
            return [cls._strip_protocol(item) for item in path]
        scheme, separator, rest = path.partition("://")
        if not separator or scheme.lower() not in cls.protocol:
            return super()._strip_protocol(path)
        authority, _, key = rest.partition("/")
        container = authority.split("@", 1)[0]
        return f"{container}/{key}".strip("/")

    @staticmethod
    def _get_kwargs_from_urls(urlpath):
        """The account (and, outside the public cloud, its blob host) named by the URI's host."""
        parts = urlsplit(urlpath)
        if "@" not in parts.netloc:  # wasbs://container/path: the account comes from the options
            return {}
        labels = (parts.hostname or "").split(".")
        for index, label in enumerate(labels[1:], start=1):
            if label in ("blob", "dfs"):
                options = {"account_name": labels[0]}
                blob_host = ".".join(labels[:index] + ["blob"] + labels[index + 1:])
                if blob_host != f"{labels[0]}.blob.core.windows.net":
                    options["account_host"] = blob_host
                return options
        return {}

    def unstrip_protocol(self, name: str) -> str:
        container, _, key = self._strip_protocol(name).partition("/")
        account = self.account_name or getattr(self.service_client, "account_name", None)  # connection string
        host = getattr(self, "account_host", None) or f"{account}.blob.core.windows.net"
        return f"wasbs://{container}@{host}/{key}"
