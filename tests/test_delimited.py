"""Delimited reader on real files: header modes, quirks, encodings, inference beyond the sample."""

from __future__ import annotations

import datetime

import pandas as pd
import pyarrow as pa
import pytest

import mltable_lite as mltable
from mltable_lite import MLTableFileEncoding, MLTableHeaders, UserErrorException
from mltable_lite.plan import PathSpec, ReadDelimited
from mltable_lite.readers.delimited import read_delimited
from mltable_lite.readers.delimited_options import validate_delimiter, validate_encoding, validate_header
from mltable_lite.storage import expand_paths


def write(tmp_path, name, content) -> str:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return str(path)


def frame(tmp_path, *contents, **options) -> pd.DataFrame:
    paths = [{"file": write(tmp_path, f"f{i}.csv", c)} for i, c in enumerate(contents)]
    return mltable.from_delimited_files(paths, **options).to_pandas_dataframe()


def raw_tables(tmp_path, *contents, **options) -> list[pa.Table]:
    specs = [PathSpec("file", "file://" + write(tmp_path, f"r{i}.csv", c)) for i, c in enumerate(contents)]
    return [table for _, table in read_delimited(expand_paths(specs), ReadDelimited(**options))]


def values(df, column):
    return [None if v is None or (isinstance(v, float) and v != v) else v for v in df[column].tolist()]


# --- types -------------------------------------------------------------------------------------


def test_common_types_and_dtypes(tmp_path):
    df = frame(tmp_path, "i,s,f,b,t,n\n1,x,1.5,True,2024-01-05 10:20:30,\n2,y,2.5,False,2024-01-06 00:00:00,\n")
    assert df.dtypes["i"] == "int64" and df.dtypes["f"] == "float64" and df.dtypes["b"] == "bool"
    assert str(df.dtypes["t"]) == "datetime64[ns]"
    assert values(df, "s") == ["x", "y"]
    assert values(df, "n") == [None, None] and df.dtypes["n"] == object
    assert df["t"][0] == pd.Timestamp("2024-01-05 10:20:30")


def test_int_quirks_and_nulls(tmp_path):
    df = frame(tmp_path, "a,b,c\n+1, 1 ,007\n-2,2,\n")
    assert values(df, "a") == [1, -2] and df.dtypes["a"] == "int64"
    assert values(df, "b") == [1, 2]
    assert df.dtypes["c"] == "float64" and values(df, "c") == [7.0, None]


def test_only_ones_and_zeros_is_bool_and_mixing_rules(tmp_path):
    df = frame(tmp_path, "a,b,c,d,e\n1,True,1,0,1\n0,0,yes,1.0,2\n")
    assert df.dtypes["a"] == "bool" and values(df, "a") == [True, False]
    assert values(df, "b") == [True, False]
    assert values(df, "c") == ["1", "yes"]
    assert df.dtypes["d"] == "float64"
    assert df.dtypes["e"] == "int64"


def test_bool_with_null_is_object(tmp_path):
    df = frame(tmp_path, "a\nTrue\n\nfalse\n,\n".replace(",", ""))
    assert values(df, "a") == [True, False]
    df = frame(tmp_path, "a,b\nTrue,1\n,2\n")
    assert df.dtypes["a"] == object and values(df, "a") == [True, None]


def test_floats_and_big_ints(tmp_path):
    df = frame(tmp_path, "a,b,c\n1e3,99999999999999999999,1,000\nNaN,1,x\n-inf,2,y\n".replace("1,000", '"1,000"'))
    assert df.dtypes["a"] == "float64" and df["a"][0] == 1000.0 and df["a"][2] == float("-inf")
    # Beyond int64 the reference gives a rounded float (1e20); the digits are kept instead (P2).
    assert values(df, "b") == ["99999999999999999999", "1", "2"]
    assert values(df, "c") == ["1,000", "x", "y"]


def test_int_and_string_mixed_keep_text_as_written(tmp_path):
    df = frame(tmp_path, "a\n1\nx\n007\n")
    assert values(df, "a") == ["1", "x", "007"]


@pytest.mark.parametrize("text, expected", [
    ("2024-01-05\n2024-02-10\n", [datetime.datetime(2024, 1, 5), datetime.datetime(2024, 2, 10)]),
    ("2024/01/05\n", [datetime.datetime(2024, 1, 5)]),
    ("01/05/2024\n12/31/2024\n", [datetime.datetime(2024, 1, 5), datetime.datetime(2024, 12, 31)]),
    ("13/01/2024\n01/02/2024\n", [datetime.datetime(2024, 1, 13), datetime.datetime(2024, 2, 1)]),
    ("13-01-2024\n", [datetime.datetime(2024, 1, 13)]),
    ("2024-01-05T10:20:30.123456789\n", [pd.Timestamp("2024-01-05 10:20:30.123456789")]),
    ("2024-01-05T10:20:30Z\n2024-01-05T10:20:30+02:00\n",
     [datetime.datetime(2024, 1, 5, 10, 20, 30), datetime.datetime(2024, 1, 5, 8, 20, 30)]),
    ("01/05/2024 01:02:03 PM\n", [datetime.datetime(2024, 1, 5, 13, 2, 3)]),
])
def test_datetime_formats(tmp_path, text, expected):
    df = frame(tmp_path, "d\n" + text)
    assert str(df.dtypes["d"]) == "datetime64[ns]"
    assert [pd.Timestamp(v) for v in df["d"]] == [pd.Timestamp(v) for v in expected]


def test_ambiguous_dates_parse_month_first_p3(tmp_path):
    df = frame(tmp_path, "d,e\n01-02-2024,01/02/2024\n03-04-2024,05/06/2024\n")
    assert df["d"].tolist() == [pd.Timestamp("2024-01-02"), pd.Timestamp("2024-03-04")]
    assert df["e"].tolist() == [pd.Timestamp("2024-01-02"), pd.Timestamp("2024-05-06")]


@pytest.mark.parametrize("text", ["05-01-24", "05.01.2024", "Jan 5 2024", "10:20:30", "2024-01-05T10:20"])
def test_unrecognised_dates_stay_strings(tmp_path, text):
    df = frame(tmp_path, "d\n" + text + "\n")
    assert values(df, "d") == [text]


def test_yyyymmdd_is_int(tmp_path):
    assert frame(tmp_path, "d\n20240105\n").dtypes["d"] == "int64"


def test_sample_beyond_200_rows_widens_instead_of_losing_p2(tmp_path):
    body = "".join(f"{i}\n" for i in range(300))
    df = frame(tmp_path, "a\n" + body + "202.9\n-201.7\n")
    assert df.dtypes["a"] == "float64" and df["a"].tolist()[-2:] == [202.9, -201.7]
    df = frame(tmp_path, "a\n" + body + "oops\n")
    assert df["a"].tolist()[-1] == "oops" and df["a"].tolist()[5] == "5"


def test_sample_size_option(tmp_path):
    df = frame(tmp_path, "a\n1\n2\nx\n", infer_column_types={"sample_size": 2})
    assert values(df, "a") == ["1", "2", "x"]


def test_sample_spans_small_files(tmp_path):
    df = frame(tmp_path, "a\n1\n", "a\n2\n")
    assert df.dtypes["a"] == "int64" and values(df, "a") == [1, 2]


def test_infer_column_types_false(tmp_path):
    df = frame(tmp_path, "a,b\n1,\n", infer_column_types=False)
    assert values(df, "a") == ["1"] and values(df, "b") == [None]


def test_column_type_overrides(tmp_path):
    df = frame(tmp_path, "a,b,c\n1.5,1,x\n2.7,0,y\n",
               infer_column_types={"column_type_overrides": {"a": "int", ("b", "c"): "string"}})
    assert values(df, "a") == [1, 2] and values(df, "b") == ["1", "0"] and values(df, "c") == ["x", "y"]


def test_empty_and_quoted_empty(tmp_path):
    df = frame(tmp_path, 'a,b\n"",1\nx,\n')
    assert values(df, "a") == ["", "x"]
    assert df.dtypes["b"] == object and values(df, "b") == [True, None]  # only 1s: bool, with a null


def test_empty_as_string_makes_columns_with_empties_strings(tmp_path):
    df = frame(tmp_path, "a,b,c\n1,x,5\n,,6\n", empty_as_string=True)
    assert values(df, "a") == ["1", ""] and values(df, "b") == ["x", ""]
    assert df.dtypes["c"] == "int64"


# --- parsing -----------------------------------------------------------------------------------


def test_whitespace_kept_in_strings_crlf_blank_lines(tmp_path):
    df = frame(tmp_path, "a,b\r\n a ,1\r\n\r\nb,2")
    assert values(df, "a") == [" a ", "b"] and values(df, "b") == [1, 2]


def test_quotes_with_delimiter_and_doubled_quotes(tmp_path):
    df = frame(tmp_path, 'a,b\n"x,y","has ""quotes"""\n')
    assert values(df, "a") == ["x,y"] and values(df, "b") == ['has "quotes"']


def test_quoted_newline_needs_support_multi_line_p15(tmp_path):
    content = 'A,B,C\nA1,B1,C1\nA2,"B\n2",C2\n'
    df = frame(tmp_path, content, support_multi_line=True)
    assert values(df, "B") == ["B1", "B\n2"]
    with pytest.raises(UserErrorException, match=r"line 3.*support_multi_line=True"):
        frame(tmp_path, content)


def test_ragged_rows(tmp_path):
    df = frame(tmp_path, "a,b\n1,x\n2,y,z,w\n3\n")
    assert list(df.columns) == ["a", "b", "Column3", "Column4"]
    assert values(df, "a") == [1, 2, 3]
    assert values(df, "Column3") == [None, "z", None] and values(df, "b") == ["x", "y", None]


def test_duplicate_and_blank_header_names(tmp_path):
    df = frame(tmp_path, "a,,a,b,a\n1,2,3,4,5\n")
    assert list(df.columns) == ["a", "Column2", "a_1", "b", "a_2"]


@pytest.mark.parametrize("delimiter, content", [(";", "a;b\n1;x\n"), ("\t", "a\tb\n1\tx\n"),
                                                ("::", 'a::b\n1::"x::y"\n'), ("|", "a|b\n1|x\n")])
def test_delimiters(tmp_path, delimiter, content):
    df = frame(tmp_path, content, delimiter=delimiter)
    assert list(df.columns) == ["a", "b"] and values(df, "a") == [1]
    assert values(df, "b")[0] in ("x", "x::y")


def test_tsv_read_with_comma_is_one_column(tmp_path):
    df = frame(tmp_path, "a\tb\n1\tx\n")
    assert list(df.columns) == ["a\tb"]


def test_empty_and_header_only_files(tmp_path):
    assert raw_tables(tmp_path, "") == []
    tables = raw_tables(tmp_path, "a,b\n")
    assert tables[0].num_rows == 0 and tables[0].column_names == ["a", "b"]  # P7
    df = frame(tmp_path, "a,b\n1,2\n", "", "a,b\n")
    assert values(df, "a") == [True] and values(df, "b") == [2]


# --- header modes ------------------------------------------------------------------------------


def test_all_files_same_headers_matches_by_position(tmp_path):
    # As in the reference, a later file's first line is dropped whatever it says...
    df = frame(tmp_path, "id,name\n1,a\n", "foo,bar\nb,2\n")
    assert list(df.columns) == ["id", "name"]
    assert df["id"].tolist() == ["1", "b"] and df["name"].tolist() == ["a", "2"]


def test_all_files_same_headers_in_another_order_go_by_name(tmp_path):
    # ...but the same names in another order would put every value in another column (issue 18).
    df = frame(tmp_path, "id,name\n1,a\n", "name,id\nb,2\n", "name,id\nc,3\n")
    assert list(df.columns) == ["id", "name"]
    assert df["id"].tolist() == [1, 2, 3] and df["name"].tolist() == ["a", "b", "c"]


def test_from_first_file_keeps_other_first_lines(tmp_path):
    df = frame(tmp_path, "id,name\n1,a\n", "2,b\n3,c\n", header="from_first_file")
    assert values(df, "id") == [1, 2, 3]


def test_no_header(tmp_path):
    df = frame(tmp_path, "id,name\n1,a\n", header=MLTableHeaders.no_header)
    assert list(df.columns) == ["Column1", "Column2"] and values(df, "Column1") == ["id", "1"]


def test_all_files_different_headers_union_by_name(tmp_path):
    df = frame(tmp_path, "a,b\nx,1\n", "c,a\n2.5,y\n", header="all_files_different_headers")
    assert list(df.columns) == ["a", "b", "c"]
    assert values(df, "a") == ["x", "y"] and values(df, "b") == [1, None] and values(df, "c") == [None, 2.5]


# --- encodings ---------------------------------------------------------------------------------


def test_utf8_bom_stripped_but_kept_by_latin1(tmp_path):
    content = "\ufeffa,b\n1,é\n".encode("utf-8")
    assert list(frame(tmp_path, content).columns) == ["a", "b"]
    assert frame(tmp_path, content, encoding="latin1").columns[0] == "ï»¿a"


@pytest.mark.parametrize("encoding", ["latin1", "latin-1", "iso88591", "iso-8859-1", "windows1252",
                                      MLTableFileEncoding.windows1252])
def test_single_byte_encodings_decode_like_windows_1252(tmp_path, encoding):
    df = frame(tmp_path, "a\n\x80 caf\xe9\n".encode("latin-1"), encoding=encoding)
    assert values(df, "a") == ["€ café"]


@pytest.mark.parametrize("encoding", ["utf16", "utf-16", MLTableFileEncoding.utf16])
def test_utf16_with_bom_p12(tmp_path, encoding):
    df = frame(tmp_path, "a,b\nü,1\n".encode("utf-16"), encoding=encoding)
    assert values(df, "a") == ["ü"] and values(df, "b") == [True]


def test_ascii_behaves_as_utf8(tmp_path):
    assert values(frame(tmp_path, "a\nü\n", encoding="ascii"), "a") == ["ü"]


def test_invalid_utf8_names_file_and_line(tmp_path):
    with pytest.raises(UserErrorException, match=r"Error attempting to decode into utf-8\..*f0\.csv.*line 3"):
        frame(tmp_path, b"a,b\n1,x\n2,\xff\n")


# --- validation --------------------------------------------------------------------------------


def test_validators():
    assert validate_header("NO_HEADER") == "no_header"
    assert validate_header(MLTableHeaders.all_files_different_headers) == "all_files_different_headers"
    with pytest.raises(UserErrorException) as error:
        validate_header("sometimes")
    assert str(error.value) == ("Given invalid header sometimes, supported headers are: 'no_header', "
                                "'from_first_file', 'all_files_different_headers', and 'all_files_same_headers'.")
    assert validate_encoding("utf-8 bom") == "utf8"
    assert validate_encoding(MLTableFileEncoding.utf8bom) == "utf8"  # read and saved as utf8, which strips a BOM
    with pytest.raises(UserErrorException, match="Given invalid encoding 'klingon'"):
        validate_encoding("klingon")
    assert validate_delimiter("::") == "::"
    with pytest.raises(UserErrorException):
        validate_delimiter("")


def test_the_fast_record_split_matches_the_exact_tokenizer_on_text_without_quotes():
    """Quote-free text takes a plain-split path (per-file cost for folders of small files); it must
    give exactly the records, fields and line numbers the regex tokenizer gives."""
    import random

    from mltable_lite.readers._text import _quoted_records, _unquoted_records

    rng = random.Random(5)
    pieces = ["a", "b", " ", ",", ";", "\t", "|", "\n", "\r", "\r\n", "", "12", "x y"]
    for _ in range(5000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 30)))
        for delimiter in (",", ";", "\t", "|"):
            assert list(_unquoted_records(text, delimiter, 3)) == list(
                _quoted_records(text, delimiter, False, "f.csv", 3)), (text, delimiter)


_FILLS_THE_SAMPLE = "id,name,score\n" + "".join(f"{i},n{i},{i / 2}\n" for i in range(250))
_LATER_FILES = [
    "id,name,score\n1,a,0.5\n2,b,1.5\n",                 # fits: read by pyarrow as it is
    "id,name,score\n3,c,2.5,extra\n4,d,3.5\n",            # a wider row
    "id,name,score\n5,e\n6,f\n",                          # narrower rows
    'id,name,score\n7,"two\nlines",4.5\n',                # a quoted line break (P15 error unless multi-line)
    "id,name,score\nseven,g,5.5\n",                       # a value the inferred type cannot hold
    "id,name,score\n",                                    # header only
    "\n\n",                                               # blank
    "id,name,other\n8,h,x\n",                             # a header with another name
    "id;name;score\n9;i;6.5\n",                           # another delimiter: one field per row
]


@pytest.mark.parametrize("header", ["all_files_same_headers", "from_first_file", "all_files_different_headers",
                                    "no_header"])
@pytest.mark.parametrize("multi_line", [False, True])
def test_files_after_the_sample_read_as_if_every_row_had_been_parsed_first(tmp_path, monkeypatch, header,
                                                                           multi_line):
    # Once types are fixed only a later file's header is parsed up front (pyarrow reads the rest);
    # whatever pyarrow cannot read as it is must end exactly where the full preparation ends.
    from mltable_lite.readers import delimited

    def outcome():
        results = []
        for position, later in enumerate(_LATER_FILES):
            folder = tmp_path / f"{header}-{multi_line}-{position}"
            folder.mkdir(exist_ok=True)
            write(folder, "0.csv", _FILLS_THE_SAMPLE)
            write(folder, "1.csv", later)
            write(folder, "2.csv", "id,name,score\n10,j,7.5\n")
            tbl = mltable.from_delimited_files([{"folder": str(folder)}], header=header,
                                               support_multi_line=multi_line)
            try:
                results.append(tbl.to_pandas_dataframe())
            except UserErrorException as error:
                results.append(str(error))
        return results

    header_only = []
    read = delimited._Reader.read
    monkeypatch.setattr(delimited._Reader, "read",
                        lambda self, prepared, ahead=None: header_only.append(prepared.rows is None)
                        or read(self, prepared, ahead))
    quick = outcome()
    assert any(header_only) == (header != "no_header")   # the shortcut was taken where it applies
    monkeypatch.undo()
    full_prepare = delimited._Reader.prepare
    monkeypatch.setattr(delimited._Reader, "prepare", lambda self, file, header_only=True, whole=None: full_prepare(self, file, False, whole))
    full = outcome()
    for later, got, expected in zip(_LATER_FILES, quick, full):
        if isinstance(expected, str):
            assert got == expected, later
        else:
            pd.testing.assert_frame_equal(got, expected, obj=repr(later))


def test_files_parsed_ahead_give_what_reading_one_after_another_gives(tmp_path, monkeypatch):
    # After the sample, small files are parsed on threads before their turn. A file parsed with
    # types that an earlier one then widened (int -> float, int -> text) is read again, and an
    # error found ahead is raised only in its turn.
    from mltable_lite.readers import _csv_ahead

    write(tmp_path, "000.csv", "id,score,flag\n" + "".join(f"{i},{i},true\n" for i in range(250)))
    for number in range(1, 41):
        rows = [f"{number * 10 + k},{k},false" for k in range(3)]
        if number == 5:
            rows[1] = f"{number * 10 + 1},0.5,false"      # score widens to float
        if number == 9:
            rows[2] = "nine,1,true"                         # id widens to text
        write(tmp_path, f"{number:03d}.csv", "id,score,flag\n" + "\n".join(rows) + "\n")
    write(tmp_path, "041.csv", 'id,score,flag\n1,"two\nlines",true\n')   # P15 error, in its turn

    def read_all(ahead):
        monkeypatch.setattr(_csv_ahead, "AHEAD", ahead)
        tbl = mltable.from_delimited_files([{"folder": str(tmp_path)}])
        with pytest.raises(UserErrorException) as error:
            tbl.to_pandas_dataframe()
        return tbl.take(300).to_pandas_dataframe(), str(error.value)

    one_by_one, error_one_by_one = read_all(0)
    ahead, error_ahead = read_all(16)
    pd.testing.assert_frame_equal(ahead, one_by_one)
    assert error_ahead == error_one_by_one and "041.csv" in error_ahead
    # Both columns changed type between files, so they hold every value as written (P2).
    assert "0.5" in one_by_one["score"].tolist() and "nine" in one_by_one["id"].tolist()


@pytest.mark.parametrize("header", ["all_files_same_headers", "from_first_file", "all_files_different_headers"])
def test_header_names_are_trimmed_as_in_the_reference(tmp_path, header):
    path = tmp_path / "h.csv"
    path.write_text(' a ,a,\t b\t,  ,"  q  "\n1,2,3,4,5\n')
    df = mltable.from_delimited_files([{"file": str(path)}], header=header).to_pandas_dataframe()
    assert list(df.columns) == ["a", "a_1", "b", "Column4", "q"]
    assert mltable.from_delimited_files([{"file": str(path)}]).filter("b == 3").keep_columns("q").to_pandas_dataframe()[
        "q"].tolist() == [5]


@pytest.mark.parametrize("text, expected", [
    # Observed on the reference: with support_multi_line a quote that never closes makes the rest of
    # the file one record, split at delimiters only, the quote and line breaks kept.
    ('a,b\n1,"x\n2,y\n3,z\n', [["1", '"x\n2', "y\n3", "z\n"]]),
    ('a,b,c\n1,"x,y\n2,z,w\n', [["1", '"x', "y\n2", "z", "w\n"]]),
    ('a,b\r\n1,"x\r\n2,y\r\n', [["1", '"x\r\n2', "y\r\n"]]),
    ('a,b\n"x,1\n2,y', [['"x', "1\n2", "y"]]),
    ('a,b\n1,"x\n2,"y"\n3,z\n', [["1", 'x\n2,y"'], ["3", "z"]]),   # a later quote closes it
])
def test_an_unclosed_quote_with_multi_line_splits_the_rest_at_delimiters(tmp_path, text, expected):
    path = tmp_path / "q.csv"
    path.write_bytes(text.encode())
    df = mltable.from_delimited_files([{"file": str(path)}], support_multi_line=True,
                                      infer_column_types=False).to_pandas_dataframe()
    assert df.values.tolist() == expected
    assert list(df.columns)[:2] == text.split("\n")[0].strip().split(",")[:2]
    assert len(df.columns) == len(expected[0]) and all(name.startswith("Column") for name in df.columns[3:])


def test_an_unclosed_quote_at_the_end_of_a_streamed_file(tmp_path, monkeypatch):
    from mltable_lite.readers import _csv_pieces, delimited

    monkeypatch.setattr(delimited, "HEAD_SIZE", 1 << 10)   # streamed, not read whole ...
    monkeypatch.setattr(_csv_pieces, "BLOCK_SIZE", 1 << 12)  # ... in many blocks
    path = tmp_path / "big.csv"
    path.write_text("a,b\n" + "".join(f'{i},"v{i}"\n' for i in range(3000)) + '3000,"open\n3001,z\n')
    df = mltable.from_delimited_files([{"file": str(path)}], support_multi_line=True).to_pandas_dataframe()
    assert len(df) == 3001 and list(df.columns) == ["a", "b", "Column3"]
    assert df["b"].iloc[2999] == "v2999" and df.iloc[3000].tolist() == [3000, '"open\n3001', "z\n"]
