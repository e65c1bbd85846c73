"""Partition formats and partition keys (the transforms issue fills this in).

Example:
    >>> partition_keys(plan)         # doctest: +SKIP
    ['year', 'month']
"""

from __future__ import annotations

import re

from .plan import ExtractPartitionFormat, Plan

_KEY = re.compile(r"\{([^{}:]+)(?::[^{}]*)?\}")


def partition_keys(plan: Plan) -> list[str]:
    plain, dated = [], []
    for step in plan.transforms:
        if isinstance(step, ExtractPartitionFormat):
            for match in _KEY.finditer(step.partition_format):
                target = dated if ":" in match.group(0) else plain
                if match.group(1) not in plain + dated:
                    target.append(match.group(1))
    return plain + dated
