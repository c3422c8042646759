"""`quirkymad explain RECORD_ID --store DIR`: one test record's explanation in the terminal,
from an `explain_scores` job's directory (no recomputation)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from quirkymad.core.errors import QuirkyError
from quirkymad.core.integrity import read_parquet
from quirkymad.explain.stage import DIRECTIONS_FILE, EXPLANATIONS_FILE


def _tokens(value) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return " ".join(repr(t) for t in list(value))


def show_record(record: str, store: str | Path, layer: str | None = None, out=None) -> None:
    """Print record `record`'s explanation from the explain directory `store`: its
    layer-aggregated score and the layers carrying it, then, at `layer` (default: the layer
    with the largest part of its aggregated score), its top components with their shares
    and, where directions.parquet has them, cosine with the Alice–Bob direction and tokens."""
    out = out or sys.stdout
    store = Path(store)
    try:
        rec = read_parquet(store / EXPLANATIONS_FILE)
        dirs = read_parquet(store / DIRECTIONS_FILE)
    except FileNotFoundError:
        raise QuirkyError(
            f"{store}: not an explanation directory (no {EXPLANATIONS_FILE})"
        ) from None
    mine = rec[rec["example"] == record]
    if mine.empty:
        some = ", ".join(rec["example"].drop_duplicates().head(3))
        raise QuirkyError(f"{store}: no test record {record!r} (e.g. {some})")
    first = mine.iloc[0]
    n_test = rec.loc[rec["layer"] == "all", "example"].nunique()
    print(f"record {record}: {first['character']}, "
          f"{'anomalous (Bob, hard)' if first['is_anomalous'] else 'normal (Alice, hard)'}, "
          f"{'agree' if first['agree'] else 'disagree'}", file=out)  # fmt: skip
    print(f"scores of {first['model']}/{first['dataset']} {first['feature']}/"
          f"{first['transform']}/{first['detector']}", file=out)  # fmt: skip
    agg = mine[mine["layer"] == "all"].sort_values("rank")
    a = agg.iloc[0]
    print(f"aggregated: score {a['score']:.4g}, rank {a['score_rank']} of {n_test}, "
          f"{'FLAGGED' if a['flagged'] else 'not flagged'}", file=out)  # fmt: skip
    for _, r in agg.iterrows():
        print(f"  {r['component']:>10}: {r['share']:6.1%} of the aggregated score", file=out)
    if layer is None:
        layer = agg.iloc[0]["component"].removeprefix("layer ")
    here = mine[mine["layer"] == str(layer)].sort_values("rank")
    if here.empty:
        have = sorted(set(mine["layer"]) - {"all"}, key=int)
        raise QuirkyError(f"{store}: layer {layer} not explained (explained: {have})")
    h = here.iloc[0]
    print(f"layer {layer}: score {h['score']:.4g}, rank {h['score_rank']} of {n_test}, "
          f"{'FLAGGED' if h['flagged'] else 'not flagged'}; top components:", file=out)  # fmt: skip
    known = dirs[dirs["layer"] == str(layer)].set_index("component")
    for _, r in here.iterrows():
        line = f"  {r['rank']}. {r['component']:>10}: {r['share']:6.1%}  ({r['contribution']:.4g})"
        if r["component"] in known.index:
            d = known.loc[r["component"]]
            line += f"  excess rank {d['excess_rank']}, cos(A–B) {d['cos_alice_bob']:+.2f}"
            if "promoted" in d and _tokens(d["promoted"]):
                line += f"\n{'':16}promotes {_tokens(d['promoted'])}"
                line += f"\n{'':16}suppresses {_tokens(d['suppressed'])}"
                line += f"\n{'':16}logit(' Yes') − logit(' No') {d['yes_minus_no']:+.3g}"
        print(line, file=out)
