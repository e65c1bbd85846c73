"""Dependency hygiene (issue 18 item 9): every third-party package the code imports is declared
in pyproject.toml itself (not left to arrive through another package), and the environment the
tests run in satisfies every declared floor."""

from __future__ import annotations

import ast
import importlib.metadata as metadata
import sys
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python 3.11+
from packaging.requirements import Requirement  # noqa: E402 — pytest depends on packaging

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _requirements(extras: bool) -> dict[str, Requirement]:
    listed = list(PROJECT["dependencies"])
    if extras:
        listed += [item for group in PROJECT["optional-dependencies"].values() for item in group]
    requirements = (Requirement(item) for item in listed)
    return {_normal(requirement.name): requirement for requirement in requirements}


def _normal(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def _imported_modules() -> dict[str, str]:
    """module imported (absolute, third party) → the first file importing it."""
    found: dict[str, str] = {}
    for path in sorted((ROOT / "mltable_lite").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top != "mltable_lite":
                    found.setdefault(name, str(path.relative_to(ROOT)))
    return found


_PACKAGES = metadata.packages_distributions()


def _distribution_of(module: str) -> str:
    """The installed distribution that holds ``module`` (namespace packages such as ``azure.*``
    are told apart by the files each distribution holds)."""
    top = module.split(".")[0]
    candidates = _PACKAGES.get(top, [])
    if len(candidates) == 1:
        return _normal(candidates[0])
    parts = module.split(".")
    for depth in range(len(parts), 0, -1):
        prefix = "/".join(parts[:depth]) + "/"
        owners = {candidate for candidate in candidates
                  if any(str(file).startswith(prefix) for file in metadata.distribution(candidate).files or ())}
        if len(owners) == 1:
            return _normal(owners.pop())
    raise AssertionError(f"no single installed distribution holds {module} (candidates: {candidates})")


def test_every_imported_package_is_declared():
    declared = _requirements(extras=True)
    missing = {f"{_distribution_of(module)} (imported as {module} in {where})"
               for module, where in _imported_modules().items() if _distribution_of(module) not in declared}
    assert not missing, f"imported but not declared in pyproject.toml: {sorted(missing)}"


def test_the_sdk_packages_used_directly_are_core_dependencies():
    core = _requirements(extras=False)
    for name in ("aiohttp", "azure-core", "azure-storage-blob", "fsspec", "numpy"):
        assert name in core, name


def test_the_installed_versions_satisfy_every_floor():
    for name, requirement in _requirements(extras=True).items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue   # an optional extra this environment does not install
        assert requirement.specifier.contains(installed, prereleases=True), f"{name} {installed} vs {requirement}"
