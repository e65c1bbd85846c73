"""``load``: read ``<folder>/MLTable``, validate it against the MLTable JSON Schema, build a plan.

The builders' ``load`` (and the writers, for an output kept in place) wrap the plan in an
``MLTable``; this module never imports the table, so the table may load plans.

Example:
    >>> [spec.given for spec in load_plan("./examples/trips").paths]
    ['../data/trips/*.csv']
"""

from __future__ import annotations

from .errors import UserErrorException
from .plan import Plan
from .plan_yaml import plan_from_dict
from .schema import normalise_loaded, validate_document
from .storage import canonical_uri, is_local, join_uri, local_path, open_store
from .yaml_io import parse_yaml

MLTABLE_FILE = "MLTable"


def load_plan(uri: str, storage_options: dict | None = None) -> Plan:
    """The plan of the MLTable file in the folder ``uri`` (relative paths resolved against it)."""
    if not isinstance(uri, str):
        raise UserErrorException(f"load() needs the path or URI of a folder that holds an MLTable file, not {uri!r}")
    if uri[:8].lower() == "azureml:":
        from .storage.azureml import resolve_load_uri

        uri = resolve_load_uri(uri, storage_options)  # a data asset → its storage folder
    if not uri:
        raise UserErrorException("Not able to find MLTable file from the MLTable folder ''. load() takes the folder "
                                 "that holds a file named 'MLTable'.")
    folder_uri = canonical_uri(uri.rstrip("/") or "/")
    file_uri = join_uri(folder_uri, MLTABLE_FILE) if is_local(folder_uri) else folder_uri.rstrip("/") + "/" + MLTABLE_FILE
    store = open_store(file_uri, storage_options)
    path = store.path_of(file_uri)
    if store.kind(path) != "file":
        shown = local_path(folder_uri) if is_local(folder_uri) else folder_uri
        raise UserErrorException(
            f"Not able to find MLTable file from the MLTable folder '{shown}'. load() takes the folder that "
            f"holds a file named exactly 'MLTable' (case-sensitive), not the file itself.")
    with store.open_input(path) as handle:
        raw = handle.read()
    source = local_path(file_uri) if is_local(file_uri) else file_uri
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UserErrorException(f"MLTable yaml is invalid: '{source}' is not UTF-8 text") from None
    document = normalise_loaded(parse_yaml(text, source))
    validate_document(document, source)
    return plan_from_dict(document, base_uri=folder_uri, source=source)
