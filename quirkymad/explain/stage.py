"""The explanation stage (rule `explain_scores`): split a scoring job's scores into the
components that carry them, check the split against the job's own scores, and read the
components that matter.

One job per (model, dataset, feature, transform, detector); writes `explanations.parquet`
(per test record and layer: score, rank, flagged, its `top_k` components with their shares)
and `directions.parquet` (per layer: the components carrying the anomalous records' excess
score, and every component that is the top one of a flagged record, with eigenvalue, shares,
cosine with the Alice–Bob direction and a logit-lens readout). docs/explain.md describes both.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from quirkymad.core.atomic import atomic_path
from quirkymad.core.errors import QuirkyError
from quirkymad.core.integrity import read_parquet, write_parquet
from quirkymad.core.roles import EASY_UNTRUSTED_ROLES, TEST_ROLES
from quirkymad.core.store import open_store, strings
from quirkymad.core.tables import SCORES_FILE
from quirkymad.detectors.params import PARAMS
from quirkymad.explain import decompose as dec
from quirkymad.explain import interpret as it
from quirkymad.explain.settings import ExplainSettings
from quirkymad.transforms.io import load_transform

log = logging.getLogger(__name__)

EXPLANATIONS_FILE = "explanations.parquet"
DIRECTIONS_FILE = "directions.parquet"
# Detectors whose score is an exact sum of per-component terms (decompose.py).
DECOMPOSABLE = ("mahalanobis", "diag_mahalanobis", "que")
# Relative tolerance of the check that the components sum to the scoring job's score.
EXACT_RTOL = 1e-6


def parts_for(detector: str, hparams: dict[str, Any], heads: bool, trusted, untrusted, x):
    """The exact split of `detector`'s score of `x` `[m, d]` (decompose.py). On head
    features (`heads`) Mahalanobis is split over the columns (heads), else over eigendirections."""
    if detector not in DECOMPOSABLE:
        raise QuirkyError(f"detector {detector}: no exact decomposition (have {DECOMPOSABLE})")
    p = PARAMS[detector](**hparams)
    if detector == "mahalanobis":
        fn = dec.mahalanobis_column_parts if heads else dec.mahalanobis_parts
        return fn(trusted, x, rcond=p.rcond)
    if detector == "diag_mahalanobis":
        return dec.diag_mahalanobis_parts(trusted, x, min_std=p.min_std)
    return dec.que_parts(trusted, untrusted, x, alpha=p.alpha, rcond=p.rcond)


def component_names(detector: str, feature: str, transform: str, heads: bool, k: int,
                    column_layer=None, column_head=None) -> list[str]:  # fmt: skip
    """Readable names of a layer's components: heads `L{layer}.H{head}`, SAE `latent{j}`,
    coordinates `dim{j}` / flow `u{j}`, eigendirections `eig{k}` (Mahalanobis, by eigenvalue)
    or `que{k}` (QUE, by weight)."""
    if heads and detector != "que":
        return [f"L{a}.H{b}" for a, b in zip(column_layer, column_head)]
    if detector == "mahalanobis":
        return [f"eig{i}" for i in range(k)]
    if detector == "que":
        return [f"que{i}" for i in range(k)]
    prefix = {"sae": "latent", "flow": "u"}.get(transform, "dim")
    return [f"{prefix}{i}" for i in range(k)]


class LogitLens:
    """Unembedding, final-norm gain and tokenizer of a prepared model (no adapter: LoRA
    leaves the norm and head untouched, `finetune/settings.py` LORA_TARGETS)."""

    def __init__(self, model_dir: str | Path):
        from quirkymad.core.prompts import answer_token_ids
        from quirkymad.models import load_model

        model, tok = load_model(model_dir, device="cpu", dtype="float32")
        self.unembed = model.get_output_embeddings().weight.detach().double().numpy()
        self.gain = model.base_model.norm.weight.detach().double().numpy()
        self.n_layers = model.config.num_hidden_layers
        self.yes_no = answer_token_ids(tok)
        self.decode = lambda t: tok.decode([t])

    def read(self, directions: np.ndarray, layer: int, n_tokens: int):
        # Layer n is the final norm's output (hidden_states[n]): the gain already acted.
        gain = None if layer == self.n_layers else self.gain
        return it.logit_lens(directions, self.unembed, gain, self.decode, self.yes_no, n_tokens)


def _check_exact(got: np.ndarray, want: np.ndarray, where: str) -> None:
    err = np.abs(got - want) / np.maximum(np.abs(want), 1e-300)
    if not np.all(err <= EXACT_RTOL):
        raise QuirkyError(
            f"{where}: components do not sum to the detector's score (max relative error "
            f"{err.max():.2e} > {EXACT_RTOL}); was the score computed with other settings?"
        )


def _record_rows(meta, layer, score, flagged, contrib, names, top_k) -> pd.DataFrame:
    """Rows of explanations.parquet for one layer: each record's top components."""
    idx = it.top_k(contrib, top_k)
    m, k = idx.shape
    c = np.take_along_axis(contrib, idx, 1)
    rank_of = (-score).argsort(kind="stable").argsort() + 1
    rep = np.repeat(np.arange(m), k)
    out = meta.iloc[rep].reset_index(drop=True)
    out = out.assign(
        layer=layer, score=score[rep], score_rank=rank_of[rep], flagged=flagged[rep],
        rank=np.tile(np.arange(1, k + 1), m), component=np.asarray(names, dtype=object)[idx.ravel()],
        component_id=idx.ravel(), contribution=c.ravel(),
        share=np.divide(c, score[:, None], out=np.zeros_like(c), where=score[:, None] != 0).ravel(),
    )  # fmt: skip
    return out


def _direction_rows(layer, contrib, score, is_anom, flagged, names, scale, top_k):
    """Rows of directions.parquet for one layer (interpretation columns added by the caller):
    the `top_k` components by excess score, plus each flagged record's top component."""
    per, total = it.excess(contrib, is_anom)
    order = np.argsort(-per, kind="stable")
    excess_rank = np.empty_like(order)
    excess_rank[order] = np.arange(1, len(order) + 1)
    fa, fn = flagged & is_anom, flagged & ~is_anom
    top1_a, top1_n = it.top1_fractions(contrib, fa), it.top1_fractions(contrib, fn)
    chosen = set(order[:top_k].tolist())
    chosen |= set(contrib[flagged].argmax(1).tolist()) if flagged.any() else set()
    ids = sorted(chosen, key=lambda j: excess_rank[j])
    share_a = it.mean_shares(contrib, score, is_anom)
    share_n = it.mean_shares(contrib, score, ~is_anom)
    rows = pd.DataFrame(
        {
            "layer": layer,
            "component": [names[j] for j in ids],
            "component_id": ids,
            "excess_rank": excess_rank[ids],
            "scale": scale[ids] if scale is not None else np.nan,
            "excess": per[ids],
            "excess_share": per[ids] / total if total > 0 else np.nan,
            "share_anomalous": share_a[ids],
            "share_normal": share_n[ids],
            "top1_flagged_anomalous": top1_a[ids],
            "top1_flagged_normal": top1_n[ids],
            "n_flagged_anomalous": int(fa.sum()),
            "n_flagged_normal": int(fn.sum()),
            "consistency_anomalous": np.nanmax(top1_a) if fa.any() else np.nan,
            "consistency_normal": np.nanmax(top1_n) if fn.any() else np.nan,
        }
    )
    return rows, np.asarray(ids)


def explain_store(
    store: str | Path,
    scores_dir: str | Path,
    feature: str,
    detector: str,
    hparams: dict[str, Any],
    settings: ExplainSettings,
    out_dir: str | Path,
    labels: dict[str, str],
    transform_dir: str | Path | None = None,
    model_dir: str | Path | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Explain the scores in `scores_dir` (a `score_detector` job's directory) of `detector`
    with `hparams` on `feature` of `store` (through the fitted transform in `transform_dir`,
    if any). `model_dir` (a prepared model) enables the logit lens of residual-stream
    directions. Writes `out_dir/{explanations,directions}.parquet`; returns both tables.

    Raises QuirkyError if a layer's components do not sum to the job's scores to
    EXACT_RTOL relative: the explanation is then not of the scores it claims to explain.
    """
    if detector not in DECOMPOSABLE:
        raise QuirkyError(f"detector {detector}: no exact decomposition (have {DECOMPOSABLE})")
    job = _load_job(store, scores_dir, feature, detector, hparams, transform_dir, model_dir)
    wanted = job.scored if settings.layers == "all" else [str(x) for x in settings.layers]
    records, directions = [], []
    for lay in [x for x in job.scored if x in wanted]:
        rec, rows = _explain_layer(job, lay, settings)
        records.append(rec)
        directions.append(rows)
    rec, rows = _explain_aggregate(job, settings)
    records.append(rec)
    directions.append(rows)
    head = {**labels, "feature": feature, "transform": job.transform, "detector": detector}
    tables = [_with_labels(pd.concat(frames, ignore_index=True), head)
              for frames in (records, directions)]  # fmt: skip
    with atomic_path(out_dir) as tmp:
        tmp.mkdir()
        write_parquet(tables[0], tmp / EXPLANATIONS_FILE)
        write_parquet(tables[1], tmp / DIRECTIONS_FILE)
    log.info("explained %d layers of %s/%s/%s: %d record rows, %d direction rows",
             len(records) - 1, feature, job.transform, detector, len(tables[0]),
             len(tables[1]))  # fmt: skip
    return tables[0], tables[1]


@dataclass
class _Job:
    """One scoring job's inputs, read once: the store `ds`, its role masks (`[n_records]`
    bools), the test records' metadata `meta` and `is_anom` `[n_test]`, the job's scores
    by layer (`"all"` included) and the scored layers, the transform (kind, per-layer modules)
    and the logit lens (None when directions are not residual-stream ones)."""

    ds: Any
    feature: str
    detector: str
    hparams: dict[str, Any]
    scores_dir: str
    trusted: np.ndarray
    untrusted: np.ndarray
    test: np.ndarray
    meta: pd.DataFrame
    is_anom: np.ndarray
    by_layer: dict[str, np.ndarray]
    scored: list[str]
    kind: Any
    modules: dict
    lens: LogitLens | None

    @property
    def transform(self) -> str:
        return self.kind.name if self.kind is not None else "none"

    @property
    def heads(self) -> bool:
        return self.feature != "activations"

    @property
    def residual(self) -> bool:
        return self.feature == "activations" and self.transform in ("none", "sae")


def _load_job(store, scores_dir, feature, detector, hparams, transform_dir, model_dir) -> _Job:
    ds = open_store(store, variable=feature)
    role = strings(ds, "role")
    trusted, test = role == "trusted", np.isin(role, TEST_ROLES)
    untrusted = np.isin(role, EASY_UNTRUSTED_ROLES) if hparams.get("untrusted") == "easy" else test
    scores = read_parquet(Path(scores_dir) / SCORES_FILE)
    meta = scores[scores["layer"] == "all"][["example", "character", "is_anomalous", "agree"]]
    if list(meta["example"]) != list(strings(ds, "example")[test]):
        raise QuirkyError(f"{scores_dir}: its test records are not {store}'s (rerun scoring)")
    meta = meta.reset_index(drop=True)
    kind, modules = None, {}
    if transform_dir is not None:
        kind, modules, _ = load_transform(transform_dir)
    by_layer = {lay: g["score"].to_numpy() for lay, g in scores.groupby("layer", sort=False)}
    job = _Job(ds, feature, detector, hparams, str(scores_dir), trusted, untrusted, test, meta,
               meta["is_anomalous"].to_numpy(dtype=bool), by_layer,
               [lay for lay in by_layer if lay != "all"], kind, modules, None)  # fmt: skip
    if job.residual and model_dir is not None:
        job.lens = LogitLens(model_dir)
    return job


def _layer_columns(job: _Job, ell: int) -> tuple[np.ndarray, Any, Any]:
    """Layer `ell`'s features `[n_records, n_columns]` (valid head columns only) and, for
    per-head features, each column's layer and head (None for activations)."""
    ds = job.ds
    x = np.asarray(ds[job.feature].sel(layer=ell).values, dtype=np.float64)
    x = x.reshape(x.shape[0], -1)
    if not job.heads:
        return x, None, None
    keep = np.ones(x.shape[1], dtype=bool)
    mask_name = ds.attrs.get("valid_mask")
    if mask_name:
        keep = np.asarray(ds[mask_name].sel(layer=ell).values, dtype=bool).reshape(-1)
        x = x[:, keep]
    if "column_layer" in ds.coords:
        return x, ds["column_layer"].values[keep], ds["column_head"].values[keep]
    return x, np.full(x.shape[1], ell), np.arange(x.shape[1])


def _explain_layer(job: _Job, lay: str, settings: ExplainSettings):
    """Record rows and direction rows of scored layer `lay`."""
    ell, test, is_anom = int(lay), job.test, job.is_anom
    x, col_layer, col_head = _layer_columns(job, ell)
    xin = x
    if job.kind is not None:
        xin = job.kind.apply(job.modules[ell], torch.as_tensor(x, dtype=torch.float32))
        xin = xin.double().numpy()
    parts = parts_for(job.detector, job.hparams, job.heads, xin[job.trusted],
                      xin[job.untrusted], xin[test])  # fmt: skip
    score = job.by_layer[lay]
    _check_exact(parts.contributions.sum(1), score, f"{job.scores_dir} layer {lay}")
    contrib = parts.contributions
    names = component_names(job.detector, job.feature, job.transform, job.heads,
                            contrib.shape[1], col_layer, col_head)  # fmt: skip
    flagged = score > it.flag_threshold(score, is_anom, settings.flag_quantile)
    records = _record_rows(job.meta, lay, score, flagged, contrib, names, settings.top_k)
    rows, ids = _direction_rows(lay, contrib, score, is_anom, flagged, names, parts.scale,
                                settings.top_k)  # fmt: skip
    coords = (xin[test] - parts.mu) @ parts.read[ids].T
    write = parts.write[ids] * it.orientation(coords, is_anom)[:, None]
    if job.transform == "sae":  # latent space -> residual stream through the decoder
        write = write @ job.modules[ell].W_dec.detach().double().numpy()
    space = x if job.residual else xin
    rows["space"] = "residual" if job.residual else "feature"
    rows["cos_alice_bob"] = it.cosines(write, it.alice_bob_direction(space[test], is_anom))
    if job.lens is not None:
        up, down, yes_no = job.lens.read(write, ell, settings.n_tokens)
        rows["promoted"], rows["suppressed"] = up, down
        rows["yes_minus_no"] = yes_no
    return records, rows


def _explain_aggregate(job: _Job, settings: ExplainSettings):
    """Record and direction rows of the layer aggregate: the `all` score is the mean of every
    scored layer's score, so each layer's share is its term of that mean."""
    agg = dec.layer_parts(np.stack([job.by_layer[lay] for lay in job.scored]))
    score = job.by_layer["all"]
    _check_exact(agg.sum(1), score, f"{job.scores_dir} layer all")
    names = [f"layer {lay}" for lay in job.scored]
    flagged = score > it.flag_threshold(score, job.is_anom, settings.flag_quantile)
    records = _record_rows(job.meta, "all", score, flagged, agg, names, settings.top_k)
    rows, _ = _direction_rows("all", agg, score, job.is_anom, flagged, names, None,
                              settings.top_k)  # fmt: skip
    return records, rows.assign(space="layer")


def _with_labels(table: pd.DataFrame, head: dict[str, str]) -> pd.DataFrame:
    """`table` with `head`'s keys as leading constant columns, in `head`'s order."""
    for key, value in reversed(head.items()):
        table.insert(0, key, value)
    return table
