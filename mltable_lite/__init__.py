"""mltable_lite: an open, fast, drop-in engine for Azure ML's ``mltable`` API and MLTable files.

Example:
    >>> import mltable_lite as mltable
    >>> tbl = mltable.from_delimited_files(paths=[{"pattern": "./examples/data/trips/*.csv"}])
    >>> tbl.take(10).to_pandas_dataframe().shape
    (10, 7)
"""

from .builders import (from_delimited_files, from_delta_lake, from_json_lines_files, from_parquet_files,
                       from_paths, load)
from . import mltable  # noqa: F401  (the reference's submodule path, an attribute as in the reference)
from .enums import MLTableFileEncoding, MLTableHeaders
from .errors import ExecutionError, MLTableError, UserErrorException
from .streams import StreamInfo
from .table import MLTable
from .types import DataType

__version__ = "0.1.0"

# Remote-storage names, imported on first use so that ``import mltable_lite`` stays light.
_LAZY = {
    "register_datastore": "storage.datastores", "unregister_datastore": "storage.datastores",
    "clear_datastore_cache": "storage.datastores", "set_default_credential": "storage.arm",
    "AzureMachineLearningFileSystem": "storage.azureml_fs", "copy": "storage.copying",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'mltable_lite' has no attribute {name!r}")


__all__ = [
    "DataType", "ExecutionError", "MLTable", "MLTableError", "MLTableFileEncoding", "MLTableHeaders",
    "StreamInfo", "UserErrorException", "from_delimited_files", "from_delta_lake", "from_json_lines_files",
    "from_parquet_files", "from_paths", "load", *_LAZY,
]


def __dir__() -> list[str]:
    # The public API only: the internal modules imported above are attributes too, but not the API.
    return sorted([*__all__, "mltable", "__version__"])

