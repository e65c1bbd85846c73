"""The worker process of :mod:`harness.isolated`: one JSON request a line on stdin, one JSON
answer a line on stdout.

Requests name a builder (``from_delimited_files``, ``load``, ...), its arguments, a list of method
calls to chain (``[["filter", "a > 1"], ["take", 5]]``) and the terminal call (``pandas``,
``arrow``, ``partitions``, ``explain``). Only those names are called: a request is data.
"""

from __future__ import annotations

import json
import math
import sys
import traceback

BUILDERS = ("from_delimited_files", "from_parquet_files", "from_json_lines_files", "from_delta_lake", "from_paths",
            "load")
METHODS = ("filter", "take", "skip", "keep_columns", "drop_columns", "convert_column_types", "select_partitions",
           "extract_columns_from_partition_format", "take_random_sample")
MAX_VALUES = 2000


def main() -> None:
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 1000))
    import mltable_lite

    for line in sys.stdin:
        request = json.loads(line)
        try:
            answer = {"outcome": "ok", "result": handle(mltable_lite, request)}
        except BaseException as error:  # noqa: BLE001 - every exception is reported to the parent
            answer = {"outcome": "error", "type": f"{type(error).__module__}.{type(error).__qualname__}",
                      "ours": isinstance(error, mltable_lite.MLTableError), "message": str(error)[:5000],
                      "traceback": "".join(traceback.format_exception(error))[-20000:]}
        sys.stdout.write(json.dumps(answer, default=repr) + "\n")
        sys.stdout.flush()


def handle(mltable_lite, request: dict) -> dict:
    builder = request["builder"]
    if builder not in BUILDERS:
        raise ValueError(f"unknown builder {builder!r}")
    if builder == "load":
        table = mltable_lite.load(*request.get("args", []), **request.get("kwargs", {}))
    else:
        table = getattr(mltable_lite, builder)(*request.get("args", []), **request.get("kwargs", {}))
    for method, *args in request.get("steps", []):
        if method not in METHODS:
            raise ValueError(f"unknown method {method!r}")
        table = getattr(table, method)(*args)
    output = request.get("output", "pandas")
    if output == "pandas":
        return summary(table.to_pandas_dataframe())
    if output == "arrow":
        arrow = table.to_arrow()
        return {"rows": arrow.num_rows, "columns": arrow.column_names, "types": [str(t) for t in arrow.schema.types]}
    if output == "partitions":
        return {"partitions": table.get_partition_count()}
    if output == "text":
        return {"repr": repr(table), "str": str(table), "explain": table.explain()}
    raise ValueError(f"unknown output {output!r}")


def summary(frame) -> dict:
    """The frame as JSON: its shape, dtypes, the first :data:`MAX_VALUES` values of each column
    (missing values as ``None``, whatever the dtype) and a :func:`digest` of all of them."""
    columns = {}
    for name in frame.columns:
        series = frame[name]
        columns[str(name)] = [plain(value) for value in series.astype(object).where(series.notna(), None).tolist()]
    return {"rows": len(frame), "columns": [str(name) for name in frame.columns],
            "dtypes": [str(dtype) for dtype in frame.dtypes],
            "values": {name: values[:MAX_VALUES] for name, values in columns.items()},
            "digest": digest(columns)}


def digest(columns: dict) -> str:
    """A hash of ``{name: [plain values]}``, to compare whole results without sending them."""
    import hashlib

    text = json.dumps(columns, default=repr, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def plain(value):
    """``value`` as JSON can carry it: floats that are not finite and other objects as their repr."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if hasattr(value, "item") and not hasattr(value, "__len__"):
        return plain(value.item())
    return repr(value)


if __name__ == "__main__":
    main()
