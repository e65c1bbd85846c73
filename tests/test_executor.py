"""Collecting results: schemas unified across files, no silent loss, fresh index (§5, §18, P2, P7)."""

import pandas as pd
import pytest

import mltable_lite as mltable


def test_a_column_that_turns_to_text_in_a_later_file_keeps_every_value_as_written(tmp_path):
    (tmp_path / "1.csv").write_text("a,b\n" + "".join(f"{i},x\n" for i in range(250)))
    (tmp_path / "2.csv").write_text("a,b\n007,z\nabc,w\n")
    df = mltable.from_delimited_files([{"folder": str(tmp_path)}]).to_pandas_dataframe()
    assert df["a"].tolist()[-3:] == ["249", "007", "abc"]
    assert len(df) == 252 and df.index.equals(pd.RangeIndex(252))


def test_int_then_float_in_a_later_file_becomes_float(tmp_path):
    (tmp_path / "1.csv").write_text("a\n" + "".join(f"{i}\n" for i in range(250)))
    (tmp_path / "2.csv").write_text("a\n2.5\n")
    df = mltable.from_delimited_files([{"folder": str(tmp_path)}]).to_pandas_dataframe()
    assert str(df["a"].dtype) == "float64" and df["a"].tolist()[-1] == 2.5


def test_columns_are_unioned_by_name_for_different_headers(tmp_path):
    (tmp_path / "1.csv").write_text("a,b\n1,2\n")
    (tmp_path / "2.csv").write_text("b,c\n3,4\n")
    df = mltable.from_delimited_files([{"folder": str(tmp_path)}], header="all_files_different_headers").to_pandas_dataframe()
    assert list(df.columns) == ["a", "b", "c"]
    assert df["b"].tolist() == [2, 3] and pd.isna(df["c"][0]) and pd.isna(df["a"][1])


def test_zero_byte_file_gives_an_empty_frame_and_header_only_keeps_columns(tmp_path):
    (tmp_path / "empty.csv").write_bytes(b"")
    (tmp_path / "header.csv").write_text("a,b\n")
    assert mltable.from_delimited_files([{"file": str(tmp_path / "empty.csv")}]).to_pandas_dataframe().shape == (0, 0)
    df = mltable.from_delimited_files([{"file": str(tmp_path / "header.csv")}]).to_pandas_dataframe()
    assert df.shape == (0, 2) and list(df.columns) == ["a", "b"]


def test_to_arrow_and_batches_agree_with_pandas(tmp_path):
    (tmp_path / "1.csv").write_text("a,b\n1,x\n2,y\n")
    tbl = mltable.from_delimited_files([{"file": str(tmp_path / "1.csv")}])
    table = tbl.to_arrow()
    assert table.num_rows == 2 and table.column_names == ["a", "b"]
    assert sum(batch.num_rows for batch in tbl.to_batches()) == 2


def test_json_lines_types_differing_between_files_keep_original_values(tmp_path):
    (tmp_path / "1.jsonl").write_text('{"v": 1}\n{"v": null}\n')
    (tmp_path / "2.jsonl").write_text('{"v": "two"}\n')
    df = mltable.from_json_lines_files([{"folder": str(tmp_path)}]).to_pandas_dataframe()
    assert df["v"].tolist() == [1, None, "two"]


def test_to_arrow_names_columns_whose_types_differ_between_parquet_files(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq
    import pytest

    pq.write_table(pa.table({"a": [1], "b": [1.5]}), tmp_path / "1.parquet")
    pq.write_table(pa.table({"a": ["two"], "b": [2.5]}), tmp_path / "2.parquet")
    tbl = mltable.from_parquet_files([{"folder": str(tmp_path)}])
    assert tbl.to_pandas_dataframe()["a"].tolist() == [1, "two"]
    with pytest.raises(mltable.UserErrorException, match=r"Column\(s\) \['a'\] hold values of different types"):
        tbl.to_arrow()


def test_path_and_partition_columns_are_constant_per_file(tmp_path):
    (tmp_path / "y=1").mkdir()
    (tmp_path / "y=1" / "a.csv").write_text("v\n" + "1\n" * 1000)
    tbl = mltable.from_delimited_files([{"folder": str(tmp_path)}], include_path_column=True)
    df = tbl.extract_columns_from_partition_format("y={y}/{f}.csv").to_pandas_dataframe()
    assert list(df.columns) == ["Path", "y", "f", "v"] and len(df) == 1000
    assert set(df["Path"]) == {str(tmp_path / "y=1" / "a.csv")} and set(df["y"]) == {1} and set(df["f"]) == {"a"}


def test_ordered_map_keeps_order_and_does_not_wait_for_reads_after_an_early_stop():
    import threading

    from mltable_lite.concurrency import ordered_map

    assert list(ordered_map(lambda x: x * x, range(20), workers=3)) == [x * x for x in range(20)]
    release = threading.Event()

    def read(item):
        if item > 0:
            release.wait(30)  # a slow read still running when the consumer stops
        return item

    results = ordered_map(read, range(10), workers=3)
    assert next(results) == 0
    closer = threading.Thread(target=results.close)
    closer.start()
    closer.join(10)
    stuck = closer.is_alive()
    release.set()
    assert not stuck, "closing the stream waited for reads that were still running"


def _write_int_then_float(folder, kind):
    import pyarrow as pa
    import pyarrow.parquet as pq

    big = 2**53 + 1  # no float64 holds it exactly
    if kind == "parquet":
        pq.write_table(pa.table({"a": pa.array([big, 1], pa.int64())}), folder / "1.parquet")
        pq.write_table(pa.table({"a": pa.array([1.5])}), folder / "2.parquet")
    elif kind == "jsonl":
        (folder / "1.jsonl").write_text(f'{{"a": {big}}}\n{{"a": 1}}\n')
        (folder / "2.jsonl").write_text('{"a": 1.5}\n')
    else:
        (folder / "1.csv").write_text(f"a\n{big}\n1\n")
        (folder / "2.csv").write_text("a\n1.5\n")



@pytest.mark.parametrize("kind", ["csv", "jsonl", "parquet"])
def test_huge_ints_meeting_floats_in_another_file_keep_their_value(tmp_path, kind):
    # pd.concat would round 2**53 + 1 to the nearest float; no value may change without a word.
    _write_int_then_float(tmp_path, kind)
    build = {"csv": mltable.from_delimited_files, "jsonl": mltable.from_json_lines_files,
             "parquet": mltable.from_parquet_files}[kind]
    tbl = build([{"folder": str(tmp_path)}])
    values = tbl.to_pandas_dataframe()["a"].tolist()
    if kind == "csv":
        assert values == [str(2**53 + 1), "1", "1.5"]  # read as the text it is (P2)
    else:
        assert values == [2**53 + 1, 1, 1.5] and type(values[0]) is int
    if kind == "parquet":
        with pytest.raises(mltable.UserErrorException, match="different types in different files"):
            tbl.to_arrow()
    else:
        assert [str(value) for value in tbl.to_arrow().column("a").to_pylist()][0] == str(2**53 + 1)


def test_frames_are_built_as_pandas_builds_them_one_block_per_dtype(tmp_path):
    # A frame of one block per column is consolidated by pandas on many operations, a second full
    # copy the user did not ask for; pandas' own readers give one block per dtype, and so do we.
    import pyarrow as pa
    import pyarrow.parquet as pq

    for part in range(3):
        rows = range(part * 10, part * 10 + 10)
        pq.write_table(pa.table({"a": list(rows), "x": [r / 2 for r in rows], "b": list(rows),
                                 "y": [r / 4 for r in rows], "s": [str(r) for r in rows]}),
                       tmp_path / f"{part}.parquet")
    frame = mltable.from_parquet_files([{"folder": str(tmp_path)}]).to_pandas_dataframe()
    expected = pd.concat([pd.read_parquet(tmp_path / f"{part}.parquet") for part in range(3)], ignore_index=True)
    pd.testing.assert_frame_equal(frame, expected)
    assert frame._mgr.is_consolidated()
    assert frame._mgr.nblocks == 3  # int64 (a, b), float64 (x, y), str (s)
