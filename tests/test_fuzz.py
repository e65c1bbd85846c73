"""The fuzz suite (issue 18): a few hundred seeded, generated inputs, each read in a worker
process, and for every one of them:

* only our exception classes (``UserErrorException`` / ``ExecutionError``) come out;
* no hang: each input has a time limit (:data:`TIME_LIMIT`);
* no crash: the worker process survives (a segfault or a kill fails the input, not the run);
* where the input has a known meaning, an oracle: the data read is that meaning
  (see :mod:`harness.fuzz_inputs` for the families and their oracles).

``MLTABLE_LITE_FUZZ_SEED=<n>`` draws another set of inputs (the default set is fixed, so the
suite is reproducible); ``MLTABLE_LITE_FUZZ_SCALE=<f>`` multiplies the number of cases.
"""

import os
import random

import pytest
from harness.fuzz_inputs import FAMILIES
from harness.isolated import Worker

SEED = int(os.environ.get("MLTABLE_LITE_FUZZ_SEED", "18"))
SCALE = float(os.environ.get("MLTABLE_LITE_FUZZ_SCALE", "1"))
TIME_LIMIT = 45.0   # seconds per input: normal inputs take milliseconds; a shared machine is slow
OUR_ERRORS = ("mltable_lite.errors.UserErrorException", "mltable_lite.errors.ExecutionError",
              "mltable_lite.errors.ValidationError", "mltable_lite.errors.TimestampWithoutOffsetError")

CASES = [(name, index) for name, (_, count) in FAMILIES.items() for index in range(max(1, round(count * SCALE)))]


@pytest.fixture(scope="module")
def worker():
    with Worker() as running:
        yield running


@pytest.mark.parametrize("family, index", CASES, ids=[f"{name}-{index}" for name, index in CASES])
def test_generated_input(worker, tmp_path, family, index):
    generator, _ = FAMILIES[family]
    case = generator(random.Random(f"{SEED}/{family}/{index}"), str(tmp_path))
    outcome = worker.call(case.request, timeout=TIME_LIMIT)
    described = f"{family}-{index} ({case.note}): {outcome}"
    assert outcome.kind in ("ok", "error"), f"{outcome.kind}: {described}"
    if outcome.kind == "error":
        assert outcome.ours and outcome.error_type.rsplit(".", 1)[0] == "mltable_lite.errors", \
            f"leaked {outcome.error_type}: {described}\n{outcome.traceback[-3000:]}"
        assert not case.must_read, f"a valid input was refused: {described}"
        return
    if "compare_with" in case.request:
        expected = worker.call(case.request["compare_with"], timeout=TIME_LIMIT)
        assert expected.kind == "ok", f"the API gave {expected}"
        assert outcome.result["digest"] == expected.result["digest"], f"load() and the API differ: {described}"
    if case.oracle is not None:
        case.oracle(outcome.result)
