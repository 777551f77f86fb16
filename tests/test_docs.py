"""The README and the user guide run as written, and the examples run.

Every ``python`` block of a page runs in order, in one namespace per page, as
a script (``__name__ == "__main__"``) in a temporary directory; a block that
starts with ``# sweep.py`` is also saved under that name, and every ``bash``
block of the guide runs its commands. The only block not run is the one that
says, on its first line, that it needs a SLURM cluster.

A trailing comment on a line that is a ``print(...)`` call, or a bare
expression other than a call (one that is there to show its value), says
what that line prints, and is checked: the printed text (the value's repr,
for a bare expression), whitespace runs collapsed to one space, must equal
the whole comment or its part before a ``": "`` outside brackets (what
follows explains), where ``...`` stands for any text (and the spaces around
it). A comment that only describes the output in words goes on the line
above. (A bare call, such as a plot, is made for its effect: its comment is
free.)
"""

import ast
import contextlib
import io
import linecache
import re
import runpy
import shlex
import sys
import tokenize
from pathlib import Path

import pytest

from sweepjax import cli

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
NEEDS_CLUSTER = "# needs: a SLURM cluster"


def blocks(path: Path) -> list[tuple[str, str]]:
    """``(language, code)`` of each fenced block of a page, in order."""
    return re.findall(r"```(\w+)\n(.*?)```", path.read_text(), flags=re.S)


def _trailing_comments(code: str) -> dict[int, str]:
    """Line number -> text of the comment ending that line (after code)."""
    found = {}
    for tok in tokenize.generate_tokens(io.StringIO(code).readline):
        if tok.type == tokenize.COMMENT and tok.line[: tok.start[1]].strip():
            found[tok.start[0]] = tok.string[1:].strip()
    return found


class _Shows(ast.NodeTransformer):
    """Wraps each checked line so that its printed text is recorded."""

    def __init__(self, comments: dict[int, str]):
        self.comments, self.checked = comments, {}

    def visit_Expr(self, node: ast.Expr) -> ast.AST:
        line = node.end_lineno
        if line not in self.comments:
            return node
        call = node.value
        is_call = isinstance(call, ast.Call)
        if is_call and getattr(call.func, "id", "") != "print":
            return node
        self.checked[line] = self.comments[line]
        if is_call:
            shows = ast.Call(
                ast.Name("__shows__", ast.Load()), [ast.Constant(line)], []
            )
            wrapped = ast.With([ast.withitem(shows)], [node])
        else:
            args = [ast.Constant(line), node.value]
            wrapped = ast.Expr(
                ast.Call(ast.Name("__shows_value__", ast.Load()), args, [])
            )
        return ast.copy_location(wrapped, node)


def _readings(comment: str) -> list[str]:
    """The comment, and each of its parts before a ``": "`` outside brackets
    and quotes (the value, when what follows explains it)."""
    found, depth, quote = [comment], 0, None
    for i, c in enumerate(comment):
        if quote:
            quote = None if c == quote else quote
        elif c in "'\"":
            quote = c
        elif c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif depth == 0 and comment.startswith(": ", i):
            found.append(comment[:i])
    return found


def _matches(printed: str, comment: str) -> bool:
    text = " ".join(printed.split())
    for expected in _readings(comment):
        parts = [re.escape(" ".join(p.split())) for p in expected.split("...")]
        pattern = ".*".join(parts)
        if re.fullmatch(pattern, text, flags=re.S):
            return True
    return False


def run_checked(code: str, filename: str, namespace: dict) -> None:
    """Run a block; check the comment of every print line and bare expression.

    The block's source is registered under `filename`, so that
    `inspect.getsource` (what a store records of a model) reads the block.
    """
    lines = code.splitlines(keepends=True)
    linecache.cache[filename] = (len(code), None, lines, filename)
    tree = ast.parse(code)
    shows = _Shows(_trailing_comments(code))
    tree = ast.fix_missing_locations(shows.visit(tree))
    printed: dict[int, str] = {}

    @contextlib.contextmanager
    def capture(line):
        with contextlib.redirect_stdout(io.StringIO()) as out:
            yield
        printed[line] = printed.get(line, "") + out.getvalue()
        sys.stdout.write(out.getvalue())

    def show_repr(line, value):
        printed[line] = printed.get(line, "") + repr(value)

    namespace.update(__shows__=capture, __shows_value__=show_repr)
    exec(compile(tree, filename, "exec"), namespace)
    for line, comment in shows.checked.items():
        assert line in printed, f"{filename}: line {line} (# {comment}) never ran"
        assert _matches(printed[line], comment), (
            f"{filename}, block line {line}: prints {printed[line]!r}, "
            f"its comment says {comment!r}"
        )


def test_value_comments_are_checked():
    namespace = {}
    run_checked("x = 2\nprint(x + 1)  # 3: x plus one\nx * 4  # 8\n", "t", namespace)
    run_checked("print({'a': 1})  # {'a': 1}: a dict\nprint  # <built-in ...>", "t", {})
    with pytest.raises(
        AssertionError, match="prints '6.*n', its comment says '8: the points kept'"
    ):
        run_checked("print(6)  # 8: the points kept\n", "t", namespace)
    run_checked("print('Axis x is 4.0 TB wide')  # Axis ... 4.0 TB ...\n", "t", {})


def test_readme_has_exactly_two_quick_start_commands():
    text = (ROOT / "README.md").read_text()
    section = text.split("## Quick start", 1)[1].split("##", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, flags=re.S).group(1)
    commands = [line.split("#")[0].strip() for line in block.splitlines()]
    assert [c for c in commands if c] == ["make demo", "make test"]


def test_every_block_is_python_or_bash_and_one_needs_a_cluster():
    found = [(p.name, lang, code) for p in PAGES for lang, code in blocks(p)]
    assert {lang for _, lang, _ in found} == {"python", "bash"}
    skipped = [name for name, _, code in found if code.startswith(NEEDS_CLUSTER)]
    assert skipped == ["stores_and_clusters.md"]


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.name)
def test_page_runs_as_written(path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "__main__"}
    ran = 0
    for k, (lang, code) in enumerate(blocks(path)):
        if code.startswith(NEEDS_CLUSTER):
            continue
        if lang == "python":
            if code.startswith("# sweep.py"):
                (tmp_path / "sweep.py").write_text(code)
            run_checked(code, f"<{path.name}, block {k}>", namespace)
        elif path.name != "README.md":  # README's bash block: the Quick start
            for line in code.splitlines():
                command = shlex.split(line.split("#")[0])
                if command:  # in-process: a subprocess would import JAX again
                    assert command[0] == "sweepjax"
                    assert cli.main(command[1:]) == 0, line
        ran += 1
    assert ran >= 1


def test_spaces_tour_example_sweeps_the_oscillator(capsys):
    tour = runpy.run_path(str(ROOT / "examples" / "spaces_tour.py"))
    space, result = tour["main"]()
    assert "Space(N=24, mode='product', axes=3)" in capsys.readouterr().out
    assert len(result) == len(space) == 24
    for i in (0, 13, 23):  # the sweep equals calling the model on the point
        direct = tour["oscillator"](space[i])
        assert float(result[i]["energy"]) == pytest.approx(float(direct["energy"]))
        assert float(result[i]["peak"]) == pytest.approx(float(direct["peak"]))
    energy = result.to_xarray()["energy"]
    assert energy.dims == ("physics.stiffness", "physics.damping", "x0")
    # more damping leaves less energy, at every stiffness and start
    assert (energy.diff("physics.damping") < 0).all()
