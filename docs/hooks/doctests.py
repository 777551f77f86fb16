"""mkdocs hook: docstring examples (``>>>`` lines) render as code.

The docstrings hold their examples as doctests, in the text, where Markdown
would read ``>>>`` as a nested quote. Before Markdown reads a page or a
docstring, each run of lines starting with ``>>>`` (with its ``...``
continuations and the expected output up to the next blank line) becomes a
fenced ``pycon`` block; fenced blocks already there are left alone.
"""

from __future__ import annotations

import re

from markdown import Extension
from markdown.preprocessors import Preprocessor
from mkdocs.plugins import event_priority

_FENCE = re.compile(r"^\s*(```|~~~)")


def fence_doctests(lines: list[str]) -> list[str]:
    """`lines` with each doctest example in a ``pycon`` fence."""
    out: list[str] = []
    in_fence = in_example = False
    indent = ""
    for line in lines:
        if in_example and not line.strip():
            out.append(f"{indent}```")
            in_example = False
        if not in_example and _FENCE.match(line):
            in_fence = not in_fence
        elif not in_fence and not in_example and line.lstrip().startswith(">>>"):
            indent = line[: len(line) - len(line.lstrip())]
            out += ([""] if out and out[-1].strip() else []) + [f"{indent}```pycon"]
            in_example = True
        out.append(line)
    if in_example:
        out.append(f"{indent}```")
    return out


class _Doctests(Preprocessor):
    def run(self, lines: list[str]) -> list[str]:
        return fence_doctests(lines)


class DoctestExtension(Extension):
    """Fences doctest examples before the fenced-code extension reads them."""

    def extendMarkdown(self, md):  # Markdown's name for it
        md.preprocessors.register(_Doctests(md), "doctests", 40)


@event_priority(100)  # before mkdocstrings reads the extensions
def on_config(config):
    config.markdown_extensions.append(DoctestExtension())
    return config
