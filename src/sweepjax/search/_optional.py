"""The optional dependencies of search (evosax, pymoo), imported on demand."""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["require"]

_EXTRA = 'pip install "sweepjax[search]"'


def require(module: str) -> ModuleType:
    """Import `module` (``"evosax"``, ``"scipy.spatial"``, ...), or raise an
    ImportError that names the extra installing it.

    Deferred to the call that needs it: importing sweepjax never imports
    evosax or pymoo.
    """
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise ImportError(
            f"sweepjax's search needs {module.split('.')[0]!r}, which is not "
            f"installed ({err}): {_EXTRA}."
        ) from err
