"""Seeds as replicates (issue 18; docs/statistics.md "Seeds as replicates").

With config `seeds: [s1, s2, ...]` every fine-tune (and everything after it) runs once per seed,
so each AUROC row of `results/tables/auroc.parquet` exists once per seed (its `seed` column).
`seed_summary` gives, per model × dataset × score × layer, the mean and spread over seeds: the
variation a new fine-tune brings, which no interval of one run contains (those resample the test
mix of one model).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from quirkymad.core.atomic import atomic_path
from quirkymad.core.integrity import read_parquet, write_parquet
from quirkymad.stats.settings import LEVEL

KEY = ["model", "dataset", "setting", "feature", "transform", "detector", "combination", "layer"]
P_SIGNIFICANT = 0.05


def seed_summary(auroc: pd.DataFrame) -> pd.DataFrame:
    """One row per `KEY` over the table's seeds: `n_seeds`, `seeds`, `auroc_mean`, `auroc_sd`
    (sample standard deviation, NaN for one seed), `auroc_min`, `auroc_max`, a 95 % t interval
    of the mean over seeds (`ci_low_seeds`, `ci_high_seeds`; NaN for one seed), the mean of
    `auroc_select` and the number of seeds whose `p_chance` < 0.05."""
    if "seed" not in auroc:
        auroc = auroc.assign(seed=0)
    key = [k for k in KEY if k in auroc]
    rows = []
    for values, g in auroc.groupby(key, sort=False):
        a = g["auroc"].to_numpy(dtype=float)
        n = len(a)
        mean, sd = float(np.mean(a)), float(np.std(a, ddof=1)) if n > 1 else float("nan")
        half = stats.t.ppf(0.5 + LEVEL / 2, n - 1) * sd / np.sqrt(n) if n > 1 else float("nan")
        row = dict(zip(key, values)) | {
            "n_seeds": n,
            "seeds": ",".join(str(int(s)) for s in sorted(g["seed"])),
            "auroc_mean": mean,
            "auroc_sd": sd,
            "auroc_min": float(np.min(a)),
            "auroc_max": float(np.max(a)),
            "ci_low_seeds": mean - half,
            "ci_high_seeds": mean + half,
        }
        if "auroc_select" in g:
            row["auroc_select_mean"] = float(g["auroc_select"].mean())
        if "p_chance" in g:
            row["n_significant"] = int((g["p_chance"] < P_SIGNIFICANT).sum())
        rows.append(row)
    return pd.DataFrame(rows)


def write_seed_summary(auroc_parquet: str | Path, out_parquet: str | Path, out_csv: str | Path):
    df = seed_summary(read_parquet(auroc_parquet))
    with atomic_path(out_parquet) as tmp:
        write_parquet(df, tmp)
    with atomic_path(out_csv) as tmp:
        df.to_csv(tmp, index=False, float_format="%.6g")
    return df
