"""``mltable_lite.copy`` and ``MLTable.download``: real files on disk, the HTTP server and Azurite.

Big-file paths (ranges, parts, blocks) run with a small part size, so a file of a few hundred KB
goes through exactly the code a multi-GB file does.
"""

import hashlib
import os

import pytest

import mltable_lite as mltable
from mltable_lite.storage import FileStat, open_store, parts
from mltable_lite.storage.copying import CopyFailed

ACCOUNT = "mltablelite"
PART = 64 << 10


@pytest.fixture
def small_parts(monkeypatch):
    monkeypatch.setattr(parts, "PART", PART)


def make_tree(root) -> dict[str, bytes]:
    """A small tree: nested folders, an empty file, a file of several parts, a name with a space."""
    contents = {"a.csv": b"x,y\n1,2\n", "empty.txt": b"", "sub/b c.bin": os.urandom(3000),
                "sub/deeper/big.bin": os.urandom(5 * PART + 123)}
    for relative, data in contents.items():
        path = os.path.join(root, *relative.split("/"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(data)
    return contents


def tree_of(root) -> dict[str, bytes]:
    found = {}
    for folder, _, names in os.walk(root):
        for name in names:
            path = os.path.join(folder, name)
            found[os.path.relpath(path, root).replace(os.sep, "/")] = open(path, "rb").read()
    return found


def test_local_tree_is_copied_byte_identical_then_skipped(tmp_path, small_parts):
    contents = make_tree(tmp_path / "src")
    result = mltable.copy(str(tmp_path / "src"), str(tmp_path / "dest"))
    assert tree_of(tmp_path / "dest") == contents
    assert len(result.copied) == 4 and result.bytes_copied == sum(map(len, contents.values()))
    again = mltable.copy(str(tmp_path / "src"), str(tmp_path / "dest"))
    assert again.copied == [] and len(again.skipped) == 4 and again.bytes_copied == 0


def test_a_different_destination_file_is_kept_unless_overwrite(tmp_path):
    make_tree(tmp_path / "src")
    mltable.copy(str(tmp_path / "src"), str(tmp_path / "dest"))
    mine = tmp_path / "dest" / "a.csv"
    mine.write_bytes(b"x,y\n9,9\n")   # same size, other bytes: only the MD5 tells
    with pytest.raises(CopyFailed, match="a.csv.*exists and differs.*different MD5.*overwrite") as failed:
        mltable.copy(str(tmp_path / "src"), str(tmp_path / "dest"))
    assert mine.read_bytes() == b"x,y\n9,9\n"
    assert len(failed.value.result.failed) == 1 and len(failed.value.result.skipped) == 3
    mltable.copy(str(tmp_path / "src"), str(tmp_path / "dest"), overwrite=True)
    assert mine.read_bytes() == b"x,y\n1,2\n"


def test_layout_of_patterns_single_files_and_dry_runs(tmp_path):
    make_tree(tmp_path / "src")
    mltable.copy(str(tmp_path / "src" / "**" / "*.bin"), str(tmp_path / "bins"))
    assert sorted(tree_of(tmp_path / "bins")) == ["sub/b c.bin", "sub/deeper/big.bin"]
    mltable.copy(str(tmp_path / "src" / "a.csv"), str(tmp_path / "renamed.csv"))
    mltable.copy(str(tmp_path / "src" / "a.csv"), str(tmp_path / "bins") + "/")
    assert (tmp_path / "renamed.csv").read_bytes() == (tmp_path / "bins" / "a.csv").read_bytes() == b"x,y\n1,2\n"
    planned = mltable.copy([{"folder": str(tmp_path / "src" / "sub")}], str(tmp_path / "none"), dry_run=True)
    assert sorted(destination.rsplit(os.sep, 1)[-1] for _, destination in planned.copied) == ["b c.bin", "big.bin"]
    assert not (tmp_path / "none").exists()


def test_mistakes_fail_before_anything_is_copied(tmp_path, serve_http):
    make_tree(tmp_path / "src")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "a.csv").write_bytes(b"another a")
    with pytest.raises(mltable.UserErrorException, match="folder inside it"):
        mltable.copy(str(tmp_path / "src"), str(tmp_path / "src" / "copy"))
    with pytest.raises(mltable.UserErrorException, match="Two source files .* 'a.csv'"):
        mltable.copy([str(tmp_path / "src" / "a.csv"), str(tmp_path / "other")], str(tmp_path / "dest"))
    with pytest.raises(mltable.UserErrorException, match="read-only"):
        mltable.copy(str(tmp_path / "src"), serve_http(tmp_path).url + "dest/")
    with pytest.raises(mltable.UserErrorException, match="not found.*nothing exists"):
        mltable.copy(str(tmp_path / "missing"), str(tmp_path / "dest"))
    with pytest.raises(mltable.UserErrorException, match="onto itself"):
        mltable.copy(str(tmp_path / "src" / "a.csv"), str(tmp_path / "src" / "a.csv"))
    assert not (tmp_path / "dest").exists() and not (tmp_path / "src" / "copy").exists()


@pytest.mark.parametrize("ranges", [True, False])
def test_http_folder_is_downloaded_in_parts_or_as_a_stream(tmp_path, serve_http, small_parts, ranges):
    contents = make_tree(tmp_path / "src")
    served = serve_http(tmp_path / "src", ranges=ranges)
    mltable.copy(served.url, str(tmp_path / "dest"))
    assert tree_of(tmp_path / "dest") == contents
    big = [(method, wanted) for method, path, wanted in served.requests
           if path == "/sub/deeper/big.bin" and method == "GET" and wanted != "bytes=0-0"]   # not the host's probe
    assert len(big) == (6 if ranges else 1)   # ranged parts, or one streamed body
    served.reset()
    assert mltable.copy(served.url, str(tmp_path / "dest")).bytes_copied == 0
    assert served.body_bytes < 10_000   # listings only: a second copy fetches no file


@pytest.fixture(scope="module")
def blobs(azurite):
    return {"connection_string": azurite.connection_string(ACCOUNT)}


def test_azure_up_across_and_down_byte_identical(tmp_path, azurite, blobs, small_parts):
    contents = make_tree(tmp_path / "src")
    up = f"wasbs://copyup@{ACCOUNT}.blob.core.windows.net/tree"
    across = f"abfss://copyacross@{ACCOUNT}.dfs.core.windows.net/again/"
    mltable.copy(str(tmp_path / "src"), up, storage_options=blobs)        # the containers do not exist yet
    mltable.copy(up, across, storage_options=blobs)
    mltable.copy(across, str(tmp_path / "down"), storage_options=blobs)
    assert tree_of(tmp_path / "down") == contents
    listed = azurite.service(ACCOUNT).get_container_client("copyacross").list_blobs()
    md5s = {blob.name: bytes(blob.content_settings.content_md5 or b"") for blob in listed}
    assert md5s == {f"again/{name}": hashlib.md5(data).digest() for name, data in contents.items()}
    for source, destination in [(str(tmp_path / "src"), up), (up, across), (across, str(tmp_path / "down"))]:
        again = mltable.copy(source, destination, storage_options=blobs)
        assert again.copied == [] and len(again.skipped) == 4


def test_a_blob_whose_bytes_do_not_match_its_md5_is_not_written(tmp_path, azurite, blobs, small_parts):
    from azure.storage.blob import ContentSettings

    container = azurite.create_container(ACCOUNT, "copydamaged")
    for name, size in [("small.bin", 100), ("big.bin", 3 * PART)]:
        container.upload_blob(name, os.urandom(size), overwrite=True)
        wrong = hashlib.md5(b"something else").digest()
        container.get_blob_client(name).set_http_headers(content_settings=ContentSettings(content_md5=wrong))
    with pytest.raises(CopyFailed, match="arrived damaged") as failed:
        mltable.copy(f"wasbs://copydamaged@{ACCOUNT}.blob.core.windows.net/", str(tmp_path / "down"),
                     storage_options=blobs)
    assert len(failed.value.result.failed) == 2
    assert not (tmp_path / "down").exists() or os.listdir(tmp_path / "down") == []


def test_an_aborted_block_upload_leaves_no_blob(azurite, blobs, small_parts):
    store = open_store(f"wasbs://copyabort@{ACCOUNT}.blob.core.windows.net/", blobs)
    with pytest.raises(ZeroDivisionError):
        with store.writing_parts("copyabort/big.bin", 3 * PART) as sink:
            sink.write_at(PART, b"b" * PART)
            sink.write_at(0, b"a" * PART)
            1 / 0
    assert store.stat("copyabort/big.bin") is None
    with store.writing_parts("copyabort/big.bin", 2 * PART) as sink:
        sink.write_at(PART, b"b" * PART)   # any order: committed by offset
        sink.write_at(0, b"a" * PART)
        sink.md5 = committed = hashlib.md5(b"a" * PART + b"b" * PART).digest()
    assert store.fetch("copyabort/big.bin") == b"a" * PART + b"b" * PART
    assert store.stat("copyabort/big.bin") == FileStat(2 * PART, committed)
    with pytest.raises(FileExistsError):
        with store.writing_parts("copyabort/big.bin", 2 * PART, overwrite=False) as sink:
            sink.write_at(0, b"c" * PART)
            sink.write_at(PART, b"c" * PART)
    assert store.stat("copyabort/big.bin").md5 == committed
    assert store.fetch("copyabort/big.bin") == b"a" * PART + b"b" * PART


# --- MLTable.download and the reference's _download --------------------------------------------


def test_download_lays_files_out_as_the_reference(tmp_path):
    make_tree(tmp_path / "src")
    table = mltable.from_paths([{"folder": str(tmp_path / "src" / "sub")}, {"file": str(tmp_path / "src" / "a.csv")}])
    target = tmp_path / "target"
    got = table._download(target_path=str(target))
    expected = [str(target) + str(tmp_path / "src" / name) for name in ("sub/b c.bin", "sub/deeper/big.bin", "a.csv")]
    assert got == expected
    assert all(open(path, "rb").read() == open(path[len(str(target)):], "rb").read() for path in got)
    assert table.download(str(target)) == expected   # up to date: listed again, nothing fetched


def test_download_missing_files_fail_or_are_skipped(tmp_path, caplog):
    make_tree(tmp_path / "src")
    table = mltable.from_paths([{"file": str(tmp_path / "src" / "a.csv")}, {"file": str(tmp_path / "src" / "no.csv")}])
    with pytest.raises(mltable.UserErrorException, match=r"Some files have failed to download: \('.*no.csv'"):
        table._download(target_path=str(tmp_path / "t1"))
    assert (tmp_path / "t1" / str(tmp_path / "src" / "a.csv").lstrip("/")).exists()   # the others were fetched
    got = table._download(target_path=str(tmp_path / "t2"), ignore_not_found=True)
    assert got == [str(tmp_path / "t2") + str(tmp_path / "src" / "a.csv")]
    assert "no.csv' hasn't been downloaded" in caplog.text
    with pytest.raises(mltable.UserErrorException, match="no column 'Nope'.*'Path'"):
        mltable.from_paths([{"file": str(tmp_path / "src" / "a.csv")}])._download(stream_column="Nope")
