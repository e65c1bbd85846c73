"""JSON lines from strangers: deep nesting, ``null`` lines and huge numbers are reported or kept
exactly, never a crash, a RecursionError, a row of nulls or a rounded number (issue 18)."""

import pytest
from harness.isolated import Worker

import mltable_lite as mltable
from mltable_lite import UserErrorException

BIG = 2**53 + 1


@pytest.fixture(scope="module")
def worker():
    with Worker() as running:   # a line nested 20 000 deep used to kill the interpreter
        yield running


def _read(tmp_path, text, name="a.jsonl", **options):
    path = tmp_path / name
    path.write_text(text)
    return mltable.from_json_lines_files([{"file": str(path)}], **options).to_pandas_dataframe()


def _deep(levels):
    return '{"a": ' + "[" * levels + "1" + "]" * levels + "}"


@pytest.mark.parametrize("levels", [20_000, 200_000])
def test_a_very_deep_line_is_an_invalid_line_not_a_crash(worker, tmp_path, levels):
    path = tmp_path / "deep.jsonl"
    path.write_text('{"a": [1]}\n' + _deep(levels) + "\n")
    outcome = worker.call({"builder": "from_json_lines_files", "args": [[{"file": str(path)}]]}, timeout=60)
    assert outcome.kind == "error" and outcome.ours, str(outcome)
    assert "at line 2: nests more than 64 levels deep" in outcome.message
    dropped = worker.call({"builder": "from_json_lines_files", "args": [[{"file": str(path)}]],
                           "kwargs": {"invalid_lines": "drop"}}, timeout=60)
    assert dropped.kind == "ok" and dropped.result["rows"] == 1, str(dropped)


@pytest.mark.parametrize("levels", [65, 1000])
def test_a_line_deeper_than_64_levels_is_reported_with_its_line(tmp_path, levels):
    with pytest.raises(UserErrorException, match="at line 1: nests more than 64 levels deep"):
        _read(tmp_path, _deep(levels) + "\n")


def test_lines_up_to_64_levels_are_read(tmp_path):
    frame = _read(tmp_path, _deep(63) + "\n" + _deep(1500) + "\n", invalid_lines="drop")
    assert len(frame) == 1
    value = frame["a"][0]
    for _ in range(63):
        value = value[0]
    assert value == 1


def test_a_deep_line_among_many_ordinary_ones_is_found(tmp_path):
    rows = ['{"id": %d, "tags": ["x", "[[[["]}' % i for i in range(5000)]
    rows.insert(2500, _deep(3000))
    with pytest.raises(UserErrorException, match="at line 2501: nests more than 64 levels deep"):
        _read(tmp_path, "\n".join(rows) + "\n")


@pytest.mark.parametrize("line", ["null", "  null ", "null\r"])
def test_a_null_line_is_not_a_row_of_nulls(tmp_path, line):
    text = '{"a": 1}\n' + line + '\n{"a": 2}\n'
    with pytest.raises(UserErrorException, match="at line 2: Not a JSON object"):
        _read(tmp_path, text)
    assert _read(tmp_path, text, invalid_lines="drop")["a"].tolist() == [1, 2]


def test_null_values_are_still_values(tmp_path):
    assert _read(tmp_path, '{"a": null}\n{"a": 2}\n{}\n')["a"].tolist()[1] == 2


@pytest.mark.parametrize("value", [2**63 + 1, 2**64 + 1, 10**29, 10**400, -(2**63) - 1])
def test_an_int_beyond_int64_keeps_its_value(tmp_path, value):
    values = _read(tmp_path, f'{{"a": 1}}\n{{"a": {value}}}\n')["a"].tolist()
    assert values == [1, value] and type(values[1]) is int


def test_an_int_beyond_2_53_among_floats_keeps_its_value(tmp_path):
    values = _read(tmp_path, f'{{"a": {BIG}}}\n{{"a": 1.5}}\n')["a"].tolist()
    assert values == [BIG, 1.5] and type(values[0]) is int
    nested = _read(tmp_path, f'{{"a": [{BIG}, 1.5]}}\n', name="b.jsonl")["a"][0]
    assert list(nested) == [BIG, 1.5]


def test_a_late_huge_int_in_a_big_file_keeps_its_value(tmp_path):
    rows = ['{"a": %d.5}' % i for i in range(20_000)] + [f'{{"a": {10**30}}}']
    values = _read(tmp_path, "\n".join(rows) + "\n")["a"].tolist()
    assert values[-1] == 10**30 and values[0] == 0.5


@pytest.mark.parametrize("text", ['{"a": ' + "1" * 5000 + "}\n", '{"a": ' + "1" * 10_000_000, "1" * 10_000_000])
def test_a_number_of_more_than_4300_digits_is_an_invalid_line(tmp_path, text):
    # Also a 10 MB number without a line break (once a raw ValueError).
    with pytest.raises(UserErrorException, match="at line 1: it holds an integer of more than 4300 digits"):
        _read(tmp_path, text)


def test_empty_objects_among_other_values_are_kept(tmp_path):
    values = _read(tmp_path, '{"v": {}}\n{"v": 1}\n{"v": {"a": {}}}\n')["v"].tolist()
    assert values == [{}, 1, {"a": {}}]


def test_a_lone_surrogate_escape_is_an_invalid_line_but_a_pair_is_a_character(tmp_path):
    with pytest.raises(UserErrorException, match="at line 2: it holds a lone UTF-16 surrogate escape"):
        _read(tmp_path, '{"a": "x"}\n{"a": "\\ud800"}\n')
    assert _read(tmp_path, '{"a": "\\ud83d\\ude00"}\n{"a": "\\\\ud800"}\n', name="b.jsonl")["a"].tolist() == [
        "\U0001F600", "\\ud800"]
