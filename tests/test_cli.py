"""The ``mltable-lite`` console script, run for real in a subprocess against local folders, the HTTP
server and Azurite: copies up, across and down are byte-identical, a second copy moves nothing, a
killed copy leaves no partial file under a final name and resumes, every command prints what it
should, and mistakes are one line on stderr with a non-zero exit."""

import fcntl
import os
import pty
import shutil
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import mltable_lite as mltable

SCRIPT = Path(sys.executable).with_name("mltable-lite")
ROOT = Path(__file__).resolve().parent.parent
TRIPS = str(ROOT / "examples" / "trips")
ACCOUNT = "mltablelite"
BIG = 9 << 20   # more than one part (8 MiB): ranged reads, parallel blocks


def run(*arguments, env=None, cwd=None, timeout=120) -> subprocess.CompletedProcess:
    assert SCRIPT.exists(), f"{SCRIPT} is missing: install the package (pip install -e .) to get the console script"
    environment = {key: value for key, value in os.environ.items() if not key.startswith("AZURE_")}
    return subprocess.run([str(SCRIPT), *arguments], capture_output=True, text=True, timeout=timeout,
                          env={**environment, **(env or {})}, cwd=cwd)


def make_tree(root, big: int = 0) -> dict[str, bytes]:
    contents = {"a.csv": b"x,y\n1,2\n", "empty.txt": b"", "sub/b c.bin": os.urandom(3000)}
    if big:
        contents["sub/deeper/big.bin"] = os.urandom(big)
    for relative, data in contents.items():
        path = Path(root, *relative.split("/"))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return contents


def tree_of(root) -> dict[str, bytes]:
    return {path.relative_to(root).as_posix(): path.read_bytes() for path in Path(root).rglob("*")
            if path.is_file() and not path.name.startswith(".")}


def one_line_error(result: subprocess.CompletedProcess, status: int = 1) -> str:
    assert result.returncode == status, result
    assert result.stdout == "" and result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.startswith("mltable-lite")
    return result.stderr


# --- copy -------------------------------------------------------------------------------------


def test_copy_up_across_and_down_is_byte_identical_and_a_second_copy_moves_nothing(tmp_path, azurite):
    contents = make_tree(tmp_path / "src", big=BIG)
    env = {"AZURE_STORAGE_CONNECTION_STRING": azurite.connection_string(ACCOUNT)}   # credentials as in Python
    up = f"wasbs://cliup@{ACCOUNT}.blob.core.windows.net/tree/"
    across = f"abfss://cliacross@{ACCOUNT}.dfs.core.windows.net/copy"
    steps = [(str(tmp_path / "src"), up), (up, across), (across, str(tmp_path / "down"))]
    for source, destination in steps:
        result = run("copy", source, destination, env=env)
        assert result.returncode == 0 and result.stderr == "", result   # piped: no progress bar
        assert result.stdout.startswith(f"copied 4 files ({(BIG + 3008) / (1 << 20):.1f} MiB) in ")
    assert tree_of(tmp_path / "down") == contents
    for source, destination in steps:
        again = run("copy", source, destination, env=env)
        assert again.returncode == 0 and again.stdout == "nothing to copy; 4 files already up to date: skipped\n"
    planned = run("copy", "--dry-run", str(tmp_path / "src" / "sub"), across + "/elsewhere", env=env)
    assert planned.returncode == 0 and planned.stdout.splitlines() == [
        f"would copy  {tmp_path / 'src' / 'sub' / 'b c.bin'} -> {across}/elsewhere/b c.bin",
        f"would copy  {tmp_path / 'src' / 'sub' / 'deeper' / 'big.bin'} -> {across}/elsewhere/deeper/big.bin",
        f"would copy 2 files ({(BIG + 3000) / (1 << 20):.1f} MiB)"]


def test_a_killed_copy_leaves_no_partial_file_and_resumes(tmp_path, serve_http):
    source = tmp_path / "served"
    source.mkdir()
    for index in range(8):
        (source / f"a{index}.csv").write_bytes(os.urandom(1000 + index))
    (source / "z_big.bin").write_bytes(os.urandom(2 * (8 << 20) + 5))   # last in order, three parts
    served = serve_http(source, delay=0.2)   # a far server: the copy takes a while
    destination = tmp_path / "down"
    process = subprocess.Popen([str(SCRIPT), "copy", "-j", "2", served.url, str(destination)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    def writing_the_big_file() -> bool:
        return destination.exists() and any(name.startswith(".z_big.bin.") for name in os.listdir(destination))

    deadline = time.monotonic() + 60
    try:
        while not writing_the_big_file():
            assert process.poll() is None and time.monotonic() < deadline, "the copy ended before it was killed"
            time.sleep(0.01)
    finally:
        process.send_signal(signal.SIGKILL)   # mid-transfer: the big file is being written
        process.communicate(timeout=30)
    names = os.listdir(destination)
    assert "z_big.bin" not in names and any(name.startswith(".z_big.bin.") and name.endswith(".tmp") for name in names)
    for name in names:   # every file under a final name is whole
        if not name.startswith("."):
            assert (destination / name).read_bytes() == (source / name).read_bytes()
    resumed = run("copy", served.url, str(destination))
    assert resumed.returncode == 0, resumed
    done_before = len([name for name in names if not name.startswith(".")])
    assert f"{done_before} files already up to date" in resumed.stdout or done_before == 0
    assert tree_of(destination) == tree_of(source)


def test_copy_failures_are_summarised_per_file_with_a_non_zero_exit(tmp_path):
    make_tree(tmp_path / "src")
    shutil.copytree(tmp_path / "src", tmp_path / "dest")
    (tmp_path / "dest" / "a.csv").write_bytes(b"mine")
    result = run("copy", str(tmp_path / "src"), str(tmp_path / "dest"))
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.splitlines() == [
        "mltable-lite: error: nothing to copy; 2 files already up to date: skipped; 1 file failed",
        f"  failed: {tmp_path / 'src' / 'a.csv'} -> {tmp_path / 'dest' / 'a.csv'}: the destination exists and "
        "differs (4 bytes there, 8 in the source); pass overwrite=True (--overwrite) to replace it"]
    assert run("copy", "--overwrite", str(tmp_path / "src"), str(tmp_path / "dest")).returncode == 0
    assert (tmp_path / "dest" / "a.csv").read_bytes() == b"x,y\n1,2\n"


def test_the_progress_bar_shows_on_a_terminal_only(tmp_path):
    make_tree(tmp_path / "src", big=BIG)
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))   # a fresh pty is 0 wide
    try:
        process = subprocess.run([str(SCRIPT), "copy", str(tmp_path / "src"), str(tmp_path / "dest")],
                                 stdout=subprocess.PIPE, stderr=terminal, timeout=120)
        os.close(terminal)
        shown = b""
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(controller)
    assert process.returncode == 0
    text = shown.decode(errors="replace")
    assert "copying" in text and "files=4/4" in text and "/s" in text   # files, bytes, throughput
    quiet = run("copy", "-q", str(tmp_path / "src" / "a.csv"), str(tmp_path / "one.csv"))
    assert quiet.returncode == 0 and quiet.stdout == quiet.stderr == ""
    assert (tmp_path / "one.csv").read_bytes() == b"x,y\n1,2\n"


# --- the table commands ----------------------------------------------------------------------


def test_table_commands_print_what_they_should(tmp_path):
    shown = run("show", TRIPS, "-n", "2")
    assert shown.returncode == 0 and shown.stdout.splitlines() == [
        "   trip_id         pickup_time    vendor  passengers  distance_km   fare  paid_by_card",
        "0     1000 2024-01-22 09:27:00   Contoso           4         4.95  14.72         False",
        "1     1001 2024-01-25 06:22:00  Fabrikam           3         6.51  18.62         False"]
    schema = run("schema", str(ROOT / "examples" / "data" / "trips" / "*.csv"))
    assert schema.returncode == 0 and schema.stdout.splitlines()[:3] == [
        "column        pandas dtype    arrow type", "trip_id       int64           int64",
        "pickup_time   datetime64[ns]  timestamp[ns]"]
    explained = run("explain", TRIPS)
    assert explained.stdout == ("plan: 3 files, reader read_delimited, transforms: none\n"
                                "nothing to prune: every file and column is read\n")
    assert run("validate", TRIPS).stdout == "valid: 3 files (31.1 KiB), 7 columns, 100 rows read as a sample\n"
    listed = run("ls", str(ROOT / "examples" / "trips" / "MLTable")).stdout.splitlines()
    trips = ROOT / "examples" / "data" / "trips"
    assert listed == [f"{os.path.getsize(trips / name)}  {trips / name}" for name in
                      ("2024-01.csv", "2024-02.csv", "2024-03.csv")] + ["3 files, 31.1 KiB"]
    converted = run("convert", TRIPS, str(tmp_path / "parquet"), "--to", "parquet", "--partition-by", "vendor")
    assert converted.returncode == 0 and converted.stdout.startswith(f"wrote parquet to {tmp_path / 'parquet'}: 3 files")
    written = mltable.load(str(tmp_path / "parquet")).to_pandas_dataframe()
    original = mltable.load(TRIPS).to_pandas_dataframe()
    assert sorted(written["trip_id"]) == sorted(original["trip_id"]) and set(written["vendor"]) == set(original["vendor"])
    (tmp_path / "rows.jsonl").write_text('{"a": 1}\n{"a": 2}\n')
    assert run("show", str(tmp_path / "rows.jsonl")).stdout.splitlines() == ["   a", "0  1", "1  2"]


def test_http_tables_and_python_dash_m(tmp_path, serve_http):
    (tmp_path / "t.csv").write_text("name,n\nann,1\nbob,2\n")
    served = serve_http(tmp_path)
    assert run("ls", served.url + "t.csv").stdout == f"19  {served.url}t.csv\n1 file, 19 B\n"
    module = subprocess.run([sys.executable, "-m", "mltable_lite", "schema", served.url + "t.csv"],
                            capture_output=True, text=True, timeout=120)
    assert module.returncode == 0 and module.stdout.splitlines()[1:] == [
        "name    str           string", "n       int64         int64"]


# --- mistakes ---------------------------------------------------------------------------------


def test_bad_arguments_are_one_line_errors(tmp_path):
    assert "unrecognized arguments: --frob" in one_line_error(run("ls", TRIPS, "--frob"), status=2)
    assert "invalid choice: 'cpy'" in one_line_error(run("cpy", "a", "b"), status=2)
    assert "required: DESTINATION" in one_line_error(run("copy", "a"), status=2)
    assert "expected KEY=VALUE" in one_line_error(run("ls", TRIPS, "-o", "account_key"), status=2)
    assert "positive whole number" in one_line_error(run("show", TRIPS, "-n", "-3"), status=2)
    assert "Nothing exists at 'missing'" in one_line_error(run("show", "missing", cwd=tmp_path))
    assert "read-only" in one_line_error(run("copy", TRIPS, "https://example.org/x/"))
    assert "Cannot tell how to read" in one_line_error(run("show", str(ROOT / "README.md")))
    debug = run("show", "missing", "--debug", cwd=tmp_path)
    assert debug.returncode == 1 and "Traceback" in debug.stderr and debug.stderr.endswith(
        "mltable-lite: error: Nothing exists at 'missing'. Give an MLTable folder, a data asset, or data files, "
        "folders or glob patterns.\n")
    helped = run("copy", "--help")
    assert helped.returncode == 0 and "--overwrite" in helped.stdout and "example:" in helped.stdout


def test_secrets_are_never_printed(azurite):
    secret_key = "c2VjcmV0LWtleS10aGF0LW11c3Qtbm90LWxlYWstYW55d2hlcmU="
    uri = f"wasbs://nosuch@{ACCOUNT}.blob.core.windows.net/x/"
    options = ["-o", f"account_key={secret_key}", "-o", f"blob_endpoint={azurite.blob_endpoint(ACCOUNT)}"]
    for result in (run("ls", uri, *options), run("ls", uri, *options, "--debug"),
                   run("copy", uri, "/tmp/never", *options),
                   run("ls", uri + "?sv=2024&sig=c2lnbmF0dXJlLXNlY3JldA%3D%3D", "--debug",
                       "-o", f"blob_endpoint={azurite.blob_endpoint(ACCOUNT)}")):
        assert result.returncode == 1 and "error:" in result.stderr
        assert secret_key not in result.stderr + result.stdout
        assert "c2lnbmF0dXJlLXNlY3JldA" not in result.stderr + result.stdout
