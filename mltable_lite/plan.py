"""The plan: what an MLTable will read and do, as frozen, hashable, validated values.

A plan is data, not code. Builders create one; every ``MLTable`` method returns a table holding a
new plan; ``plan_yaml`` maps it to and from the MLTable YAML; the executor runs it. Two plans that
describe the same work compare equal, whatever spelling the user wrote the paths in.

Example:
    >>> from mltable_lite.plan import Plan, PathSpec, ReadParquet
    >>> plan = Plan(paths=(PathSpec("file", "file:///data/a.parquet"),), reader=ReadParquet())
    >>> plan.with_transform(Take(5)).transforms
    (Take(count=5),)
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Union

DEFAULT_PARTITION_SIZE = 20 * 1024 * 1024
DEFAULT_PATH_COLUMN = "Path"
PATH_KINDS = ("file", "folder", "pattern")


class FrozenMap(tuple):
    """An immutable, hashable mapping that keeps insertion order (YAML dicts, metadata).

    Example:
        >>> FrozenMap.of({"a": [1, 2]}).to_python()
        {'a': [1, 2]}
    """

    @classmethod
    def of(cls, mapping: dict) -> "FrozenMap":
        return cls((str(key), freeze(value)) for key, value in mapping.items())

    def get(self, key: str, default: Any = None) -> Any:
        for item_key, value in self:
            if item_key == key:
                return value
        return default

    def keys(self) -> list[str]:
        return [key for key, _ in self]

    def to_python(self) -> dict:
        return {key: thaw(value) for key, value in self}

    def __repr__(self) -> str:
        return f"FrozenMap({self.to_python()!r})"


def freeze(value: Any) -> Any:
    """Turn nested dicts/lists into FrozenMap/tuples so plans stay hashable."""
    if isinstance(value, FrozenMap):
        return value
    if isinstance(value, dict):
        return FrozenMap.of(value)
    if isinstance(value, (list, tuple)):
        return tuple(freeze(item) for item in value)
    return value


def thaw(value: Any) -> Any:
    """The inverse of :func:`freeze`: plain dicts and lists for YAML and users."""
    if isinstance(value, FrozenMap):
        return value.to_python()
    if isinstance(value, tuple):
        return [thaw(item) for item in value]
    return value


@dataclass(frozen=True)
class PathSpec:
    """One entry of ``paths``: a ``file``, a recursive ``folder`` or a glob ``pattern``.

    ``uri`` is canonical (``file:///abs/path`` for local data); ``given`` is what the user or the
    YAML file wrote, kept so ``MLTable.paths`` can return it as given. Equality ignores ``given``.
    """

    kind: str
    uri: str
    given: str | None = field(default=None, compare=False)

    def __post_init__(self):
        if self.kind not in PATH_KINDS:
            raise ValueError(f"path kind must be one of {PATH_KINDS}, not {self.kind!r}")

    def as_given(self) -> dict:
        return {self.kind: self.given if self.given is not None else self.uri}


# --- reader steps -------------------------------------------------------------------------------


@dataclass(frozen=True)
class InferOptions:
    """``infer_column_types`` given as a dict: sample size and per-column type overrides.

    ``overrides`` is a tuple of (column names tuple, DataType) pairs.
    """

    sample_size: int | None = None
    overrides: tuple = ()


@dataclass(frozen=True)
class ReadDelimited:
    delimiter: str = ","
    header: str = "all_files_same_headers"
    support_multi_line: bool = False
    empty_as_string: bool = False
    encoding: str = "utf8"
    include_path_column: bool = False
    infer_column_types: Union[bool, InferOptions] = True
    partition_size: int = DEFAULT_PARTITION_SIZE
    path_column: str = DEFAULT_PATH_COLUMN


@dataclass(frozen=True)
class ReadParquet:
    include_path_column: bool = False
    path_column: str = DEFAULT_PATH_COLUMN


@dataclass(frozen=True)
class ReadJsonLines:
    encoding: str = "utf8"
    invalid_lines: str = "error"
    include_path_column: bool = False
    partition_size: int = DEFAULT_PARTITION_SIZE
    path_column: str = DEFAULT_PATH_COLUMN


@dataclass(frozen=True)
class ReadDeltaLake:
    timestamp_as_of: str | None = None
    version_as_of: int | None = None
    include_path_column: bool = False
    path_column: str = DEFAULT_PATH_COLUMN


ReaderStep = Union[ReadDelimited, ReadParquet, ReadJsonLines, ReadDeltaLake]


# --- transform steps ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Filter:
    expression: str


@dataclass(frozen=True)
class Take:
    count: int


@dataclass(frozen=True)
class Skip:
    count: int


@dataclass(frozen=True)
class KeepColumns:
    columns: tuple
    # The user passed one string rather than a list; only the YAML spelling depends on it.
    as_string: bool = field(default=False, compare=False)


@dataclass(frozen=True)
class DropColumns:
    columns: tuple
    as_string: bool = field(default=False, compare=False)


@dataclass(frozen=True)
class TakeRandomSample:
    probability: float
    seed: int


@dataclass(frozen=True)
class RandomPercentSample:
    """One half of ``random_split``: rows whose draw falls in [low, high)."""

    low: float
    high: float
    seed: int


@dataclass(frozen=True)
class ConvertColumnTypes:
    """``conversions`` is a tuple of (column names tuple, DataType) pairs."""

    conversions: tuple


@dataclass(frozen=True)
class ExtractPartitionFormat:
    partition_format: str
    path_column: str = DEFAULT_PATH_COLUMN
    ignore_errors: bool = False


@dataclass(frozen=True)
class SelectPartitions:
    indices: tuple


@dataclass(frozen=True)
class OpaqueTransform:
    """A transformation the schema allows but this engine does not run yet; kept for round trips."""

    name: str
    arguments: Any


Transform = Union[
    Filter, Take, Skip, KeepColumns, DropColumns, TakeRandomSample, RandomPercentSample,
    ConvertColumnTypes, ExtractPartitionFormat, SelectPartitions, OpaqueTransform,
]


@dataclass(frozen=True)
class Traits:
    """Column roles recorded in the YAML ``traits`` section."""

    timestamp_column: str | None = None
    index_columns: tuple | None = None

    def columns(self) -> set[str]:
        names = set(self.index_columns or ())
        if self.timestamp_column:
            names.add(self.timestamp_column)
        return names


@dataclass(frozen=True)
class Plan:
    """Paths, one reader step (``None`` for ``from_paths``), then transforms in order."""

    paths: tuple = ()
    reader: ReaderStep | None = None
    transforms: tuple = ()
    metadata: FrozenMap | None = None
    traits: Traits = Traits()
    # The folder a loaded MLTable file lives in (canonical URI); colocated saves copy data
    # relative to it. Not part of the plan's identity.
    base_uri: str | None = field(default=None, compare=False)

    def with_transform(self, step) -> "Plan":
        return replace(self, transforms=self.transforms + (step,))

    def replace(self, **changes) -> "Plan":
        return replace(self, **changes)
