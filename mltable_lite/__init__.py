"""mltable_lite: an open, fast, drop-in engine for Azure ML's ``mltable`` API and MLTable files.

Example:
    >>> import mltable_lite as mltable
    >>> tbl = mltable.from_delimited_files(paths=[{"pattern": "./data/*.csv"}])   # doctest: +SKIP
    >>> df = tbl.take(10).to_pandas_dataframe()                                  # doctest: +SKIP
"""

from .builders import (from_delimited_files, from_delta_lake, from_json_lines_files, from_parquet_files,
                       from_paths, load)
from .enums import MLTableFileEncoding, MLTableHeaders
from .errors import ExecutionError, MLTableError, UserErrorException
from .streams import StreamInfo
from .table import MLTable
from .types import DataType

__version__ = "0.1.0"

__all__ = [
    "DataType", "ExecutionError", "MLTable", "MLTableError", "MLTableFileEncoding", "MLTableHeaders",
    "StreamInfo", "UserErrorException", "from_delimited_files", "from_delta_lake", "from_json_lines_files",
    "from_parquet_files", "from_paths", "load",
]
