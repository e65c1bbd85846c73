"""JSON lines pieces parsed side by side across files: the same result as files read whole, and
errors (invalid lines, invalid UTF-8, a file gone) raised for the first piece holding one, with
its file and line, however far the reader has read ahead."""

import json

import pandas as pd
import pytest

import mltable_lite as mltable
from mltable_lite.errors import UserErrorException
from mltable_lite.plan import PathSpec, ReadJsonLines
from mltable_lite.readers import json_lines
from mltable_lite.readers.json_lines import read_json_lines
from mltable_lite.storage import expand_paths


@pytest.fixture
def small_pieces(monkeypatch):
    """Pieces of ~40 lines after a first one of ~10: many pieces per file."""
    monkeypatch.setattr(json_lines, "FIRST_PIECE_SIZE", 1 << 9)
    monkeypatch.setattr(json_lines, "PIECE_SIZE", 1 << 11)


def lines(start: int, stop: int, value=lambda i: i) -> list[str]:
    return [json.dumps({"id": i, "ts": f"2024-01-{1 + i % 28:02d}T10:00:00", "v": value(i)}) for i in range(start, stop)]


def write(path, rows: list[str], encoding: str = "utf-8") -> str:
    path.write_bytes(("\n".join(rows) + "\n").encode(encoding))
    return str(path)


def whole(monkeypatch, tbl):
    """``tbl`` read with every file in one piece."""
    with monkeypatch.context() as patch:
        patch.setattr(json_lines, "FIRST_PIECE_SIZE", 1 << 26)
        return tbl.to_pandas_dataframe()


def test_pieces_of_several_files_equal_the_files_read_whole(tmp_path, monkeypatch, small_pieces):
    write(tmp_path / "1.jsonl", lines(0, 400))
    # Floats from a late piece on (int64 + float64 → float64), and a key that appears late.
    write(tmp_path / "2.jsonl", lines(400, 700) + lines(700, 900, lambda i: i / 4))
    write(tmp_path / "3.jsonl", lines(900, 1000) + [json.dumps({"id": 1000, "late": "yes"})])
    tbl = mltable.from_json_lines_files([{"folder": str(tmp_path)}])
    df = tbl.to_pandas_dataframe()
    assert len(df) == 1001 and list(df.columns) == ["id", "ts", "v", "late"]
    assert str(df["v"].dtype) == "float64" and df["v"].iloc[701] == 701 / 4 and df["v"].iloc[3] == 3
    assert df["ts"].iloc[0] == "2024-01-01T10:00:00" and df["late"].iloc[1000] == "yes"
    pd.testing.assert_frame_equal(df, whole(monkeypatch, tbl))


def test_an_invalid_line_in_a_late_piece_of_a_later_file_names_its_file_and_line(tmp_path, small_pieces):
    write(tmp_path / "1.jsonl", lines(0, 500))
    rows = lines(0, 600)
    rows[456] = '{"id": 456, "v": oops}'
    second = write(tmp_path / "2.jsonl", rows)
    tbl = mltable.from_json_lines_files([{"folder": str(tmp_path)}])
    with pytest.raises(UserErrorException, match=rf"in '{second}' at line 457: not valid JSON") as caught:
        tbl.to_pandas_dataframe()
    assert "oops" in str(caught.value)
    dropped = mltable.from_json_lines_files([{"folder": str(tmp_path)}], invalid_lines="drop").to_pandas_dataframe()
    assert len(dropped) == 1099 and 456 not in dropped["id"].iloc[500:].tolist()


def test_invalid_utf8_in_a_late_piece_names_its_line_and_byte(tmp_path, small_pieces):
    rows = lines(0, 600)
    rows[321] = rows[321].replace('"v": 321', '"v": "caf@"')
    path = tmp_path / "1.jsonl"
    data = ("\n".join(rows) + "\n").encode().replace(b"caf@", b"caf\xff")
    path.write_bytes(data)
    bad = data.index(b"\xff")
    with pytest.raises(UserErrorException, match=rf"line 322 \(byte {bad}\)"):
        mltable.from_json_lines_files([{"file": str(path)}]).to_pandas_dataframe()


def test_errors_come_in_file_order_however_far_the_reader_has_read_ahead(tmp_path, small_pieces):
    first = tmp_path / "1.jsonl"
    rows = lines(0, 300)
    rows[-1] = "{broken"
    write(first, rows)
    second = tmp_path / "2.jsonl"
    second.write_bytes(b'{"id": "caf\xff"}\n')
    third = tmp_path / "3.jsonl"
    write(third, lines(0, 10))
    files = expand_paths([PathSpec("folder", "file://" + str(tmp_path))])
    third.unlink()   # listed, then gone: only its turn may report it

    def read(**step):
        return list(read_json_lines(files, ReadJsonLines(**step)))

    with pytest.raises(UserErrorException, match=r"1\.jsonl' at line 300: not valid JSON"):
        read()
    with pytest.raises(UserErrorException, match=r"2\.jsonl', line 1 \(byte 11\) holds bytes that are not valid"):
        read(invalid_lines="drop")
    second.write_bytes(b'{"id": 1}\n')
    with pytest.raises(UserErrorException, match=r"3\.jsonl' disappeared"):
        read(invalid_lines="drop")


def test_files_in_other_encodings_are_parsed_in_pieces_too(tmp_path, monkeypatch, small_pieces):
    rows = [json.dumps({"id": i, "name": f"café {i} €"}, ensure_ascii=False) for i in range(500)]
    path = write(tmp_path / "latin.jsonl", rows, "cp1252")
    tbl = mltable.from_json_lines_files([{"file": path}], encoding="latin1")
    df = tbl.to_pandas_dataframe()
    assert len(df) == 500 and df["name"].iloc[499] == "café 499 €"
    assert len(list(read_json_lines(expand_paths([PathSpec("file", "file://" + path)]),
                                    ReadJsonLines(encoding="latin1")))) > 5
    pd.testing.assert_frame_equal(df, whole(monkeypatch, tbl))
    rows[400] = "{nope"
    path = write(tmp_path / "wide.jsonl", rows, "utf-16")
    with pytest.raises(UserErrorException, match=r"wide\.jsonl' at line 401: not valid JSON"):
        mltable.from_json_lines_files([{"file": path}], encoding="utf16").to_pandas_dataframe()


@pytest.mark.parametrize("data", [
    b'{"a": 1}\n{"a": 2}\n',
    b'{"a": 1}\n{"a": 2}',                            # no final line break
    b'{"a": 1}\n  \t',                                # a last line of blanks only
    b'\n\r\n{"a": "2024-01-01"}\n\n{"a": "x"}\n',      # empty lines, one before the first record
    b'{"a": 1}\n \n{"a": 2}\n',                        # a whitespace-only line
    b'{"a": 1}\nnull\n',                               # a null line
    b'{"a": 1} {"a": 2}\n',                            # two objects on one line
    b'{"a": ' + b'[' * 1500 + b']' * 1500 + b'}\n',    # deeper than PyArrow may be given
    b'{"a": "' + b'x' * 300_000 + b'"}\n{"a": "y"}',  # a first line too long to decode in Python
])
def test_views_of_a_memory_map_read_as_bytes_do(data):
    """Local files reach the fast path as views of a memory map: every guard gives the answer
    it gives for bytes."""
    from mltable_lite.readers.json_fast import DateColumns, read_fast, record_count, scan_lines

    view = memoryview(bytearray(data))
    assert scan_lines(view) == scan_lines(data) and record_count(view) == record_count(data)
    dates, view_dates = DateColumns(), DateColumns()
    for _ in range(2):   # the second time with the date columns the first one found
        found, expected = read_fast(view, None, view_dates), read_fast(data, None, dates)
        assert (found is None) == (expected is None) and view_dates.names == dates.names
        if expected is not None:
            assert found.equals(expected)
