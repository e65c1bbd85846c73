"""A process SIGKILLed by its parent at several points of a write or a colocated save: the destination
still loads its previous table or the complete new one, and no file is ever partial under its name."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from pandas.testing import assert_frame_equal

import mltable_lite as mltable

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")

WRITER = """
import sys
import mltable_lite as mltable
source, destination = sys.argv[1], sys.argv[2]
table = mltable.from_delimited_files([{"folder": source}])
print("ready", flush=True)
table.to_parquet_files(destination, overwrite=True, max_rows_per_file=500)
print("done", flush=True)
"""

SAVER = """
import sys
import mltable_lite as mltable
source, destination = sys.argv[1], sys.argv[2]
table = mltable.from_delimited_files([{"pattern": source + "/*.csv"}])
print("ready", flush=True)
table.save(destination, colocated=True, overwrite=True)
print("done", flush=True)
"""

DELAYS = (None, 0.0, 0.02, 0.08, 0.2)


def _files(folder) -> set:
    return {os.path.join(root, name) for root, _, names in os.walk(folder) for name in names}


def _state(folder) -> set:
    """Every file below ``folder`` with its size and change time: any write shows (a new name, or a
    file rewritten in place under its old one)."""
    found = set()
    for path in _files(folder):
        try:
            status = os.stat(path)
        except OSError:
            continue
        found.add((path, status.st_size, status.st_mtime_ns))
    return found


def write_rows(folder, value: int, files: int, rows: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(files):
        (folder / f"f{index:02d}.csv").write_text("id,value,pad\n" + "".join(
            f"{index * rows + row},{value},{'x' * 40}\n" for row in range(rows)))


def run_and_kill(script: str, source, destination, delay: float | None, watch=_files) -> bool:
    """Start ``script`` and SIGKILL it: at once when ``delay`` is None, else ``delay`` s after
    ``watch(destination)`` first changes (a new file; with :func:`_state`, any write), so the kill
    lands inside the write however loaded the machine is. True if it finished first."""
    before = watch(destination)
    child = subprocess.Popen([sys.executable, "-c", script, str(source), str(destination)],
                             stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "ready"
    if delay is not None:
        deadline = time.monotonic() + 60
        while watch(destination) == before and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.001)
        time.sleep(delay)
    child.send_signal(signal.SIGKILL)
    rest = child.stdout.read()
    child.wait(timeout=30)
    return "done" in rest


def test_killed_writes_leave_the_previous_table_or_the_new_one(tmp_path):
    old, new = tmp_path / "old", tmp_path / "new"
    write_rows(old, 1, files=2, rows=300)
    write_rows(new, 2, files=12, rows=2000)
    destination = str(tmp_path / "out")
    old_frame = mltable.from_delimited_files([{"folder": str(old)}]).to_pandas_dataframe()
    new_frame = mltable.from_delimited_files([{"folder": str(new)}]).to_pandas_dataframe()
    outcomes = []
    for delay in DELAYS:
        mltable.from_delimited_files([{"folder": str(old)}]).to_parquet_files(destination, overwrite=True)
        finished = run_and_kill(WRITER, new, destination, delay)
        loaded = mltable.load(destination).to_pandas_dataframe()
        if finished:
            assert_frame_equal(loaded, new_frame)
        elif len(loaded) != len(new_frame):   # killed after its commit, before it said "done": the new one
            assert_frame_equal(loaded, old_frame)  # not committed: the previous table, whole
        else:
            assert_frame_equal(loaded, new_frame)
        leftovers = [name for _, _, names in os.walk(destination) for name in names if name.endswith(".tmp")]
        outcomes.append((finished, len(os.listdir(destination))))
        assert all(name.startswith(".") for name in leftovers)  # never under a data file's name
    assert any(not finished and files > 2 for finished, files in outcomes), \
        f"no kill landed in the middle of a write: {outcomes}"
    # The next write removes what the killed ones left: their data files at once, an MLTable
    # temporary once it is stale (a young one may be a live writer's), here aged by an hour.
    an_hour_ago = time.time() - 3600
    for name in os.listdir(destination):
        if name.startswith(".MLTable."):
            os.utime(os.path.join(destination, name), (an_hour_ago, an_hour_ago))
    mltable.from_delimited_files([{"folder": str(old)}]).to_parquet_files(destination, overwrite=True)
    assert [name for name in os.listdir(destination) if name != "MLTable"] == \
        [name for name in os.listdir(destination) if name.endswith(".parquet")]  # no temporary file left
    assert len([name for name in os.listdir(destination) if name.endswith(".parquet")]) == 1


def test_killed_colocated_saves_never_leave_a_partial_file(tmp_path, monkeypatch):
    old, new = tmp_path / "old" / "data", tmp_path / "new" / "data"
    write_rows(old, 1, files=6, rows=40000)
    write_rows(new, 2, files=6, rows=40000)
    destination = tmp_path / "saved"
    contents = {name: {(old / name).read_bytes(), (new / name).read_bytes()} for name in os.listdir(old)}
    interrupted = 0
    for delay in (None, 0.0, 0.0, 0.003, 0.01, 0.03, 0.2):
        monkeypatch.chdir(old.parent)
        mltable.from_delimited_files([{"pattern": "data/*.csv"}]).save(str(destination), colocated=True)
        monkeypatch.chdir(new.parent)
        # Watching every write, not only new names: a copy rewriting a file in place must be caught too.
        interrupted += not run_and_kill(SAVER, "data", destination, delay, watch=_state)
        for name in os.listdir(destination / "data"):
            if not name.startswith("."):
                assert (destination / "data" / name).read_bytes() in contents[name], name
        assert len(mltable.load(str(destination)).to_pandas_dataframe()) == 6 * 40000
    assert interrupted
