"""Delimited text from strangers: quote handling is linear in the input, random bytes give our
error or a table, in seconds (issue 18)."""

import random

import pytest
from harness.isolated import Worker

import mltable_lite as mltable
from mltable_lite.readers._text import iter_records


@pytest.fixture(scope="module")
def worker():
    with Worker() as running:   # super-linear quote handling used to spin for minutes
        yield running


def _call(worker, path, **kwargs):
    return worker.call({"builder": "from_delimited_files", "args": [[{"file": str(path)}]], "kwargs": kwargs},
                       timeout=60)


@pytest.mark.parametrize("multi_line", [False, True])
def test_a_quote_that_never_closes_costs_one_scan(worker, tmp_path, multi_line):
    path = tmp_path / "open_quote.csv"
    path.write_text('a,b\n1,"' + "x" * 300_000 + "\n" + "2,y\n" * 1000)
    outcome = _call(worker, path, support_multi_line=multi_line)
    assert outcome.kind in ("ok", "error") and (outcome.kind == "ok" or outcome.ours), str(outcome)
    assert outcome.seconds < 30


@pytest.mark.parametrize("seed", [1, 2])
def test_random_bytes_are_read_or_refused_quickly(worker, tmp_path, seed):
    generator = random.Random(seed)
    path = tmp_path / "noise.csv"
    path.write_bytes(bytes(generator.getrandbits(8) for _ in range(1 << 20)))
    for multi_line in (False, True):
        outcome = _call(worker, path, support_multi_line=multi_line, encoding="latin1")
        assert outcome.kind == "ok" or (outcome.kind == "error" and outcome.ours), str(outcome)


def test_unterminated_quotes_keep_the_reference_meaning():
    # Without support_multi_line an unterminated quote is literal text; with it, it swallows the rest.
    assert list(iter_records('a,"b\nc,d\n', ",", multi_line=False)) == [(1, ["a", '"b']), (2, ["c", "d"])]
    assert list(iter_records('a,"b ""q"" c"\n', ",", multi_line=True)) == [(1, ["a", 'b "q" c'])]
    assert mltable  # the package imports with its reader
