"""``python -m sweepjax.cli``: the `sweepjax` command."""

import sys

from sweepjax.cli import main

if __name__ == "__main__":  # importing the module (pkgutil, doc tools) runs nothing
    sys.exit(main())
