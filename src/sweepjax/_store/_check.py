"""Resume checks: what differs between a stored sweep and the run resuming it.

Values are compared as they compute: a number and a NumPy scalar of equal
value (``1``, ``1.0``, ``np.float32(1)``) are not a difference here; where the
type changes the program, the program's fingerprint differs and says so. A
part a store did not record (stores of older formats, a model that could not
be traced) is not compared.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["check_resume", "resume_differences", "show_value"]

_SHOW_DIFFS = 6
_SHOW_CHARS = 80
_PROGRAM = "program"
_MODEL = "model"
#: The key sets of one described leaf (`describe_value`): compared whole.
_LEAVES = (
    {"callable"},
    {"object", "repr"},
    {"dtype", "value"},
    {"dtype", "shape", "sha1"},
    {"key", "shape", "sha1"},
)
_CAUSES = (
    "a closed-over value, a global, a helper function, a functools.partial's "
    "target or arguments, an equinox module's weights, an attribute of a "
    "fixed object or the type of a fixed value changed"
)


def _json(value: Any) -> Any:
    """`value` as it reads back from JSON (tuples become lists, ...)."""
    return json.loads(json.dumps(value))


def show_value(value: Any) -> str:
    """A recorded value, readably: numbers as themselves, arrays by dtype,
    shape and a short hash, callables by name, objects by repr.

    >>> show_value({"dtype": "float32", "value": 1.0})
    'float32 1.0'
    >>> show_value({"dtype": "float64", "shape": [3], "sha1": "ab" * 20})
    "float64 array (3,), sha1 'ababababab'"
    """
    if isinstance(value, dict):
        if "repr" in value:  # an axis, an object
            return str(value["repr"])
        if "callable" in value:
            return str(value["callable"])
        if "value" in value and "dtype" in value:
            return f"{value['dtype']} {value['value']!r}"
        if "shape" in value:  # an array, an output leaf
            kind = f"key<{value['key']}>" if "key" in value else value.get("dtype")
            text = f"{kind or ''} array {tuple(value['shape'])}".lstrip()
            sha = value.get("sha1")
            return text if sha is None else f"{text}, sha1 {str(sha)[:10]!r}"
        text = json.dumps(value, sort_keys=True)
        return text if len(text) <= _SHOW_CHARS else text[: _SHOW_CHARS - 3] + "..."
    if isinstance(value, str) and len(value) == 40:  # a sha1 hex digest
        return repr(value[:12] + "...")
    return repr(value)


def _number(value: Any) -> Any:
    """The number a recorded scalar holds (a NumPy scalar is recorded as
    {dtype, value}), or None for anything else."""
    if isinstance(value, dict) and set(value) == {"dtype", "value"}:
        value = value["value"]
    if isinstance(value, bool | int | float):
        return value
    return None


def _leaf(value: dict) -> bool:
    return set(value) in _LEAVES


def _differences(stored: Any, now: Any, where: str, retyped: list[str]) -> list[str]:
    """Human-readable differences between two JSON values, by path; paths
    whose values are equal but of another type are added to `retyped`."""
    if isinstance(stored, dict) and isinstance(now, dict) and not _leaf(stored):
        out = []
        for key in list(stored) + [k for k in now if k not in stored]:
            sub = f"{where}.{key}" if where else str(key)
            if key not in now:
                out.append(f"{sub}: stored {show_value(stored[key])}, now absent")
            elif key not in stored:
                out.append(f"{sub}: absent from the store, now {show_value(now[key])}")
            else:
                out += _differences(stored[key], now[key], sub, retyped)
        return out
    if isinstance(stored, list) and isinstance(now, list) and len(stored) == len(now):
        return [
            d
            for i, (a, b) in enumerate(zip(stored, now, strict=True))
            for d in _differences(a, b, f"{where}[{i}]", retyped)
        ]
    if stored == now:
        return []
    a, b = _number(stored), _number(now)
    if a is not None and b is not None and a == b:
        retyped.append(f"{where} ({show_value(stored)} -> {show_value(now)})")
        return []
    hint = " (the values differ)" if where.endswith("sha1") else ""
    where = f"{where}: " if where else ""
    return [f"{where}stored {show_value(stored)}, now {show_value(now)}{hint}"]


def _program(stored: dict, now: dict, retyped: list[str], explained: bool) -> list[str]:
    """Why two program fingerprints differ, as far as the records tell: the
    other parts that differ (`explained`), the model's values that changed,
    else the likely causes."""
    if stored.get("sha1") == now.get("sha1"):
        return []
    line = (
        f"fingerprint stored {show_value(stored.get('sha1'))}, now "
        f"{show_value(now.get('sha1'))}"
    )
    if explained:
        return [f"{line}, as follows from the differences above"]
    function = now.get("function")
    if stored.get("function") != function:
        return [f"{line}: the model calls {function}, not {stored.get('function')}"]
    if stored.get("source_sha1") != now.get("source_sha1"):
        return [f"{line}: the source of {function} changed"]
    changed = _differences(stored.get("values"), now.get("values"), "", [])
    if stored.get("values") is not None and changed:
        head = f"{line}; the source of {function} is unchanged, what it uses changed"
        return [f"{head}: {changed[0]}", *changed[1:]]
    why = f"{line}; the source of {function} is unchanged, so {_CAUSES}"
    if retyped:
        why += " (equal values of another type: " + ", ".join(retyped) + ")"
    return [why]


def _without_source(model: Any) -> Any:
    if not isinstance(model, dict):
        return model
    return {k: v for k, v in model.items() if k != "source_sha1"}


def _by_name(space_description: dict) -> dict:
    """A space description with its axes keyed by name, for readable diffs."""
    out = dict(space_description)
    out["axes"] = {a["name"]: a for a in space_description["axes"]}
    return out


def resume_differences(pairs: list[tuple[str, Any, Any]]) -> list[str]:
    """One line per differing part, naming each changed leaf (old -> new):
    `pairs` is [(what, stored, now)]; a part stored as None (not recorded)
    is not compared, nor a program that one side could not trace. Where both
    sides fingerprinted the program, the model's source hash is a hint of
    the program's message, not a difference of its own (an edited comment
    changes no point)."""
    parts, retyped = [], []
    programs = [(a, b) for what, a, b in pairs if what == _PROGRAM]
    fingerprinted = bool(programs) and None not in programs[0]
    for what, stored, now in pairs:
        if stored is None or (what == _PROGRAM and now is None):
            continue
        if what == _MODEL and fingerprinted:
            # the program decides; its message names a changed source
            stored, now = _without_source(stored), _without_source(now)
        if what == "space":
            stored, now = _by_name(stored), _by_name(now)
        if what == _PROGRAM:
            diffs = _program(stored, _json(now), retyped, bool(parts))
        else:
            diffs = _differences(stored, _json(now), "", retyped)
        if diffs:
            shown = "; ".join(diffs[:_SHOW_DIFFS])
            more = len(diffs) - _SHOW_DIFFS
            shown += f"; and {more} more" if more > 0 else ""
            parts.append(f"the {what} differs ({shown})")
    return parts


def check_resume(path: Path, pairs: list[tuple[str, Any, Any]], hint: str = "") -> None:
    """Refuse to resume when any stored part differs from the current run's,
    naming every part that differs and how: `pairs` is [(what, stored, now)]."""
    parts = resume_differences(pairs)
    if parts:
        raise ValueError(
            f"Cannot resume the sweep stored at {str(path)!r}: "
            + "; ".join(parts)
            + ". Resume with the same space, model, parameters, output structure "
            "and chunk size (leave chunk_size unset to use the stored one), or "
            "write to a new store." + hint
        )
