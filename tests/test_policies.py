"""Where we are deliberately better than the reference (the policy rows P1-P22 of the
compatibility notes, docs/differences.md): every row names the tests that pin it, and the rows
without a home elsewhere are tested here."""

import datetime
import importlib

import pytest

import mltable_lite as mltable
from mltable_lite import DataType, UserErrorException

POLICY_TESTS = {
    "P1": ["test_paths::test_folder_is_recursive_sorted_and_skips_nothing"],
    "P2": ["test_delimited::test_sample_beyond_200_rows_widens_instead_of_losing_p2",
           "test_inference::test_convert_widens_instead_of_nulling"],
    "P3": ["test_delimited::test_ambiguous_dates_parse_month_first_p3", "test_delimited::test_unrecognised_dates_stay_strings"],
    "P4": ["test_transforms::test_filter_errors", "test_expressions::test_syntax_errors_name_the_position"],
    "P5": ["test_expressions::test_unknown_column_lists_existing_columns",
           "test_json_lines::test_filters_reach_fields_inside_objects_with_dots"],
    "P6": ["test_expressions::test_chained_comparisons_are_pythons"],
    "P7": ["test_transforms::test_empty_results_keep_their_columns",
           "test_executor::test_zero_byte_file_gives_an_empty_frame_and_header_only_keeps_columns"],
    "P8": ["test_transforms::test_partition_format_relative_to_the_spec_folder_and_dates"],
    "P9": ["test_delta::test_partition_columns_are_returned_with_their_types"],
    "P10": ["test_delta::test_instant_before_the_first_commit_names_the_earliest_commit"],
    "P11": ["test_json_lines::test_int_and_float_widen_to_float64", "test_json_lines::test_other_mixtures_keep_original_values"],
    "P12": ["test_delimited::test_utf16_with_bom_p12", "test_json_lines::test_utf8_bom_and_utf16"],
    "P13": ["test_parquet::test_timestamp_seconds_read_correctly", "test_parquet::test_dictionary_column_is_its_value_type",
            "test_parquet::test_map_is_list_of_key_value_pairs"],
    "P14": ["test_delimited::test_delimiters"],
    "P15": ["test_delimited::test_quoted_newline_needs_support_multi_line_p15"],
    "P16": ["test_schema::test_load_rejects_with_the_references_message", "test_parquet::test_damaged_parquet_is_execution_error"],
    "P17": ["test_transforms::test_partition_format_step_works_anywhere_in_a_yaml_file"],
    "P18": ["test_conversions::test_time_only_formats_p18"],
    "P19": ["test_policies::test_messages_start_with_the_references_words_then_say_where_p19"],
    "P20": ["test_policies::test_a_partition_format_that_cannot_match_fails_at_the_builder_p20"],
    "P21": ["test_policies::test_time_only_formats_with_a_date_constant_give_values_p21"],
    "P22": ["test_policies::test_date_constant_is_saved_quoted_and_both_forms_load_p22"],
}


def test_every_policy_row_names_tests_that_exist():
    assert sorted(POLICY_TESTS, key=lambda key: int(key[1:])) == [f"P{n}" for n in range(1, 23)]
    for row, tests in POLICY_TESTS.items():
        for test in tests:
            module, name = test.split("::")
            assert callable(getattr(importlib.import_module(module), name, None)), f"{row}: {test} is gone"


def test_messages_start_with_the_references_words_then_say_where_p19(tmp_path):
    missing = tmp_path / "missing.csv"
    with pytest.raises(UserErrorException) as caught:
        mltable.from_delimited_files([{"file": str(missing)}]).to_pandas_dataframe()
    message = str(caught.value)
    assert message.startswith("The requested stream was not found. Please make sure the request uri is correct.")
    assert str(missing) in message and caught.value.error_code == "ScriptExecution.StreamAccess.NotFound"

    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "MLTable").write_text("paths:\n- file: a.csv\ntransformations:\n- read_delimited:\n"
                                            "    header: sometimes\n")
    with pytest.raises(UserErrorException) as caught:
        mltable.load(str(tmp_path / "t"))
    message = str(caught.value)
    assert message.startswith("Given MLTable does not adhere to the AzureML MLTable schema: 'sometimes' is not one of")
    assert f"(at 'transformations/0/read_delimited/header' in {tmp_path / 't' / 'MLTable'})" in message

    (tmp_path / "n.csv").write_text("n\n1\n")
    with pytest.raises(UserErrorException) as caught:
        mltable.from_delimited_files([{"file": str(tmp_path / "n.csv")}]).select_partitions(3).to_pandas_dataframe()
    assert str(caught.value).startswith('Invalid argument "partitions". Expected "< 1", Actual 3. ')
    assert "get_partition_count()" in str(caught.value)


@pytest.mark.parametrize("partition_format, words", [
    ("{d:MM/dd}/{f}.csv", "Year (yyyy) must be present in date partition format."),
    ("{d:yyyy}/{e:MM}/{f}.csv", "Only single date is supported by partition format."),
])
def test_a_partition_format_that_cannot_match_fails_at_the_builder_p20(tmp_path, partition_format, words):
    (tmp_path / "a.csv").write_text("n\n1\n")
    tbl = mltable.from_delimited_files([{"file": str(tmp_path / "a.csv")}])
    with pytest.raises(UserErrorException) as caught:
        tbl.extract_columns_from_partition_format(partition_format)  # no read needed
    assert str(caught.value).startswith(f'Invalid argument "partition-format". "{words}", Actual "{partition_format}"')


def test_time_only_formats_with_a_date_constant_give_values_p21(tmp_path):
    (tmp_path / "t.csv").write_text("at\n10:20\n23:59\n")
    tbl = mltable.from_delimited_files([{"file": str(tmp_path / "t.csv")}]).convert_column_types(
        {"at": DataType.to_datetime("%H:%M", date_constant="2024-01-05")})
    assert tbl.to_pandas_dataframe()["at"].tolist() == [datetime.datetime(2024, 1, 5, 10, 20),
                                                       datetime.datetime(2024, 1, 5, 23, 59)]


def test_date_constant_is_saved_quoted_and_both_forms_load_p22(tmp_path):
    (tmp_path / "t.csv").write_text("at\n10:20\n")
    tbl = mltable.from_delimited_files([{"file": str(tmp_path / "t.csv")}]).convert_column_types(
        {"at": DataType.to_datetime("%H:%M", date_constant="2024-01-05")})
    tbl.save(str(tmp_path / "saved"))
    text = (tmp_path / "saved" / "MLTable").read_text()
    assert "date_constant: '2024-01-05'" in text
    unquoted = tmp_path / "unquoted"
    unquoted.mkdir()
    (unquoted / "MLTable").write_text(text.replace("date_constant: '2024-01-05'", "date_constant: 2024-01-05"))
    for folder in (tmp_path / "saved", unquoted):
        assert mltable.load(str(folder)).to_pandas_dataframe()["at"].tolist() == [datetime.datetime(2024, 1, 5, 10, 20)]
