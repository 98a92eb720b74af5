"""The unbiased pass@k estimator of the Codex paper (Chen et al., 2021)."""

from __future__ import annotations

import numpy as np


def pass_at_k(n: int, c: int, k: int) -> float:
    """Probability that at least one of k samples drawn from n (c correct) passes.

    Computes 1 - C(n-c, k) / C(n, k) as a product, which neither overflows nor
    loses precision for large n.

    Args:
        n: samples generated for the task.
        c: samples that passed.
        k: the k of pass@k; must satisfy 1 <= k <= n.
    """
    if not 0 <= c <= n:
        raise ValueError(f"need 0 <= c <= n, got n={n}, c={c}")
    if not 1 <= k <= n:
        raise ValueError(f"need 1 <= k <= n, got n={n}, k={k}")
    if n - c < k:
        return 1.0
    return float(1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


def pass_at_k_array(n: np.ndarray, c: np.ndarray, k: int) -> np.ndarray:
    """Vectorised :func:`pass_at_k` over tasks; NaN where n < k.

    There are few distinct (n, c) pairs (n is the sample count), so the product
    form runs once per distinct pair rather than once per task.
    """
    n = np.asarray(n, dtype=np.int64)
    c = np.asarray(c, dtype=np.int64)
    out = np.full(n.shape, np.nan)
    ok = n >= k
    if not ok.any():
        return out
    pairs, inverse = np.unique(np.stack([n[ok], c[ok]], axis=1), axis=0, return_inverse=True)
    values = np.array([pass_at_k(int(a), int(b), k) for a, b in pairs])
    out[ok] = values[inverse.reshape(-1)]
    return out
