"""Resume checks: what differs between a stored sweep and the run resuming it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["check_resume", "resume_differences"]

_SHOW_DIFFS = 6


def _json(value: Any) -> Any:
    """`value` as it reads back from JSON (tuples become lists, ...)."""
    return json.loads(json.dumps(value))


def _short(value: Any) -> str:
    """A value for a message: an axis by its repr, a fingerprint shortened."""
    if isinstance(value, dict):
        return value.get("repr", "{...}")
    if isinstance(value, str) and len(value) == 40:  # a sha1 hex digest
        return repr(value[:12] + "...")
    return repr(value)


def _differences(stored: Any, now: Any, where: str) -> list[str]:
    """Human-readable differences between two JSON values, by path."""
    if isinstance(stored, dict) and isinstance(now, dict):
        out = []
        for key in list(stored) + [k for k in now if k not in stored]:
            sub = f"{where}.{key}" if where else str(key)
            if key not in now:
                out.append(f"{sub}: stored {_short(stored[key])}, now absent")
            elif key not in stored:
                out.append(f"{sub}: absent from the store, now {_short(now[key])}")
            else:
                out += _differences(stored[key], now[key], sub)
        return out
    if isinstance(stored, list) and isinstance(now, list) and len(stored) == len(now):
        return [
            d
            for i, (a, b) in enumerate(zip(stored, now, strict=True))
            for d in _differences(a, b, f"{where}[{i}]")
        ]
    if stored != now:
        hint = " (the values differ)" if where.endswith("sha1") else ""
        where = f"{where}: " if where else ""
        return [f"{where}stored {_short(stored)}, now {_short(now)}{hint}"]
    return []


def _by_name(space_description: dict) -> dict:
    """A space description with its axes keyed by name, for readable diffs."""
    out = dict(space_description)
    out["axes"] = {a["name"]: a for a in space_description["axes"]}
    return out


def resume_differences(pairs: list[tuple[str, Any, Any]]) -> list[str]:
    """One line per differing part, naming each changed leaf (old -> new):
    `pairs` is [(what, stored, now)]."""
    parts = []
    for what, stored, now in pairs:
        if what == "space":
            stored, now = _by_name(stored), _by_name(now)
        diffs = _differences(stored, _json(now), "")
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
