"""The MLTable JSON Schema (mltable_lite/specs/mltable.schema.json) and load()'s use of it.

Every MLTable file the reference's save() wrote (tests/fixtures/roundtrip) must validate, and every
file the reference's load() rejects (refobs FINDINGS §5) must be rejected at load with the
reference's message, raised as one UserErrorException and with nothing printed.
"""

import json
import pathlib
from importlib import resources

import jsonschema
import pytest
import yaml

import mltable_lite as mltable
from mltable_lite.plan import (ConvertColumnTypes, DropColumns, ExtractPartitionFormat, Filter, InferOptions,
                               KeepColumns, PathSpec, Plan, RandomPercentSample, ReadDelimited, ReadDeltaLake,
                               ReadJsonLines, ReadParquet, SelectPartitions, Skip, Take, TakeRandomSample)
from mltable_lite.plan_yaml import plan_to_dict
from mltable_lite.schema import normalise_loaded, validate_document
from mltable_lite.types import DataType

FIXTURES = pathlib.Path(__file__).parent / "fixtures" / "roundtrip"
FIXTURE_NAMES = sorted(path.name for path in FIXTURES.iterdir() if (path / "MLTable").is_file())
SCHEMA_ERROR = "Given MLTable does not adhere to the AzureML MLTable schema: "


def _schema() -> dict:
    text = resources.files("mltable_lite").joinpath("specs/mltable.schema.json").read_text("utf-8")
    return json.loads(text)


# --- the schema itself ----------------------------------------------------------------------------


def test_schema_is_a_valid_draft_2020_12_schema():
    jsonschema.Draft202012Validator.check_schema(_schema())


def test_every_definition_and_top_level_key_is_described():
    schema = _schema()
    assert schema.get("description")
    for name, definition in schema["$defs"].items():
        assert definition.get("description"), f"$defs/{name} has no description"
    for name, definition in schema["properties"].items():
        assert definition.get("description") or "$ref" in definition, f"properties/{name} has no description"
    steps = schema["$defs"]["transformation"]["properties"]
    for name, definition in steps.items():
        assert definition.get("description") or "$ref" in definition, f"step {name} has no description"


def test_header_and_encoding_enums_list_the_reference_values_in_its_order():
    defs = _schema()["$defs"]
    assert defs["read_delimited"]["properties"]["header"]["enum"] == [
        "no_header", "from_first_file", "all_files_different_headers", "all_files_same_headers"]
    reference_encodings = ["utf8", "utf-8", "utf8 bom", "iso88591", "iso-8859-1", "latin1", "latin-1", "ascii",
                           "utf16", "utf-16", "windows1252", "windows-1252"]
    for reader in ("read_delimited", "read_json_lines"):
        assert defs[reader]["properties"]["encoding"]["enum"][:len(reference_encodings)] == reference_encodings


# --- what must be accepted ------------------------------------------------------------------------


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_every_reference_written_fixture_validates(name):
    document = yaml.safe_load((FIXTURES / name / "MLTable").read_text())
    validate_document(normalise_loaded(document), name)


def _plan_with_every_step() -> Plan:
    paths = (PathSpec("file", "file:///d/a.csv"), PathSpec("folder", "file:///d/tree"),
             PathSpec("pattern", "file:///d/tree/**/*.csv"), PathSpec("file", "https://host/x.csv"))
    overrides = ((("a",), DataType.to_int()), (("b", "c"), DataType.to_datetime("%Y-%m-%d", "2020-01-01")))
    reader = ReadDelimited(delimiter=";", header="no_header", encoding="latin1", include_path_column=True,
                           infer_column_types=InferOptions(sample_size=10, overrides=overrides))
    conversions = (
        (("s",), DataType.to_string()), (("i",), DataType.to_int()), (("f",), DataType.to_float()),
        (("b",), DataType.to_bool()), (("m",), DataType.to_bool(mismatch_as="true")),
        (("l",), DataType.to_bool(true_values=["y"], false_values=["n"])),
        (("d", "e"), DataType.to_datetime(["%Y-%m-%d", "%H:%M"], date_constant="2020-01-01")),
        (("p",), DataType.to_stream()),
    )
    transforms = (ExtractPartitionFormat("{year}/{file}.csv"), Filter('a > 1 and col("b c") == "x"'), Take(5),
                  Skip(2), KeepColumns(("a",), as_string=True), KeepColumns(("a", "b")), DropColumns(("c",)),
                  TakeRandomSample(0.25, 7), RandomPercentSample(0.3, 1.0, 5), ConvertColumnTypes(conversions),
                  SelectPartitions((2, 0)))
    return Plan(paths=paths, reader=reader, transforms=transforms)


@pytest.mark.parametrize("reader", [None, ReadParquet(), ReadJsonLines(invalid_lines="drop"),
                                    ReadDeltaLake(version_as_of=3), ReadDeltaLake(timestamp_as_of="2024-01-01T00:00:00Z")])
def test_what_we_write_validates(reader):
    plan = _plan_with_every_step()
    if reader is not None:
        plan = plan.replace(reader=reader)
    document = plan_to_dict(plan)
    validate_document(document, "written")
    # And after a trip through YAML text, as load() would see it.
    validate_document(normalise_loaded(yaml.safe_load(yaml.safe_dump(document))), "written")


def test_from_paths_plan_validates():
    validate_document(plan_to_dict(Plan(paths=(PathSpec("folder", "file:///d/tree"),))), "from_paths")


def _write(tmp_path, text: str) -> pathlib.Path:
    folder = tmp_path / "table"
    folder.mkdir()
    (folder / "MLTable").write_text(text)
    return folder


ACCEPTED = {
    "no_type_key": "paths:\n- file: a.csv\ntransformations:\n- read_delimited:\n    delimiter: ','\n",
    "encoding_utf16_in_yaml": "paths:\n- file: a.csv\ntransformations:\n- read_delimited:\n    encoding: utf16\n",
    "reader_with_null_body": "paths:\n- file: a.parquet\ntransformations:\n- read_parquet:\n",
    "empty_paths_list": "paths: []\ntype: mltable\n",
    "metadata_and_traits": "paths:\n- file: a.csv\nmetadata:\n  k: v\ntraits:\n  index_columns: a\n  timestamp_column: a\n",
    "date_constant_unquoted": ("paths:\n- file: a.csv\ntransformations:\n- read_delimited: {}\n"
                               "- convert_column_types:\n  - column_type:\n      datetime:\n"
                               "        date_constant: 2020-01-01\n        formats: '%H'\n    columns: c\n"),
}


@pytest.mark.parametrize("name", sorted(ACCEPTED))
def test_files_the_reference_loads_are_loaded(name, tmp_path):
    mltable.load(str(_write(tmp_path, ACCEPTED[name])))


def test_load_accepts_a_file_uri_of_the_folder(tmp_path):
    # The reference answers "Not able to find MLTable file"; see docs/differences.md.
    folder = _write(tmp_path, ACCEPTED["no_type_key"])
    assert mltable.load("file://" + str(folder)) == mltable.load(str(folder))


# --- what must be rejected (FINDINGS §5), with the reference's message ----------------------------

REJECTED = {
    "unknown_transformation": (
        "paths:\n- file: ../../csv/basic.csv\ntransformations:\n- frobnicate: 3\n",
        "{'frobnicate': 3} is not valid under any of the given schemas"),
    "path_with_two_keys": (
        "paths:\n- file: ../../csv/basic.csv\n  folder: ../../tree\n",
        "{'file': '../../csv/basic.csv', 'folder': '../../tree'} is not valid under any of the given schemas"),
    "empty_file": ("", "None is not of type 'object'"),
    "whitespace_only_file": ("   \n\n", "None is not of type 'object'"),
    "comment_only_file": ("# nothing here\n", "None is not of type 'object'"),
    "only_type": ("type: mltable\n", "{'type': 'mltable'} is not valid under any of the given schemas"),
    "no_paths_key": (
        "transformations:\n- read_delimited:\n    delimiter: ','\n",
        "{'transformations': [{'read_delimited': {'delimiter': ','}}]} is not valid under any of the given schemas"),
    "paths_is_a_string": ("paths: ../../csv/basic.csv\n", "'../../csv/basic.csv' is not of type 'array'"),
    "transformations_is_a_mapping": (
        "paths:\n- file: a.csv\ntransformations:\n  read_delimited:\n    delimiter: ','\n",
        "{'read_delimited': {'delimiter': ','}} is not of type 'array'"),
    "unknown_top_level_key": ("paths:\n- file: a.csv\nfoo: bar\n",
                              "Additional properties are not allowed ('foo' was unexpected)"),
    "bad_header": (
        "paths:\n- file: a.csv\ntransformations:\n- read_delimited:\n    header: sometimes\n",
        "'sometimes' is not one of ['no_header', 'from_first_file', 'all_files_different_headers', "
        "'all_files_same_headers']"),
    "encoding_utf8bom": (
        "paths:\n- file: a.csv\ntransformations:\n- read_delimited:\n    encoding: utf8bom\n",
        # The reference's list ends here with ']'; ours adds 'utf-8 bom' (docs/differences.md).
        "'utf8bom' is not one of ['utf8', 'utf-8', 'utf8 bom', 'iso88591', 'iso-8859-1', 'latin1', 'latin-1', "
        "'ascii', 'utf16', 'utf-16', 'windows1252', 'windows-1252'"),
    # A file breaking several rules: the violation the reference reports (observed).
    "bad_header_and_bad_path": (
        "paths:\n- file: a.csv\n  folder: b\ntransformations:\n- read_delimited:\n    header: sometimes\n",
        "'sometimes' is not one of ['no_header', 'from_first_file', 'all_files_different_headers', "
        "'all_files_same_headers'] (at 'transformations/0/read_delimited/header'"),
    "bad_header_and_bad_encoding": (
        "paths:\n- file: a.csv\ntransformations:\n- read_delimited:\n    header: sometimes\n    encoding: klingon\n",
        "'klingon' is not one of ['utf8', "),
    "bad_delimiter_and_bad_header": (
        "paths:\n- file: a.csv\ntransformations:\n- read_delimited:\n    delimiter: 5\n    header: sometimes\n",
        "5 is not of type 'string' (at 'transformations/0/read_delimited/delimiter'"),
    "unknown_path_key_and_bad_header": (
        "paths:\n- files: a.csv\ntransformations:\n- read_delimited:\n    header: sometimes\n",
        "'sometimes' is not one of"),
    "null_file": ("paths:\n- file: null\ntransformations:\n- read_delimited: {}\n",
                  "None is not of type 'string' (at 'paths/0/file'"),
    "partition_format_as_string": (
        "paths:\n- file: a.csv\ntransformations:\n"
        "- extract_columns_from_partition_format: \"{year}/{file}.csv\"\n- read_delimited: {}\n",
        "'{year}/{file}.csv' is not of type 'object'"),
}


@pytest.mark.parametrize("name", sorted(REJECTED))
def test_load_rejects_with_the_references_message(name, tmp_path, capfd):
    text, fragment = REJECTED[name]
    folder = _write(tmp_path, text)
    with pytest.raises(mltable.UserErrorException) as caught:
        mltable.load(str(folder))
    error = caught.value
    assert str(error).startswith(SCHEMA_ERROR + fragment), str(error)
    assert error.message == str(error)
    assert error.error_code == "UserError"
    assert "session_id" not in str(error)
    # One clean exception: no chained jsonschema/yaml error in the traceback.
    assert error.__cause__ is None and (error.__context__ is None or error.__suppress_context__)
    captured = capfd.readouterr()
    assert captured.out == "" and captured.err == ""


def test_load_rejects_invalid_yaml_naming_the_file_and_line(tmp_path, capfd):
    folder = _write(tmp_path, "paths:\n  - file: ../../csv/basic.csv\n transformations: [\n")
    with pytest.raises(mltable.UserErrorException) as caught:
        mltable.load(str(folder))
    message = str(caught.value)
    assert message.startswith("MLTable yaml is invalid: while parsing a block mapping")
    assert f'in "{folder / "MLTable"}", line 3, column 2' in message
    assert "expected <block end>, but found '<block mapping start>'" in message
    assert capfd.readouterr().err == ""


NOT_FOUND = "Not able to find MLTable file from the MLTable folder"


@pytest.mark.parametrize("case", ["folder_without_mltable", "missing_folder", "the_file_itself",
                                  "lowercase_file_name"])
def test_load_without_an_mltable_file(case, tmp_path):
    folder = tmp_path / "table"
    folder.mkdir()
    if case == "missing_folder":
        target = tmp_path / "nowhere"
    elif case == "the_file_itself":
        (folder / "MLTable").write_text(ACCEPTED["no_type_key"])
        target = folder / "MLTable"
    elif case == "lowercase_file_name":
        (folder / "mltable").write_text(ACCEPTED["no_type_key"])
        target = folder
        if (folder / "MLTable").exists():  # a case-insensitive file system
            pytest.skip("the file system does not tell 'mltable' from 'MLTable'")
    else:
        target = folder
    with pytest.raises(mltable.UserErrorException, match=NOT_FOUND):
        mltable.load(str(target))


def test_load_of_an_empty_string():
    with pytest.raises(mltable.UserErrorException, match=NOT_FOUND):
        mltable.load("")


# --- further schema rules (ours; messages name the offending key) ----------------------------------

MORE_REJECTED = {
    "two_step_names_in_one_item": ({"take": 3, "skip": 2}, "has too many properties", "transformations/0"),
    "take_zero": ({"take": 0}, "0 is less than the minimum of 1", "transformations/0/take"),
    "take_bool": ({"take": True}, "True is not of type 'integer'", "transformations/0/take"),
    "column_name_not_a_string": ({"keep_columns": ["a", 5]}, "5 is not of type 'string'",
                                 "transformations/0/keep_columns/1"),
    "unknown_type_alias": ({"convert_column_types": [{"columns": "a", "column_type": "integer"}]},
                           "'integer' is not one of ['string', 'int', 'float', 'boolean', 'stream_info']",
                           "transformations/0/convert_column_types/0/column_type"),
    "no_datetime_format": ({"convert_column_types": [{"columns": "a", "column_type": {"datetime": {"formats": []}}}]},
                           "[] should be non-empty", "column_type/datetime/formats"),
    "negative_partition": ({"select_partitions": [0, -1]}, "-1 is less than the minimum of 0",
                           "transformations/0/select_partitions/1"),
    "sample_without_arguments": ({"sample": {"sampler": "random_percent"}},
                                 "'sampler_arguments' is a required property", "transformations/0/sample"),
    "sample_size_bool": ({"read_delimited": {"infer_column_types": {"sample_size": True}}},
                         "True is not of type 'integer'", "infer_column_types/sample_size"),
}


@pytest.mark.parametrize("name", sorted(MORE_REJECTED))
def test_schema_errors_name_the_offending_key(name):
    step, fragment, where = MORE_REJECTED[name]
    with pytest.raises(mltable.UserErrorException) as caught:
        validate_document({"paths": [], "transformations": [step]}, "MLTable")
    message = str(caught.value)
    assert message.startswith(SCHEMA_ERROR) and fragment in message and where in message, message
