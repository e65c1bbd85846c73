"""The plan ↔ MLTable YAML mapping: save/load round trips, validation of loaded files (§15, §16)."""

import os

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

import mltable_lite as mltable
from mltable_lite import DataType, UserErrorException


@pytest.fixture
def data(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    pq.write_table(pa.table({"a": [1, 2, 3, 4], "b": ["w", "x", "y", "z"], "c": [0.5, 1.5, 2.5, 3.5]}),
                   folder / "t.parquet")
    (folder / "t.csv").write_text("a,b,c\n1,w,0.5\n2,x,1.5\n3,y,2.5\n4,z,3.5\n")
    return folder


def every_step_table(data):
    tbl = mltable.from_parquet_files([{"file": str(data / "t.parquet")}])
    return [
        tbl,
        tbl.take(2),
        tbl.skip(1),
        tbl.filter('a > 1 and b != "z"'),
        tbl.keep_columns(["b", "a"]),
        tbl.drop_columns("c"),
        tbl.take_random_sample(0.5, seed=3),
        *tbl.random_split(0.4, seed=9),
        tbl.skip(1).take(2).keep_columns("a"),
        tbl.convert_column_types({"a": "float", ("b",): DataType.to_string(), "c": DataType.to_int()}),
        tbl.convert_column_types({"b": DataType.to_bool(true_values=["w"], false_values=["x"], mismatch_as="false")}),
        tbl.convert_column_types({"b": DataType.to_datetime(["%Y", "%d/%m/%Y"], date_constant="2020-01-01")}),
        tbl.select_partitions([0]),
        mltable.from_parquet_files([{"pattern": str(data / "*.parquet")}], include_path_column=True)
        .extract_columns_from_partition_format("{name}.parquet").filter('name == "t"'),
        mltable.from_paths([{"folder": str(data)}]),
        mltable.from_delimited_files([{"pattern": str(data / "*.csv")}], delimiter=",", header="from_first_file",
                                     infer_column_types={"sample_size": 10,
                                                         "column_type_overrides": {"a": "float", ("b",): DataType.to_string()}}),
        mltable.from_json_lines_files([{"file": str(data / "t.jsonl")}], invalid_lines="drop"),
    ]


def test_load_of_save_equals_the_table_for_every_step(data, tmp_path):
    for index, tbl in enumerate(every_step_table(data)):
        folder = tmp_path / f"saved{index}"
        assert tbl.save(str(folder)) is tbl
        loaded = mltable.load(str(folder))
        assert loaded == tbl, (index, str(tbl), str(loaded))
        assert hash(loaded) == hash(tbl)
        assert str(loaded) == str(tbl)


def test_load_of_save_gives_the_same_dataframe(data, tmp_path):
    for index, tbl in enumerate(every_step_table(data)[:15]):
        folder = tmp_path / f"saved{index}"
        tbl.save(str(folder))
        expected, got = tbl.to_pandas_dataframe(), mltable.load(str(folder)).to_pandas_dataframe()
        assert got.equals(expected), index


def test_save_writes_relative_paths_and_all_defaults(data, tmp_path):
    tbl = mltable.from_parquet_files([{"file": str(data / "t.parquet")}]).take(2)
    tbl.save(str(tmp_path / "out" / "deep"))
    text = (tmp_path / "out" / "deep" / "MLTable").read_text()
    document = yaml.safe_load(text)
    assert document == {
        "paths": [{"file": "../../data/t.parquet"}],
        "transformations": [{"read_parquet": {"include_path_column": False, "path_column": "Path"}}, {"take": 2}],
        "type": "mltable",
    }
    assert text == yaml.safe_dump(document, default_flow_style=False, sort_keys=True)


def test_save_refuses_to_overwrite_when_asked(data, tmp_path):
    tbl = mltable.from_parquet_files([{"file": str(data / "t.parquet")}])
    tbl.save(str(tmp_path / "s"))
    with pytest.raises(UserErrorException, match="Destination already exists or is not empty."):
        tbl.save(str(tmp_path / "s"), overwrite=False)
    (tmp_path / "plainfile").write_text("x")
    with pytest.raises(UserErrorException, match="Destination already exists or is not empty."):
        tbl.save(str(tmp_path / "plainfile"))


def test_colocated_save_copies_the_data(data, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    tbl = mltable.from_parquet_files([{"file": "data/t.parquet"}])
    tbl.save(str(tmp_path / "colo"), colocated=True)
    assert (tmp_path / "colo" / "data" / "t.parquet").exists()
    assert yaml.safe_load((tmp_path / "colo" / "MLTable").read_text())["paths"] == [{"file": "data/t.parquet"}]
    os.remove(data / "t.parquet")
    assert mltable.load(str(tmp_path / "colo")).to_pandas_dataframe()["a"].tolist() == [1, 2, 3, 4]


def write_mltable(folder, text):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "MLTable").write_text(text)
    return str(folder)


def test_load_resolves_relative_paths_against_the_mltable_folder(data, tmp_path, monkeypatch):
    folder = write_mltable(tmp_path / "a" / "b", "paths:\n- file: ../../data/t.parquet\ntransformations:\n- read_parquet: {}\n")
    monkeypatch.chdir("/")
    tbl = mltable.load(folder + "/")
    assert tbl.to_pandas_dataframe()["b"].tolist() == ["w", "x", "y", "z"]
    assert tbl.paths == [{"file": "../../data/t.parquet"}]
    assert "file://" + str(data / "t.parquet") in str(tbl)


def test_metadata_and_traits_are_kept(data, tmp_path):
    folder = write_mltable(tmp_path / "m", (
        "paths:\n- file: ../data/t.parquet\ntransformations:\n- read_parquet: {}\n"
        "metadata:\n  owner: ana\n  tags: [x, y]\ntraits:\n  index_columns: [a]\n  timestamp_column: c\n"))
    tbl = mltable.load(folder)
    assert tbl.metadata.get("owner") == "ana" and tbl.metadata.get("tags") == ["x", "y"]
    assert tbl.traits.index_columns == ["a"] and tbl.traits.timestamp_column == "c"
    with pytest.raises(UserErrorException, match="Columns in traits must be kept and cannot be dropped"):
        tbl.drop_columns("a")
    tbl.save(str(tmp_path / "m2"))
    again = mltable.load(str(tmp_path / "m2"))
    assert again == tbl and again.metadata.get("tags") == ["x", "y"]


@pytest.mark.parametrize("name", ["nothing_here", "lowercase"])
def test_load_without_mltable_file(tmp_path, name):
    folder = tmp_path / name
    folder.mkdir()
    if name == "lowercase":
        (folder / "mltable").write_text("paths: []\n")
    with pytest.raises(UserErrorException, match="Not able to find MLTable file from the MLTable folder"):
        mltable.load(str(folder))


def test_load_of_the_file_itself_is_rejected(tmp_path):
    folder = write_mltable(tmp_path / "f", "paths: []\n")
    with pytest.raises(UserErrorException, match="Not able to find MLTable file"):
        mltable.load(folder + "/MLTable")


@pytest.mark.parametrize("text, fragment", [
    ("paths: [\n", "MLTable yaml is invalid"),
    ("", "does not adhere to the AzureML MLTable schema"),
    ("paths:\n- file: a\n  folder: b\n", "does not adhere to the AzureML MLTable schema"),
    ("paths:\n- file: a\ntransformations:\n- frobnicate: 1\n", "does not adhere to the AzureML MLTable schema"),
    ("paths:\n- file: a\ntransformations:\n- read_delimited:\n    header: sometimes\n",
     "does not adhere to the AzureML MLTable schema"),
    ("paths:\n- file: a\ntransformations:\n- extract_columns_from_partition_format: '{a}/x.csv'\n",
     "does not adhere to the AzureML MLTable schema"),
    ("!!python/object/apply:os.system ['echo hacked']\n", "MLTable yaml is invalid"),
])
def test_invalid_mltable_files_fail_at_load(tmp_path, text, fragment):
    folder = write_mltable(tmp_path / "bad", text)
    with pytest.raises(UserErrorException, match=fragment) as caught:
        mltable.load(folder)
    assert "MLTable" in str(caught.value)


def test_str_shows_yaml_with_absolute_paths_and_defaults(data):
    text = str(mltable.from_delimited_files([{"file": str(data / "t.csv")}]))
    document = yaml.safe_load(text)
    assert document["paths"] == [{"file": "file://" + str(data / "t.csv")}]
    assert document["transformations"][0]["read_delimited"] == {
        "delimiter": ",", "empty_as_string": False, "encoding": "utf8", "header": "all_files_same_headers",
        "include_path_column": False, "infer_column_types": True, "partition_size": 20971520,
        "path_column": "Path", "support_multi_line": False}
    assert yaml.safe_load(str(mltable.from_paths([]))) == {"paths": [], "type": "mltable"}


def test_a_one_name_list_stays_a_list_in_str_and_save(tmp_path):
    """Observed: the reference writes `columns: [val]` back as a list, and `columns: val` as a string."""
    folder = tmp_path / "t"
    folder.mkdir()
    (folder / "d.csv").write_text("val,b\n1,2\n")
    (folder / "MLTable").write_text(
        "paths:\n- file: d.csv\ntransformations:\n- read_delimited: {}\n- convert_column_types:\n"
        "  - columns: [val]\n    column_type: int\n  - columns: b\n    column_type: float\n")
    tbl = mltable.load(str(folder))
    expected = [{"column_type": "int", "columns": ["val"]}, {"column_type": "float", "columns": "b"}]
    assert yaml.safe_load(str(tbl))["transformations"][1]["convert_column_types"] == expected
    tbl.save(str(tmp_path / "saved"))
    saved = yaml.safe_load((tmp_path / "saved" / "MLTable").read_text())
    assert saved["transformations"][1]["convert_column_types"] == expected
    # From Python: a one-name tuple is a list, a string a string; the two tables are still equal.
    built = mltable.from_delimited_files([{"file": str(folder / "d.csv")}])
    as_tuple = built.convert_column_types({("val",): DataType.to_int()})
    assert yaml.safe_load(str(as_tuple))["transformations"][1]["convert_column_types"][0]["columns"] == ["val"]
    assert as_tuple == built.convert_column_types({"val": DataType.to_int()})
