"""``python -m skeer``: the ``skeer`` command line (see :mod:`skeer.cli`)."""

import sys

from skeer.cli import main

__all__ = []

if __name__ == "__main__":
    sys.exit(main())
