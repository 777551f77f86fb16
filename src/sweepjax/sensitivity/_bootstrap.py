"""SALib's bootstrap of the Sobol' indices, as counts.

SALib resamples the base rows with ``numpy.random.default_rng(seed)
.integers(n, size=(n, n_resamples))`` (column `r`: the rows of resample
`r`) and averages per-row terms over each resample. A resample's mean is
its counts (how often each row is drawn) times the terms over `n`, so the
means of every resample are one matrix product ``counts @ terms``: no
resampled copy of the outputs is made, and the outputs can be read in
blocks of rows.

Memory: the counts are `[n_resamples, n]` bytes (uint8, widened only where
a count passes 255, which practically never happens): 100 bytes a base row
for SALib's 100 resamples, an eighth of SALib's draw matrix and no more
than the design's own host arrays (which `SaltelliSpace` checks against
its `max_bytes`). The draws are made in at most `MAX_CHUNKS` chunks of the
same random stream, so they never take more than 32 MB or half the counts'
bytes at once.

The counts depend only on `n`, the resamples and the seed, not on the
outputs: a design starts drawing those of `sobol_indices`' defaults in a
background thread (`prefetch_counts`) while its sweep compiles and runs,
the work of a second core, and the indices take them when they are ready.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

__all__ = ["add_counts", "bootstrap_counts", "prefetch_counts"]

#: Draws made at a time, at least (int32: 32 MB).
DRAW_VALUES = 2**23
_TILE = 1024
#: The draws come in at most this many chunks (each chunk costs a pass over
#: the counts).
MAX_CHUNKS = 8


def add_counts(counts: np.ndarray, r: int, add: np.ndarray) -> np.ndarray:
    """Add `add` `[n]` to row `r` of `counts`, widening `counts`' dtype
    first when a sum would not fit; returns `counts` (or its wider copy).

    >>> add_counts(np.full((1, 2), 250, np.uint8), 0, np.array([1, 10])).tolist()
    [[251, 260]]
    """
    if counts[r].any():
        add = add + counts[r]  # in add's wider dtype
    top = int(add.max()) if add.size else 0
    if top > np.iinfo(counts.dtype).max:
        counts = counts.astype(np.min_scalar_type(top))
    counts[r] = add
    return counts


#: Counts drawn ahead of time only up to this many bytes (a design of 2^17
#: base rows with SALib's 100 resamples).
PREFETCH_BYTES = 2**24
_BACKGROUND = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sweepjax-counts")
#: The one set of counts being drawn ahead: ``(n, n_resamples, seed)``.
_AHEAD: dict[tuple[int, int, int], Future] = {}


def prefetch_counts(n: int, n_resamples: int = 100, seed: int | None = 1) -> None:
    """Start drawing ``bootstrap_counts(n, n_resamples, seed)`` in a
    background thread (NumPy's drawing and counting release the GIL), for
    the next call to take; only one set is kept ahead, and none past
    `PREFETCH_BYTES` or for an unseeded (fresh) draw."""
    if seed is None or n * n_resamples > PREFETCH_BYTES:
        return
    key = (n, n_resamples, seed)
    if key not in _AHEAD:
        _AHEAD.clear()
        _AHEAD[key] = _BACKGROUND.submit(draw_counts, n, n_resamples, seed)


def bootstrap_counts(n: int, n_resamples: int, seed: int | None) -> np.ndarray:
    """`[n_resamples, n]`: how often each of `n` base rows is drawn in each
    of SALib's resamples (``default_rng(seed).integers(n, size=(n,
    n_resamples))``, column by column). Unsigned integers, uint8 unless a
    count passes 255. Taken from `prefetch_counts` when it drew them.

    >>> bootstrap_counts(4, 2, seed=0).sum(axis=1).tolist()
    [4, 4]
    """
    ahead = _AHEAD.pop((n, n_resamples, seed), None) if seed is not None else None
    return ahead.result() if ahead is not None else draw_counts(n, n_resamples, seed)


def draw_counts(n: int, n_resamples: int, seed: int | None) -> np.ndarray:
    """`bootstrap_counts`, drawn now."""
    rng = np.random.default_rng(seed)
    # the same stream in int32 (SALib draws int64): half the bytes
    dtype = np.int32 if n <= np.iinfo(np.int32).max else np.int64
    counts = np.zeros((n_resamples, n), np.uint8)
    rows = max(DRAW_VALUES // n_resamples, -(-n // MAX_CHUNKS), 1)
    for r0 in range(0, n, rows):
        draws = _draws(rng, n, min(rows, n - r0), n_resamples, dtype)
        for r in range(n_resamples):
            counts = add_counts(counts, r, np.bincount(draws[r], minlength=n))
    return counts


def _draws(
    rng: np.random.Generator, n: int, rows: int, n_resamples: int, dtype: type
) -> np.ndarray:
    """The next `rows` rows of draws, transposed: `[n_resamples, rows]`
    (unsigned, the narrowest type that holds `n - 1`). Drawn a tile at a
    time, each transposed while in cache (a whole transpose is a few times
    slower). Generator.integers continues the stream where the last call
    stopped, so tiles draw the numbers one call would."""
    # kept in the narrowest type that holds them (uint16 up to 65,536 rows):
    # the draws are the largest array of the bootstrap
    out = np.empty((n_resamples, rows), np.min_scalar_type(max(n - 1, 0)))
    for i0 in range(0, rows, _TILE):
        tile = rng.integers(n, size=(min(_TILE, rows - i0), n_resamples), dtype=dtype)
        out[:, i0 : i0 + _TILE] = tile.T
    return out
