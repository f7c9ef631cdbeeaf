"""Array types and the two sampling helpers every part of the simulator uses."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]
Texts = npt.NDArray[np.object_]


def choose(rng: np.random.Generator, weights: Sequence[float] | Floats, size: int) -> Ints:
    """Indices drawn with the given (unnormalised) weights."""
    cumulative = np.cumsum(np.asarray(weights, dtype=np.float64))
    drawn = np.searchsorted(cumulative / cumulative[-1], rng.random(size), side="right")
    return np.minimum(drawn, len(cumulative) - 1).astype(np.int64)


def texts(values: Sequence[str | None]) -> Texts:
    """Python strings as a NumPy object array (fancy indexing without a fixed width)."""
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array
