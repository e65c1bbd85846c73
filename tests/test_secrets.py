"""Secrets (account keys, SAS tokens, bearer tokens, connection strings) never reach a message,
a log record, a repr or a saved MLTable file."""

import logging

import pytest
import yaml

import mltable_lite as mltable
from mltable_lite.storage.secrets import MASK, install_log_redaction, redact, safe_options, strip_secret_query

KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
SAS = "sv=2024-08-04&ss=b&srt=co&sp=rl&se=2030-01-01T00%3A00%3A00Z&sig=Zm9vYmFyYmF6cXV4%3D"


@pytest.mark.parametrize("text, secret", [
    (f"DefaultEndpointsProtocol=https;AccountName=acct;AccountKey={KEY};EndpointSuffix=core.windows.net", KEY),
    (f"GET https://acct.blob.core.windows.net/c/x.csv?{SAS} -> 403", "Zm9vYmFyYmF6cXV4"),
    ("Authorization: Bearer eyJ0eXAiOiJKV1QiLCJhbGciOi.JSUzI1NiJ9-x_y", "eyJ0eXAiOiJKV1QiLCJhbGciOi"),
    (f"{{'account_key': '{KEY}', 'account_name': 'acct'}}", KEY),
    ('{"secretsType": "Sas", "sasToken": "sv=1&sig=c2VjcmV0"}', "c2VjcmV0"),
    ("BlobEndpoint=https://a.blob.core.windows.net/;SharedAccessSignature=sv=1&sig=abcd1234", "abcd1234"),
])
def test_redact_masks_every_known_form(text, secret):
    cleaned = redact(text)
    assert secret not in cleaned
    assert MASK in cleaned


def test_redact_keeps_what_is_not_secret():
    text = "File 'wasbs://data@acct.blob.core.windows.net/a.csv', line 3, column 'sig_strength'"
    assert redact(text) == text


def test_redact_masks_secrets_given_verbatim():
    assert redact("token was hunter2-long", "hunter2-long") == f"token was {MASK}"


def test_strip_secret_query_drops_a_whole_sas_and_keeps_other_parameters():
    assert strip_secret_query(f"https://h/c/x.csv?{SAS}") == "https://h/c/x.csv"
    assert strip_secret_query("https://h/x.csv?version=3&token=abc") == "https://h/x.csv?version=3"
    assert strip_secret_query("wasbs://c@a.blob.core.windows.net/x.csv") == "wasbs://c@a.blob.core.windows.net/x.csv"


def test_safe_options_masks_secret_values_only():
    shown = safe_options({"account_key": KEY, "sas_token": SAS, "connection_string": "x;AccountKey=y",
                          "account_name": "acct", "anon": False, "client_secret": "s"})
    assert shown == {"account_key": MASK, "sas_token": MASK, "connection_string": MASK, "account_name": "acct",
                     "anon": False, "client_secret": MASK}


def test_every_error_message_is_scrubbed():
    error = mltable.UserErrorException(f"cannot read https://h/x.csv?{SAS} with AccountKey={KEY}")
    assert "Zm9vYmFyYmF6cXV4" not in str(error) and KEY not in str(error) and KEY not in error.message
    assert "https://h/x.csv" in str(error)


def test_storage_library_log_records_are_scrubbed(caplog):
    install_log_redaction()
    with caplog.at_level(logging.DEBUG, logger="fsspec.http"):
        logging.getLogger("fsspec.http").debug("https://h/c/x.csv?%s", SAS)
        try:
            raise OSError(f"403 for https://h/c/x.csv?{SAS}")
        except OSError:
            logging.getLogger("fsspec.http").exception("request failed")
    text = caplog.text
    assert "fsspec.http" in text and "request failed" in text
    assert "Zm9vYmFyYmF6cXV4" not in text


def test_saved_yaml_and_repr_carry_no_sas_token(tmp_path):
    table = mltable.from_delimited_files([{"file": f"https://example.invalid/data/x.csv?{SAS}"}],
                                         storage_options={"account_key": KEY})
    assert "Zm9vYmFyYmF6cXV4" not in repr(table) and "Zm9vYmFyYmF6cXV4" not in str(table)
    assert KEY not in repr(table)
    table.save(str(tmp_path / "saved"))
    text = (tmp_path / "saved" / "MLTable").read_text()
    assert "sig=" not in text and KEY not in text
    assert yaml.safe_load(text)["paths"] == [{"file": "https://example.invalid/data/x.csv"}]
    # The in-memory table still holds the token: reading uses it.
    assert table._plan.paths[0].uri.endswith(SAS)
