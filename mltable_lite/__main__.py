"""``python -m mltable_lite``: the ``mltable-lite`` command line (see :mod:`mltable_lite.cli`)."""

from .cli import main

if __name__ == "__main__":  # not when merely imported (tools that import every module)
    raise SystemExit(main())
