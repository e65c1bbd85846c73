"""How a table shows itself: a readable repr and a notebook HTML view, built from the plan alone
(no request, no file opened), secrets masked; ``str()`` stays the reference's YAML."""

import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import yaml

import mltable_lite as mltable
from mltable_lite import DataType

SAS = "sv=2024-01-01&se=2030-01-01&sp=rl&sig=c2VjcmV0c2lnbmF0dXJl"


def every_step_table(base: str):
    tbl = mltable.from_delimited_files([{"pattern": base + "data/*.csv"}, {"file": base + "extra.csv"}],
                                       delimiter=";", include_path_column=True)
    tbl = tbl.filter('fare > 10 and vendor == "Contoso"').skip(2).take(50)
    tbl = tbl.take_random_sample(0.5, seed=3).keep_columns(["trip_id", "fare", "vendor", "Path", "year"])
    tbl = tbl.drop_columns("vendor").convert_column_types({"fare": DataType.to_float(),
                                                            "trip_id": DataType.to_datetime("%Y-%m-%d")})
    tbl = tbl.extract_columns_from_partition_format("{year}/{file}.csv").select_partitions([0, 2])
    first, _ = tbl.random_split(0.8, seed=1)
    return first


STEP_WORDS = ["read delimited files", "delimiter ';'", "file path in column 'Path'",
              'keep rows where fare > 10 and vendor == "Contoso"', "every row after the first 2",
              "the first 50 rows", "each row kept with probability 0.5 (seed 3)",
              "only trip_id, fare, vendor, Path, year", "without vendor", "fare to float",
              "trip_id to datetime (%Y-%m-%d)", "columns from each file's path by '{year}/{file}.csv'",
              "only partitions 0, 2", "the rows drawn in [0.0, 0.8) (seed 1)"]


def test_repr_names_every_source_and_step_in_words_without_reading(serve_http, tmp_path):
    served = serve_http(tmp_path)
    tbl = every_step_table(served.url)
    served.reset()

    text = repr(tbl)

    assert served.requests == []
    assert text.startswith("MLTable: delimited files")
    assert f"pattern: {served.url}data/*.csv" in text and f"file: {served.url}extra.csv" in text
    for words in STEP_WORDS:
        assert words in text, words
    assert "schema: not read yet" in text


def test_repr_html_is_well_formed_and_holds_every_step_and_source(serve_http, tmp_path):
    served = serve_http(tmp_path)
    tbl = every_step_table(served.url)
    served.reset()

    page = tbl._repr_html_()

    assert served.requests == []
    root = ElementTree.fromstring(page)   # raises on anything not well formed
    text = "".join(root.itertext())
    assert root.tag == "div"
    assert served.url + "data/*.csv" in text and served.url + "extra.csv" in text
    for words in STEP_WORDS:
        assert words in text, words
    assert "<script" not in page


def test_display_never_shows_a_sas_token_or_password(tmp_path):
    tbl = mltable.from_parquet_files([{"file": f"https://acct.blob.core.windows.net/c/x.parquet?{SAS}"},
                                      {"file": "https://ann:hunter22@example.org/y.parquet"}])
    for shown in (repr(tbl), tbl._repr_html_()):
        assert "c2VjcmV0c2lnbmF0dXJl" not in shown and "hunter22" not in shown
        assert "acct.blob.core.windows.net/c/x.parquet" in shown


def test_str_is_still_the_yaml_that_loads_back(tmp_path):
    tbl = mltable.from_delimited_files([{"file": str(tmp_path / "a.csv")}]).filter("fare > 1").take(3)
    document = yaml.safe_load(str(tbl))
    assert document["transformations"][1:] == [{"filter": "fare > 1"}, {"take": 3}]
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "MLTable").write_text(str(tbl))
    assert mltable.load(str(tmp_path / "t")) == tbl


def test_repr_shows_the_schema_once_collect_schema_has_read_it(tmp_path):
    pq.write_table(pa.table({"id": [1, 2], "name": ["a", "b"]}), tmp_path / "a.parquet")
    tbl = mltable.from_parquet_files([{"file": str(tmp_path / "a.parquet")}])
    assert "id: int64" not in repr(tbl)

    tbl.collect_schema()

    assert "schema: 2 columns" in repr(tbl) and "id: int64" in repr(tbl) and "name: string" in repr(tbl)
    page = ElementTree.fromstring(tbl._repr_html_())
    assert "int64" in "".join(page.itertext())
    assert "id: int64" not in repr(tbl.take(1))   # a derived table has not read its schema


def test_repr_of_each_reader_kind(tmp_path):
    kinds = {
        mltable.from_parquet_files([{"file": "a.parquet"}]): "MLTable: parquet files",
        mltable.from_json_lines_files([{"file": "a.jsonl"}], invalid_lines="drop"): "invalid lines dropped",
        mltable.from_delta_lake(str(tmp_path), version_as_of=3): "read Delta Lake: version 3",
        mltable.from_paths([{"folder": str(tmp_path)}]): "MLTable: file paths",
    }
    for tbl, expected in kinds.items():
        assert expected in repr(tbl)


def test_a_loaded_table_shows_where_its_relative_paths_point():
    root = Path(__file__).resolve().parent.parent
    text = repr(mltable.load(str(root / "examples" / "trips")))
    assert f"pattern: {root}/examples/data/trips/*.csv" in text
    assert "../data" not in text
