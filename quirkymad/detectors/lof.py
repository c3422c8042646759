"""Local outlier factor, batch-independent (cupbearer `detectors/statistical/helpers.py`;
spec §6.4 and conflict C9).

d(x, y) = ‖x − y‖ + 1e-4; N_k(x) = the k nearest trusted points; d_k(y) = distance from a
trusted y to its k-th nearest *other* trusted point (leave-one-out). cupbearer takes
reachability with the point's own d_k, so lrd(y) = 1 / d_k(y) and
s(x) = (1/k) Σ_{j ∈ N_k(x)} d_k(x) / d_k(j). Unlike cupbearer, neighbours are searched in the
trusted set only, so a test point's score does not depend on its evaluation batch.
"""

from __future__ import annotations

import numpy as np
import torch

from quirkymad.detectors.base import Detector, register_detector
from quirkymad.detectors.params import LOFParams

EPS = 1e-4


def knn(query: torch.Tensor, ref: torch.Tensor, k: int, exclude_self: bool = False,
        chunk: int = 1024) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    """Distances `[m, k]` (ascending, +1e-4) and indices `[m, k]` of the k nearest rows of
    `ref` `[n, d]` to each row of `query` `[m, d]`; with `exclude_self`, query is ref and each
    point's own row is skipped."""
    dists, idxs = [], []
    for start in range(0, len(query), chunk):
        q = query[start : start + chunk]
        d = torch.cdist(q, ref) + EPS
        if exclude_self:
            rows = torch.arange(len(q))
            d[rows, rows + start] = float("inf")
        v, i = torch.topk(d, k, dim=1, largest=False)
        dists.append(v)
        idxs.append(i)
    return torch.cat(dists), torch.cat(idxs)


@register_detector
class LOF(Detector):
    name = "lof"
    Params = LOFParams

    def fit(self, trusted: np.ndarray, untrusted: np.ndarray | None = None) -> LOF:
        self.ref = torch.as_tensor(trusted, dtype=torch.float64)
        self.k = min(self.params.k, len(self.ref) - 1)
        dist, _ = knn(self.ref, self.ref, self.k, exclude_self=True)
        self.kdist = dist[:, -1]
        return self

    def score(self, x: np.ndarray) -> np.ndarray:
        dist, idx = knn(torch.as_tensor(x, dtype=torch.float64), self.ref, self.k)
        return (dist[:, -1:] / self.kdist[idx]).mean(1).numpy()
