"""Early stop: ``take(n)`` reads the head of a big text file, not all of it; chunked reads give
the same result as whole-file reads, and a late value that does not fit keeps every value (P2).

Early stop is proven without timing: the tail of each file holds something that makes a full
read fail, so only a read that stopped early can succeed.
"""

import json
from dataclasses import replace

import pandas as pd
import pytest

import mltable_lite as mltable
from mltable_lite.errors import UserErrorException
from mltable_lite.executor import to_pandas
from mltable_lite.readers import _csv_pieces, delimited, json_lines

MIB = 1 << 20


def csv_rows(start: int, stop: int) -> str:
    """Rows of int, string (quoted, with the delimiter), float, timestamp, bool and empty cells."""
    lines = []
    for i in range(start, stop):
        name = f'"n, {i}"' if i % 7 == 0 else f"name{i % 13}"
        value = "" if i % 11 == 0 else f"{i * 0.25:.2f}"
        when = f"2021-{1 + i % 12:02d}-{1 + i % 28:02d} {i % 24:02d}:{i % 60:02d}:{i % 60:02d}"
        lines.append(f"{i},{name},{value},{when},{'True' if i % 3 else 'False'}\n")
    return "".join(lines)


CSV_HEADER = "id,name,value,when,flag\n"


def write_csv(path, tail: str = "", rows: int = 100_000) -> int:
    """A CSV of ``rows`` good rows, then ``tail``; returns its size."""
    path.write_text(CSV_HEADER + csv_rows(0, rows) + tail)
    return path.stat().st_size


def read_whole(monkeypatch, tbl):
    """``tbl`` read the way it was before chunking: every file read whole in one go."""
    with monkeypatch.context() as patch:
        patch.setattr(delimited, "HEAD_SIZE", 1 << 26)
        patch.setattr(json_lines, "FIRST_PIECE_SIZE", 1 << 26)
        return tbl.to_pandas_dataframe()


# --- delimited ----------------------------------------------------------------------------------


def test_take_stops_before_invalid_utf8_far_into_a_csv(tmp_path):
    path = tmp_path / "big.csv"
    size = write_csv(path, tail="999999,caf\xe9,1.0,2021-01-01 00:00:00,True\n".replace("\xe9", "@"))
    assert size > 4 * MIB
    path.write_bytes(path.read_bytes().replace(b"caf@", b"caf\xff"))  # invalid UTF-8 in the last line
    tbl = mltable.from_delimited_files([{"file": str(path)}])

    head = tbl.take(5).to_pandas_dataframe()
    assert head["id"].tolist() == [0, 1, 2, 3, 4]
    assert head["name"].tolist()[:2] == ["n, 0", "name1"]
    # No limit hint (filter before take): still only the first blocks are read.
    assert tbl.filter("id >= 2").take(3).to_pandas_dataframe()["id"].tolist() == [2, 3, 4]
    with pytest.raises(UserErrorException, match=r"decode.*line 100002"):
        tbl.to_pandas_dataframe()


def test_take_stops_before_a_quoted_line_break_far_into_a_csv(tmp_path):
    path = tmp_path / "big.csv"
    write_csv(path, tail='1,"two\nlines",1.0,2021-01-01 00:00:00,True\n')
    tbl = mltable.from_delimited_files([{"file": str(path)}])
    assert len(tbl.take(20).to_pandas_dataframe()) == 20
    with pytest.raises(UserErrorException, match="support_multi_line"):
        tbl.to_pandas_dataframe()  # P15: reported, not split into two records


@pytest.mark.parametrize("late, dtype, last", [("oops", "text", "oops"), ("2.5", "float64", 2.5)])
def test_a_late_value_that_does_not_fit_keeps_every_value(tmp_path, monkeypatch, late, dtype, last):
    path = tmp_path / "big.csv"
    rows = 300_000
    path.write_text("a,b\n" + "".join(f"{i},x{i}\n" for i in range(rows)) + f"{late},end\n"
                    + "".join(f"{i},y\n" for i in range(5)))
    assert path.stat().st_size > 3 * MIB  # the late value is in a later piece
    tbl = mltable.from_delimited_files([{"file": str(path)}])
    df = tbl.to_pandas_dataframe()
    assert len(df) == rows + 6
    assert pd.api.types.is_string_dtype(df["a"]) if dtype == "text" else str(df["a"].dtype) == dtype
    assert df["a"].iloc[rows] == last
    expected = [str(i) for i in range(rows)] if dtype == "text" else [float(i) for i in range(rows)]
    assert df["a"].iloc[:rows].tolist() == expected
    assert df["b"].iloc[rows] == "end"
    pd.testing.assert_frame_equal(df, read_whole(monkeypatch, tbl))
    assert tbl.take(3).to_pandas_dataframe()["a"].tolist() == [0, 1, 2]  # the head alone: still ints


def test_chunked_csv_equals_the_whole_file_read(tmp_path, monkeypatch):
    monkeypatch.setattr(_csv_pieces, "FIRST_PIECE_SIZE", 1 << 12)
    monkeypatch.setattr(_csv_pieces, "PIECE_SIZE", 1 << 16)  # ~40 pieces
    path = tmp_path / "mixed.csv"
    write_csv(path, rows=40_000)
    tbl = mltable.from_delimited_files([{"file": str(path)}, {"file": str(path)}], include_path_column=True)
    chunked = tbl.to_pandas_dataframe()
    assert chunked.dtypes.astype(str).tolist()[1:] == ["int64", "str", "float64", "datetime64[ns]", "bool"]
    assert chunked["name"].iloc[7] == "n, 7" and pd.isna(chunked["value"].iloc[11])
    pd.testing.assert_frame_equal(chunked, read_whole(monkeypatch, tbl))
    for take in (1, 5000, 45_000):  # within the first piece, across pieces, across files
        pd.testing.assert_frame_equal(tbl.take(take).to_pandas_dataframe(), chunked.iloc[:take])



def test_chunked_csv_over_http_equals_the_mapped_local_read(tmp_path, monkeypatch, serve_http):
    """Local files are cut into pieces on a memory map, remote ones from their byte stream:
    the same file gives the same frame both ways."""
    monkeypatch.setattr(_csv_pieces, "FIRST_PIECE_SIZE", 1 << 12)
    monkeypatch.setattr(_csv_pieces, "PIECE_SIZE", 1 << 16)
    path = tmp_path / "mixed.csv"
    write_csv(path, rows=20_000)
    served = serve_http(tmp_path)
    local = mltable.from_delimited_files([{"file": str(path)}]).to_pandas_dataframe()
    remote = mltable.from_delimited_files([{"file": served.url + "mixed.csv"}]).to_pandas_dataframe()
    assert len(local) == 20_000
    pd.testing.assert_frame_equal(remote, local)


@pytest.mark.parametrize("text", [
    "a,b\n1,2\n3,4\n",                       # ends with a line break
    "\ufeffa,b\n1,2\n3,4",                    # a byte-order mark, no final line break
    "a,b\r\n" + "1,2\r\n" * 3000,              # CRLF, many pieces
    "a,b\n" + "x" * 20_000 + ",1\n2,3\n",       # a line longer than a piece
    "a,b\n" + '"q",1\n' * 2000 + "2,3\n" * 2000 + "\n\n  \n",  # quotes in early pieces only; blank tail
])
def test_mapped_pieces_match_streamed_pieces(tmp_path, monkeypatch, text):
    import mmap

    monkeypatch.setattr(_csv_pieces, "FIRST_PIECE_SIZE", 1 << 10)
    monkeypatch.setattr(_csv_pieces, "PIECE_SIZE", 1 << 12)
    path = tmp_path / "t.csv"
    path.write_bytes(text.encode("utf-8"))
    with open(path, "rb") as handle:
        streamed = [(piece.to_pybytes(), quoted) for piece, quoted in _csv_pieces.line_pieces(handle)]
    with open(path, "rb") as handle:
        mapped_file = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    mapped = [(piece.to_pybytes(), quoted) for piece, quoted in _csv_pieces.mapped_pieces(mapped_file)]
    body = text.encode("utf-8").removeprefix(b"\xef\xbb\xbf")
    for pieces in (streamed, mapped):
        assert b"".join(piece for piece, _ in pieces).rstrip() == body.rstrip()
        assert all(piece.endswith(b"\n") for piece, _ in pieces[:-1])
        assert [quoted for piece, quoted in pieces] == [b'"' in piece for piece, _ in pieces]
    assert len(mapped) > 1 or len(body) < 1 << 10


def test_chunked_multi_line_csv_equals_the_whole_file_read(tmp_path, monkeypatch):
    monkeypatch.setattr(_csv_pieces, "BLOCK_SIZE", 1 << 16)
    path = tmp_path / "multi.csv"
    path.write_text("id,text\n" + "".join(f'{i},"line {i}\nnext, {i}"\n' for i in range(20_000)))
    tbl = mltable.from_delimited_files([{"file": str(path)}], support_multi_line=True)
    chunked = tbl.to_pandas_dataframe()
    assert len(chunked) == 20_000 and chunked["text"].iloc[-1] == "line 19999\nnext, 19999"
    pd.testing.assert_frame_equal(chunked, read_whole(monkeypatch, tbl))


def test_selected_partitions_of_a_chunked_file_are_the_rows_of_those_byte_ranges(tmp_path, monkeypatch):
    monkeypatch.setattr(_csv_pieces, "PIECE_SIZE", 1 << 16)
    path = tmp_path / "parts.csv"
    write_csv(path, rows=20_000)
    tbl = mltable.from_delimited_files([{"file": str(path)}]).select_partitions([1, 3])
    plan = tbl._plan.replace(reader=replace(tbl._plan.reader, partition_size=150_000))
    chunked = to_pandas(plan)
    with monkeypatch.context() as patch:
        patch.setattr(delimited, "HEAD_SIZE", 1 << 26)
        whole = to_pandas(plan)
    assert 0 < len(chunked) < 20_000
    pd.testing.assert_frame_equal(chunked, whole)


# --- JSON lines ---------------------------------------------------------------------------------


def jsonl_rows(start: int, stop: int) -> str:
    lines = []
    for i in range(start, stop):
        record = {"id": i, "name": f"n{i % 17}", "score": i / 4 if i % 5 else None, "ok": i % 2 == 0,
                  "tags": [i, i + 1], "obj": {"x": i}}
        lines.append(json.dumps(record) + "\n")
    return "".join(lines)


def test_take_stops_before_an_invalid_json_line_far_into_the_file(tmp_path):
    path = tmp_path / "big.jsonl"
    path.write_text(jsonl_rows(0, 60_000) + "{not json}\n")
    assert path.stat().st_size > 4 * MIB
    tbl = mltable.from_json_lines_files([{"file": str(path)}])
    assert tbl.take(5).to_pandas_dataframe()["id"].tolist() == [0, 1, 2, 3, 4]
    with pytest.raises(UserErrorException, match="line 60001"):
        tbl.to_pandas_dataframe()


def test_take_stops_before_invalid_utf8_far_into_a_json_lines_file(tmp_path):
    path = tmp_path / "big.jsonl"
    data = jsonl_rows(0, 60_000).encode() + b'{"id": 1, "name": "caf\xff"}\n'
    path.write_bytes(data)
    tbl = mltable.from_json_lines_files([{"file": str(path)}])
    assert len(tbl.take(5).to_pandas_dataframe()) == 5
    bad = data.index(b"\xff")
    with pytest.raises(UserErrorException, match=rf"line 60001 \(byte {bad}\)"):
        tbl.to_pandas_dataframe()


def test_chunked_json_lines_equal_the_whole_file_read(tmp_path, monkeypatch):
    monkeypatch.setattr(json_lines, "FIRST_PIECE_SIZE", 1 << 12)
    monkeypatch.setattr(json_lines, "PIECE_SIZE", 1 << 16)
    path = tmp_path / "mixed.jsonl"
    # ints then floats (→ float64), a key that appears late, a CRLF line, no final newline.
    path.write_bytes(b"\xef\xbb\xbf" + jsonl_rows(0, 5000).encode() + b'{"id": 2.5, "late": "yes"}\r\n'
                     + jsonl_rows(5000, 5100).encode().rstrip(b"\n"))
    tbl = mltable.from_json_lines_files([{"file": str(path)}])
    chunked = tbl.to_pandas_dataframe()
    assert len(chunked) == 5101 and str(chunked["id"].dtype) == "float64"
    assert chunked["late"].iloc[5000] == "yes" and chunked["obj"].iloc[3] == {"x": 3.0}
    pd.testing.assert_frame_equal(chunked, read_whole(monkeypatch, tbl))
    # take(7) reads the first piece only, where ids are still ints: the values are the same.
    head = tbl.take(7).to_pandas_dataframe()
    assert str(head["id"].dtype) == "int64"
    pd.testing.assert_frame_equal(head, chunked.iloc[:7].drop(columns="late"), check_dtype=False)


def test_json_pieces_parsed_side_by_side_equal_the_whole_read_and_fail_in_order(tmp_path, monkeypatch):
    """Pieces after the first are parsed two at a time: dates learned from one piece while the
    next is already parsing, a mixed piece, and two bad lines give the whole read's result and
    the first bad line's error."""
    monkeypatch.setattr(json_lines, "FIRST_PIECE_SIZE", 1 << 12)
    monkeypatch.setattr(json_lines, "PIECE_SIZE", 1 << 14)
    lines = [json.dumps({"id": i, "ts": f"2024-01-{1 + i % 28:02d}T10:00:00"}) for i in range(3000)]
    lines[1500] = json.dumps({"id": 1500, "ts": 7})   # a number among the dates: mixed, kept as is (P11)
    path = tmp_path / "dates.jsonl"
    path.write_text("\n".join(lines) + "\n")
    tbl = mltable.from_json_lines_files([{"file": str(path)}])
    pieces = tbl.to_pandas_dataframe()
    assert pieces["ts"].iloc[3] == "2024-01-04T10:00:00" and pieces["ts"].iloc[1500] == 7
    pd.testing.assert_frame_equal(pieces, read_whole(monkeypatch, tbl))
    lines[2000] = lines[2800] = "{broken"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(UserErrorException, match=r"at line 2001: not valid JSON"):
        tbl.to_pandas_dataframe()
    dropped = mltable.from_json_lines_files([{"file": str(path)}], invalid_lines="drop").to_pandas_dataframe()
    assert dropped["id"].tolist() == [i for i in range(3000) if i not in (2000, 2800)]


# --- parquet ------------------------------------------------------------------------------------


def test_parquet_take_reads_only_the_first_row_group_of_the_first_file(tmp_path):
    """Files after the first are decoded two at a time, but only once the first row group
    has been consumed: a damaged second file shows that take(n) never opens it."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"id": list(range(30_000))}), tmp_path / "a.parquet", row_group_size=10_000)
    (tmp_path / "b.parquet").write_bytes(b"PAR1 this is not a parquet file PAR1")
    pq.write_table(pa.table({"id": [1, 2]}), tmp_path / "c.parquet")
    tbl = mltable.from_parquet_files([{"folder": str(tmp_path)}])
    assert tbl.take(5).to_pandas_dataframe()["id"].tolist() == [0, 1, 2, 3, 4]
    assert len(tbl.take(10_000).to_pandas_dataframe()) == 10_000
    with pytest.raises(Exception, match="b.parquet"):
        tbl.to_pandas_dataframe()


def test_parquet_files_read_concurrently_keep_their_order(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    for index in range(7):
        rows = list(range(index * 1000, index * 1000 + 500 + index * 97))
        pq.write_table(pa.table({"id": rows}), tmp_path / f"part-{index}.parquet", row_group_size=200)
    (tmp_path / "empty.parquet").write_bytes(b"")  # 0 bytes: no rows, no columns
    df = mltable.from_parquet_files([{"folder": str(tmp_path)}], include_path_column=True).to_pandas_dataframe()
    expected = [i for index in range(7) for i in range(index * 1000, index * 1000 + 500 + index * 97)]
    assert df["id"].tolist() == expected
    assert df["Path"].tolist() == [str(tmp_path / f"part-{index}.parquet")
                                   for index in range(7) for _ in range(500 + index * 97)]
