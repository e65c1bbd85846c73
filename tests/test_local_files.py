"""Only regular files are data: FIFOs, devices, /proc files, dangling links and link loops are
refused with an error naming them, never read, never waited on, never skipped in silence."""

import fnmatch
import os
import re
import threading
import warnings

import pytest

from harness.isolated import Worker

import mltable_lite as mltable
from mltable_lite import ExecutionError, UserErrorException


@pytest.fixture(scope="module")
def worker():
    # A regression would block on a FIFO or read a device until memory runs out: such reads run
    # in a worker process with a time and memory limit.
    with Worker() as running:
        yield running


def _read_csv(spec):
    return mltable.from_delimited_files([spec]).to_pandas_dataframe()


def _refused(worker, request, match):
    outcome = worker.call(request, timeout=30)
    assert outcome.kind == "error" and outcome.error_type == "mltable_lite.errors.UserErrorException", str(outcome)
    assert re.search(match, outcome.message), outcome.message
    return outcome.message


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom", "/dev/null"])
def test_a_device_given_as_a_data_file_is_refused(worker, device):
    message = _refused(worker, {"builder": "from_delimited_files", "args": [[{"file": device}]]},
                       "not a regular file \\(a character device\\)")
    assert device in message


def test_a_fifo_is_refused_without_opening_it(worker, tmp_path):
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    _refused(worker, {"builder": "from_delimited_files", "args": [[{"file": str(fifo)}]]},
             "not a regular file \\(a named pipe\\)")
    _refused(worker, {"builder": "from_json_lines_files", "args": [[{"folder": str(tmp_path)}]]}, "pipe.csv")


def test_a_fifo_swapped_in_after_listing_is_refused_when_opened(tmp_path):
    from mltable_lite.storage import open_store

    fifo = tmp_path / "late.csv"
    os.mkfifo(fifo)
    store = open_store(str(fifo))
    done = threading.Event()
    outcome = []

    def open_it():
        try:
            store.open_input(str(fifo))
        except UserErrorException as error:
            outcome.append(error)
        done.set()

    threading.Thread(target=open_it, daemon=True).start()
    assert done.wait(10), "opening a FIFO blocked"
    assert outcome and "named pipe" in str(outcome[0])


def test_proc_files_are_not_data():
    with pytest.raises(UserErrorException, match="pseudo-file"):
        _read_csv({"file": "/proc/self/environ"})


@pytest.mark.parametrize("target", ["/dev/zero", "/dev/urandom", "fifo"])
def test_an_mltable_file_that_is_not_a_regular_file_is_refused(worker, tmp_path, target):
    folder = tmp_path / "t"
    folder.mkdir()
    if target == "fifo":
        os.mkfifo(folder / "MLTable")
    else:
        os.symlink(target, folder / "MLTable")
    _refused(worker, {"builder": "load", "args": [str(folder)]}, "not a regular file")


def test_a_dangling_link_in_a_folder_or_pattern_is_named(tmp_path):
    (tmp_path / "a.csv").write_text("x\n1\n")
    os.symlink(tmp_path / "gone.csv", tmp_path / "b.csv")
    for spec in ({"folder": str(tmp_path)}, {"pattern": f"{tmp_path}/*.csv"}, {"file": str(tmp_path / "b.csv")}):
        with pytest.raises(UserErrorException, match="b.csv' is a symbolic link to .*gone.csv', which does not exist"):
            _read_csv(spec)


def test_a_dangling_link_a_pattern_does_not_select_is_ignored(tmp_path):
    (tmp_path / "a.csv").write_text("x\n1\n")
    os.symlink(tmp_path / "gone.txt", tmp_path / "notes.txt")
    assert _read_csv({"pattern": f"{tmp_path}/*.csv"})["x"].tolist() == [1]


def test_link_loops_are_errors_naming_the_link(tmp_path):
    os.symlink(tmp_path / "b", tmp_path / "a")
    os.symlink(tmp_path / "a", tmp_path / "b")
    for spec in ({"file": str(tmp_path / "a")}, {"folder": str(tmp_path)}):
        with pytest.raises(UserErrorException, match="symbolic link loop"):
            _read_csv(spec)


def test_a_link_to_an_ancestor_folder_lists_each_file_once(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.csv").write_text("x\n1\n")
    os.symlink(tmp_path, tmp_path / "sub" / "up")
    got = mltable.from_paths([{"folder": str(tmp_path)}]).to_pandas_dataframe()["Path"]
    assert [str(info) for info in got] == [str(tmp_path / "sub" / "a.csv")]


def test_links_to_regular_files_and_folders_are_followed(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "a.csv").write_text("x\n1\n")
    view = tmp_path / "view"
    view.mkdir()
    os.symlink(data / "a.csv", view / "linked.csv")
    os.symlink(data, view / "linked_folder")
    assert _read_csv({"folder": str(view)})["x"].tolist() == [1, 1]


def test_invalid_or_impossible_patterns_raise_our_errors(tmp_path):
    (tmp_path / "a.csv").write_text("x\n1\n")
    with pytest.raises(UserErrorException, match="bad character range z-a"):
        _read_csv({"pattern": f"{tmp_path}/[z-a].csv"})
    with pytest.raises(ExecutionError, match="File name too long"):
        _read_csv({"pattern": f"{tmp_path}/{'a' * 5000}/*.csv"})
    (tmp_path / "[x.csv").write_text("x\n2\n")
    for unclosed in ("[x*.csv", "**/[x*.csv"):   # an unclosed class is literal, as in fnmatch
        assert _read_csv({"pattern": f"{tmp_path}/{unclosed}"})["x"].tolist() == [2]
    for unclosed in ("[abc/*.csv", "data/[", "[\\"):
        with pytest.raises(UserErrorException, match="The requested stream was not found"):
            _read_csv({"pattern": f"{tmp_path}/{unclosed}"})
    with pytest.raises(ExecutionError, match="File name too long"):
        _read_csv({"file": f"{tmp_path}/{'a' * 5000}.csv"})


@pytest.mark.parametrize("pattern, names", [("[[:alpha:]]*.csv", ["a].csv", "[].csv", "b].csv", "x.csv"]),
                                           ("[a&&b]x.csv", ["ax.csv", "&x.csv", "cx.csv"]),
                                           ("[!a~~b].csv", ["a.csv", "~.csv", "c.csv"])])
def test_class_characters_the_regex_engine_treats_specially_are_literal(tmp_path, pattern, names):
    # Nested sets and set operations are regex syntax (a FutureWarning today), not glob syntax.
    for name in names:
        (tmp_path / name).write_text("x\n1\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = mltable.from_paths([{"pattern": f"{tmp_path}/{pattern}"}]).to_pandas_dataframe()["Path"]
    assert [os.path.basename(str(info)) for info in got] == sorted(n for n in names if fnmatch.fnmatchcase(n, pattern))


@pytest.mark.parametrize("spec", [{"file": "a\x00b.csv"}, {"folder": "data\x00"}])
def test_a_nul_character_in_a_path_is_our_error(tmp_path, spec):
    with pytest.raises(UserErrorException, match="contains a NUL character"):
        mltable.from_delimited_files([spec]).to_pandas_dataframe()
    with pytest.raises(UserErrorException, match="contains a NUL character"):
        mltable.load(str(tmp_path / "x\x00y"))


def test_a_pattern_walks_only_the_folders_it_can_match(tmp_path, monkeypatch):
    from mltable_lite.storage import local_files

    for folder in ("2024/01", "2024/02", "2023/01", "other/deep/er/still"):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "a.csv").write_text("x\n1\n")
    listed = []
    real_scandir = os.scandir

    def scandir(path):
        listed.append(os.path.relpath(path, tmp_path))
        return real_scandir(path)

    monkeypatch.setattr(local_files.os, "scandir", scandir)
    got = mltable.from_paths([{"pattern": f"{tmp_path}/2024/*/a.csv"}]).to_pandas_dataframe()["Path"]
    assert [os.path.relpath(str(info), tmp_path) for info in got] == ["2024/01/a.csv", "2024/02/a.csv"]
    assert sorted(listed) == ["2024", "2024/01", "2024/02"]
    listed.clear()
    got = mltable.from_paths([{"pattern": f"{tmp_path}/**/still/*.csv"}]).to_pandas_dataframe()["Path"]
    assert [os.path.relpath(str(info), tmp_path) for info in got] == ["other/deep/er/still/a.csv"]
