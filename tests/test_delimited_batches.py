"""Many small delimited files parsed at once (readers/_csv_ahead.py) give exactly what reading them
one by one gives: rows, types widened across files, errors naming the file, path column, partitions."""

from __future__ import annotations

import pandas as pd
import pytest

import mltable_lite as mltable
from mltable_lite import UserErrorException
from mltable_lite.readers import delimited

HEADER = "id,name,score,when,flag"
FIRST = HEADER + "\n" + "".join(f"{i},n{i},{i}.5,2024-01-{i % 28 + 1:02d} 10:00:00,true\n" for i in range(250))


def small(number: int) -> str:
    return HEADER + "\n" + "".join(
        f"{number * 10 + k},m{k},{k}.25,2024-02-{k + 1:02d} 08:30:00,{'false' if k % 2 else 'true'}\n"
        for k in range(3))


# A late file, among many small ones that fit the sample's types before and after it.
LATE = {
    "fits": small(99),
    "int widens to float": HEADER + "\n5,x,1.5,2024-03-01 00:00:00,true\n6.5,y,2.5,2024-03-02 00:00:00,false\n",
    "int widens to text": HEADER + "\nseven,x,1.5,2024-03-01 00:00:00,true\n",
    "large float": HEADER + "\n5,x,9007199254740993,2024-03-01 00:00:00,true\n",
    "huge float": HEADER + "\n5,x,1e300,2024-03-01 00:00:00,true\n",
    "bool becomes text": HEADER + "\n5,x,1.5,2024-03-01 00:00:00,maybe\n",
    "bad date": HEADER + "\n5,x,1.5,not a date,true\n",
    "wider row": HEADER + "\n5,x,1.5,2024-03-01 00:00:00,true,extra\n",
    "narrower row": HEADER + "\n5,x\n",
    "quoted value": HEADER + '\n5,"x, y",1.5,2024-03-01 00:00:00,true\n',
    "quoted line break": HEADER + '\n5,"x\ny",1.5,2024-03-01 00:00:00,true\n',
    "carriage returns": small(98).replace("\n", "\r\n"),
    "byte-order mark": "\ufeff" + small(97),
    "no final line break": small(96).rstrip("\n"),
    "blank line inside": small(95).replace("\n", "\n\n", 2),
    "header only": HEADER + "\n",
    "empty": "",
    "blank": "\n \n",
    "reordered header": "name,id,score,when,flag\nx,5,1.5,2024-03-01 00:00:00,true\n",
    "other header": "id,name,points,when,flag\n5,x,1.5,2024-03-01 00:00:00,true\n",
    "new column": HEADER + ",extra\n5,x,1.5,2024-03-01 00:00:00,true,e\n",
    "bad utf-8": HEADER + "\n5,x\xff,1.5,2024-03-01 00:00:00,true\n",
    "empty values": HEADER + "\n5,,,,\n",
}


def _folder(tmp_path, late: str, files: int = 40, where: int = 20):
    (tmp_path / "0000.csv").write_text(FIRST)
    for number in range(1, files):
        content = late if number == where else small(number)
        path = tmp_path / f"{number:04d}.csv"
        if "\xff" in content:
            path.write_bytes(content.encode("latin-1"))
        else:
            path.write_bytes(content.encode("utf-8"))
    return tmp_path


def _outcome(tbl):
    try:
        return tbl.to_pandas_dataframe()
    except UserErrorException as error:
        return str(error)


def _one_by_one(monkeypatch, tbl):
    with monkeypatch.context() as patch:
        patch.setattr(delimited._Reader, "batches_files", lambda self: False)
        return _outcome(tbl)


@pytest.fixture
def small_batches(monkeypatch):
    """Batches of a few files, so that 40 files make several of them."""
    from mltable_lite.readers import _csv_ahead

    monkeypatch.setattr(_csv_ahead, "FIRST_BATCH_BYTES", 400)
    monkeypatch.setattr(_csv_ahead, "BATCH_BYTES", 1200)


def _read_twice(monkeypatch, tbl):
    """``(batched outcome, one-by-one outcome, rows of each batch used)``."""
    expected = _one_by_one(monkeypatch, tbl)
    with monkeypatch.context() as patch:
        used = _batches_used(patch)
        got = _outcome(tbl)
    return got, expected, used


def _batches_used(monkeypatch):
    """A list that gets one item per batch whose joined parse was used (not read file by file)."""
    used = []
    finish = delimited._Reader.finish_batch

    def counting(self, *args):
        table = finish(self, *args)
        if table is not None:
            used.append(table.num_rows)
        return table

    monkeypatch.setattr(delimited._Reader, "finish_batch", counting)
    return used


def _same(got, expected, label):
    if isinstance(expected, str):
        assert got == expected, label
    else:
        assert not isinstance(got, str), (label, got)
        pd.testing.assert_frame_equal(got, expected, obj=label)


@pytest.mark.parametrize("header", ["all_files_same_headers", "all_files_different_headers", "from_first_file"])
def test_a_late_file_among_many_small_ones_reads_as_one_by_one(tmp_path, monkeypatch, small_batches, header):
    for number, (label, late) in enumerate(LATE.items()):
        (tmp_path / str(number)).mkdir()
        folder = _folder(tmp_path / str(number), late)
        tbl = mltable.from_delimited_files([{"folder": str(folder)}], header=header, include_path_column=True)
        got, expected, used = _read_twice(monkeypatch, tbl)
        # The files before the late one were parsed together, and (unless it fails) those after it too.
        assert len(used) >= (1 if isinstance(expected, str) else 3), label
        _same(got, expected, f"{header}: {label}")
        if label == "fits" and header != "from_first_file":
            assert got["Path"].nunique() == 40 and len(got) == 250 + 39 * 3
            assert got.dtypes.astype(str).tolist()[1:] == ["int64", got.dtypes["Path"], "float64", "datetime64[ns]",
                                                           "bool"]


def test_errors_name_the_file_after_a_batch(tmp_path, monkeypatch):
    folder = _folder(tmp_path, HEADER + '\n5,"x\ny",1.5,2024-03-01 00:00:00,true\n', files=600, where=500)
    tbl = mltable.from_delimited_files([{"folder": str(folder)}])
    used = _batches_used(monkeypatch)
    with pytest.raises(UserErrorException) as error:
        tbl.to_pandas_dataframe()
    assert "0500.csv" in str(error.value) and len(used) > 1
    # take() stops before the bad file: it never fails on a file it did not need.
    assert len(tbl.take(400).to_pandas_dataframe()) == 400


def test_many_widenings_late_in_many_files(tmp_path, monkeypatch):
    # Several batches: one widens score to float in its middle file, a later one id to text; another
    # holds a large float. The batch holding each is read file by file, the others at once.
    (tmp_path / "0000.csv").write_text(HEADER + "\n" + "".join(
        f"{i},n{i},{i},2024-01-01 00:00:00,true\n" for i in range(250)))    # score inferred as int
    for number in range(1, 1200):
        rows = [f"{number * 10 + k},m,{k},2024-02-01 00:00:00,false" for k in range(3)]
        if number == 300:
            rows[1] = f"{number * 10},m,0.5,2024-02-01 00:00:00,false"
        if number == 700:
            rows[2] = f"{number * 10},m,1e17,2024-02-01 00:00:00,false"
        if number == 1100:
            rows[0] = "eleven,m,1,2024-02-01 00:00:00,false"
        (tmp_path / f"{number:04d}.csv").write_text(HEADER + "\n" + "\n".join(rows) + "\n")
    tbl = mltable.from_delimited_files([{"folder": str(tmp_path)}], include_path_column=True)
    got, expected, used = _read_twice(monkeypatch, tbl)
    assert len(used) >= 2   # the batches without a widening file (the default sizes: 32 KiB, 128 KiB)
    pd.testing.assert_frame_equal(got, expected)
    assert "eleven" in got["id"].tolist() and len(got) == 250 + 1199 * 3


def test_partition_columns_and_selected_partitions_from_batched_files(tmp_path, monkeypatch):
    for year in (2023, 2024):
        folder = tmp_path / f"year={year}"
        folder.mkdir()
        if year == 2023:
            (folder / "000.csv").write_text(FIRST)
        for number in range(1, 60):
            (folder / f"{number:03d}.csv").write_text(small(number))
    tbl = mltable.from_delimited_files([{"folder": str(tmp_path)}]).extract_columns_from_partition_format(
        "/year={year}/{file}.csv")
    got, expected, used = _read_twice(monkeypatch, tbl)
    assert used
    pd.testing.assert_frame_equal(got, expected)
    assert sorted(got["year"].unique().tolist()) == [2023, 2024]
    picked = tbl.select_partitions([0, 70, 100])
    pd.testing.assert_frame_equal(_outcome(picked), _one_by_one(monkeypatch, picked))


OPTIONS = {
    "empty as string": dict(empty_as_string=True),
    "no inference": dict(infer_column_types=False),
    "overrides": dict(infer_column_types={"sample_size": 50, "column_type_overrides": {
        "score": "float", "id": "string", "flag": "boolean"}}),
    "multi-line": dict(support_multi_line=True),
    "tab-delimited": dict(delimiter="\t"),
}


@pytest.mark.parametrize("option", OPTIONS)
def test_reader_options_read_batched_files_as_one_by_one(tmp_path, monkeypatch, small_batches, option):
    options = dict(OPTIONS[option])
    for number, label in enumerate(["fits", "int widens to float", "large float", "bool becomes text", "empty values",
                                    "wider row", "no final line break", "byte-order mark"]):
        folder = tmp_path / str(number)
        folder.mkdir()
        late = LATE[label]
        if option == "tab-delimited":
            late = late.replace(",", "\t")
        _folder(folder, late)
        if option == "tab-delimited":
            for path in folder.iterdir():
                if path.name != f"{20:04d}.csv":
                    path.write_text(path.read_text(encoding="utf-8-sig").replace(",", "\t"))
        tbl = mltable.from_delimited_files([{"folder": str(folder)}], **options)
        for variant in (tbl, tbl.keep_columns(["score", "flag"])):
            got, expected, used = _read_twice(monkeypatch, variant)
            assert len(used) >= (1 if isinstance(expected, str) else 3), label
            _same(got, expected, f"{option}: {label}")
