"""``StreamInfo``: a reference to a file, the value type of ``from_paths`` and ``to_stream``.

Example:
    >>> info = StreamInfo("/data/a.csv")
    >>> info.resource_id, str(info), repr(info)
    ('/data/a.csv', '/data/a.csv', 'StreamInfo[Local](/data/a.csv)')
"""

from __future__ import annotations

from .storage import scheme_of

_HANDLERS = {"file": "Local", "http": "Http", "https": "Http", "wasb": "AzureBlobStorage",
             "wasbs": "AzureBlobStorage", "abfs": "ADLSGen2", "abfss": "ADLSGen2", "azureml": "AzureMLDatastore"}


class StreamInfo:
    """Where a file is: ``resource_id`` is its absolute path (local) or URI (remote)."""

    __slots__ = ("resource_id", "handler")

    def __init__(self, resource_id: str):
        self.resource_id = resource_id
        self.handler = _HANDLERS.get(scheme_of(resource_id), scheme_of(resource_id))

    def __str__(self) -> str:
        return self.resource_id

    def __repr__(self) -> str:
        return f"StreamInfo[{self.handler}]({self.resource_id})"

    def __eq__(self, other) -> bool:
        return isinstance(other, StreamInfo) and other.resource_id == self.resource_id

    def __hash__(self) -> int:
        return hash(self.resource_id)
