"""The benchmark suite (``benchmarks/``) itself: its round orders, its verdicts, and one smoke run.

The suite's numbers are only as good as its method, and a suite that no longer runs says nothing;
CI runs a small slice of it end to end on tiny data (a few seconds of timing).
"""

import doctest
import itertools
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import _report  # noqa: E402
import _timing  # noqa: E402
import workloads  # noqa: E402


@pytest.mark.parametrize("count", [2, 3, 4, 5, 6])
def test_every_contestant_follows_every_other_equally_often(count):
    names = [f"c{i}" for i in range(count)]
    cycle = count if count % 2 == 0 else 2 * count
    rounds = list(_timing._rounds(names, cycle))
    assert all(sorted(order) == names for order in rounds)
    follows = Counter(pair for order in rounds for pair in itertools.pairwise(order))
    assert set(follows) == {(a, b) for a in names for b in names if a != b}
    assert len(set(follows.values())) == 1, follows


def test_timing_doctests_hold():
    result = doctest.testmod(_timing)
    assert result.attempted and not result.failed


def _result(workload_name: str, **medians) -> _report.WorkloadResult:
    workload = next(w for w in workloads.build(_fake_data(), "/reference/python").values()
                    if w.name == workload_name)
    outcomes = {}
    for name, (to_exit, ready) in medians.items():
        outcomes[name] = _timing.Outcome(times=[to_exit], ready=[ready], cpu=[to_exit], max_rss=[1])
    return _report.WorkloadResult(workload, outcomes)


def _fake_data(sizes=None):
    import _data

    return _data.Data(Path("/nonexistent"), sizes or _data.Sizes())


def test_a_context_row_is_shown_but_never_judged():
    results = {"process_parquet": _result("process_parquet", mltable_lite=(0.8, 0.7), mltable=(4.0, 0.9))}
    rows = {t.label: _report.target_verdict(t, results) for t in workloads.TARGETS if t.workload == "process_parquet"}
    to_exit = next(v for label, v in rows.items() if "to exit" in label)
    context = next(v for label, v in rows.items() if label.startswith("Context"))
    assert to_exit[0] == "✅" and to_exit[1] == pytest.approx(0.2)
    assert context[0] == "ℹ️" and context[1] == pytest.approx(0.7 / 0.9)
    slower = {"process_parquet": _result("process_parquet", mltable_lite=(1.0, 0.7), mltable=(4.0, 0.9))}
    target = next(t for t in workloads.TARGETS if t.workload == "process_parquet" and t.peer == "mltable"
                  and not t.context)
    assert _report.target_verdict(target, slower)[0] == "❌"


def test_a_smoke_run_measures_mltable_lite_in_every_workload_and_writes_the_report(tmp_path):
    output = tmp_path / "RESULTS.md"
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / "run.py"), "--smoke",
         "--data-dir", str(tmp_path / "data"), "--write", "--output", str(output)],
        capture_output=True, text=True, timeout=1200,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = output.read_text()
    assert report.strip() == done.stdout.strip()   # what it printed is what it wrote
    targets = report.split("## Targets")[1].split("\n## ")[0]
    rows = [line for line in targets.splitlines() if line.startswith("| ") and not line.startswith("| target")]
    assert len(rows) == len(workloads.TARGETS)
    for row in rows:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        if cells[1] == "–":   # not measured: only for want of a peer (the reference, polars, ...)
            assert "mltable_lite" not in cells[5] and cells[5].startswith("⚪"), row
        else:
            assert cells[5][0] in "✅❌ℹ", row
    import run

    smoke = run.parse_args(["--smoke"]).sizes
    for name, workload in workloads.build(_fake_data(smoke), None).items():
        lines = [line for line in report.splitlines() if line.startswith(f"| {workload.title} |")]
        assert lines, f"{name} is missing from the report"
        assert all(line.split("|")[2].strip().endswith(("s", "MB")) for line in lines), lines
