"""The one place that maps plans to and from the MLTable YAML dict.

``plan_to_dict`` writes what the reference writes (every reader default filled in); with
``relative_to`` local paths become relative to the save folder. ``plan_from_dict`` validates a
loaded dict and builds the plan, resolving relative paths against the MLTable file's folder.

Example:
    >>> from mltable_lite.plan import Plan, PathSpec, ReadParquet, Take
    >>> plan = Plan((PathSpec("file", "file:///d/a.parquet"),), ReadParquet(), (Take(5),))
    >>> plan_to_dict(plan)["transformations"]
    [{'read_parquet': {'include_path_column': False, 'path_column': 'Path'}}, {'take': 5}]
    >>> plan_from_dict(plan_to_dict(plan)) == plan
    True
"""

from __future__ import annotations

from typing import Any

from .errors import UserErrorException
from .plan import (
    PATH_KINDS, ConvertColumnTypes, DropColumns, ExtractPartitionFormat, Filter, FrozenMap,
    InferOptions, KeepColumns, OpaqueTransform, PathSpec, Plan, RandomPercentSample,
    ReadDelimited, ReadDeltaLake, ReadJsonLines, ReadParquet, SelectPartitions, Skip, Take,
    TakeRandomSample, Traits, freeze, thaw,
)
from .storage import canonical_uri, is_local, relative_to
from .storage.secrets import strip_secret_query
from .types import ColumnList, DataType, data_type_of

SCHEMA_ERROR = "Given MLTable does not adhere to the AzureML MLTable schema: "

_READERS = {
    "read_delimited": ReadDelimited,
    "read_parquet": ReadParquet,
    "read_json_lines": ReadJsonLines,
    "read_delta_lake": ReadDeltaLake,
}
_READER_NAMES = {cls: name for name, cls in _READERS.items()}


# --- plan → dict --------------------------------------------------------------------------------


def plan_to_dict(plan: Plan, relative_to_uri: str | None = None, path_rewrites: dict | None = None) -> dict:
    """The MLTable YAML dict for ``plan``.

    ``relative_to_uri``: write local paths relative to this folder (``save``). ``path_rewrites``
    maps a spec's URI to the string to write instead (``save(colocated=True)``).
    """
    document: dict[str, Any] = {"paths": [_path_to_dict(spec, relative_to_uri, path_rewrites) for spec in plan.paths]}
    steps = []
    for transform in plan.transforms:
        if isinstance(transform, ExtractPartitionFormat):
            # The reference always places this step first, before the reader (COMPATIBILITY §13).
            steps.append(_transform_to_dict(transform))
    if plan.reader is not None:
        steps.append({_READER_NAMES[type(plan.reader)]: _reader_to_dict(plan.reader)})
    steps.extend(_transform_to_dict(t) for t in plan.transforms if not isinstance(t, ExtractPartitionFormat))
    if steps:
        document["transformations"] = steps
    document["type"] = "mltable"
    if plan.metadata:
        document["metadata"] = thaw(plan.metadata)
    traits = {}
    if plan.traits.timestamp_column is not None:
        traits["timestamp_column"] = plan.traits.timestamp_column
    if plan.traits.index_columns is not None:
        traits["index_columns"] = list(plan.traits.index_columns)
    if traits:
        document["traits"] = traits
    return document


def _path_to_dict(spec: PathSpec, folder_uri: str | None, rewrites: dict | None) -> dict:
    if rewrites and spec.uri in rewrites:
        return {spec.kind: rewrites[spec.uri]}
    if folder_uri is not None:
        relative = relative_to(spec.uri, folder_uri)
        if relative is not None:
            return {spec.kind: relative}
        if is_local(spec.uri):
            return {spec.kind: spec.uri[len("file://"):]}
    # A SAS token in a URL is a credential: it stays in memory for reading, never in YAML.
    return {spec.kind: strip_secret_query(spec.uri)}


# How the reference spells encodings in the files it writes; everything else keeps our name.
_ENCODING_SPELLING = {"windows1252": "windows-1252", "utf16": "utf-16"}


def _reader_to_dict(step) -> dict:
    if isinstance(step, ReadDelimited):
        return {
            "delimiter": step.delimiter,
            "empty_as_string": step.empty_as_string,
            "encoding": _ENCODING_SPELLING.get(step.encoding, step.encoding),
            "header": step.header,
            "include_path_column": step.include_path_column,
            "infer_column_types": _infer_to_yaml(step.infer_column_types),
            "partition_size": step.partition_size,
            "path_column": step.path_column,
            "support_multi_line": step.support_multi_line,
        }
    if isinstance(step, ReadParquet):
        return {"include_path_column": step.include_path_column, "path_column": step.path_column}
    if isinstance(step, ReadJsonLines):
        return {
            "encoding": _ENCODING_SPELLING.get(step.encoding, step.encoding),
            "include_path_column": step.include_path_column,
            "invalid_lines": step.invalid_lines,
            "partition_size": step.partition_size,
            "path_column": step.path_column,
        }
    if isinstance(step, ReadDeltaLake):
        out: dict[str, Any] = {"include_path_column": step.include_path_column}
        if step.timestamp_as_of is not None:
            out["timestamp_as_of"] = step.timestamp_as_of
        if step.version_as_of is not None:
            out["version_as_of"] = step.version_as_of
        return out
    raise TypeError(f"not a reader step: {step!r}")


def _infer_to_yaml(infer) -> Any:
    if isinstance(infer, bool):
        return infer
    out: dict[str, Any] = {}
    if infer.sample_size is not None:
        out["sample_size"] = infer.sample_size
    if infer.overrides:
        out["column_type_overrides"] = [_conversion_to_yaml(columns, dtype) for columns, dtype in infer.overrides]
    return out


def _conversion_to_yaml(columns: tuple, dtype: DataType) -> dict:
    single = len(columns) == 1 and not isinstance(columns, ColumnList)  # ["val"] stays a list, as written
    return {"columns": columns[0] if single else list(columns), "column_type": data_type_to_yaml(dtype)}


def data_type_to_yaml(dtype: DataType) -> Any:
    if dtype.kind == "bool":
        if dtype.true_values is None:
            return "boolean" if dtype.mismatch_as is None else {"boolean": {"mismatch_as": dtype.mismatch_as}}
        return {"boolean": {"false_values": list(dtype.false_values), "mismatch_as": dtype.mismatch_as,
                            "true_values": list(dtype.true_values)}}
    if dtype.kind == "datetime":
        formats: Any = dtype.formats[0] if len(dtype.formats) == 1 else list(dtype.formats)
        body: dict[str, Any] = {"formats": formats}
        if dtype.date_constant is not None:
            body["date_constant"] = dtype.date_constant
        return {"datetime": body}
    return {"string": "string", "int": "int", "float": "float", "stream": "stream_info"}[dtype.kind]


def _transform_to_dict(step) -> dict:
    if isinstance(step, Filter):
        return {"filter": step.expression}
    if isinstance(step, Take):
        return {"take": step.count}
    if isinstance(step, Skip):
        return {"skip": step.count}
    if isinstance(step, (KeepColumns, DropColumns)):
        name = "keep_columns" if isinstance(step, KeepColumns) else "drop_columns"
        return {name: step.columns[0] if step.as_string else list(step.columns)}
    if isinstance(step, TakeRandomSample):
        return {"take_random_sample": {"probability": step.probability, "seed": step.seed}}
    if isinstance(step, RandomPercentSample):
        return {"sample": {"sampler": "random_percent", "sampler_arguments": {
            "probability": step.high, "probability_lower_bound": step.low, "seed": step.seed}}}
    if isinstance(step, ConvertColumnTypes):
        return {"convert_column_types": [_conversion_to_yaml(columns, dtype) for columns, dtype in step.conversions]}
    if isinstance(step, ExtractPartitionFormat):
        return {"extract_columns_from_partition_format": {
            "ignore_errors": step.ignore_errors, "partition_format": step.partition_format,
            "path_column": step.path_column}}
    if isinstance(step, SelectPartitions):
        return {"select_partitions": list(step.indices)}
    if isinstance(step, OpaqueTransform):
        return {step.name: thaw(step.arguments)}
    raise TypeError(f"not a transform step: {step!r}")


# --- dict → plan --------------------------------------------------------------------------------


def plan_from_dict(document: Any, base_uri: str | None = None, source: str = "MLTable") -> Plan:
    """Validate a parsed MLTable YAML document and build its plan.

    ``base_uri`` is the folder of the MLTable file: relative paths resolve against it.
    ``source`` names the file in error messages.
    """
    if not isinstance(document, dict):
        raise _schema_error(source, "the document must be a mapping with a 'paths' list, "
                                    f"not {type(document).__name__} ({document!r:.80})")
    paths_value = document.get("paths")
    if paths_value is None:
        paths_value = []
    if not isinstance(paths_value, list):
        raise _schema_error(source, "'paths' must be a list of {file|folder|pattern: <path>} entries")
    paths = tuple(path_spec_from_dict(entry, base_uri, source, index) for index, entry in enumerate(paths_value))

    reader = None
    transforms = []
    steps = document.get("transformations") or []
    if not isinstance(steps, list):
        raise _schema_error(source, "'transformations' must be a list")
    for index, step in enumerate(steps):
        name, arguments = _single_key(step, f"transformations[{index}]", source)
        if name in _READERS:
            if reader is not None:
                raise _schema_error(source, f"transformations[{index}]: a table has one reader step; "
                                            f"'{name}' follows another reader")
            reader = _reader_from_yaml(name, arguments, f"transformations[{index}].{name}", source)
        else:
            transforms.append(_transform_from_yaml(name, arguments, f"transformations[{index}]", source))

    metadata = document.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise _schema_error(source, "'metadata' must be a mapping")
    return Plan(paths=paths, reader=reader, transforms=tuple(transforms),
                metadata=FrozenMap.of(metadata) if metadata else None,
                traits=_traits_from_yaml(document.get("traits"), source), base_uri=base_uri)


def path_spec_from_dict(entry: Any, base_uri: str | None, source: str = "paths", index: int = 0) -> PathSpec:
    """One ``{file|folder|pattern: path}`` entry → a ``PathSpec`` with a canonical URI."""
    if not isinstance(entry, dict) or len(entry) != 1:
        raise _schema_error(source, f"paths[{index}] = {entry!r} must have exactly one key, "
                                    "'file', 'folder' or 'pattern'")
    kind, value = next(iter(entry.items()))
    if kind not in PATH_KINDS:
        raise _schema_error(source, f"paths[{index}] has key '{kind}'; use 'file', 'folder' or 'pattern'")
    if not isinstance(value, str) or not value:
        raise _schema_error(source, f"paths[{index}].{kind} must be a non-empty string, not {value!r}")
    return PathSpec(kind, canonical_uri(value, base_uri), given=value)


_DELIMITED_KEYS = {"delimiter", "header", "support_multi_line", "empty_as_string", "encoding",
                   "include_path_column", "infer_column_types", "partition_size", "path_column"}
_KEYS = {
    "read_delimited": _DELIMITED_KEYS,
    "read_parquet": {"include_path_column", "path_column"},
    "read_json_lines": {"encoding", "invalid_lines", "include_path_column", "partition_size", "path_column"},
    "read_delta_lake": {"timestamp_as_of", "version_as_of", "include_path_column", "path_column"},
}


def _reader_from_yaml(name: str, arguments: Any, where: str, source: str):
    if arguments is None:
        arguments = {}
    if not isinstance(arguments, dict):
        raise _schema_error(source, f"{where} must be a mapping of reader options")
    unknown = set(arguments) - _KEYS[name]
    if unknown:
        raise _schema_error(source, f"{where} has unknown option(s) {sorted(unknown)}; "
                                    f"allowed: {sorted(_KEYS[name])}")
    values = dict(arguments)
    if "encoding" in values:
        from .readers.delimited_options import validate_encoding

        try:
            values["encoding"] = validate_encoding(values["encoding"])
        except UserErrorException as error:
            raise _schema_error(source, f"{where}.encoding: {error.message}") from None
    if name == "read_delimited" and "infer_column_types" in values:
        values["infer_column_types"] = infer_from_yaml(values["infer_column_types"], where, source)
    try:
        return _READERS[name](**values)
    except (TypeError, ValueError) as error:
        raise _schema_error(source, f"{where}: {error}") from None


def infer_from_yaml(value: Any, where: str = "infer_column_types", source: str = "MLTable"):
    if isinstance(value, bool):
        return value
    if not isinstance(value, dict):
        raise _schema_error(source, f"{where}.infer_column_types must be true, false or a mapping")
    unknown = set(value) - {"sample_size", "column_type_overrides"}
    if unknown:
        raise _schema_error(source, f"{where}.infer_column_types has unknown key(s) {sorted(unknown)}")
    overrides = tuple(_conversion_from_yaml(item, f"{where}.column_type_overrides", source)
                      for item in value.get("column_type_overrides") or [])
    if not value.get("sample_size") and not overrides:
        return True
    return InferOptions(sample_size=value.get("sample_size"), overrides=overrides)


def _conversion_from_yaml(item: Any, where: str, source: str) -> tuple:
    if not isinstance(item, dict) or "columns" not in item or "column_type" not in item:
        raise _schema_error(source, f"{where}: each entry needs 'columns' and 'column_type'")
    columns = item["columns"]
    columns = (columns,) if isinstance(columns, str) else ColumnList(columns)
    return columns, data_type_from_yaml(item["column_type"], where, source)


def data_type_from_yaml(value: Any, where: str = "column_type", source: str = "MLTable") -> DataType:
    try:
        if isinstance(value, str):
            return data_type_of(value)
        if isinstance(value, dict) and len(value) == 1:
            kind, body = next(iter(value.items()))
            body = body or {}
            if kind == "boolean":
                return DataType.to_bool(body.get("true_values"), body.get("false_values"), body.get("mismatch_as"))
            if kind == "datetime":
                return DataType.to_datetime(body.get("formats"), body.get("date_constant"))
            if kind in ("string", "int", "float", "stream_info"):
                return data_type_of(kind)
    except UserErrorException as error:
        raise _schema_error(source, f"{where}: {error.message}") from None
    raise _schema_error(source, f"{where}: {value!r} is not a column type "
                                "(use string, int, float, boolean, stream_info, or {datetime: {formats: ...}})")


def _transform_from_yaml(name: str, arguments: Any, where: str, source: str):
    try:
        if name == "filter":
            if not isinstance(arguments, str):
                raise ValueError("the filter expression must be a string")
            return Filter(arguments)
        if name == "take":
            return Take(_positive_int(arguments))
        if name == "skip":
            return Skip(_positive_int(arguments))
        if name in ("keep_columns", "drop_columns"):
            columns = (arguments,) if isinstance(arguments, str) else tuple(arguments)
            if not all(isinstance(column, str) for column in columns):
                raise ValueError("column names must be strings")
            return (KeepColumns if name == "keep_columns" else DropColumns)(columns, isinstance(arguments, str))
        if name == "take_random_sample":
            return TakeRandomSample(float(arguments["probability"]), _seed_of(arguments))
        if name == "sample":
            sampler_arguments = arguments["sampler_arguments"]
            if arguments.get("sampler") != "random_percent":
                raise ValueError("only sampler: random_percent is supported")
            return RandomPercentSample(float(sampler_arguments.get("probability_lower_bound", 0.0)),
                                       float(sampler_arguments["probability"]), _seed_of(sampler_arguments))
        if name == "convert_column_types":
            return ConvertColumnTypes(tuple(_conversion_from_yaml(item, where, source) for item in arguments))
        if name == "extract_columns_from_partition_format":
            if not isinstance(arguments, dict):
                raise ValueError("it must be a mapping {partition_format: '...'}, not a bare string")
            return ExtractPartitionFormat(str(arguments["partition_format"]),
                                          arguments.get("path_column", "Path"),
                                          bool(arguments.get("ignore_errors", False)))
        if name == "select_partitions":
            indices = (arguments,) if isinstance(arguments, int) else tuple(int(i) for i in arguments)
            return SelectPartitions(indices)
    except (KeyError, TypeError, ValueError) as error:
        detail = f"missing key {error}" if isinstance(error, KeyError) else str(error)
        raise _schema_error(source, f"{where}.{name}: {detail}") from None
    raise _schema_error(source, f"{where}: unknown transformation '{name}'. Known: filter, take, skip, "
                                "keep_columns, drop_columns, take_random_sample, sample, convert_column_types, "
                                "extract_columns_from_partition_format, select_partitions, read_delimited, "
                                "read_parquet, read_json_lines, read_delta_lake")


def _traits_from_yaml(value: Any, source: str) -> Traits:
    if value is None:
        return Traits()
    if not isinstance(value, dict):
        raise _schema_error(source, "'traits' must be a mapping")
    index_columns = value.get("index_columns")
    if isinstance(index_columns, str):
        index_columns = [index_columns]
    return Traits(value.get("timestamp_column"), tuple(index_columns) if index_columns is not None else None)


def _seed_of(arguments: dict) -> int:
    """The step's seed; a file without one gets a seed drawn now, as the builders do."""
    if arguments.get("seed") is None:
        import random

        return random.randint(1, 1000)
    return int(arguments["seed"])


def _positive_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"expected a positive integer, got {value!r}")
    return value


def _single_key(step: Any, where: str, source: str) -> tuple[str, Any]:
    if not isinstance(step, dict) or len(step) != 1:
        raise _schema_error(source, f"{where} must be a mapping with exactly one key (the step name), got {step!r:.80}")
    return next(iter(step.items()))


def _schema_error(source: str, detail: str) -> UserErrorException:
    return UserErrorException(f"{SCHEMA_ERROR}{detail} (in {source})")


__all__ = ["plan_to_dict", "plan_from_dict", "path_spec_from_dict", "data_type_to_yaml",
           "data_type_from_yaml", "infer_from_yaml", "freeze"]
