"""The reference's submodule path: code that writes ``from mltable.mltable import MLTable`` keeps working.

Example:
    >>> from mltable_lite.mltable import MLTable, MLTableSaveOverwriteOption, MLTablePartitionSize
    >>> MLTableSaveOverwriteOption.SKIP.value, MLTablePartitionSize.megabyte.value
    (3, 2)
"""

from .builders import (from_delimited_files, from_delta_lake, from_json_lines_files, from_parquet_files,
                       from_paths, load)
from .enums import MLTableFileEncoding, MLTableHeaders, MLTablePartitionSize, MLTableSaveOverwriteOption
from .errors import UserErrorException
from .table import Metadata, MLTable, Traits
from .types import DataType

__all__ = [
    "DataType", "MLTable", "MLTableFileEncoding", "MLTableHeaders", "MLTablePartitionSize",
    "MLTableSaveOverwriteOption", "Metadata", "Traits", "UserErrorException", "from_delimited_files",
    "from_delta_lake", "from_json_lines_files", "from_parquet_files", "from_paths", "load",
]
