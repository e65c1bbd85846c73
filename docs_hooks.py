"""MkDocs hooks: the MLTable format page is ``specs/MLTABLE_FORMAT.md`` (the spec stays where the
code and tests refer to it), published with the JSON Schema it describes; and a griffe extension
that reads the docstrings' ``Example:`` sections as code."""

import re
from pathlib import Path

import griffe
from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parent
SCHEMA = "mltable_lite/specs/mltable.schema.json"


def on_files(files, config):
    text = (ROOT / "specs" / "MLTABLE_FORMAT.md").read_text(encoding="utf-8")
    # Links written for the repository point at the pages the site has.
    text = text.replace("](../docs/", "](").replace(f"](../{SCHEMA})", "](mltable.schema.json)")
    files.append(File.generated(config, "format.md", content=text))
    files.append(File.generated(config, "mltable.schema.json", content=(ROOT / SCHEMA).read_text(encoding="utf-8")))
    return files


class ExampleSections(griffe.Extension):
    """A griffe extension: the package's docstrings head their examples ``Example:``, which the
    Google style reads as a note; ``Examples:`` makes them code (doctest) sections."""

    def on_object(self, *, obj, **_):
        if obj.docstring is not None:
            obj.docstring.value = re.sub(r"(?m)^(\s*)Example:\s*$", r"\1Examples:", obj.docstring.value)
