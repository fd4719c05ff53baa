"""``python -m cimtile.cli``: the ``cimtile`` command (as ``cimtile bench --memory`` starts
it)."""

import sys

from . import main

sys.exit(main())
