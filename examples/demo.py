"""The quick-start job: load the bundled MLTable, filter, sample, preview, count.

Run with ``bash scripts/demo.sh`` (sets up .venv first) or ``python examples/demo.py``.
"""

import os
import sys

import mltable_lite as mltable

HERE = os.path.dirname(os.path.abspath(__file__))


def main() -> int:
    trips = mltable.load(os.path.join(HERE, "trips"))
    long_trips = trips.filter('distance_km > 10 and vendor == "Contoso"')
    sample = long_trips.take_random_sample(probability=0.5, seed=42)
    df = sample.to_pandas_dataframe()
    print("Plan (MLTable YAML):")
    print(sample)
    print(df.head(10).to_string())
    print()
    print(f"{len(df)} of {len(trips.to_pandas_dataframe())} trips: Contoso, longer than 10 km, 50% sample")
    print("dtypes:", ", ".join(f"{name}={dtype}" for name, dtype in df.dtypes.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
