"""load() parses MLTable files from strangers: aliases, nesting and cycles are bounded, and each
excess is a UserErrorException naming the file, in milliseconds, never a RecursionError or an
exponential expansion."""

import re

import pytest
from harness.isolated import Worker

import mltable_lite as mltable
from mltable_lite import UserErrorException
from mltable_lite.yaml_io import parse_yaml


def _folder(tmp_path, text):
    folder = tmp_path / "t"
    folder.mkdir(exist_ok=True)
    (folder / "MLTable").write_text(text)
    return str(folder)


def _load(tmp_path, text):
    return mltable.load(_folder(tmp_path, text))


@pytest.fixture(scope="module")
def worker():
    with Worker() as running:   # an exponential expansion must fail the test, not stall the run
        yield running


def _refused_in_time(worker, tmp_path, text, match):
    outcome = worker.call({"builder": "load", "args": [_folder(tmp_path, text)], "output": "partitions"}, timeout=20)
    assert outcome.kind == "error" and outcome.ours, str(outcome)
    assert re.search(match, outcome.message), outcome.message
    assert outcome.seconds < 10
    return outcome.message


def _alias_bomb(levels=9, fanout=9):
    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * fanout) + "]" for i in range(1, levels)]
    return "\n".join(lines) + f"\npaths: *a{levels - 1}\n"


def test_an_alias_bomb_is_refused_at_once(worker, tmp_path):
    text = _alias_bomb()
    assert len(text) < 600   # a few hundred bytes standing for 9**9 strings
    message = _refused_in_time(worker, tmp_path, text, "expands to more than .* values through its aliases")
    assert "MLTable" in message


def test_a_merge_key_bomb_is_refused(worker, tmp_path):
    lines = ["b0: &b0 {k: 1}"] + [f"b{i}: &b{i} {{<<: [{', '.join([f'*b{i - 1}'] * 8)}]}}" for i in range(1, 10)]
    _refused_in_time(worker, tmp_path, "\n".join(lines) + "\npaths: []\n", "expands to more than")


def test_a_document_containing_itself_is_refused(tmp_path):
    with pytest.raises(UserErrorException, match="refers to a value that contains it"):
        _load(tmp_path, "paths: &a [*a]\n")
    with pytest.raises(UserErrorException, match="refers to a value that contains it"):
        _load(tmp_path, "metadata: &m {self: *m}\npaths: []\n")


@pytest.mark.parametrize("depth", [101, 5000, 100_000])
def test_deep_nesting_is_refused_not_a_recursion_error(tmp_path, depth):
    with pytest.raises(UserErrorException, match="more than 100 levels deep"):
        _load(tmp_path, "paths: " + "[" * depth + "]" * depth + "\n")


def test_ordinary_aliases_still_work():
    assert parse_yaml("a: &x {k: [1, 2]}\nb: *x\n", "MLTable") == {"a": {"k": [1, 2]}, "b": {"k": [1, 2]}}
    nested = "v: " + "[" * 50 + "1" + "]" * 50
    assert parse_yaml(nested, "MLTable")["v"] is not None


def test_a_control_character_is_invalid_yaml_naming_the_file(tmp_path):
    with pytest.raises(UserErrorException, match="MLTable yaml is invalid: unacceptable character #x0008"):
        _load(tmp_path, "paths: []\n\x08\n")
