"""Every figure of the examples, the guide and the demo is drawn through
`sweepjax.plot`: none of them imports matplotlib or calls its drawing
functions itself."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FILES = sorted(
    [
        *ROOT.glob("examples/*.py"),
        *ROOT.glob("docs/*.md"),
        ROOT / "README.md",
        ROOT / "src" / "sweepjax" / "network" / "_demo.py",
    ]
)
#: matplotlib imported, or a figure drawn or laid out by hand.
HAND_DRAWN = re.compile(
    r"import matplotlib|from matplotlib|\bplt\.|\.subplots\(|\.imshow\(|"
    r"\.contourf?\(|\.scatter\(|\.pcolormesh\(|\.set_title\(|\.savefig\("
)


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_figures_are_drawn_through_sweepjax_plot(path):
    found = [
        f"{path.name}:{number}: {line.strip()}"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if HAND_DRAWN.search(line)
    ]
    assert not found, "draw these through sweepjax.plot:\n" + "\n".join(found)
