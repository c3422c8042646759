"""Reading the components that carry a score (issue 21): orientation, cosine with the
Alice–Bob direction, excess-score shares, consistency of flagged records, logit lens.

All pure functions of arrays; the test mix is `x` `[m, d]` with `is_anomalous` `[m]`
(Bob on hard questions = anomalous, Alice on hard questions = normal).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def alice_bob_direction(x: np.ndarray, is_anomalous: np.ndarray) -> np.ndarray:
    """Mean of the anomalous (Bob) minus mean of the normal (Alice) test records, `[d]`."""
    x = np.asarray(x, dtype=np.float64)
    return x[is_anomalous].mean(0) - x[~is_anomalous].mean(0)


def orientation(coords: np.ndarray, is_anomalous: np.ndarray) -> np.ndarray:
    """±1 per component `[K]` from its coordinates `[m, K]`: + where anomalous records lie on
    the positive side on average (so a direction points from Alice towards Bob)."""
    diff = coords[is_anomalous].mean(0) - coords[~is_anomalous].mean(0)
    return np.where(diff < 0, -1.0, 1.0)


def cosines(directions: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Cosine of each row of `directions` `[K, d]` with `target` `[d]` (0 for a zero vector)."""
    norms = np.linalg.norm(directions, axis=1) * np.linalg.norm(target)
    return np.divide(directions @ target, norms, out=np.zeros(len(directions)), where=norms > 0)


def flag_threshold(scores: np.ndarray, is_anomalous: np.ndarray, quantile: float) -> float:
    """A record is flagged when its score exceeds this quantile of the normal records' scores
    (quantile 0.95 = a 5 % false-positive rate on this test mix)."""
    return float(np.quantile(scores[~is_anomalous], quantile))


def excess(contrib: np.ndarray, is_anomalous: np.ndarray) -> tuple[np.ndarray, float]:
    """Per component, mean contribution of anomalous minus normal records `[K]`, and the same
    for the whole score (the sum of the first)."""
    per = contrib[is_anomalous].mean(0) - contrib[~is_anomalous].mean(0)
    return per, float(per.sum())


def mean_shares(contrib: np.ndarray, scores: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Mean over `rows` of each component's share c_k/s of a record's score, `[K]`."""
    if not rows.any():
        return np.full(contrib.shape[1], np.nan)
    s = scores[rows][:, None]
    share = np.divide(contrib[rows], s, out=np.zeros_like(contrib[rows]), where=s != 0)
    return share.mean(0)


def top1_fractions(contrib: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Fraction of `rows` whose largest contribution is component k, `[K]` (NaN if none)."""
    k = contrib.shape[1]
    if not rows.any():
        return np.full(k, np.nan)
    return np.bincount(contrib[rows].argmax(1), minlength=k) / rows.sum()


def logit_lens(
    directions: np.ndarray,
    unembed: np.ndarray,
    gain: np.ndarray | None,
    decode: Callable[[int], str],
    yes_no: tuple[int, int],
    n_tokens: int,
) -> tuple[list[list[str]], list[list[str]], np.ndarray]:
    """Project unit residual directions `[K, d]` through the final norm's gain `[d]` (None for
    the final-norm output itself) and the unembedding `[V, d]`: per direction the `n_tokens`
    tokens whose logits it raises most and lowers most, and logit(" Yes") − logit(" No")
    `[K]`. RMSNorm rescales a direction but does not turn it, so its gain is all that acts."""
    d = directions / np.linalg.norm(directions, axis=1, keepdims=True).clip(1e-300)
    if gain is not None:
        d = d * gain
    logits = d @ unembed.T  # [K, V]
    order = np.argsort(logits, axis=1)
    up = [[decode(int(t)) for t in row[::-1][:n_tokens]] for row in order]
    down = [[decode(int(t)) for t in row[:n_tokens]] for row in order]
    no, yes = yes_no
    return up, down, logits[:, yes] - logits[:, no]


def top_k(contrib: np.ndarray, k: int) -> np.ndarray:
    """Indices `[m, k]` of each row's k largest contributions, largest first."""
    k = min(k, contrib.shape[1])
    idx = np.argpartition(-contrib, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(contrib, idx, 1), axis=1, kind="stable")
    return np.take_along_axis(idx, order, 1)
