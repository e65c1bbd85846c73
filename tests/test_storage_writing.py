"""The stores' write side: a file appears whole under its name, or not at all (local disk and Azurite)."""

import os

import pytest

from mltable_lite.errors import UserErrorException
from mltable_lite.storage import open_store

ACCOUNT = "mltablelite"
WASBS = f"wasbs://writes@{ACCOUNT}.blob.core.windows.net"


class Boom(Exception):
    pass


def test_local_file_appears_only_when_complete(tmp_path):
    store = open_store(str(tmp_path))
    target = str(tmp_path / "sub" / "part-0.bin")
    with store.writing(target) as handle:
        handle.write(b"first half ")
        assert not os.path.exists(target)          # nothing under the final name while writing
        handle.write(b"second half")
    assert open(target, "rb").read() == b"first half second half"
    assert os.listdir(tmp_path / "sub") == ["part-0.bin"]  # no temporary file left behind


def test_local_failed_write_leaves_the_previous_content(tmp_path):
    store = open_store(str(tmp_path))
    target = str(tmp_path / "MLTable")
    store.write_bytes(target, b"old")
    with pytest.raises(Boom):
        with store.writing(target) as handle:
            handle.write(b"new, but never finished")
            raise Boom()
    assert open(target, "rb").read() == b"old"
    assert os.listdir(tmp_path) == ["MLTable"]


def test_local_no_overwrite_refuses_an_existing_file(tmp_path):
    store = open_store(str(tmp_path))
    target = str(tmp_path / "a.csv")
    store.write_bytes(target, b"user data")
    with pytest.raises(FileExistsError):
        store.write_bytes(target, b"ours", overwrite=False)
    assert open(target, "rb").read() == b"user data"
    assert sorted(os.listdir(tmp_path)) == ["a.csv"]
    store.delete(target)
    store.delete(target)  # nothing there is fine
    assert os.listdir(tmp_path) == []


def test_concurrent_writers_of_one_name_use_their_own_temporaries(tmp_path):
    store = open_store(str(tmp_path))
    target = str(tmp_path / "MLTable")
    with store.writing(target) as first, store.writing(target) as second:
        first.write(b"first")
        second.write(b"second")
    assert open(target, "rb").read() in (b"first", b"second")
    assert os.listdir(tmp_path) == ["MLTable"]


@pytest.fixture(scope="module")
def blob(azurite):
    azurite.create_container(ACCOUNT, "writes")
    return open_store(WASBS, {"connection_string": azurite.connection_string(ACCOUNT)})


def test_blob_appears_only_when_committed(blob):
    with blob.writing("writes/streamed/part-0.bin") as handle:
        for _ in range(3):
            handle.write(b"x" * (5 << 20))        # more than one block
        assert blob.kind("writes/streamed/part-0.bin") is None
    assert blob.size("writes/streamed/part-0.bin") == 15 << 20


def test_blob_failed_write_leaves_the_previous_content(blob):
    blob.write_bytes("writes/kept/MLTable", b"old")
    with pytest.raises(Boom):
        with blob.writing("writes/kept/MLTable") as handle:
            handle.write(b"y" * (6 << 20))
            raise Boom()
    assert blob.fetch("writes/kept/MLTable") == b"old"


def test_blob_no_overwrite_and_delete(blob):
    blob.write_bytes("writes/once/a.csv", b"user data")
    with pytest.raises(FileExistsError):
        with blob.writing("writes/once/a.csv", overwrite=False) as handle:
            handle.write(b"ours")
    with pytest.raises(FileExistsError):
        blob.write_bytes("writes/once/a.csv", b"ours", overwrite=False)
    assert blob.fetch("writes/once/a.csv") == b"user data"
    blob.delete("writes/once/a.csv")
    blob.delete("writes/once/a.csv")
    assert blob.kind("writes/once/a.csv") is None


def test_http_is_read_only(serve_http, tmp_path):
    served = serve_http(tmp_path)
    store = open_store(served.url)
    for attempt in (lambda: store.writing(served.url + "a.csv").__enter__(),
                    lambda: store.write_bytes(served.url + "a.csv", b"x"), lambda: store.delete(served.url + "a.csv")):
        with pytest.raises(UserErrorException, match="read-only"):
            attempt()
    assert served.requests == []
