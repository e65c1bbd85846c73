"""Reading and writing MLTable YAML text: safe parsing only, the reference's output style.

MLTable files come from other people (shared folders, data assets), so parsing is bounded: YAML
aliases may share a value but a document may not expand past :data:`MAX_NODES` values (a few
hundred bytes of nested aliases otherwise stand for billions), nest deeper than
:data:`MAX_DEPTH` levels, or contain itself. Each is a clear error naming the file.

Example:
    >>> print(dump_yaml({"type": "mltable", "paths": [{"file": "a.csv"}]}), end="")
    paths:
    - file: a.csv
    type: mltable
    >>> parse_yaml("a: &x [1, 2]\\nb: *x\\n", "MLTable")
    {'a': [1, 2], 'b': [1, 2]}
"""

from __future__ import annotations

from typing import Any

from .errors import UserErrorException

#: Values (scalars, lists, mappings) a document may stand for once its aliases are expanded.
MAX_NODES = 1_000_000
#: Nesting a document may have; real MLTable files have fewer than ten levels.
MAX_DEPTH = 100


def dump_yaml(document: dict) -> str:
    """Block style, keys sorted, as PyYAML's ``safe_dump`` (what the reference writes)."""
    import yaml

    return yaml.safe_dump(document, default_flow_style=False, sort_keys=True, allow_unicode=True)


def parse_yaml(text: str, source: str) -> Any:
    """Parse untrusted YAML text safely; errors name ``source`` and the line."""
    import yaml

    try:
        loader = yaml.SafeLoader(text)   # checks the characters: a control character is a YAMLError
    except yaml.YAMLError as error:
        raise _invalid(error, source) from None
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_expansion(node, source)
        return loader.construct_document(node)
    except yaml.YAMLError as error:
        raise _invalid(error, source) from None
    except RecursionError:
        raise _too_deep(source) from None
    finally:
        loader.dispose()


def _invalid(error: Exception, source: str) -> UserErrorException:
    detail = str(error).replace('"<unicode string>"', f'"{source}"')
    return UserErrorException(f"MLTable yaml is invalid: {detail}")


def _check_expansion(root, source: str) -> None:
    """Raise unless the node graph under ``root`` is acyclic, at most :data:`MAX_DEPTH` deep and
    expands to at most :data:`MAX_NODES` values. Shared nodes (aliases) are measured once."""
    import yaml

    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack = [(root, 1, False)]
    while stack:
        node, depth, children_done = stack.pop()
        key = id(node)
        if children_done:
            open_nodes.discard(key)
            sizes[key] = 1 + sum(sizes[id(child)] for child in _children(node))
            if sizes[key] > MAX_NODES:
                raise UserErrorException(
                    f"MLTable yaml is invalid: '{source}' expands to more than {MAX_NODES} values through its "
                    f"aliases (line {node.start_mark.line + 1}). Write the values out instead of nesting aliases.")
            continue
        if key in sizes:
            continue
        if key in open_nodes:
            raise UserErrorException(
                f"MLTable yaml is invalid: in '{source}' an alias at line {node.start_mark.line + 1} refers to a "
                "value that contains it, so the document would be infinite.")
        if depth > MAX_DEPTH:
            raise _too_deep(source, node.start_mark.line + 1)
        open_nodes.add(key)
        stack.append((node, depth, True))
        if not isinstance(node, yaml.ScalarNode):
            stack.extend((child, depth + 1, False) for child in _children(node))


def _children(node) -> list:
    import yaml

    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [item for pair in node.value for item in pair]
    return []


def _too_deep(source: str, line: int | None = None) -> UserErrorException:
    where = f" (line {line})" if line is not None else ""
    return UserErrorException(
        f"MLTable yaml is invalid: '{source}' nests lists and mappings more than {MAX_DEPTH} levels deep{where}.")
