"""Transforms end to end on real files (COMPATIBILITY.md §9–§14, policies P4–P8, P17)."""

import datetime

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import mltable_lite as mltable
from mltable_lite import DataType, UserErrorException


@pytest.fixture
def csv_file(tmp_path):
    path = tmp_path / "people.csv"
    path.write_text("id,name,score,when,FBI Code\n"
                    "1,ann,0.5,2024-01-05,11\n2,bob,,2024-02-05,12\n3,cid,2.5,2024-03-05,11\n"
                    "4,dan,3.5,2024-04-05,13\n5,eve,4.5,2024-05-05,11\n")
    return mltable.from_delimited_files([{"file": str(path)}])


@pytest.fixture
def numbers(tmp_path):
    """2000 rows in a parquet file of 7 row groups."""
    path = tmp_path / "numbers.parquet"
    pq.write_table(pa.table({"n": np.arange(2000), "half": np.arange(2000) % 2 == 0}), path, row_group_size=300)
    return mltable.from_parquet_files([{"file": str(path)}])


def test_take_skip_compose_in_order(csv_file):
    assert csv_file.take(2).to_pandas_dataframe()["id"].tolist() == [1, 2]
    assert csv_file.skip(2).take(2).to_pandas_dataframe()["id"].tolist() == [3, 4]
    assert csv_file.take(4).skip(2).to_pandas_dataframe()["id"].tolist() == [3, 4]
    assert csv_file.take(50).to_pandas_dataframe().shape == (5, 5)
    assert csv_file.show(3)["id"].tolist() == [1, 2, 3]


def test_empty_results_keep_their_columns(csv_file):
    # Policy P7: the reference returns 0x0 here.
    for tbl in (csv_file.skip(10), csv_file.filter("id > 100")):
        df = tbl.to_pandas_dataframe()
        assert df.shape == (0, 5) and list(df.columns) == ["id", "name", "score", "when", "FBI Code"]
        assert str(df["id"].dtype) == "int64" and str(df["when"].dtype) == "datetime64[ns]"


def test_keep_and_drop_columns(csv_file):
    # The table's order, not the list's (observed on the reference).
    assert list(csv_file.keep_columns(["score", "id", "nope"]).to_pandas_dataframe().columns) == ["id", "score"]
    assert list(csv_file.keep_columns(("FBI Code", "when", "id")).to_pandas_dataframe().columns) == [
        "id", "when", "FBI Code"]
    assert list(csv_file.keep_columns("name").to_pandas_dataframe().columns) == ["name"]
    assert list(csv_file.drop_columns({"score", "when", "nope"}).to_pandas_dataframe().columns) == ["id", "name", "FBI Code"]
    assert csv_file.drop_columns([]).to_pandas_dataframe().shape == (5, 5)
    for tbl in (csv_file.keep_columns(["nope"]), csv_file.keep_columns([]),
                csv_file.drop_columns(["id", "name", "score", "when", "FBI Code"])):
        with pytest.raises(UserErrorException, match="The input data contains no columns"):
            tbl.to_pandas_dataframe()


@pytest.mark.parametrize("expression, ids", [
    ("id > 2", [3, 4, 5]),
    ("id >= 2 and id < 4", [2, 3]),
    ("not (id == 1) and name != 'eve'", [2, 3, 4]),
    ("score > 1", [3, 4, 5]),
    ("score == None or score != None", []),
    ("1 < id < 4", [2, 3]),
    ('col("FBI Code") == 11', [1, 3, 5]),
    ('col("FBI Code") == "11"', []),
    ('name.startswith("d") or name.startswith("e")', [4, 5]),
    ("when >= datetime(2024, 3, 1)", [3, 4, 5]),
    ("id * 2 + 1 > 7 or id % 5 == 0", [4, 5]),
    ('name > 5', [1, 2, 3, 4, 5]),
])
def test_filter_semantics(csv_file, expression, ids):
    assert csv_file.filter(expression).to_pandas_dataframe()["id"].tolist() == ids if ids else \
        csv_file.filter(expression).to_pandas_dataframe().empty


def test_filter_errors(csv_file):
    with pytest.raises(UserErrorException, match=r"Python expression parse error.*position"):
        csv_file.filter("id = = 1")  # raised at build (P4)
    with pytest.raises(UserErrorException, match="idd") as caught:
        csv_file.filter("idd > 1").to_pandas_dataframe()  # P5: the unknown column is named ...
    assert "'id'" in str(caught.value)  # ... with the ones that exist
    for hostile in ("__import__('os').system('true')", "().__class__", "lambda: 1", "(" * 5000 + "1"):
        with pytest.raises(UserErrorException):
            csv_file.filter(hostile)
    with pytest.raises(UserErrorException, match="'id', which is not an object"):  # a field of a column: data
        csv_file.filter("id.__class__").to_pandas_dataframe()


@pytest.fixture
def counted(tmp_path):
    """Two 2000-row CSV files (column i = 0..1999), as used to observe the reference's samples."""
    for name in ("a.csv", "b.csv"):
        (tmp_path / name).write_text("i\n" + "".join(f"{i}\n" for i in range(2000)))
    return (mltable.from_delimited_files([{"file": str(tmp_path / "a.csv")}]),
            mltable.from_delimited_files([{"file": str(tmp_path / name)} for name in ("a.csv", "b.csv")],
                                         include_path_column=True))


def _kept(tbl):
    df = tbl.to_pandas_dataframe()
    return [(path.endswith("b.csv"), int(i)) for path, i in zip(df["Path"], df["i"])] if "Path" in df else \
        df["i"].tolist()


@pytest.mark.parametrize("seed, probability, count, first", [
    # Rows the reference (mltable 1.7) keeps from a 2000-row file.
    (1, 0.1, 196, [6, 7, 29, 35, 37, 40, 45, 50, 54, 63, 70, 93, 133, 135, 149]),
    (0, 0.1, 181, [21, 65, 66, 89, 90, 116, 155, 164, 168, 183, 189, 204, 213, 220, 230]),
    (42, 0.5, 1037, [1, 4, 5, 7, 16, 17, 18, 19, 20, 21, 23, 27, 30, 31, 32]),
    (12345, 0.9, 1781, [0, 1, 2, 4, 5, 6, 7, 8, 9, 11, 12, 13, 14, 15, 16]),
])
def test_take_random_sample_keeps_the_rows_the_reference_keeps(counted, seed, probability, count, first):
    kept = _kept(counted[0].take_random_sample(probability, seed))
    assert len(kept) == count and kept[:15] == first


def test_each_partition_draws_from_its_own_generator_as_in_the_reference(counted):
    _, two = counted
    kept = _kept(two.take_random_sample(0.1, 1))
    assert len(kept) == 369 and kept[:3] == [(False, 6), (False, 7), (False, 29)]
    assert [i for in_b, i in kept if in_b][:6] == [33, 36, 55, 60, 64, 67]  # the second file's own stream
    # Only rows reaching the sample draw a number; select_partitions numbers what it keeps.
    assert _kept(two.filter("i >= 1000").take_random_sample(0.1, 1))[:3] == [(False, 1006), (False, 1007),
                                                                             (False, 1029)]
    assert _kept(two.select_partitions(1).take_random_sample(0.1, 1))[:3] == [(True, 6), (True, 7), (True, 29)]
    assert len(_kept(two.take(3000).take_random_sample(0.1, 1))) == 276
    # A skip numbers the partitions from the one it ends in.
    after_skip = _kept(two.skip(2500).take_random_sample(0.1, 1))
    assert len(after_skip) == 145 and after_skip[:3] == [(True, 506), (True, 507), (True, 529)]
    assert _kept(two.skip(2000).take_random_sample(0.1, 1))[:3] == [(True, 33), (True, 36), (True, 55)]
    first, second = two.random_split(0.3, 1)
    assert (len(_kept(first)), len(_kept(second))) == (1180, 2820)
    assert len(_kept(two.take_random_sample(0.5, 3).take_random_sample(0.5, 4))) == 1014


def test_parquet_row_groups_and_text_chunks_are_partitions_when_sampling(tmp_path):
    import json

    pq.write_table(pa.table({"i": np.arange(5000)}), tmp_path / "rg.parquet", row_group_size=1000)
    pq.write_table(pa.table({"i": np.arange(5000, 6000)}), tmp_path / "rg2.parquet")
    tbl = mltable.from_parquet_files([{"file": str(tmp_path / "rg.parquet")}, {"file": str(tmp_path / "rg2.parquet")}])
    kept = tbl.take_random_sample(0.2, 7).to_pandas_dataframe()["i"].tolist()
    assert len(kept) == 1223 and kept[:8] == [2, 9, 14, 19, 28, 31, 32, 33]
    selected = tbl.select_partitions([1, 3, 5]).take_random_sample(0.2, 7).to_pandas_dataframe()["i"].tolist()
    assert len(selected) == 613 and selected[:5] == [1002, 1009, 1014, 1019, 1028]
    # Text files split every partition_size bytes, here 100 kB.
    folder = tmp_path / "t"
    folder.mkdir()
    (folder / "big.csv").write_text("i,s\n" + "".join(f"{i},{'x' * (i % 37)}\n" for i in range(40000)))
    (folder / "big.jsonl").write_text("".join(json.dumps({"i": i, "s": "y" * (i % 23)}) + "\n" for i in range(30000)))
    (folder / "MLTable").write_text("paths:\n- file: big.csv\ntransformations:\n- read_delimited:\n"
                                    "    partition_size: 100000\n")
    text = mltable.load(str(folder))
    kept = text.take_random_sample(0.05, 9).to_pandas_dataframe()["i"].tolist()
    assert text.get_partition_count() == 10 and len(kept) == 2016 and kept[:8] == [13, 22, 43, 57, 84, 90, 111, 138]
    selected = text.select_partitions([2, 5]).take_random_sample(0.3, 9).to_pandas_dataframe()["i"].tolist()
    assert len(selected) == 2496 and selected[:4] == [8387, 8390, 8392, 8394]
    (folder / "MLTable").write_text("paths:\n- file: big.jsonl\ntransformations:\n- read_json_lines:\n"
                                    "    partition_size: 100000\n")
    kept = mltable.load(str(folder)).take_random_sample(0.05, 9).to_pandas_dataframe()["i"].tolist()
    assert len(kept) == 1523


def test_random_sample_does_not_depend_on_how_a_file_is_read_in_pieces(counted, monkeypatch):
    from mltable_lite.readers import _csv_pieces, delimited

    expected = _kept(counted[1].take_random_sample(0.3, 5))
    monkeypatch.setattr(delimited, "HEAD_SIZE", 1 << 10)
    monkeypatch.setattr(_csv_pieces, "FIRST_PIECE_SIZE", 1 << 10)
    monkeypatch.setattr(_csv_pieces, "PIECE_SIZE", 1 << 12)
    assert _kept(counted[1].take_random_sample(0.3, 5)) == expected


def test_random_split_halves_are_disjoint_and_complete(numbers):
    first, second = numbers.random_split(0.3, seed=5)
    a = first.to_pandas_dataframe()["n"].tolist()
    b = second.to_pandas_dataframe()["n"].tolist()
    assert not set(a) & set(b) and sorted(a + b) == list(range(2000))
    assert 450 <= len(a) <= 750


def test_sampling_after_a_filter_counts_positions_after_the_filter(numbers):
    evens = numbers.filter("half").take_random_sample(0.5, seed=1).to_pandas_dataframe()["n"]
    assert (evens % 2 == 0).all() and 380 <= len(evens) <= 620


def test_sample_round_trips_through_yaml(numbers, tmp_path):
    tbl = numbers.take_random_sample(0.2)
    tbl.save(str(tmp_path / "s"))
    assert mltable.load(str(tmp_path / "s")).to_pandas_dataframe().equals(tbl.to_pandas_dataframe())


def test_convert_column_types(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("a,b,c,d,e\n1.5,true,2024-01-05,y,x\n-2.7,0,05/01/2024,n,\n7,yes,junk,maybe,z\n")
    tbl = mltable.from_delimited_files([{"file": str(path)}], infer_column_types=False)
    df = tbl.convert_column_types({
        "a": "int", "b": DataType.to_bool(), "c": DataType.to_datetime(["%Y-%m-%d", "%d/%m/%Y"]),
        "d": DataType.to_bool(true_values=["y"], false_values=["n"], mismatch_as="false"), "nope": "float",
    }).to_pandas_dataframe()
    assert df["a"].tolist() == [1, -2, 7] and str(df["a"].dtype) == "int64"
    assert df["b"].tolist() == [True, False, None]
    assert df["c"].tolist()[:2] == [pd.Timestamp("2024-01-05"), pd.Timestamp("2024-01-05")] and pd.isna(df["c"][2])
    assert df["d"].tolist() == [True, False, False] and str(df["d"].dtype) == "bool"
    with pytest.raises(UserErrorException, match="Found duplicate column"):
        tbl.convert_column_types({"a": "int", ("a", "b"): "float"})
    with pytest.raises(UserErrorException, match="not a supported string conversion"):
        tbl.convert_column_types({"a": "integer"})


def test_to_stream_gives_stream_infos(tmp_path):
    (tmp_path / "p.csv").write_text(f"path\n{tmp_path / 'p.csv'}\n")
    df = mltable.from_delimited_files([{"file": str(tmp_path / "p.csv")}]).convert_column_types(
        {"path": "stream_info"}).to_pandas_dataframe()
    value = df["path"][0]
    assert value is None or isinstance(value, mltable.StreamInfo)


@pytest.fixture
def partitioned(tmp_path):
    for region, year, month in (("eu", 2023, 12), ("eu", 2024, 1), ("us", 2024, 2)):
        folder = tmp_path / "sales" / region / str(year) / f"{month:02d}"
        folder.mkdir(parents=True)
        (folder / "part.csv").write_text(f"amount\n{month}\n{month * 10}\n")
    return tmp_path / "sales"


def test_partition_format_columns_and_order(partitioned):
    tbl = mltable.from_delimited_files([{"pattern": f"{partitioned}/**/*.csv"}], include_path_column=True)
    df = tbl.extract_columns_from_partition_format("{region}/{year}/{month}/{file}.csv").to_pandas_dataframe()
    assert list(df.columns) == ["Path", "region", "year", "month", "file", "amount"]
    assert df["region"].tolist() == ["eu", "eu", "eu", "eu", "us", "us"]
    assert df["year"].tolist() == [2023, 2023, 2024, 2024, 2024, 2024] and str(df["year"].dtype) == "int64"
    assert df["file"].tolist() == ["part"] * 6
    assert tbl.extract_columns_from_partition_format("{region}/{year}/{month}/{file}.csv").partition_keys == [
        "region", "year", "month", "file"]


def test_partition_format_relative_to_the_spec_folder_and_dates(partitioned):
    # P8: a format that stops before the file name matches from the path spec's folder.
    tbl = mltable.from_delimited_files([{"folder": str(partitioned)}])
    df = tbl.extract_columns_from_partition_format("{region}/{day:yyyy/MM}").to_pandas_dataframe()
    assert list(df.columns) == ["region", "day", "amount"]
    assert df["day"].tolist()[0] == pd.Timestamp(2023, 12, 1) and str(df["day"].dtype) == "datetime64[ns]"
    with pytest.raises(UserErrorException, match=r"Year \(yyyy\) must be present"):
        tbl.extract_columns_from_partition_format("{d:MM/dd}")


def test_partition_format_step_works_anywhere_in_a_yaml_file(partitioned, tmp_path):
    # P17: the reference yields all-null columns when the step comes after read_delimited.
    folder = tmp_path / "t"
    folder.mkdir()
    (folder / "MLTable").write_text(
        f"paths:\n- folder: {partitioned}\ntransformations:\n- read_delimited: {{}}\n"
        "- extract_columns_from_partition_format:\n    partition_format: '{region}/{year}/{month}/{file}.csv'\n")
    df = mltable.load(str(folder)).to_pandas_dataframe()
    assert df["region"].tolist() == ["eu", "eu", "eu", "eu", "us", "us"]


def test_partition_counts_and_selection(numbers, tmp_path):
    assert numbers.get_partition_count() == 7
    df = numbers.select_partitions([3, 1]).to_pandas_dataframe()
    assert df["n"].tolist() == list(range(300, 600)) + list(range(900, 1200))
    with pytest.raises(UserErrorException, match='Invalid argument "partitions". Expected "< 7", Actual 7'):
        numbers.select_partitions(7).to_pandas_dataframe()
    with pytest.raises(UserErrorException, match="Columns should be a int or list of int with at least one element"):
        numbers.select_partitions([])
    assert mltable.from_paths([{"file": str(tmp_path / "numbers.parquet")}]).get_partition_count() == 1


def test_partition_count_follows_selections_and_take_as_in_the_reference(numbers):
    assert numbers.select_partitions([1, 3]).get_partition_count() == 2
    assert numbers.select_partitions([1, 3]).filter("n > 5").skip(3).get_partition_count() == 2
    assert numbers.select_partitions([1, 3]).select_partitions(1).get_partition_count() == 1
    assert numbers.take(5).get_partition_count() == 1 and numbers.skip(5).get_partition_count() == 7
    with pytest.raises(UserErrorException, match='Expected "< 2", Actual 5'):
        numbers.select_partitions([1, 3]).select_partitions(5).get_partition_count()
    # After take, one partition holds the rows taken: index 0 keeps them, index 1 does not exist.
    assert numbers.take(5).select_partitions(0).to_pandas_dataframe()["n"].tolist() == [0, 1, 2, 3, 4]
    with pytest.raises(UserErrorException, match='Expected "< 1", Actual 1'):
        numbers.take(5).select_partitions(1).to_pandas_dataframe()


def test_text_files_split_at_partition_size(tmp_path):
    path = tmp_path / "big.csv"
    lines = ["n"] + [f"{i:09d}" for i in range(1000)]  # 10 bytes a line
    path.write_text("\n".join(lines) + "\n")
    folder = tmp_path / "t"
    folder.mkdir()
    (folder / "MLTable").write_text(f"paths:\n- file: {path}\ntransformations:\n- read_delimited:\n"
                                    "    partition_size: 2500\n    infer_column_types: false\n")
    tbl = mltable.load(str(folder))
    assert tbl.get_partition_count() == 5  # 10002 bytes / 2500
    parts = [tbl.select_partitions(i).to_pandas_dataframe()["n"].tolist() for i in range(5)]
    assert sum(parts, []) == lines[1:]
    # Line i starts at byte 2 + 10 i; a row belongs to the chunk its first byte is in.
    assert [len(part) for part in parts] == [250, 250, 250, 250, 0]


def test_include_path_column_comes_first(csv_file, tmp_path):
    df = mltable.from_delimited_files([{"file": str(tmp_path / "people.csv")}], include_path_column=True).take(1)
    frame = df.to_pandas_dataframe()
    assert list(frame.columns)[0] == "Path" and frame["Path"][0] == str(tmp_path / "people.csv")


@pytest.fixture
def dated(tmp_path):
    """The same rows as CSV, parquet and JSON lines under year/month folders, with Spark markers."""
    import json

    for year, month in (("2023", "12"), ("2024", "01")):
        folder = tmp_path / "dated" / year / month
        folder.mkdir(parents=True)
        (folder / "part.csv").write_text(f"id\n{year}{month}\n")
        pq.write_table(pa.table({"id": [int(year + month)]}), folder / "part.parquet")
        (folder / "part.jsonl").write_text(json.dumps({"id": int(year + month)}) + "\n")
        (folder.parent / "_SUCCESS").write_bytes(b"")
    (tmp_path / "dated" / "_SUCCESS").write_bytes(b"")
    return tmp_path / "dated"


@pytest.mark.parametrize("build, columns, year", [
    (lambda d: mltable.from_delimited_files([{"pattern": f"{d}/*/*/*.csv"}]), ["year", "month", "id"], 2024),
    (lambda d: mltable.from_delimited_files([{"pattern": f"{d}/*/*/*.csv"}], infer_column_types=False),
     ["year", "month", "id"], "2024"),
    (lambda d: mltable.from_parquet_files([{"pattern": f"{d}/*/*/*.parquet"}]), ["id", "year", "month"], "2024"),
    (lambda d: mltable.from_json_lines_files([{"pattern": f"{d}/*/*/*.jsonl"}]), ["id", "year", "month"], "2024"),
    (lambda d: mltable.from_parquet_files([{"pattern": f"{d}/*/*/*.parquet"}], include_path_column=True),
     ["Path", "id", "year", "month"], "2024"),
])
def test_partition_columns_are_placed_and_typed_as_the_reference_does(dated, build, columns, year):
    """Observed: delimited files put them first and infer their types (strings without inference);
    parquet and JSON lines put them after the file's columns, as strings, so `year == "2024"` matches."""
    tbl = build(dated).extract_columns_from_partition_format("{year}/{month}/part.{ext}").drop_columns("ext")
    df = tbl.to_pandas_dataframe()
    assert list(df.columns) == columns
    assert df["year"].tolist() == [type(year)(2023), year]
    literal = f'"{year}"' if isinstance(year, str) else str(year)
    assert tbl.filter(f"year == {literal}").to_pandas_dataframe()["id"].astype(str).tolist() == ["202401"]
    assert tbl.filter(f"year == {literal}").explain().count("pruned by partition values") == 1


def test_inferred_partition_values_follow_csv_inference_and_overrides(tmp_path):
    for value in ("0", "1"):
        (tmp_path / value).mkdir()
        (tmp_path / value / "a.csv").write_text("id\n5\n")
    tbl = mltable.from_delimited_files([{"folder": str(tmp_path)}])
    assert tbl.extract_columns_from_partition_format("{k}/a.csv").to_pandas_dataframe()["k"].tolist() == [False, True]
    overridden = mltable.from_delimited_files([{"folder": str(tmp_path)}],
                                              infer_column_types={"column_type_overrides": {"k": "float"}})
    df = overridden.extract_columns_from_partition_format("{k}/a.csv").to_pandas_dataframe()
    assert df["k"].tolist() == [0.0, 1.0] and str(df["k"].dtype) == "float64"


@pytest.mark.parametrize("reader, pattern", [
    (mltable.from_delimited_files, "*.csv"), (mltable.from_parquet_files, "*.parquet"),
    (mltable.from_json_lines_files, "*.jsonl")])
def test_empty_marker_files_are_no_partition_and_need_not_match_the_format(dated, reader, pattern):
    for path in dated.glob("*/*/part.*"):
        if not path.name.endswith(pattern[1:]):
            path.unlink()
    tbl = reader([{"folder": str(dated)}])
    assert tbl.get_partition_count() == 2  # the three _SUCCESS files are not partitions
    df = tbl.extract_columns_from_partition_format("{year}/{month}/part.{ext}").to_pandas_dataframe()
    assert df["id"].astype(str).tolist() == ["202312", "202401"]
    paths = mltable.from_paths([{"folder": str(dated)}]).extract_columns_from_partition_format(
        "{year}/{month}/part.{ext}").to_pandas_dataframe()
    assert paths["year"].isna().sum() == 3 and paths["year"].dropna().tolist() == ["2023", "2024"]


def test_a_file_with_rows_the_format_does_not_describe_is_an_error_a_python_user_can_act_on(dated):
    (dated / "2024" / "notes.csv").write_text("id\n7\n")
    tbl = mltable.from_delimited_files([{"pattern": f"{dated}/**/*.csv"}])
    with pytest.raises(UserErrorException, match="does not match the path .*notes.csv") as caught:
        tbl.extract_columns_from_partition_format("{year}/{month}/part.csv").to_pandas_dataframe()
    assert "ignore_errors" not in str(caught.value) and "pattern" in str(caught.value)
    with pytest.raises(UserErrorException, match="does not match the path .*notes.csv"):  # not pruned away
        tbl.extract_columns_from_partition_format("{year}/{month}/part.csv").filter("year == 2024").to_pandas_dataframe()


@pytest.mark.parametrize("partition_format, columns", [
    ("{year}/{year}/part.csv", ["year", "id"]),          # a key used twice: one column, its first capture
    ("/{year}/{month}/part.csv", ["year", "month", "id"]),  # a leading slash
    ("dated/{year}/{month}/part.csv", ["year", "month", "id"]),  # the path spec's own folder named
])
def test_partition_formats_the_reference_accepts(dated, partition_format, columns):
    for path in [*dated.glob("*/*/*.parquet"), *dated.glob("*/*/*.jsonl")]:
        path.unlink()
    tbl = mltable.from_delimited_files([{"folder": str(dated)}])  # with its _SUCCESS markers
    df = tbl.extract_columns_from_partition_format(partition_format).to_pandas_dataframe()
    assert list(df.columns) == columns and df["year"].tolist() == [2023, 2024]


@pytest.mark.parametrize("partition_format", ["{d:yyyy}/{d:MM}/part.csv", "{d:yyyy/MM}/{e:dd}/part.csv"])
def test_a_date_split_over_two_placeholders_gets_the_references_message(partitioned, partition_format):
    tbl = mltable.from_delimited_files([{"folder": str(partitioned)}])
    with pytest.raises(UserErrorException, match='^Invalid argument "partition-format". "Only single date is '
                                                 'supported by partition format.", Actual'):
        tbl.extract_columns_from_partition_format(partition_format)


def test_a_partition_key_named_like_a_column_is_the_references_error(dated):
    """Observed: the reference refuses ("Filed with name 'id' already exists in the record."), where
    we used to replace the file's column with the path's value."""
    tbl = mltable.from_parquet_files([{"pattern": f"{dated}/*/*/*.parquet"}])
    with pytest.raises(UserErrorException, match="^Filed with name 'id' already exists in the record. .*id_from_path"):
        tbl.extract_columns_from_partition_format("{id}/{month}/part.parquet").to_pandas_dataframe()
