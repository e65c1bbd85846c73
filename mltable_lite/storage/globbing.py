"""Glob patterns as the reference understands them, for every store.

``*`` and ``?`` stay inside one path segment and match leading dots, ``[ab]`` / ``[!a]`` are
character classes, and a ``**`` segment matches zero or more folders. One implementation serves
every store: stores only list files under the pattern's fixed prefix.

Example:
    >>> prefix, regex = compile_pattern("/data/**/*.csv")
    >>> prefix, bool(regex.match("/data/a.csv")), bool(regex.match("/data/x/y/b.csv"))
    ('/data', True, True)
"""

from __future__ import annotations

import re

from ..errors import ExecutionError, UserErrorException

_WILDCARD = re.compile(r"[*?\[]")


def has_wildcard(path: str) -> bool:
    return _WILDCARD.search(path) is not None


def compile_pattern(pattern: str) -> tuple[str, re.Pattern]:
    """Split ``pattern`` into its wildcard-free folder prefix and a full-path regex."""
    segments = pattern.split("/")
    fixed: list[str] = []
    for segment in segments:
        if has_wildcard(segment):
            break
        fixed.append(segment)
    if len(fixed) == len(segments):
        fixed = fixed[:-1]
    prefix = "/".join(fixed)
    if pattern.startswith("/") and not prefix:
        prefix = "/"

    parts: list[str] = []
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment == "**":
            # Zero or more whole folders; a bare trailing '**' names folders only, so it can
            # never match a file (the reference reports 'not found' for it).
            parts.append("(?:[^/]+/)*" if not last else "(?!)")
            continue
        if "**" in segment:
            raise ExecutionError(
                f"Invalid input parameter: pattern '{pattern}' uses '**' inside a path segment. "
                "'**' must stand alone between slashes (for example 'data/**/*.csv')."
            )
        parts.append(_segment_regex(segment) + ("" if last else "/"))
    try:
        return prefix, re.compile("".join(parts) + r"\Z", re.DOTALL)
    except re.error as error:  # a character class such as [z-a]
        raise UserErrorException(
            f"Invalid pattern '{pattern}': {error.msg} in a character class. Write ranges low to high, "
            "for example '[a-z]'.") from None


def _segment_regex(segment: str) -> str:
    out: list[str] = []
    index = 0
    while index < len(segment):
        char = segment[index]
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = segment.find("]", index + 2 if segment[index + 1:index + 2] in ("!", "^") else index + 1)
            if end == -1:
                out.append(re.escape(char))
            else:
                body = segment[index + 1:end]
                negate = body[:1] in ("!", "^")
                if negate:
                    body = body[1:]
                body = body.replace("\\", "\\\\").replace("^", "\\^")
                out.append(f"[{'^/' if negate else ''}{body}]")
                index = end
        else:
            out.append(re.escape(char))
        index += 1
    return "".join(out)
