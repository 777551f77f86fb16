"""``python -m sweepjax.cli``: the `sweepjax` command."""

import sys

from sweepjax.cli import main

sys.exit(main())
