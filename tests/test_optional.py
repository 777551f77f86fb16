"""Optional dependencies: a missing one says which extra installs it."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from sweepjax._optional import EXTRAS, require

ROOT = Path(__file__).resolve().parents[1]


def test_extras_are_pyprojects():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert set(EXTRAS) == set(project["optional-dependencies"])


def test_require_imports_or_names_the_extra():
    assert require("json", "data").__name__ == "json"
    with pytest.raises(
        ImportError,
        match=r'^sobol\(\) needs not_installed, which is not installed: pip install "'
        r'sweepjax\[sensitivity\]"$',
    ) as caught:
        require("not_installed.sample", "sensitivity", purpose="sobol()")
    assert caught.value.name == "not_installed"


def test_require_names_a_missing_dependency_of_the_package(monkeypatch, tmp_path):
    (tmp_path / "half_installed.py").write_text("import not_there_either\n")
    monkeypatch.syspath_prepend(tmp_path)
    with pytest.raises(
        ImportError,
        match=r"this needs half_installed, whose dependency not_there_either is not "
        r'installed: pip install "sweepjax\[search\]"',
    ):
        require("half_installed", "search")


def test_require_refuses_an_unknown_extra():
    with pytest.raises(ValueError, match=r"`extra` must be one of .*got 'plots'"):
        require("json", "plots")
