"""Generated inputs for the fuzz suite (``tests/test_fuzz.py``): each family writes its files into a
folder and returns :class:`Case` objects, all drawn from one seeded ``random.Random``.

A case is a request for the worker (:mod:`.worker`) and, where the input has a known meaning,
an oracle: the data the read must return. Hostile inputs have no oracle; for them the rules of
the suite alone apply (our exception classes, no hang, no crash).

Families: valid CSV with quoting, line breaks and delimiters in values (oracle: the strings
written); CSV with numbers around int64 and 2**53 (oracle: exact values or the text); mutated
and random CSV bytes; JSON lines with simple typed columns (oracle) and hostile lines (deep,
``null``, huge numbers, mutated); damaged parquet; MLTable files, valid (oracle: the same table
built with the API) and mutated; filters over a known table (oracle: a Python evaluation of the
generated expression) and token soup; hostile path specs.
"""

from __future__ import annotations

import csv
import io
import json
import os
import random
import re
from dataclasses import dataclass
from typing import Callable

from .worker import digest

FAMILIES = {}   # name -> (generator, number of cases)


@dataclass
class Case:
    """One input: the worker ``request``, and ``oracle(result)`` raising AssertionError when an
    ``ok`` result is wrong (``None``: no known answer). ``must_read``: the input is valid, so an
    error (even ours) is a failure."""

    request: dict
    oracle: Callable[[dict], None] | None = None
    must_read: bool = False
    note: str = ""


def family(name: str, count: int):
    def register(generator):
        FAMILIES[name] = (generator, count)
        return generator
    return register


def _read(builder: str, paths: list, **kwargs) -> dict:
    return {"builder": builder, "args": [paths], "kwargs": kwargs}


# --- CSV ----------------------------------------------------------------------------------------

_TEXT = list("abcXYZ019 .-;'\t") + ["é", "€", "😀", ",", '"', '""', "  "]


def _text(rng: random.Random, line_breaks: bool) -> str:
    pieces = _TEXT + (["\n", "\r\n"] if line_breaks else [])
    if rng.random() < 0.02:
        return "".join(rng.choice(pieces) for _ in range(rng.randint(500, 3000)))
    return "".join(rng.choice(pieces) for _ in range(rng.randint(0, 10)))


def _names(rng: random.Random, count: int) -> list[str]:
    return [f"{rng.choice(['c', 'col', 'név', 'a b'])}{index}" for index in range(count)]


@family("csv_strings", 45)
def csv_strings(rng: random.Random, folder: str) -> Case:
    """A valid CSV of random strings, quoted as the csv module quotes; read as text."""
    columns = rng.randint(1, 5)
    names = _names(rng, columns)
    multi_line = rng.random() < 0.35
    rows = [[_text(rng, multi_line) for _ in range(columns)] for _ in range(rng.choice([0, 1, 3, 40, 250]))]
    quoting = rng.choice([csv.QUOTE_MINIMAL, csv.QUOTE_ALL])
    delimiter = rng.choice([",", ",", "\t", ";", "|"])
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, quoting=quoting, lineterminator=rng.choice(["\n", "\r\n"]))
    writer.writerow(names)
    writer.writerows(rows)
    path = os.path.join(folder, "strings.csv")
    with open(path, "w", encoding=rng.choice(["utf-8", "utf-8-sig"]), newline="") as handle:
        handle.write(buffer.getvalue())

    def cell(value):
        # An empty field is written bare (a null) by QUOTE_MINIMAL, except as a row's only field,
        # which the csv module quotes ("") so that the row is not a blank line.
        return None if value == "" and quoting == csv.QUOTE_MINIMAL and columns > 1 else value

    kept = rows
    expected = {name: [cell(row[index]) for row in kept] for index, name in enumerate(names)}

    def oracle(result):
        if not kept:
            return   # header only: no rows (the reference gives no columns either)
        assert result["columns"] == names, result["columns"]
        assert result["digest"] == digest(expected), _first_difference(result, expected)

    return Case(_read("from_delimited_files", [{"file": path}], delimiter=delimiter, infer_column_types=False,
                      support_multi_line=multi_line), oracle, must_read=True, note=f"{len(rows)} rows")


@family("csv_numbers", 25)
def csv_numbers(rng: random.Random, folder: str) -> Case:
    """Numbers around the int64 and 2**53 limits, read with inference: ints that fit int64 come
    back as ints, floats as floats, and a column holding an int no float64 or int64 can hold
    exactly comes back as the text written (policy P2)."""
    count = rng.choice([5, 150, 260])   # 260: values past the 200-row inference sample

    def integer():
        if rng.random() < 0.05:
            return rng.choice([2**53 + 1, 2**63, -(2**63) - 1, 2**64 + 1, 10**29, 2**53, 2**63 - 1])
        return rng.randint(-10**6, 10**6)

    kinds = [rng.choice(["int", "float", "mixed"]) for _ in range(3)]
    columns = []
    for kind in kinds:
        values = []
        for _ in range(count):
            if kind == "int" or (kind == "mixed" and rng.random() < 0.5):
                values.append(str(integer()))
            else:
                values.append(repr(rng.uniform(-1e6, 1e6)))
        values[rng.randrange(count)] = "2"   # never a column of only 1/0 (that is bool)
        columns.append(values)
    names = [f"n{index}" for index in range(len(columns))]
    path = os.path.join(folder, "numbers.csv")
    with open(path, "w") as handle:
        handle.write(",".join(names) + "\n")
        for row in zip(*columns):
            handle.write(",".join(row) + "\n")

    def expected_column(values):
        numbers = [int(v) if "." not in v and "e" not in v else float(v) for v in values]
        ints = [n for n in numbers if isinstance(n, int)]
        if all(isinstance(n, int) for n in numbers) and all(-(2**63) <= n < 2**63 for n in numbers):
            return numbers
        if all(-(2**53) <= n <= 2**53 for n in ints):
            return [float(n) for n in numbers]
        return values

    def oracle(result):
        for name, values in zip(names, columns):
            got = result["values"][name]
            assert got == expected_column(values), f"{name}: {_first_mismatch(got, expected_column(values))}"

    return Case(_read("from_delimited_files", [{"file": path}]), oracle, must_read=True, note=str(kinds))


def _valid_csv(rng: random.Random) -> bytes:
    rows = ["id,name,score,when"] + [f'{i},"n{i}, {rng.choice(["x", "é"])}",{rng.random():.3f},2024-01-{1 + i % 28:02d}'
                                     for i in range(rng.randint(1, 60))]
    return ("\n".join(rows) + "\n").encode()


_NASTY = [b'"', b",", b"\n", b"\r", b"\r\n", b"\x00", b"\xff", b"\xef\xbb\xbf", b'""', b"\t", b"\\", b"\xc3",
          b"e+999", b"9" * 30, b"-", b"NaN", b"True", b"0" * 4400 + b"7"]


def _mutate(rng: random.Random, data: bytes, times: int) -> bytes:
    data = bytearray(data)
    for _ in range(times):
        action = rng.randrange(6)
        where = rng.randrange(len(data) + 1)
        if action == 0 and data:
            data[min(where, len(data) - 1)] ^= 1 << rng.randrange(8)
        elif action == 1:
            data[where:where] = rng.choice(_NASTY)
        elif action == 2:
            del data[where:where + rng.randint(1, 50)]
        elif action == 3:
            data[where:where] = data[where:where + rng.randint(1, 200)] * rng.randint(1, 50)
        elif action == 4:
            del data[where:]
        else:
            data[where:where] = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 40)))
    return bytes(data)


def _csv_options(rng: random.Random) -> dict:
    options = {}
    if rng.random() < 0.5:
        options["support_multi_line"] = rng.random() < 0.5
    if rng.random() < 0.3:
        options["header"] = rng.choice(["no_header", "from_first_file", "all_files_different_headers",
                                        "all_files_same_headers"])
    if rng.random() < 0.3:
        options["encoding"] = rng.choice(["utf8", "latin1", "utf16", "ascii", "windows1252"])
    if rng.random() < 0.2:
        options["delimiter"] = rng.choice([";", "::", "\t", "|"])
    if rng.random() < 0.2:
        options["infer_column_types"] = False
    if rng.random() < 0.2:
        options["empty_as_string"] = True
    return options


@family("csv_mutated", 45)
def csv_mutated(rng: random.Random, folder: str) -> Case:
    paths = []
    for index in range(rng.choice([1, 1, 2, 3])):
        path = os.path.join(folder, f"m{index}.csv")
        with open(path, "wb") as handle:
            handle.write(_mutate(rng, _valid_csv(rng), rng.randint(1, 6)))
        paths.append(path)
    steps = [["take", rng.randint(1, 30)]] if rng.random() < 0.2 else []
    request = _read("from_delimited_files", [{"file": path} for path in paths], **_csv_options(rng))
    request["steps"] = steps
    return Case(request)


@family("csv_hostile", 20)
def csv_hostile(rng: random.Random, folder: str) -> Case:
    shapes = [
        lambda: bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 200_000))),
        lambda: b'a,b\n1,"' + b"x" * rng.randint(1000, 400_000) + b"\n" + b"2,y\n" * 100,
        lambda: b'"' * rng.randint(1, 100_000),
        lambda: b"," * rng.randint(1, 30_000) + b"\n",
        lambda: b"\n" * rng.randint(1, 100_000),
        lambda: b"\r" * rng.randint(1, 50_000) + b"a\rb\r",
        lambda: b"a\n" + b"1" * rng.randint(4000, 2_000_000),
        lambda: ",".join(f"c{i}" for i in range(rng.randint(1000, 10_000))).encode() + b"\n1\n",
        lambda: b"a,b\n" + b"\x00" * rng.randint(1, 5000) + b"\n",
        lambda: b'a\n"' + b'""' * rng.randint(1, 100_000) + b"\n",
        lambda: b"\xef\xbb\xbf" * 3 + b"a,b\n\xef\xbb\xbf1,2\n",
        lambda: b"a,b\n" + b"1,2,3,4,5,6\n" * rng.randint(1, 3000) + b"1\n",
    ]
    path = os.path.join(folder, "hostile.csv")
    with open(path, "wb") as handle:
        handle.write(rng.choice(shapes)())
    return Case(_read("from_delimited_files", [{"file": path}], **_csv_options(rng)))


# --- JSON lines ---------------------------------------------------------------------------------

def _json_value(rng: random.Random, kind: str):
    if kind == "int":
        if rng.random() < 0.05:
            return rng.choice([2**63, 2**64 + 1, -(2**63) - 1, 10**30, 2**53 + 1])
        return rng.randint(-10**9, 10**9)
    if kind == "float":
        return rng.uniform(-1e6, 1e6)
    if kind == "str":
        return "".join(rng.choice(_TEXT + ["\n", "\\", "\u2028", "\x01", "{", "]"]) for _ in range(rng.randint(0, 12)))
    return rng.random() < 0.5


@family("json_typed", 30)
def json_typed(rng: random.Random, folder: str) -> Case:
    """JSON lines whose columns each hold one simple type (some values missing or null): every
    value comes back exactly (ints beyond int64 as Python ints)."""
    kinds = {f"k{index}": rng.choice(["int", "float", "str", "bool"]) for index in range(rng.randint(1, 5))}
    records = []
    for _ in range(rng.choice([1, 5, 80, 300])):
        record = {}
        for name, kind in kinds.items():
            roll = rng.random()
            if roll < 0.1:
                continue          # missing key
            record[name] = None if roll < 0.15 else _json_value(rng, kind)
        records.append(record)
    path = os.path.join(folder, "typed.jsonl")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("\n".join(json.dumps(record, ensure_ascii=rng.random() < 0.5) for record in records) + "\n")
    present = [name for name in kinds if any(name in record for record in records)]

    def oracle(result):
        for name in present:
            if not any(record.get(name) is not None for record in records):
                continue   # an all-null column: its dtype is the reference's business
            expected = [record.get(name) for record in records]
            assert result["values"][name] == expected[:len(result["values"][name])], \
                f"{name}: {_first_mismatch(result['values'][name], expected)}"
            assert result["rows"] == len(records)

    return Case(_read("from_json_lines_files", [{"file": path}]), oracle, must_read=True, note=str(kinds))


def _nested(rng: random.Random, depth: int):
    if depth <= 0:
        return rng.choice([1, "x", None, True, 2.5, 10**20])
    if rng.random() < 0.5:
        return [_nested(rng, depth - 1) for _ in range(rng.randint(0, 3))]
    return {f"f{index}": _nested(rng, depth - 1) for index in range(rng.randint(0, 3))}


@family("json_hostile", 35)
def json_hostile(rng: random.Random, folder: str) -> Case:
    lines = [json.dumps({"id": index, "v": _nested(rng, rng.randint(0, 4))}) for index in range(rng.randint(1, 40))]
    for _ in range(rng.randint(1, 4)):
        depth = rng.choice([10, 63, 64, 65, 500, 5_000, 30_000])
        hostile = rng.choice([
            '{"a": ' + "[" * depth + "]" * depth + "}",
            '{"a": ' + '{"b": ' * depth + "1" + "}" * depth + "}",
            "[" * depth,
            "null", " null ", "1", '"text"', "[]", "{}", "true",
            '{"a": ' + "9" * rng.choice([19, 20, 310, 4301, 5000]) + "}",
            '{"a": 1e400}', '{"a": -1e400}', '{"a": NaN}', '{"a": Infinity}',
            '{"a": "\\ud800"}', '{"a": 1}{"a": 2}', '{"a": 1', "   ", "\x00", '{"a": "\xff"}',
        ])
        lines.insert(rng.randrange(len(lines) + 1), hostile)
    data = ("\n".join(lines) + "\n").encode("utf-8", "surrogatepass")
    if rng.random() < 0.3:
        data = _mutate(rng, data, rng.randint(1, 5))
    path = os.path.join(folder, "hostile.jsonl")
    with open(path, "wb") as handle:
        handle.write(data)
    options = {"invalid_lines": rng.choice(["error", "drop"])}
    if rng.random() < 0.2:
        options["encoding"] = rng.choice(["latin1", "utf16", "utf8"])
    return Case(_read("from_json_lines_files", [{"file": path}], **options))


# --- parquet ------------------------------------------------------------------------------------

@family("parquet_damaged", 25)
def parquet_damaged(rng: random.Random, folder: str) -> Case:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = rng.randint(1, 3000)
    table = pa.table({"i": pa.array(range(rows), pa.int64()), "s": [f"v{n % 50}" for n in range(rows)],
                      "f": [n / 3 for n in range(rows)],
                      "l": [[n, n + 1] if n % 7 else None for n in range(rows)]})
    buffer = io.BytesIO()
    pq.write_table(table, buffer, write_page_checksum=True, compression=rng.choice(["none", "snappy", "zstd"]),
                   row_group_size=rng.choice([100, 1000, 10_000]), use_dictionary=rng.random() < 0.5)
    path = os.path.join(folder, "damaged.parquet")
    with open(path, "wb") as handle:
        handle.write(_mutate(rng, buffer.getvalue(), rng.randint(1, 4)))
    steps = [["filter", "i > 10"]] if rng.random() < 0.3 else []
    request = _read("from_parquet_files", [{"file": path}])
    request["steps"] = steps
    return Case(request)


# --- MLTable files ------------------------------------------------------------------------------

def _data_csv(folder: str) -> str:
    path = os.path.join(folder, "data.csv")
    with open(path, "w") as handle:
        handle.write("id,name,score\n" + "".join(f"{i},n{i % 7},{i * 1.5}\n" for i in range(50)))
    return path


def _random_steps(rng: random.Random) -> list:
    steps = []
    for _ in range(rng.randint(0, 4)):
        kind = rng.choice(["take", "skip", "keep_columns", "drop_columns", "filter"])
        if kind in ("take", "skip"):
            steps.append([kind, rng.randint(1, 60)])
        elif kind == "keep_columns":
            steps.append([kind, rng.sample(["id", "name", "score"], rng.randint(1, 3))])
        elif kind == "drop_columns":
            steps.append([kind, rng.sample(["name", "score"], 1)])
        else:
            steps.append([kind, rng.choice(["id > 10", 'name == "n3" or id < 5', "score >= 30.0 and not id == 22"])])
    return steps


@family("mltable_valid", 15)
def mltable_valid(rng: random.Random, folder: str) -> Case:
    """A valid MLTable file written by hand: load() gives what the same API calls give."""
    path = _data_csv(folder)
    steps = _random_steps(rng)
    if any(kind == "keep_columns" for kind, _ in steps) and any(kind == "drop_columns" for kind, _ in steps):
        steps = [step for step in steps if step[0] != "drop_columns"]
    # Filters first: after keep/drop_columns the column a filter names may be gone (a clear error).
    steps = [step for step in steps if step[0] == "filter"] + [step for step in steps if step[0] != "filter"]
    lines = ["paths:", f"  - file: {rng.choice(['./data.csv', path])}", "transformations:",
             "  - read_delimited:", "      delimiter: ','", "      header: all_files_same_headers"]
    for kind, argument in steps:
        lines.append(f"  - {kind}: {json.dumps(argument)}")
    table_folder = folder
    with open(os.path.join(table_folder, "MLTable"), "w") as handle:
        handle.write("\n".join(lines) + "\ntype: mltable\n")
    expected_request = _read("from_delimited_files", [{"file": path}])
    expected_request["steps"] = steps
    request = {"builder": "load", "args": [table_folder], "compare_with": expected_request}
    return Case(request, lambda result: None, must_read=True, note=str(steps))


def _number_token(rng: random.Random) -> str:
    sign = rng.choice(["", "", "-", "+"])
    return rng.choice([
        lambda: sign + str(rng.randint(-10**6, 10**6)).lstrip("-"),
        lambda: sign + "0" * rng.choice([1, 30, 4300, 6000]) + str(rng.randint(0, 99)),
        lambda: sign + "9" * rng.choice([19, 20, 4300, 4301, 20_000]),
        lambda: sign + str(rng.choice([2**63 - 1, 2**63, 2**64 + 1, 2**53 + 1, 10**29])),
        lambda: sign + rng.choice(["1e400", "1.5", "inf", "NaN", "1e-400", "0x1F", "1_000", "١٢٣", "1.7976931348623157e309"]),
        lambda: rng.choice(["", " ", "true", "n", "2024-02-30", "31/12/1999", "24:61:00", "\x00", "é" * 50]),
    ])()


@family("convert_soup", 20)
def convert_soup(rng: random.Random, folder: str) -> Case:
    """Hostile text (thousands of digits, leading zeros, overflowing floats, junk dates) converted by
    convert_column_types to each type: our errors only; where a value is a plain integer, to_int
    gives it exactly when int64 holds it, else null."""
    values = [_number_token(rng) for _ in range(rng.randint(1, 40))]
    with open(os.path.join(folder, "data.csv"), "w", encoding="utf-8") as handle:
        handle.write("c\n" + "".join(f'"{value}"\n' for value in values))
    column_type = rng.choice([
        "int", "float", "string", "boolean",
        {"boolean": {"true_values": ["1", "true"], "false_values": ["0", "n"],
                     "mismatch_as": rng.choice(["true", "false", "error"])}},
        {"datetime": {"formats": rng.sample(["%Y-%m-%d", "%d/%m/%Y", "%H:%M:%S", "%Q", "%", "%Y%Y%Y", "%s"],
                                            rng.randint(1, 3))}},
    ])
    lines = ["paths:", "  - file: ./data.csv", "transformations:", "  - read_delimited:",
             "      delimiter: ','", "      infer_column_types: false", "      empty_as_string: true",
             "  - convert_column_types:", "      - columns: c", f"        column_type: {json.dumps(column_type)}"]
    with open(os.path.join(folder, "MLTable"), "w") as handle:
        handle.write("\n".join(lines) + "\ntype: mltable\n")

    def oracle(result):
        if column_type != "int":
            return
        for value, got in zip(values, result["values"]["c"]):
            if re.fullmatch(r"[+-]?[0-9]+", value):
                digits = value.lstrip("+-").lstrip("0") or "0"
                number = int(digits) * (-1 if value.startswith("-") else 1) if len(digits) <= 19 else None
                expected = number if number is not None and -(2**63) <= number < 2**63 else None
                assert got == expected, f"to_int({value[:40]!r}...) gave {got!r}, expected {expected!r}"

    return Case({"builder": "load", "args": [folder]}, oracle, note=f"{column_type} {values[:3]!r:.200}")


_YAML_HOSTILE = [
    "paths: &a [*a]\n", "a: &a [x, x]\nb: &b [*a, *a, *a, *a]\nc: &c [*b, *b, *b, *b]\npaths: [*c, *c]\n",
    "paths: " + "[" * 3000 + "]" * 3000 + "\n", "paths: !!python/object/apply:os.system ['true']\n",
    "paths:\n  - file: !!binary aGVsbG8=\n", "paths:\n  - file: 2024-01-01\n", "paths: {file: 5}\n",
    "paths:\n  - file: ./data.csv\ntransformations:\n  - take: 99999999999999999999999\n",
    "paths:\n  - file: ./data.csv\ntransformations:\n  - filter: \"__import__('os').system('true')\"\n",
    "paths:\n  - pattern: './[z-a]*'\n", "\xef\xbb\xbf\xef\xbb\xbfpaths: []\n", "paths:\n- file: ./data.csv\n" * 3,
    "---\npaths: []\n---\npaths: []\n", "%YAML 9.9\n---\npaths: []\n", "paths: [{file: ./data.csv, folder: .}]\n",
    "paths:\n  - file: ./data.csv\ntransformations:\n  - read_delimited: {delimiter: '', header: 7}\n",
    "paths:\n  - file: ./data.csv\ntransformations:\n  - read_json_lines: {invalid_lines: maybe}\n",
    "paths:\n  - file: ./data.csv\ntransformations:\n  - convert_column_types:\n      - columns: id\n        column_type: {unknown: 1}\n",
    "paths:\n  - file: ./data.csv\ntransformations:\n  - extract_columns_from_partition_format: {partition_format: '{a'}\n",
    "paths:\n  - file: ./data.csv\ntransformations:\n  - select_partitions: [99]\n",
    "paths:\n  - file: ./data.csv\ntransformations:\n  - sample: {sampler: random_percent, sampler_arguments: {probability_lower_bound: 2}}\n",
    "paths:\n  - file: ./data.csv\ntransformations:\n  - read_delta_lake: {version_as_of: -3}\n",
]


@family("mltable_hostile", 40)
def mltable_hostile(rng: random.Random, folder: str) -> Case:
    _data_csv(folder)
    if rng.random() < 0.5:
        text = rng.choice(_YAML_HOSTILE).encode("utf-8", "surrogateescape")
    else:
        base = ("paths:\n  - file: ./data.csv\ntransformations:\n  - read_delimited:\n      delimiter: ','\n"
                "      header: all_files_same_headers\n  - take: 10\n  - filter: 'id > 3'\nmetadata: {a: [1, 2]}\n"
                "traits: {index_columns: [id]}\ntype: mltable\n").encode()
        text = _mutate(rng, base, rng.randint(1, 6))
    with open(os.path.join(folder, "MLTable"), "wb") as handle:
        handle.write(text)
    return Case({"builder": "load", "args": [folder], "output": rng.choice(["pandas", "text", "partitions"])})


# --- filters ------------------------------------------------------------------------------------

_FILTER_ROWS = [
    {"id": 1, "a": 5, "b": 5, "s": "apple"}, {"id": 2, "a": None, "b": 3, "s": "banana"},
    {"id": 3, "a": -2, "b": 7, "s": None}, {"id": 4, "a": 0, "b": 0, "s": ""},
    {"id": 5, "a": 12, "b": -1, "s": "apricot"}, {"id": 6, "a": 7, "b": None, "s": "cherry"},
    {"id": 7, "a": 2**40, "b": 2, "s": "Apple"}, {"id": 8, "a": 3, "b": 3, "s": "a"},
]
_OPS = {"==": lambda x, y: x == y, "!=": lambda x, y: x != y, "<": lambda x, y: x < y,
        "<=": lambda x, y: x <= y, ">": lambda x, y: x > y, ">=": lambda x, y: x >= y}


def _condition(rng: random.Random, depth: int):
    """``(text, predicate)``: a random filter and its meaning (comparisons with null are false)."""
    roll = rng.random()
    if depth <= 0 or roll < 0.35:
        choice = rng.randrange(4)
        if choice == 0:
            column, op, value = rng.choice(["a", "b", "id"]), rng.choice(list(_OPS)), rng.randint(-3, 13)
            return f"{column} {op} {value}", lambda row: row[column] is not None and _OPS[op](row[column], value)
        if choice == 1:
            op = rng.choice(list(_OPS))
            return f"a {op} b", lambda row: None not in (row["a"], row["b"]) and _OPS[op](row["a"], row["b"])
        if choice == 2:
            prefix = rng.choice(["a", "ap", "b", "A", "x"])
            return (f's.startswith("{prefix}")',
                    lambda row: row["s"] is not None and row["s"].startswith(prefix))
        column = rng.choice(["a", "id"])
        values = rng.sample(range(-3, 14), rng.randint(4, 8))   # a chain long enough to be a set test
        op = rng.choice(["==", "!="])
        joiner = " or " if op == "==" else " and "
        text = "(" + joiner.join(f"{column} {op} {value}" for value in values) + ")"
        if op == "==":
            return text, lambda row: row[column] is not None and row[column] in values
        return text, lambda row: row[column] is not None and row[column] not in values
    if roll < 0.5:
        text, predicate = _condition(rng, depth - 1)
        return f"not ({text})", lambda row: not predicate(row)
    left, left_predicate = _condition(rng, depth - 1)
    right, right_predicate = _condition(rng, depth - 1)
    if rng.random() < 0.5:
        return f"({left}) and ({right})", lambda row: left_predicate(row) and right_predicate(row)
    return f"({left}) or ({right})", lambda row: left_predicate(row) or right_predicate(row)


def _filter_table(folder: str) -> str:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = os.path.join(folder, "rows.parquet")
    pq.write_table(pa.Table.from_pylist(_FILTER_ROWS, schema=pa.schema(
        [("id", pa.int64()), ("a", pa.int64()), ("b", pa.int64()), ("s", pa.string())])), path)
    return path


@family("filter_oracle", 35)
def filter_oracle(rng: random.Random, folder: str) -> Case:
    text, predicate = _condition(rng, rng.randint(0, 4))
    request = _read("from_parquet_files", [{"file": _filter_table(folder)}])
    request["steps"] = [["filter", text]]
    expected = [row["id"] for row in _FILTER_ROWS if predicate(row)]

    def oracle(result):
        got = result["values"].get("id", []) if result["rows"] else []
        assert got == expected, f"filter {text!r}: {got} != {expected}"

    return Case(request, oracle, must_read=True, note=text)


_TOKENS = ["a", "b", "s", "id", "col(", "'x'", '"y"', "(", ")", "==", "=", "<", ">=", "!", "not", "and", "or",
           "+", "-", "*", "/", "%", "1", "1.5", "1e999", "9" * 40, "True", "None", "datetime(", ",", "2024",
           ".startswith(", "__import__", "os", ".", "[", "]", "{", "\\", "'\\x00'", "lambda", ":", "in", "is",
           "\u00e9", "\x00", "\n", "#"]


@family("filter_soup", 30)
def filter_soup(rng: random.Random, folder: str) -> Case:
    text = " ".join(rng.choice(_TOKENS) for _ in range(rng.randint(1, 25)))
    if rng.random() < 0.1:
        text = "(" * rng.randint(100, 5000) + "a" + ")" * rng.randint(100, 5000)
    if rng.random() < 0.1:
        text = " or ".join(f"a == {value}" for value in range(rng.randint(1000, 7000)))
    request = _read("from_parquet_files", [{"file": _filter_table(folder)}])
    request["steps"] = [["filter", text]]
    return Case(request)


# --- paths --------------------------------------------------------------------------------------

@family("paths_hostile", 25)
def paths_hostile(rng: random.Random, folder: str) -> Case:
    data = os.path.join(folder, "d")
    os.makedirs(os.path.join(data, "sub"), exist_ok=True)
    with open(os.path.join(data, "a.csv"), "w") as handle:
        handle.write("x\n1\n")
    special = os.path.join(folder, "special")
    maker = rng.randrange(6)
    if maker == 0:
        os.mkfifo(special)
    elif maker == 1:
        os.symlink(os.path.join(folder, "missing"), special)
    elif maker == 2:
        os.symlink(special, special)
    elif maker == 3:
        os.symlink(folder, os.path.join(data, "sub", "loop"))
    elif maker == 4:
        os.symlink("/dev/zero", special)
    spec = rng.choice([
        {"file": special}, {"folder": folder}, {"pattern": os.path.join(folder, "*")},
        {"pattern": os.path.join(folder, "**", "*")}, {"file": data}, {"folder": os.path.join(data, "a.csv")},
        {"pattern": os.path.join(folder, "[") + "]"}, {"pattern": os.path.join(folder, "**x", "*")},
        {"file": os.path.join(folder, "x" * 300, "a.csv")}, {"pattern": os.path.join(folder, "[!-a]*")},
        {"file": "http://[::1/x.csv"}, {"file": "https://:0/x.csv"}, {"file": "file://" + "/" * 40},
        {"pattern": "".join(rng.choice("*?[]!/.\\{},") for _ in range(rng.randint(1, 30)))},
        {"folder": "/proc/self/fd"}, {"file": os.path.join(data, "a.csv\x00")},
    ])
    builder = rng.choice(["from_delimited_files", "from_paths", "from_json_lines_files", "from_parquet_files"])
    return Case(_read(builder, [spec]), note=f"{builder} {spec} maker={maker}")


# --- reporting helpers --------------------------------------------------------------------------

def _first_mismatch(got: list, expected: list) -> str:
    if len(got) != len(expected):
        return f"{len(got)} values, expected {len(expected)}"
    for index, (left, right) in enumerate(zip(got, expected)):
        if left != right:
            return f"row {index}: {left!r} != {right!r}"
    return "equal"


def _first_difference(result: dict, expected: dict) -> str:
    for name, values in expected.items():
        got = result["values"].get(name)
        if got != values[:len(got or [])]:
            return f"{name}: {_first_mismatch(got or [], values[:len(got or [])])}"
    return f"rows {result['rows']} vs {len(next(iter(expected.values()), []))}"
