"""Every example in the package's docstrings that is not marked ``+SKIP`` runs and prints what it
says, from the repository root (where ``examples/data`` is), with ``mltable`` imported."""

import doctest
import importlib
import pkgutil
from pathlib import Path

import pytest

import mltable_lite

ROOT = Path(__file__).resolve().parent.parent
MODULES = sorted(info.name for info in pkgutil.walk_packages(mltable_lite.__path__, "mltable_lite."))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name, monkeypatch, tmp_path):
    monkeypatch.chdir(ROOT)
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in finder.find(module, name, globs={"mltable": mltable_lite, **vars(module)}):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} docstring example(s) of {name} failed (output above)"
