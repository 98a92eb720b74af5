"""The cost/quality Pareto front."""

from __future__ import annotations

import numpy as np


def pareto_front(cost: np.ndarray, quality: np.ndarray) -> np.ndarray:
    """True where no other point is both cheaper-or-equal and better-or-equal (one strictly).

    Points with an unknown (NaN) cost or quality are never on the front.
    """
    cost = np.asarray(cost, dtype=np.float64)
    quality = np.asarray(quality, dtype=np.float64)
    valid = ~np.isnan(cost) & ~np.isnan(quality)
    c = np.where(valid, cost, np.inf)[:, None]
    q = np.where(valid, quality, -np.inf)[:, None]
    # dominates[j, i]: point j dominates point i.
    dominates = (c <= c.T) & (q >= q.T) & ((c < c.T) | (q > q.T)) & valid[:, None]
    return valid & ~dominates.any(axis=0)
