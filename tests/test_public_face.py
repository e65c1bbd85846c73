"""The package's public face: ``dir()`` shows the API and nothing internal, type hints ship
(``py.typed``) and every public name is annotated and documented with an example."""

import inspect
from importlib import resources

import mltable_lite


def public_callables():
    for name in mltable_lite.__all__:
        value = getattr(mltable_lite, name)
        if inspect.isfunction(value):
            yield name, value
    for cls in (mltable_lite.MLTable, mltable_lite.DataType):
        for name, member in vars(cls).items():
            function = member.__func__ if isinstance(member, (staticmethod, classmethod)) else member
            function = function.fget if isinstance(function, property) else function
            if not name.startswith("_") and inspect.isfunction(function):
                yield f"{cls.__name__}.{name}", function


def test_dir_lists_the_public_api_and_no_internal_module():
    shown = dir(mltable_lite)
    assert shown == sorted([*mltable_lite.__all__, "mltable", "__version__"])
    assert "executor" not in shown and "storage" not in shown and "plan" not in shown
    assert [name for name in shown if inspect.ismodule(getattr(mltable_lite, name))] == ["mltable"]


def test_type_hints_ship_with_the_package():
    assert resources.files("mltable_lite").joinpath("py.typed").is_file()


def test_every_public_callable_is_annotated_and_documented():
    unannotated, undocumented = [], []
    for name, function in public_callables():
        signature = inspect.signature(function)
        parameters = [p for p in signature.parameters.values() if p.name not in ("self", "cls")]
        if signature.return_annotation is inspect.Signature.empty and not name.endswith("__init__") or any(
                p.annotation is inspect.Parameter.empty for p in parameters):
            unannotated.append(name)
        if not (function.__doc__ or "").strip():
            undocumented.append(name)
    assert unannotated == [] and undocumented == []


def test_every_public_name_has_a_docstring():
    for name in mltable_lite.__all__:
        assert (getattr(mltable_lite, name).__doc__ or "").strip(), name
