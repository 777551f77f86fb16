"""The API reference: every public name has a docstring with an example,
and `make docs` (mkdocs + mkdocstrings, --strict) builds the guide and the
reference with every public name on its page.

The examples themselves run as doctests (``--doctest-modules``); here, that
each public object's own docstring holds at least one.
"""

from __future__ import annotations

import doctest
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

import sweepjax
import sweepjax.execution
import sweepjax.fit
import sweepjax.network
import sweepjax.plot
import sweepjax.search
import sweepjax.sensitivity

ROOT = Path(__file__).resolve().parents[1]
#: Reference page -> the module it documents (docs/reference/*.md).
PAGES = {
    "sweepjax": sweepjax,
    "execution": sweepjax.execution,
    "fit": sweepjax.fit,
    "network": sweepjax.network,
    "plot": sweepjax.plot,
    "sensitivity": sweepjax.sensitivity,
    "search": sweepjax.search,
}


def _hooks():
    spec = importlib.util.spec_from_file_location(
        "doctests_hook", ROOT / "docs" / "hooks" / "doctests.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _examples(obj) -> int:
    """Doctest examples in `obj`'s own docstring (not its members')."""
    finder = doctest.DocTestFinder(recurse=False)
    return sum(len(t.examples) for t in finder.find(obj, getattr(obj, "__name__", "")))


@pytest.mark.parametrize(
    "module", [sweepjax, sweepjax.network], ids=lambda m: m.__name__
)
def test_every_public_name_has_a_docstring_with_an_example(module):
    missing = [name for name in module.__all__ if not _examples(getattr(module, name))]
    assert not missing, f"{module.__name__}: no docstring example for {missing}"


def test_docstring_examples_render_as_code():
    fence = _hooks().fence_doctests
    text = "Text.\n\n    >>> f(1)\n    2\n\nAfter.\n```python\n>>> kept\n```"
    assert fence(text.splitlines()) == [
        "Text.",
        "",
        "    ```pycon",
        "    >>> f(1)",
        "    2",
        "    ```",
        "",
        "After.",
        "```python",
        ">>> kept",
        "```",
    ]


def test_make_docs_builds_the_reference_strictly(tmp_path):
    site = tmp_path / "site"
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", site],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    for page, module in PAGES.items():
        html = (site / "reference" / page / "index.html").read_text()
        shown = set(re.findall(rf'id="{re.escape(module.__name__)}\.(\w+)"', html))
        assert set(module.__all__) <= shown, sorted(set(module.__all__) - shown)
    # a docstring example is a highlighted code block, not a nested quote
    html = (site / "reference" / "sweepjax" / "index.html").read_text()
    assert '<span class="gp">&gt;&gt;&gt; </span>' in html
    assert "<blockquote>" not in html
