"""The optimiser skips work but never changes a result (projection, row groups, files, early stop)."""

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import mltable_lite as mltable
from mltable_lite.executor import to_pandas


@pytest.fixture
def sorted_parquet(tmp_path):
    folder = tmp_path / "pq"
    folder.mkdir()
    for part in range(3):
        n = np.arange(part * 1000, (part + 1) * 1000)
        pq.write_table(pa.table({"n": n, "sq": n * n, "name": [f"x{i}" for i in n], "f": n / 7}),
                       folder / f"p{part}.parquet", row_group_size=100)
    return mltable.from_parquet_files([{"folder": str(folder)}])


@pytest.fixture
def hive(tmp_path):
    root = tmp_path / "hive"
    for year in (2022, 2023, 2024):
        for month in (1, 2):
            folder = root / f"year={year}" / f"month={month}"
            folder.mkdir(parents=True)
            (folder / "data.csv").write_text(f"id,v\n{year}{month}1,1.5\n{year}{month}2,2.5\n")
    return root


def chains(tbl):
    return [
        tbl.filter("n >= 1450 and n < 1520"),
        tbl.filter("n > 2990 or n < 3").keep_columns(["name", "n"]),
        tbl.keep_columns(["sq", "n"]).filter("sq > 4000000"),
        tbl.filter("name.startswith('x25')").take(5),
        tbl.take(150).filter("n % 2 == 0"),
        tbl.filter("n > 500").skip(10).take(20),
        tbl.filter("f > 100").take_random_sample(0.3, seed=4),
        tbl.drop_columns("f").filter("n < 10"),
        tbl.select_partitions([0, 12, 25]).filter("n > 1250"),
        tbl.filter("n == None"),
    ]


def same(tbl):
    optimised = tbl.to_pandas_dataframe()
    plain = to_pandas(tbl._plan, optimize=False)
    assert optimised.equals(plain), str(tbl)
    return optimised


def test_every_chain_gives_the_same_result_with_and_without_the_optimiser(sorted_parquet):
    for tbl in chains(sorted_parquet):
        same(tbl)


def test_row_groups_and_projection_are_explained(sorted_parquet):
    text = sorted_parquet.filter("n >= 1450 and n < 1520").keep_columns(["name"]).explain()
    assert "projection: read only columns ['n', 'name']" in text
    assert "row groups: parquet statistics prune" in text
    assert same(sorted_parquet.filter("n >= 1450 and n < 1520"))["n"].tolist() == list(range(1450, 1520))


def test_row_group_statistics_drop_every_group_no_row_of_which_can_pass(sorted_parquet, tmp_path):
    # Pruning swallows its own errors (reading decides them), so a broken pruner would still give
    # right answers, only slowly: check the surviving groups themselves.
    from mltable_lite.expressions import parse
    from mltable_lite.readers.parquet import prune_row_groups
    from mltable_lite.plan import PathSpec
    from mltable_lite.storage import expand_paths

    files = expand_paths([PathSpec("folder", str(tmp_path / "pq"))])
    everything = [(index, group) for index in range(3) for group in range(10)]
    kept = prune_row_groups(files, everything, [parse("n >= 1450 and n < 1520")])
    assert kept == [(1, 4), (1, 5)]
    assert prune_row_groups(files, everything, [parse("name == 'nowhere' and n < 0")]) == []


def test_partition_filters_never_open_pruned_files(hive):
    corrupt = hive / "year=2022" / "month=1" / "data.csv"
    corrupt.write_bytes(b"id,v\n\xff\xfe not utf-8 \xff\n")
    tbl = mltable.from_delimited_files([{"pattern": f"{hive}/**/*.csv"}]).extract_columns_from_partition_format(
        "year={year}/month={month}/{file}.csv")
    pruned = tbl.filter("year >= 2023 and month == 2 and v > 0")
    df = pruned.to_pandas_dataframe()
    assert df["id"].tolist() == [202321, 202322, 202421, 202422]
    assert list(df.columns) == ["year", "month", "file", "id", "v"]
    assert "files: 4 of 6 pruned" in pruned.explain()
    with pytest.raises(mltable.UserErrorException, match="decode"):
        tbl.filter("v > 0").to_pandas_dataframe()  # no partition filter: the bad file is read


def test_path_column_filters_prune_files(hive):
    tbl = mltable.from_delimited_files([{"pattern": f"{hive}/**/*.csv"}], include_path_column=True)
    only = tbl.filter('Path.startswith("' + str(hive / "year=2024") + '")')
    assert same(only)["id"].tolist() == [202411, 202412, 202421, 202422]
    assert "files: 4 of 6 pruned" in only.explain()


def test_take_stops_reading(tmp_path):
    # The second file is unreadable: once the first file has filled the 200-row inference sample
    # and take(2) has its rows, the second is never opened.
    (tmp_path / "a.csv").write_text("id\n" + "".join(f"{i}\n" for i in range(300)))
    (tmp_path / "b.csv").write_bytes(b"id\n\xff\xfe\n")
    tbl = mltable.from_delimited_files([{"folder": str(tmp_path)}])
    assert tbl.take(2).to_pandas_dataframe()["id"].tolist() == [0, 1]
    assert "early stop" in tbl.take(2).explain()
    with pytest.raises(mltable.UserErrorException, match="decode"):
        tbl.to_pandas_dataframe()
