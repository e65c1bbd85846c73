"""save(): the reference's overwrite options, colocated copies that never replace user files unless asked,
removal of what a failed save copied, progress, and concurrent saves into one folder."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest
import yaml

import mltable_lite as mltable
from mltable_lite import UserErrorException
from mltable_lite.mltable import MLTableSaveOverwriteOption


@pytest.fixture
def work(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.csv").write_text("k,v\n1,one\n2,two\n")
    (tmp_path / "data" / "b.csv").write_text("k,v\n3,three\n")
    return tmp_path


def table(pattern="data/*.csv"):
    return mltable.from_delimited_files([{"pattern": pattern}])


@pytest.mark.parametrize("fail", [False, "fail", MLTableSaveOverwriteOption.FAIL_ON_CONFLICT])
def test_fail_on_conflict_refuses_an_existing_mltable(work, fail):
    table("data/a.csv").save("out")
    before = (work / "out" / "MLTable").read_text()
    with pytest.raises(UserErrorException, match="Destination already exists or is not empty") as raised:
        table("data/b.csv").save("out", overwrite=fail)
    assert raised.value.error_code == "ScriptExecution.WriteStreams.AlreadyExists"
    assert (work / "out" / "MLTable").read_text() == before


def test_skip_keeps_and_overwrite_replaces(work):
    table("data/a.csv").save("out")
    table("data/b.csv").save("out", overwrite="skip")
    assert mltable.load("out").paths == [{"pattern": "../data/a.csv"}]
    table("data/b.csv").save("out", overwrite=MLTableSaveOverwriteOption.OVERWRITE)
    assert mltable.load("out").paths == [{"pattern": "../data/b.csv"}]
    with pytest.raises(UserErrorException, match="bogus is not a supported overwrite option"):
        table().save("out", overwrite="bogus")


def test_colocated_never_replaces_a_user_file_unless_asked(work):
    (work / "out" / "data").mkdir(parents=True)
    (work / "out" / "data" / "a.csv").write_text("k,v\n9,the user's\n")
    with pytest.raises(UserErrorException, match="already holds .*a.csv"):
        table().save("out", colocated=True, overwrite=False)
    assert (work / "out" / "data" / "a.csv").read_text() == "k,v\n9,the user's\n"
    assert sorted(os.listdir(work / "out" / "data")) == ["a.csv"]  # b.csv copied, then removed with the failure
    table().save("out", colocated=True, overwrite="skip")
    assert (work / "out" / "data" / "a.csv").read_text() == "k,v\n9,the user's\n"
    assert (work / "out" / "data" / "b.csv").exists()
    table().save("out", colocated=True, overwrite=True)
    assert (work / "out" / "data" / "a.csv").read_text() == "k,v\n1,one\n2,two\n"
    assert mltable.load("out").to_pandas_dataframe()["k"].tolist() == [1, 2, 3]


@pytest.mark.parametrize("remove", [True, False])
def test_a_failed_save_removes_what_it_copied(work, remove):
    (work / "out" / "MLTable").mkdir(parents=True)  # the MLTable file cannot be written: the save fails last
    with pytest.raises(Exception):
        table().save("out", colocated=True, if_err_remove_files=remove)
    copied = sorted(p.name for p in (work / "out").rglob("*.csv"))
    assert copied == ([] if remove else ["a.csv", "b.csv"])
    assert not [p for p in (work / "out").rglob("*") if p.name.endswith(".tmp")]


def test_save_shows_progress_when_asked(work, capfd):
    table().save("quiet", colocated=True)
    assert capfd.readouterr() == ("", "")
    table().save("loud", colocated=True, show_progress=True)
    assert "files=2/2" in capfd.readouterr().err


def test_concurrent_saves_into_one_folder(work):
    first, second = table("data/a.csv"), table("data/b.csv")
    errors = []

    def save_many(tbl):
        try:
            for _ in range(30):
                tbl.save("shared")
        except Exception as error:  # noqa: BLE001 — collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=save_many, args=(tbl,)) for tbl in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    saved = yaml.safe_load((work / "shared" / "MLTable").read_text())["paths"]
    assert saved in ([{"pattern": "../data/a.csv"}], [{"pattern": "../data/b.csv"}])
    assert os.listdir(work / "shared") == ["MLTable"]


SAVER = """
import sys
import mltable_lite as mltable
pattern, folder, times, colocated = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == "1"
table = mltable.from_delimited_files([{"pattern": pattern}])
for _ in range(times):
    table.save(folder, colocated=colocated, overwrite=True)
print("saved", flush=True)
"""


@pytest.mark.parametrize("colocated", [False, True])
def test_two_processes_saving_into_one_folder_while_it_is_read(work, colocated):
    """Two processes save 25 times each into one folder while this one loads it: no save fails,
    and every load reads one of the two tables whole (an MLTable file is never seen half written)."""
    expected = {"data/a.csv": [1, 2], "data/b.csv": [3]}
    table("data/a.csv").save("shared", colocated=colocated)
    savers = [subprocess.Popen([sys.executable, "-c", SAVER, pattern, "shared", "25", str(int(colocated))],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=work)
              for pattern in expected]
    seen = set()
    while any(saver.poll() is None for saver in savers):
        loaded = mltable.load("shared")
        rows = loaded.to_pandas_dataframe()["k"].tolist()
        assert rows in expected.values(), rows
        seen.add(tuple(rows))
    for saver in savers:
        out, err = saver.communicate(timeout=60)
        assert saver.returncode == 0 and out.strip() == "saved", err[-2000:]
    assert seen
    assert tuple(mltable.load("shared").to_pandas_dataframe()["k"]) in {(1, 2), (3,)}
    assert not [name for _, _, names in os.walk(work / "shared") for name in names if name.endswith(".tmp")]


def test_every_file_a_save_writes_is_synced_before_its_rename(work, monkeypatch):
    """A crash right after a save must not leave an empty or partial file under the final name:
    each file's data is fsynced before the rename, and the folder after it (the real calls run)."""
    events = []
    real_fsync, real_replace, real_link = os.fsync, os.replace, os.link

    def fsync(descriptor):
        info = os.fstat(descriptor)
        events.append(("fsync", "folder" if os.path.stat.S_ISDIR(info.st_mode) else info.st_ino))
        return real_fsync(descriptor)

    def rename(kind, real):
        def run(source, destination, *args, **kwargs):
            events.append((kind, os.stat(source).st_ino))
            return real(source, destination, *args, **kwargs)
        return run

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", rename("rename", real_replace))
    monkeypatch.setattr(os, "link", rename("rename", real_link))
    written = [work / "synced" / "MLTable", work / "synced" / "data" / "a.csv", work / "synced" / "data" / "b.csv"]
    for overwrite in (False, True):   # a new name is linked into place, an existing one replaced
        events.clear()
        table().save("synced", colocated=True, overwrite=overwrite)
        for path in written:
            inode = path.stat().st_ino
            renamed = len(events) - 1 - events[::-1].index(("rename", inode))
            assert ("fsync", inode) in events[:renamed], f"{path.name} renamed before its data was synced"
            assert ("fsync", "folder") in events[renamed + 1:], f"{path.name}'s folder not synced after the rename"
