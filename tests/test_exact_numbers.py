"""No number changes without a word (issue 18, P2): integers beyond int64, or beyond the ±2**53
that a float64 holds exactly, keep their value, whichever path reads them."""

import pandas as pd
import pytest

import mltable_lite as mltable

BIG = 2**53 + 1


def _csv(tmp_path, text, name="a.csv", **options):
    path = tmp_path / name
    path.write_text(text)
    return mltable.from_delimited_files([{"file": str(path)}], **options).to_pandas_dataframe()


@pytest.mark.parametrize("value", [2**63 + 1, 2**64 + 1, -(2**63) - 1, 10**29])
def test_an_int_beyond_int64_keeps_its_digits(tmp_path, value):
    frame = _csv(tmp_path, f"a,b\n1,x\n{value},y\n")
    assert frame["a"].tolist() == ["1", str(value)]


def test_an_int_beyond_int64_after_the_inference_sample_keeps_its_digits(tmp_path):
    frame = _csv(tmp_path, "a\n" + "1\n" * 300 + f"{10**29}\n")
    assert frame["a"].iloc[-1] == str(10**29) and frame["a"].iloc[0] == "1"


@pytest.mark.parametrize("late", [False, True])
def test_an_int_beyond_2_53_among_floats_is_not_rounded(tmp_path, late):
    rows = ["1.5"] * (300 if late else 1) + [str(BIG)]
    frame = _csv(tmp_path, "a\n" + "\n".join(rows) + "\n")
    assert frame["a"].iloc[-1] == str(BIG)


def test_a_big_file_read_in_pieces_keeps_a_late_huge_int(tmp_path):
    rows = [f"{i}.5,row{i}" for i in range(40_000)] + [f"{BIG},last"]
    frame = _csv(tmp_path, "a,b\n" + "\n".join(rows) + "\n")
    assert len(frame) == 40_001 and frame["a"].iloc[-1] == str(BIG) and frame["a"].iloc[0] == "0.5"
    taken = mltable.from_delimited_files([{"file": str(tmp_path / "a.csv")}]).take(3).to_pandas_dataframe()
    assert taken["a"].tolist() == [0.5, 1.5, 2.5]


def test_a_ten_million_digit_number_is_text_not_a_value_error(tmp_path):
    digits = "1" * 10_000_000
    frame = _csv(tmp_path, "a\n" + digits)
    assert frame["a"].tolist() == [digits]


def test_thousands_of_leading_zeros_are_an_int_not_a_value_error(tmp_path):
    frame = _csv(tmp_path, "a\n" + "0" * 4300 + "12\n-" + "0" * 5000 + "3\n")
    assert frame["a"].tolist() == [12, -3]


def test_ordinary_floats_and_ints_keep_their_types(tmp_path):
    frame = _csv(tmp_path, "f,i,e\n1e300,9007199254740992,inf\n-2.5,-9223372036854775808,1.5\n")
    assert frame.dtypes.astype(str).tolist() == ["float64", "int64", "float64"]
    assert frame["i"].tolist() == [2**53, -(2**63)]
    assert frame["f"].tolist() == [1e300, -2.5]


def test_int_and_float_files_still_merge_when_every_int_is_exact(tmp_path):
    (tmp_path / "1.csv").write_text("a\n9007199254740992\n1\n")
    (tmp_path / "2.csv").write_text("a\n1.5\n")
    frame = mltable.from_delimited_files([{"folder": str(tmp_path)}]).to_pandas_dataframe()
    pd.testing.assert_frame_equal(frame, pd.DataFrame({"a": [float(2**53), 1.0, 1.5]}))


def test_ints_with_nulls_beyond_2_53_are_not_rounded_into_float64(tmp_path):
    # pandas holds an int column with nulls as float64 (as the reference does); that would round
    # 2**53 + 1, so such a column holds Python ints and None instead.
    import pyarrow as pa
    import pyarrow.parquet as pq

    frame = _csv(tmp_path, f"a,b\n{BIG},1\n,2\n1,3\n")
    assert frame["a"].tolist() == [BIG, None, 1] and str(frame["b"].dtype) == "int64"
    (tmp_path / "a.jsonl").write_text(f'{{"a": {BIG}}}\n{{"a": null}}\n')
    assert mltable.from_json_lines_files([{"file": str(tmp_path / "a.jsonl")}]).to_pandas_dataframe()[
        "a"].tolist() == [BIG, None]
    pq.write_table(pa.table({"a": pa.array([BIG, None], pa.int64()), "u": pa.array([2**64 - 1, None], pa.uint64())}),
                   tmp_path / "a.parquet")
    frame = mltable.from_parquet_files([{"file": str(tmp_path / "a.parquet")}]).to_pandas_dataframe()
    assert frame["a"].tolist() == [BIG, None] and frame["u"].tolist() == [2**64 - 1, None]
    small = _csv(tmp_path, "a,b\n1,x\n,y\n2,z\n", name="small.csv")
    assert str(small["a"].dtype) == "float64"   # the reference's dtype where no value is at risk
