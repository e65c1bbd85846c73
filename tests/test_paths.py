"""Path specs and globbing (COMPATIBILITY.md §2, §4), on real folders written by the tests."""

import os

import pytest

import mltable_lite as mltable
from mltable_lite import ExecutionError, StreamInfo, UserErrorException


def _write(root, *relative_paths):
    for relative in relative_paths:
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("a\n1\n")


@pytest.fixture
def tree(tmp_path):
    _write(tmp_path, "tree/a1.csv", "tree/b.csv", "tree/x/a2.csv", "tree/x/y/a3.csv", "tree/x/note.txt",
           "tree/_SUCCESS", "tree/.hidden.csv", "tree/_dir/u.csv", "tree/.dir/h.csv", "tree/name with space#%[1].csv")
    return tmp_path / "tree"


def listed(tbl):
    return [info.resource_id for info in tbl.to_pandas_dataframe()["Path"]]


def rel(root, paths):
    return [os.path.relpath(p, root) for p in paths]


def test_folder_is_recursive_sorted_and_skips_nothing(tree):
    got = rel(tree, listed(mltable.from_paths([{"folder": str(tree)}])))
    assert got == sorted(got)
    assert set(got) == {"a1.csv", "b.csv", "x/a2.csv", "x/y/a3.csv", "x/note.txt", "_SUCCESS", ".hidden.csv",
                        "_dir/u.csv", ".dir/h.csv", "name with space#%[1].csv"}


@pytest.mark.parametrize("pattern, expected", [
    ("*.csv", [".hidden.csv", "a1.csv", "b.csv", "name with space#%[1].csv"]),
    ("a?.csv", ["a1.csv"]),
    ("[ab]*.csv", ["a1.csv", "b.csv"]),
    ("[!a]*.csv", [".hidden.csv", "b.csv", "name with space#%[1].csv"]),
    ("**/a*.csv", ["a1.csv", "x/a2.csv", "x/y/a3.csv"]),
    ("x/**/*.csv", ["x/a2.csv", "x/y/a3.csv"]),
    ("*/a*.csv", ["x/a2.csv"]),
    ("x", ["x/a2.csv", "x/note.txt", "x/y/a3.csv"]),
    ("b.csv", ["b.csv"]),
])
def test_pattern_semantics(tree, pattern, expected):
    assert rel(tree, listed(mltable.from_paths([{"pattern": f"{tree}/{pattern}"}]))) == expected


@pytest.mark.parametrize("pattern", ["**", "*.parquet", "{a,b}1.csv", "nothing/*.csv"])
def test_pattern_without_match_is_not_found(tree, pattern):
    with pytest.raises(UserErrorException, match="The requested stream was not found") as caught:
        mltable.from_paths([{"pattern": f"{tree}/{pattern}"}]).to_pandas_dataframe()
    assert pattern in str(caught.value)
    assert caught.value.error_code == "ScriptExecution.StreamAccess.NotFound"


def test_double_star_inside_a_segment_is_an_execution_error(tree):
    with pytest.raises(ExecutionError, match=r"\*\*"):
        mltable.from_paths([{"pattern": f"{tree}/**.csv"}]).to_pandas_dataframe()


def test_missing_file_and_folder_and_empty_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    for spec in ({"file": str(tmp_path / "nope.csv")}, {"folder": str(tmp_path / "nope")},
                 {"folder": str(tmp_path / "empty")}):
        with pytest.raises(UserErrorException, match="The requested stream was not found"):
            mltable.from_paths([spec]).to_pandas_dataframe()


def test_file_kind_mismatch_is_execution_error(tree):
    with pytest.raises(ExecutionError, match="Is a directory"):
        mltable.from_paths([{"file": str(tree)}]).to_pandas_dataframe()
    with pytest.raises(ExecutionError, match="Not a directory"):
        mltable.from_paths([{"folder": str(tree / "b.csv")}]).to_pandas_dataframe()


def test_relative_paths_resolve_against_cwd_at_build(tree, monkeypatch):
    monkeypatch.chdir(tree)
    tbl = mltable.from_paths([{"file": "x/../b.csv"}])
    monkeypatch.chdir("/")
    assert listed(tbl) == [str(tree / "b.csv")]
    assert tbl.paths == [{"file": "x/../b.csv"}]
    assert "file://" + str(tree / "b.csv") in str(tbl)


def test_file_uris_and_special_characters(tree):
    name = str(tree / "name with space#%[1].csv")
    for given in (name, "file://" + name):
        assert listed(mltable.from_paths([{"file": given}])) == [name]


def test_several_specs_concatenate_in_order_and_repeat(tree):
    tbl = mltable.from_paths([{"file": str(tree / "b.csv")}, {"file": str(tree / "a1.csv")},
                              {"file": str(tree / "b.csv")}])
    assert rel(tree, listed(tbl)) == ["b.csv", "a1.csv", "b.csv"]


def test_from_paths_values_are_stream_infos(tree):
    df = mltable.from_paths([{"file": str(tree / "b.csv")}]).to_pandas_dataframe()
    value = df["Path"][0]
    assert isinstance(value, StreamInfo)
    assert str(value) == str(tree / "b.csv")
    assert repr(value) == f"StreamInfo[Local]({tree / 'b.csv'})"
    assert list(df.columns) == ["Path"] and df.index.equals(__import__("pandas").RangeIndex(1))


def test_empty_path_list_gives_empty_frame():
    assert mltable.from_paths([]).to_pandas_dataframe().shape == (0, 0)


@pytest.mark.parametrize("bad", ["a.csv", {"file": "a.csv"}, None, 5])
def test_paths_must_be_a_list(bad):
    with pytest.raises(TypeError):
        mltable.from_paths(bad)


@pytest.mark.parametrize("entry", [{"file": "a", "folder": "b"}, {"files": "a"}, {}])
def test_malformed_path_entries_fail_schema_at_build(entry):
    with pytest.raises(UserErrorException, match="is not valid under any of the given schemas"):
        mltable.from_paths([entry])


@pytest.mark.parametrize("builder", [mltable.from_paths, mltable.from_delimited_files, mltable.from_parquet_files,
                                     mltable.from_json_lines_files])
@pytest.mark.parametrize("entry", [{"file": None}, {"folder": None}, {"pattern": None}, {"folder": 1}, "a.csv"])
def test_path_entries_of_the_wrong_type_are_type_errors(builder, entry):
    # The reference raises TypeError/AttributeError here; ours is also a UserErrorException.
    with pytest.raises(TypeError, match="must be a dict with one key") as caught:
        builder([entry])
    assert isinstance(caught.value, UserErrorException)


def test_a_delta_table_uri_of_none_is_a_type_error():
    with pytest.raises(TypeError, match="delta_table_uri must be a non-empty string") as caught:
        mltable.from_delta_lake(None)
    assert isinstance(caught.value, UserErrorException)
