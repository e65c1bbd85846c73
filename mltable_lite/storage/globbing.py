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
from dataclasses import dataclass

from ..errors import ExecutionError, UserErrorException

_WILDCARD = re.compile(r"[*?\[]")


def has_wildcard(path: str) -> bool:
    return _WILDCARD.search(path) is not None


@dataclass(frozen=True)
class Glob:
    """A compiled pattern: its wildcard-free folder ``prefix``, a ``regex`` for whole paths, and
    for each segment below the prefix a regex of one name (``None`` for ``**``), so that a walk
    can go down only the folders the pattern can still match (:func:`.local_files.walk`)."""

    prefix: str
    regex: re.Pattern
    segments: tuple

    def folder_states(self, states: frozenset, name: str) -> frozenset:
        """The segment positions a folder ``name`` leads to from ``states`` (empty: skip it)."""
        last = len(self.segments) - 1
        following = set()
        for position in states:
            segment = self.segments[position] if position <= last else False
            if segment is None:
                following.add(position)   # '**' takes this folder too
            elif segment and position < last and segment.fullmatch(name):
                following.add(position + 1)
        return self._closed(following)

    def matches_file(self, states: frozenset, name: str) -> bool:
        last = len(self.segments) - 1
        segment = self.segments[last] if last >= 0 else None
        return last in states and segment is not None and segment.fullmatch(name) is not None

    def start(self) -> frozenset:
        return self._closed({0})

    def _closed(self, positions: set) -> frozenset:
        """With each '**' also matching no folder at all."""
        pending = list(positions)
        while pending:
            position = pending.pop()
            if position < len(self.segments) and self.segments[position] is None and position + 1 not in positions:
                positions.add(position + 1)
                pending.append(position + 1)
        return frozenset(positions)


def compile_pattern(pattern: str) -> tuple[str, re.Pattern]:
    """Split ``pattern`` into its wildcard-free folder prefix and a full-path regex."""
    glob = compile_glob(pattern)
    return glob.prefix, glob.regex


def compile_glob(pattern: str) -> Glob:
    """``pattern`` as a :class:`Glob`.

    >>> glob = compile_glob("/data/**/x*.csv")
    >>> glob.prefix, glob.matches_file(glob.start(), "x1.csv"), bool(glob.folder_states(glob.start(), "sub"))
    ('/data', True, True)
    """
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
        below = tuple(None if segment == "**" else re.compile(_segment_regex(segment), re.DOTALL)
                      for segment in segments[len(fixed):])
        return Glob(prefix, re.compile("".join(parts) + r"\Z", re.DOTALL), below)
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
                # Characters the regex engine treats specially in a class (or may in future: a nested
                # set, set operations) are literal in a glob.
                body = "".join("\\" + char if char in "\\^[&~|" else char for char in body)
                out.append(f"[{'^/' if negate else ''}{body}]")
                index = end
        else:
            out.append(re.escape(char))
        index += 1
    return "".join(out)
