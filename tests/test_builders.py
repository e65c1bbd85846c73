"""The public API: names, signatures, build-time validation with the reference's messages (§1, §10, §11, §17)."""

import inspect

import pytest

import mltable_lite as mltable
from mltable_lite import DataType, MLTableFileEncoding, MLTableHeaders, UserErrorException


@pytest.fixture
def tbl(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("a,b,c\n1,2,3\n")
    return mltable.from_delimited_files([{"file": str(path)}])


def test_public_names_of_the_reference_are_all_here():
    for name in ["MLTable", "load", "from_delimited_files", "from_parquet_files", "from_json_lines_files",
                 "from_paths", "from_delta_lake", "DataType", "MLTableFileEncoding", "MLTableHeaders"]:
        assert name in mltable.__all__ and hasattr(mltable, name)
    for name in ["convert_column_types", "drop_columns", "extract_columns_from_partition_format", "filter",
                 "get_partition_count", "keep_columns", "metadata", "partition_keys", "paths", "random_split",
                 "save", "select_partitions", "show", "skip", "take", "take_random_sample", "to_pandas_dataframe",
                 "traits", "validate"]:
        assert hasattr(mltable.MLTable, name), name



def test_the_reference_submodule_path_and_its_enums_are_importable():
    """`from mltable.mltable import ...` is how much user code imports; members and values as observed."""
    from mltable_lite.mltable import MLTable, MLTablePartitionSize, MLTableSaveOverwriteOption, load

    assert MLTable is mltable.MLTable and load is mltable.load and mltable.mltable.DataType is DataType
    assert [(o.name, o.value) for o in MLTableSaveOverwriteOption] == [("FAIL_ON_CONFLICT", 1), ("OVERWRITE", 2),
                                                                       ("SKIP", 3)]
    assert [(u.name, u.value) for u in MLTablePartitionSize] == [("byte", 0), ("kilobyte", 1), ("megabyte", 2),
                                                                 ("gigabyte", 3)]
    for name in mltable.mltable.__all__:
        assert hasattr(mltable.mltable, name), name

@pytest.mark.parametrize("function, expected", [
    ("from_delimited_files", "(paths, header='all_files_same_headers', delimiter=',', support_multi_line=False, "
                             "empty_as_string=False, encoding='utf8', include_path_column=False, infer_column_types=True)"),
    ("from_parquet_files", "(paths, include_path_column=False)"),
    ("from_json_lines_files", "(paths, invalid_lines='error', encoding='utf8', include_path_column=False)"),
    ("from_delta_lake", "(delta_table_uri, timestamp_as_of=None, version_as_of=None, include_path_column=False)"),
    ("from_paths", "(paths)"),
])
def test_builder_signatures_match_the_reference(function, expected):
    """The reference's parameters, in its order; our one addition is the keyword-only storage_options."""
    signature = inspect.signature(getattr(mltable, function))
    # Names, order and defaults as the reference's; our annotations are extra.
    theirs = [p.replace(annotation=inspect.Parameter.empty) for p in signature.parameters.values()
              if p.kind != inspect.Parameter.KEYWORD_ONLY]
    ours = [p.name for p in signature.parameters.values() if p.kind == inspect.Parameter.KEYWORD_ONLY]
    assert str(signature.replace(parameters=theirs, return_annotation=inspect.Signature.empty)) == expected
    assert ours == ["storage_options"]


def test_builders_reject_storage_options_that_are_not_a_dict():
    with pytest.raises(mltable.UserErrorException, match="storage_options must be a dict"):
        mltable.from_parquet_files([{"file": "x.parquet"}], storage_options="account_key=abc")


def test_method_defaults_match_the_reference():
    def defaults(name):
        return {k: v.default for k, v in inspect.signature(getattr(mltable.MLTable, name)).parameters.items()
                if v.default is not inspect.Parameter.empty}
    assert defaults("take") == {"count": 20}
    assert defaults("show") == {"count": 20}
    assert defaults("random_split") == {"percent": 0.5, "seed": None}
    assert defaults("take_random_sample") == {"seed": None}
    assert defaults("save") == {"path": None, "overwrite": True, "colocated": False, "show_progress": False,
                                "if_err_remove_files": True}


def test_enums_have_the_reference_members():
    assert [m.name for m in MLTableHeaders] == ["no_header", "from_first_file", "all_files_different_headers",
                                                "all_files_same_headers"]
    assert [m.name for m in MLTableFileEncoding] == ["utf8", "iso88591", "latin1", "ascii", "utf16", "utf8bom",
                                                     "windows1252"]


@pytest.mark.parametrize("call, message", [
    (lambda t: t.take(0), "Number of rows must be a positive integer"),
    (lambda t: t.take(1.5), "Number of rows must be a positive integer"),
    (lambda t: t.take("3"), "Number of rows must be a positive integer"),
    (lambda t: t.take(True), "Number of rows must be a positive integer"),
    (lambda t: t.show(0), "Number of rows must be a positive integer"),
    (lambda t: t.skip(0), "Count must be an integer > 0."),
    (lambda t: t.skip(-1), "Count must be an integer > 0."),
    (lambda t: t.take_random_sample(1), "Probability should an float greater than 0 and less than 1"),
    (lambda t: t.take_random_sample(1.0), "Probability should an float greater than 0 and less than 1"),
    (lambda t: t.take_random_sample("0.5"), "Probability should an float greater than 0 and less than 1"),
    (lambda t: t.take_random_sample(0.5, seed="x"), "A random seed must be an integer"),
    (lambda t: t.random_split(1.0), "Percent should be a float greater than 0 and less than 1"),
    (lambda t: t.random_split(0.5, seed=1.5), "A random seed must be an integer"),
    (lambda t: t.keep_columns(5), "Expect column names to be a string, a list of strings, a tuple of strings, or a set of strings"),
    (lambda t: t.keep_columns(["a", 5]), "Expect column names to be a string"),
    (lambda t: t.keep_columns(["a", "a"]), "Found duplicate columns in given column names: {'a'}"),
    (lambda t: t.drop_columns(("c", "b", "c")), "Found duplicate columns in given column names: {'c'}"),
    (lambda t: t.filter(5), "Expression should be a string"),
    (lambda t: t.filter(None), "Expression should be a string"),
])
def test_transform_argument_checks(tbl, call, message):
    with pytest.raises(UserErrorException) as caught:
        call(tbl)
    assert message in str(caught.value)
    assert caught.value.error_code == "UserError"


@pytest.mark.parametrize("kwargs, message", [
    ({"header": "sometimes"}, "Given invalid header sometimes, supported headers are: 'no_header', 'from_first_file', "
                              "'all_files_different_headers', and 'all_files_same_headers'."),
    ({"infer_column_types": {"foo": 1}}, "If `infer_column_types` is a dictionary, may only contain keys "
                                         "`sample_size` and `column_type_overrides`."),
    ({"infer_column_types": {"sample_size": 0}}, "If `infer_column_types` is a dictionary with a `sample_size` key, "
                                                 "its value must be a positive integer."),
    ({"infer_column_types": {"sample_size": True}}, "its value must be a positive integer."),
    ({"infer_column_types": {"column_type_overrides": 5}}, "If `infer_column_types` is a dictionary with a "
                                                           "`column_type_overrides` key, its value must be a dictionary "
                                                           "of strings to `mltable.DataType`s or strings."),
    ({"infer_column_types": {"column_type_overrides": {"a": "integer"}}},
     "'integer' is not a supported string conversion for `mltable.DataType`, supported types are 'string', 'int', "
     "'float', 'boolean', & 'stream_info'"),
    ({"infer_column_types": {"column_type_overrides": {}}},
     "Expected a non-empty dict[Union[str, tuple[str]], Union[str, mltable.DataType]]"),
    ({"infer_column_types": {"column_type_overrides": {"a": "int", ("a", "b"): "float"}}},
     "Found duplicate column. Cannot convert column 'a' to multiple `mltable.DataType`s."),
    ({"infer_column_types": "yes"}, "`infer_column_types` must be a bool or a dictionary."),
])
def test_delimited_argument_checks(tmp_path, kwargs, message):
    with pytest.raises(UserErrorException) as caught:
        mltable.from_delimited_files([{"file": str(tmp_path / "a.csv")}], **kwargs)
    assert message in str(caught.value)


def test_header_and_encoding_enums_are_accepted(tmp_path):
    path = str(tmp_path / "a.csv")
    tbl = mltable.from_delimited_files([{"file": path}], header=MLTableHeaders.no_header,
                                       encoding=MLTableFileEncoding.latin1)
    step = tbl._to_yaml_dict()["transformations"][0]["read_delimited"]
    assert step["header"] == "no_header" and step["encoding"] == "latin1"
    assert mltable.from_delimited_files([{"file": path}], header="NO_HEADER") == tbl.__class__(
        tbl._plan.replace(reader=tbl._plan.reader.__class__(header="no_header")))


def test_json_lines_invalid_lines_check(tmp_path):
    with pytest.raises(UserErrorException, match=r"Invalid value for invalid_lines, the supported values are \['error', 'drop'\]"):
        mltable.from_json_lines_files([{"file": str(tmp_path / "a.jsonl")}], invalid_lines="skip")


@pytest.mark.parametrize("call, message", [
    (lambda: DataType.to_bool(true_values=["a"]), "`true_values` and `false_values` must both be None or non-empty list of strings"),
    (lambda: DataType.to_bool(true_values=[], false_values=["n"]), "must both be None or non-empty list of strings"),
    (lambda: DataType.to_bool(true_values=["a"], false_values=["a"]), "`true_values` and `false_values` can not have overlapping values"),
    (lambda: DataType.to_bool(true_values=["y"], false_values=["n"], mismatch_as="maybe"), "`mismatch_as` can only be ('error', 'true', 'false')"),
    (lambda: DataType.to_bool(true_values=[1], false_values=[0]), "`true_values` must only consists of strings"),
    (lambda: DataType.to_datetime(None), "Expect `formats` to be a single string, a list of strings, or a tuple of strings"),
    (lambda: DataType.to_datetime([5]), "Expect `formats` to be a single string"),
])
def test_data_type_checks(call, message):
    with pytest.raises(UserErrorException) as caught:
        call()
    assert message in str(caught.value)


def test_delta_build_checks(tmp_path):
    with pytest.raises(UserErrorException, match="Provided timestamp_as_of: 2024-01-01 is not in RFC-3339/ISO-8601 format"):
        mltable.from_delta_lake(str(tmp_path), timestamp_as_of="2024-01-01")
    with pytest.raises(UserErrorException, match="Both timestamp_as_of and version_as_of parameters were provided"):
        mltable.from_delta_lake(str(tmp_path), timestamp_as_of="2024-01-01T00:00:00Z", version_as_of=1)
    tbl = mltable.from_delta_lake(str(tmp_path), version_as_of=1)
    assert tbl.paths == [{"folder": str(tmp_path)}]


def test_tables_are_immutable_values(tbl):
    taken = tbl.take(3)
    assert taken is not tbl and taken != tbl and tbl.take(3) == taken
    assert len({tbl, tbl.take(3), taken}) == 2
    assert tbl != 5 and tbl != None  # noqa: E711


def test_sampling_seeds_are_drawn_and_recorded(tbl):
    sampled = tbl.take_random_sample(0.5)
    seed = sampled._to_yaml_dict()["transformations"][-1]["take_random_sample"]["seed"]
    assert isinstance(seed, int) and 1 <= seed <= 1000
    first, second = tbl.random_split(0.3, seed=5)
    assert [step for step in first._to_yaml_dict()["transformations"] if "sample" in step] == [
        {"sample": {"sampler": "random_percent", "sampler_arguments": {"probability": 0.3, "probability_lower_bound": 0.0, "seed": 5}}}]
    assert second._to_yaml_dict()["transformations"][-1]["sample"]["sampler_arguments"] == {
        "probability": 1.0, "probability_lower_bound": 0.3, "seed": 5}


def test_traits_and_metadata_api(tbl):
    with pytest.raises(UserErrorException, match="Timestamp column does not appear to be set"):
        tbl.traits.timestamp_column
    with pytest.raises(UserErrorException, match="Index columns do not appear to be set"):
        tbl.traits.index_columns
    with pytest.raises(UserErrorException, match="An object of type list is expected, but encountered type: <class 'str'>"):
        tbl.traits.index_columns = "a"
    with pytest.raises(UserErrorException, match="An object of type string is expected, but encountered type: <class 'int'>"):
        tbl.traits.timestamp_column = 5
    tbl.traits.timestamp_column = "a"
    tbl.traits.index_columns = ["b"]
    tbl.metadata.add("k", {"x": [1, 2]})
    assert tbl.metadata.has("k") and tbl.metadata.get("k") == {"x": [1, 2]} and tbl.metadata.get("nope") is None
    with pytest.raises(UserErrorException, match="Metadata only supports string property names"):
        tbl.metadata.add(5, "v")
    derived = tbl.take(1)
    assert derived.traits.timestamp_column == "a" and derived.metadata.get("k") == {"x": [1, 2]}
    with pytest.raises(UserErrorException, match="Columns in traits must be kept and cannot be dropped"):
        tbl.drop_columns("a")
    with pytest.raises(UserErrorException, match="Columns in traits must be kept and cannot be dropped"):
        tbl.keep_columns(["c"])
    document = tbl._to_yaml_dict()
    assert document["traits"] == {"timestamp_column": "a", "index_columns": ["b"]}
    assert document["metadata"] == {"k": {"x": [1, 2]}}


def test_errors_are_clean(tbl):
    with pytest.raises(UserErrorException) as caught:
        tbl.take(0)
    error = caught.value
    assert str(error) == error.message == "Number of rows must be a positive integer"
    assert isinstance(error, mltable.MLTableError)
