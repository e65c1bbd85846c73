"""Late materialisation (readers/parquet_rows.py): a filtered parquet read decodes the filter's
columns first and the others only up to a row group's last match; the result is always the one
of the straightforward read (everything read, then filtered)."""

import datetime

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import mltable_lite as mltable
from mltable_lite.errors import ExecutionError, UserErrorException
from mltable_lite.executor import to_arrow, to_pandas
from mltable_lite.expressions import parse
from mltable_lite.plan import PathSpec, ReadParquet
from mltable_lite.readers.parquet import read_parquet
from mltable_lite.storage import expand_paths

GROUP = 100   # rows per row group


def _table(first: int, rows: int) -> pa.Table:
    ids = np.arange(first, first + rows)
    start = datetime.datetime(2024, 1, 1)
    return pa.table({
        "id": pa.array(ids, pa.int64()),
        "name": pa.array([None if i % 7 == 0 else f"n{i:05d}" for i in ids]),
        "score": pa.array([float("nan") if i % 11 == 0 else i / 3 for i in ids]),
        "maybe": pa.array([None if i % 5 == 0 else int(i) for i in ids], pa.int32()),
        "ts": pa.array([None if i % 13 == 0 else start + datetime.timedelta(hours=int(i)) for i in ids],
                       pa.timestamp("us")),
        "flag": pa.array([i % 3 == 0 for i in ids]),
        "user": pa.array([{"id": int(i), "tag": f"t{i % 4}"} for i in ids]),
    })


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """Three files of five row groups each, sorted by ``id``; the last written without statistics."""
    root = tmp_path_factory.mktemp("late")
    for part in range(3):
        pq.write_table(_table(part * 5 * GROUP, 5 * GROUP), root / f"p{part}.parquet", row_group_size=GROUP,
                       write_statistics=part != 2)
    return root


def same(tbl) -> pd.DataFrame:
    """The optimised result equals the straightforward one: rows, order, dtypes, Arrow types."""
    optimised = tbl.to_pandas_dataframe()
    plain = to_pandas(tbl._plan, optimize=False)
    pd.testing.assert_frame_equal(optimised, plain, check_exact=True)
    assert to_arrow(tbl._plan).schema == to_arrow(tbl._plan, optimize=False).schema
    return optimised


FILTERS = [
    "id < 40",                             # the start of a row group
    "id >= 140 and id < 160",              # its middle
    "id >= 290 and id < 300",              # its end
    "id > 95 and id < 105",                # across two row groups
    "id == 0 or id == 1499",               # the first and the very last row
    "id < 0",                              # nothing
    "id >= 1000 and id < 1040",            # a file without statistics
    "id % 97 == 0",                        # scattered: every row group read whole
    'name == "n00150"',
    'name != None and name < "n00020"',
    "name == None and id < 50",
    'col("name").startswith("n0012")',
    "score > 100 and score < 110",
    "maybe == None and id < 300",
    "maybe >= 1200",
    "ts < datetime(2024, 1, 2, 3)",
    "ts == None",
    "flag and id < 30",
    "not flag and id > 1450",
    "user.id < 12",
    'user.tag == "t1" and id > 1480',
    'id < 50 and name < "n00010"',
    "1 < id < 4",
    'id < "text"',                         # across kinds: every number is less than a string
]


@pytest.mark.parametrize("expression", FILTERS)
def test_filters_give_the_straightforward_rows(folder, expression):
    tbl = mltable.from_parquet_files([{"folder": str(folder)}])
    same(tbl.filter(expression))
    same(tbl.filter(expression).keep_columns(["flag", "ts"]))


def test_chains_around_the_filter_give_the_straightforward_rows(folder):
    tbl = mltable.from_parquet_files([{"folder": str(folder)}])
    for chain in [
        tbl.filter("id >= 30").filter("id < 260"),
        tbl.filter("id < 250").take(120),
        tbl.filter("id < 250").skip(20),
        tbl.filter("id < 250").take_random_sample(0.5, seed=3),
        tbl.select_partitions([1, 2, 7]).filter("id % 2 == 0 and id < 780"),
        mltable.from_parquet_files([{"folder": str(folder)}], include_path_column=True).filter(
            f'id < 20 or Path.startswith("{folder}/p2") and id < 1010'),
        tbl.filter("id < 30").convert_column_types({"maybe": mltable.DataType.to_string()}),
    ]:
        same(chain)


def test_only_the_matching_run_of_a_row_group_is_read(folder):
    files = expand_paths([PathSpec("folder", "file://" + str(folder))])
    every = {0: list(range(5)), 1: list(range(5)), 2: list(range(5))}

    def rows(expression, columns=None):
        per_file = [0, 0, 0]
        for index, table in read_parquet(files, ReadParquet(), columns, row_groups=every,
                                         row_filters=[parse(expression)]):
            per_file[index] += table.num_rows
        return list(enumerate(per_file))

    # Row group 1 of the first file: rows 140..159 of 100..199 are all that is decoded.
    assert rows("id >= 140 and id < 160") == [(0, 20), (1, 0), (2, 0)]
    # Across groups 0 and 1, from the first match to the last of each.
    assert rows("id == 10 or id == 20 or id == 130") == [(0, 11 + 1), (1, 0), (2, 0)]
    # A row group matched to its end is read whole; one with no match not at all.
    assert rows("id >= 1420") == [(0, 0), (1, 0), (2, 80)]
    # Only filter columns: nothing to leave unread, the row groups come whole.
    assert rows("id < 5", ["id"]) == [(0, 500), (1, 500), (2, 500)]
    tables = [table for _, table in read_parquet(files, ReadParquet(), row_groups=every,
                                                 row_filters=[parse("id >= 140 and id < 160")])]
    assert pa.concat_tables(tables).column("id").to_pylist() == list(range(140, 160))
    assert all(table.schema == tables[0].schema for table in tables)
    assert tables[0].column_names == ["id", "name", "score", "maybe", "ts", "flag", "user"]


def test_filters_the_late_read_cannot_run_are_left_to_the_filter_step(folder):
    tbl = mltable.from_parquet_files([{"folder": str(folder)}])
    for expression, error in [("nope < 3", "unknown column 'nope'"), ("id", "Expected 'Boolean'"),
                              ("id * 4611686018427387904 > 0", "overflow")]:
        with pytest.raises(UserErrorException, match=error):
            tbl.filter(expression).to_pandas_dataframe()
        with pytest.raises(UserErrorException, match=error):
            to_pandas(tbl.filter(expression)._plan, optimize=False)


def test_files_with_different_columns_and_types(tmp_path):
    pq.write_table(pa.table({"id": pa.array(range(300), pa.int32()), "s": [f"a{i}" for i in range(300)]}),
                   tmp_path / "a.parquet", row_group_size=GROUP)
    pq.write_table(pa.table({"id": pa.array(range(300, 600), pa.int64()), "x": np.arange(300) * 0.5}),
                   tmp_path / "b.parquet", row_group_size=GROUP)
    pq.write_table(pa.table({"id": pa.array(range(600, 900), pa.int64()), "s": pa.array(
        [f"c{i % 3}" for i in range(300)]).dictionary_encode()}), tmp_path / "c.parquet", row_group_size=GROUP)
    tbl = mltable.from_parquet_files([{"folder": str(tmp_path)}])
    for expression in ["id < 50", "id > 250 and id < 350", "id >= 640 and id < 650"]:
        same(tbl.filter(expression))
    # A column one file lacks: every path reports it, as the filter meets that file.
    for optimize in (True, False):
        with pytest.raises(UserErrorException, match="unknown column 's'"):
            to_pandas(tbl.filter('id > 850 and s == "c1"')._plan, optimize=optimize)
    same(mltable.from_parquet_files([{"file": str(tmp_path / "c.parquet")}]).filter('id > 850 and s == "c1"'))


def test_a_damaged_row_group_is_reported_by_the_late_read(tmp_path):
    path = tmp_path / "bad.parquet"
    pq.write_table(_table(0, 5 * GROUP), path, row_group_size=GROUP, compression="none")
    data = bytearray(path.read_bytes())
    chunk = pq.ParquetFile(path).metadata.row_group(0).column(1)   # the 'name' column, not the filter's
    start = chunk.data_page_offset
    data[start + 40:start + 240] = b"\xff" * 200
    path.write_bytes(bytes(data))
    with pytest.raises(ExecutionError, match="bad.parquet"):
        mltable.from_parquet_files([{"file": str(path)}]).filter("id < 60").to_pandas_dataframe()


def test_files_without_rows_to_read_can_be_read_again_after_to_pandas(tmp_path):
    # Their empty tables share one made per schema: to_pandas (which destroys the table it converts)
    # must never get that one.
    for part in range(2):
        pq.write_table(_table(part * GROUP, GROUP), tmp_path / f"p{part}.parquet", row_group_size=GROUP)
    tbl = mltable.from_parquet_files([{"folder": str(tmp_path)}]).filter("id < 0")
    for _ in range(3):
        assert len(tbl.to_pandas_dataframe()) == 0
        assert tbl.to_arrow().num_rows == 0
        assert len(mltable.from_parquet_files([{"file": str(tmp_path / "p1.parquet")}]).filter(
            "id < 0").to_pandas_dataframe()) == 0


# --- statistics decided in Python (readers/parquet_stats.py) -------------------------------------


def test_python_statistics_never_skip_a_row_group_with_a_passing_row(tmp_path):
    from mltable_lite.expressions import evaluate
    from mltable_lite.readers.parquet_stats import row_groups_passing

    rng = np.random.default_rng(19)
    rows = 12 * 20
    floats = rng.normal(0, 50, rows)
    floats[rng.random(rows) < 0.1] = np.nan
    table = pa.table({
        "i8": pa.array(rng.integers(-128, 128, rows), pa.int8()),
        "i32": pa.array(np.sort(rng.integers(-1000, 1000, rows)), pa.int32()),
        "i64": pa.array([None if 40 <= i < 60 or i % 9 == 0 else int(v) for i, v in
                         enumerate(rng.integers(-2**62, 2**62, rows))], pa.int64()),
        "f64": pa.array([None if 100 <= i < 120 else v for i, v in enumerate(floats)], pa.float64()),
        "f32": pa.array(floats, pa.float32()),
        "u32": pa.array(rng.integers(0, 2**32, rows), pa.uint32()),
    })
    path = tmp_path / "stats.parquet"
    pq.write_table(table, path, row_group_size=20)
    metadata = pq.read_metadata(path)
    groups = [table.slice(start, 20) for start in range(0, rows, 20)]
    literals = {"i8": [-129, -128, -5, 0, 127, 128, 3.5], "i32": [-1001, -1000, -7, 0, 999, 2**40],
                "i64": [-2**62, 0, 2**61, 2**63, -(2**63) - 1], "f64": [-1e9, -10.5, 0, 2**53, 2**53 + 1, 7, 1e300],
                "f32": [0.1, 0], "u32": [5, 2**31]}
    decided = 0
    for trial in range(600):
        terms = []
        for _ in range(rng.integers(1, 3)):
            column = rng.choice(sorted(literals))
            present = [v for v in table[column].to_pylist() if v is not None and v == v]
            if rng.random() < 0.6:   # a value of the data, or just beside one: the edges of row groups
                value = present[rng.integers(len(present))]
                value = type(value)(value + rng.choice([-1, 0, 1])) if column != "f64" else value
            else:
                value = literals[column][rng.integers(len(literals[column]))]
                value = value if rng.random() < 0.5 else (-value if value else value)
            literal = f"-{-value!r}" if value < 0 else repr(value)
            op = rng.choice(["<", "<=", ">", ">=", "==", "!="])
            terms.append(f"{literal} {op} {column}" if rng.random() < 0.3 else f"{column} {op} {literal}")
        text = " and ".join(terms)
        tree = parse(text)
        kept = row_groups_passing(metadata, [tree])
        if kept is None:
            continue
        decided += 1
        for index, group in enumerate(groups):
            if any(evaluate(tree, group).to_pylist()):
                assert index in kept, (text, index)
    assert decided > 100   # the simple kind was met often enough for the test to mean something


def test_python_statistics_decide_only_the_simple_kind(tmp_path):
    from mltable_lite.readers.parquet_stats import row_groups_passing

    path = tmp_path / "kinds.parquet"
    pq.write_table(pa.table({"n": pa.array(range(100), pa.int64()), "f": np.arange(100) / 2,
                             "s": [str(i) for i in range(100)], "user": [{"id": i} for i in range(100)]}),
                   path, row_group_size=25)
    metadata = pq.read_metadata(path)
    assert row_groups_passing(metadata, [parse("n >= 30 and n < 60")]) == {1, 2}
    assert row_groups_passing(metadata, [parse("n > 10"), parse("-1 < f <= 12")]) == {0}
    assert row_groups_passing(metadata, [parse("99 == n")]) == {3}
    assert row_groups_passing(metadata, [parse("n < -5")]) == set()
    for text in ["n != 5", "n < 5 or n > 90", 's == "5"', "user.id < 5", "n < 5.5", "n + 1 < 5", "not n < 5",
                 "missing < 5", "n < 5 and s == \"1\""]:
        assert row_groups_passing(metadata, [parse(text)]) is None, text
    unwritten = tmp_path / "nostats.parquet"
    pq.write_table(pa.table({"n": range(100)}), unwritten, row_group_size=25, write_statistics=False)
    assert row_groups_passing(pq.read_metadata(unwritten), [parse("n < 5")]) == {0, 1, 2, 3}
