"""The extraction stage: dataset + model (+ adapter) → a feature store per feature."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

from quirkymad.core.errors import QuirkyError
from quirkymad.core.integrity import read_parquet
from quirkymad.core.layers import first_layer, probe_layers, resolve_layers
from quirkymad.core.precision import autocast
from quirkymad.core.store import to_storage_dtype, write_store
from quirkymad.datasets.selection import mad_examples
from quirkymad.features import attribution as attr
from quirkymad.features.activations import extract_activations
from quirkymad.features.hooks import n_layers as count_layers
from quirkymad.features.probe_shift import (
    TARGET_DEFINITIONS,
    assemble,
    fit_probe,
    fit_regression_probe,
    resolve_target,
)
from quirkymad.features.settings import (  # noqa: F401  re-exported
    ATTRIBUTION_FEATURES,
    AttributionSettings,
    ExtractSettings,
)
from quirkymad.models import load_manifest, load_model


def dir_hash(path: str | Path) -> str:
    """sha256 over the files of a directory (names and bytes), for provenance."""
    h = hashlib.sha256()
    for f in sorted(Path(path).rglob("*")):
        if f.is_file():
            h.update(f.relative_to(path).as_posix().encode())
            h.update(f.read_bytes())
    return h.hexdigest()


def extract_activation_store(
    model_dir: str | Path,
    adapter_dir: str | Path | None,
    dataset_parquet: str | Path,
    out_store: str | Path,
    settings: ExtractSettings,
    provenance: dict[str, Any] | None = None,
    roles: Sequence[str] | None = None,
) -> None:
    """Write the `activations` store: `activations` `(example, layer, d_model)` and the answer
    logits `logit_no`, `logit_yes`, `log_odds` `(example,)` for the MAD records (only those of
    `roles` if given, e.g. the trusted ones for a base-model store that trains transforms)."""
    df = mad_examples(
        read_parquet(dataset_parquet), settings.max_per_role, tuple(settings.sweep_roles)
    )
    if roles is not None:
        df = df[df["role"].isin(list(roles))].reset_index(drop=True)
    model, tok = load_model(model_dir, adapter_dir, settings.device, settings.dtype)
    layers = resolve_layers(settings.layers, count_layers(model))
    with autocast(model, settings.autocast):
        out = extract_activations(model, tok, df["prompt"].tolist(), layers, settings.batch_size)
    ids = df["id"].tolist()
    acts = to_storage_dtype(out["activations"], settings.store_dtype, "activations", layers, ids)
    log_odds = out["logit_yes"] - out["logit_no"]
    attrs = {
        **_provenance("activations", model, model_dir, adapter_dir, layers, settings),
        "layer_definition": "HF hidden_states[layer]: residual stream entering block `layer`",
        **(provenance or {}),
    }
    write_store(
        out_store,
        {
            "activations": (("example", "layer", "d_model"), acts),
            "logit_no": (("example",), out["logit_no"]),
            "logit_yes": (("example",), out["logit_yes"]),
            "log_odds": (("example",), log_odds.astype(np.float32)),
        },
        df,
        layers,
        attrs,
    )


def _provenance(feature, model, model_dir, adapter_dir, layers, settings) -> dict[str, Any]:
    manifest = load_manifest(model_dir)
    return {
        "feature": feature,
        "model": manifest["model"],
        "model_hf_id": manifest.get("hf_id"),
        "adapter_sha256": dir_hash(adapter_dir) if adapter_dir else None,
        "layers": list(layers),
        "token_position": "last prompt token (the final '?')",
        "model_dtype": str(next(model.parameters()).dtype),
        "settings": asdict(settings),
    }


def extract_attribution_store(
    model_dir: str | Path,
    adapter_dir: str | Path | None,
    dataset_parquet: str | Path,
    out_store: str | Path,
    settings: AttributionSettings,
    feature: str = "attribution",
    provenance: dict[str, Any] | None = None,
) -> None:
    """Write the `attribution` or the `probe_shift` store alone (its own μ and gradient pass);
    `extract_attribution_stores` with one feature."""
    extract_attribution_stores(
        model_dir, adapter_dir, dataset_parquet, {feature: out_store}, {feature: settings},
        provenance,
    )  # fmt: skip


# Settings that must agree for two attribution-type stores to share their passes (same records,
# same μ, same batches); `layers`, `cv_folds` and `seed` may differ.
SHARED_PASS_KEYS = (
    "batch_size", "max_per_role", "mean_cap", "device", "dtype", "autocast", "layer_index",
)  # fmt: skip


def extract_attribution_stores(
    model_dir: str | Path,
    adapter_dir: str | Path | None,
    dataset_parquet: str | Path,
    outs: Mapping[str, str | Path],
    settings: Mapping[str, AttributionSettings],
    provenance: dict[str, Any] | None = None,
) -> None:
    """Write the `attribution` and/or `probe_shift` stores (keys of `outs`) from shared passes.

    Two passes over the union U of the features' layers: a forward pass over the first
    `mean_cap` trusted records gives μ `(U, d_attn)` (and the probes' training data), then one
    forward + backward pass per batch over all MAD records gives f's and every probe's
    gradients at every layer of U. Each store keeps its own layers' slices, so it equals the
    store computed alone (tests/test_one_pass.py): gradients and μ at a layer do not depend on
    which other layers are read. Features whose `SHARED_PASS_KEYS` differ get separate passes.

    - `attribution`: `attribution` `(example, layer, head)` (features/attribution.py),
      `trusted_mean` `(layer, d_attn)`, answer logits `(example,)`;
    - `probe_shift`: `probe_shift` `(example, layer, column)` for the probe layers p ∈ L,
      p > min(L), zero-padded; `probe_shift_valid` `(layer, column)` marks feature_p's columns,
      `column_layer`/`column_head` `(column,)` name them; μ as `trusted_mean`
      `(source_layer, d_attn)`; the probes' `probe_weight`
      `(layer, d_model)`, `probe_bias` and `probe_l2` `(layer,)`; answer logits;
    - `attribution_pcs`: `attribution_pcs` `(example, layer, component, head)`, the attribution
      of mean-ablating z along each of the top `n_components` principal directions of the
      trusted z, split by head (features/attribution.py); the directions `pc_direction`
      `(layer, component, d_attn)` and their trusted variances `pc_variance`; μ; logits;
    - `attribution_grad_norm`: `attribution_grad_norm` `(example, layer, head)`, ‖∂f/∂z_{ℓ,h}‖²;
      logits. Both variants come from the gradient pass of f at no extra backward pass.
    """
    unknown = set(outs) - set(ATTRIBUTION_FEATURES)
    if unknown or set(outs) != set(settings):
        raise ValueError(f"attribution features {sorted(outs)} / settings {sorted(settings)}")
    groups: dict[tuple, list[str]] = {}
    for feature in outs:
        key = tuple(getattr(settings[feature], k) for k in SHARED_PASS_KEYS)
        groups.setdefault(key, []).append(feature)
    for features in groups.values():
        _shared_attribution_pass(
            model_dir, adapter_dir, dataset_parquet, {f: outs[f] for f in features},
            {f: settings[f] for f in features}, provenance,
        )  # fmt: skip


def _shared_attribution_pass(model_dir, adapter_dir, dataset_parquet, outs, settings, provenance):
    first = next(iter(settings.values()))
    extra = sorted({r for s in settings.values() for r in s.sweep_roles})
    df = mad_examples(read_parquet(dataset_parquet), first.max_per_role, extra)
    target = _probe_target(df, settings, first.mean_cap)  # before any model pass: fails early
    model, tok = load_model(model_dir, adapter_dir, first.device, first.dtype)
    depth = count_layers(model)
    # Layers are labelled in the features' `layer_index` (shared by the pass); the model passes
    # below take our block numbering (`blocks`), and results are keyed back to the labels.
    index = first.layer_index
    layers_of = _feature_layers(settings, depth, index)
    union = sorted(set().union(*layers_of.values()))
    blocks = attr.block_layers(union, index)
    prompts = df["prompt"].tolist()
    trusted = np.flatnonzero(df["role"].to_numpy() == "trusted")[: first.mean_cap]
    if len(trusted) < 2:
        raise QuirkyError(f"{dataset_parquet}: {len(trusted)} trusted records; μ needs ≥2")
    with autocast(model, first.autocast):
        base = attr.o_proj_last_token(
            model, tok, [prompts[i] for i in trusted], blocks, first.batch_size
        )
    mean = base["z"].mean(0)
    base["labels"] = df["label"].to_numpy(dtype=bool)[trusted]
    probes, l2s = {}, {}
    if "probe_shift" in settings:
        probes, l2s = _fit_probes(base, target, union, layers_of["probe_shift"],
                                  settings["probe_shift"])  # fmt: skip
    pcs = None
    if "attribution_pcs" in settings:  # directions on the union's layers, from the μ records
        pcs = attr.principal_directions(base["z"], settings["attribution_pcs"].n_components)
    with autocast(model, first.autocast):
        to_block = dict(zip(union, blocks))
        out = attr.attribution_effects(
            model, tok, prompts, blocks, mean, first.batch_size,
            probes={to_block[p]: pr for p, pr in probes.items()} or None,
            pc_directions=None if pcs is None else pcs[0],
            grad_norm="attribution_grad_norm" in settings,
        )  # fmt: skip
        if probes:
            to_label = dict(zip(blocks, union))
            out["probe_effects"] = {to_label[b]: e for b, e in out["probe_effects"].items()}
    common = {
        "model": model, "df": df, "union": union, "mean": mean, "out": out,
        "model_dir": model_dir, "adapter_dir": adapter_dir,
        "provenance": {
            "layer_definition": attr.LAYER_DEFINITIONS[index], "n_trusted_mean": len(trusted),
            "heads": attr.n_heads(model), **(provenance or {}),
        },
    }  # fmt: skip
    if "attribution" in outs:
        _write_attribution(outs["attribution"], layers_of["attribution"],
                           settings["attribution"], **common)  # fmt: skip
    if "probe_shift" in outs:
        _write_probe_shift(outs["probe_shift"], layers_of["probe_shift"],
                           settings["probe_shift"], probes, l2s, target, **common)  # fmt: skip
    for feature in ("attribution_pcs", "attribution_grad_norm"):
        if feature in outs:
            _write_variant(outs[feature], feature, layers_of[feature], settings[feature], pcs,
                           **common)  # fmt: skip


def _feature_layers(settings: dict[str, AttributionSettings], depth: int, index: str):
    """Each feature's layers, labelled in the pass's `layer_index`; probe shift needs two."""
    first = first_layer(index)
    layers_of = {
        f: resolve_layers(s.layers, depth, f"features.{f}.layers", first=first)
        for f, s in settings.items()
    }
    if "probe_shift" in layers_of and len(layers_of["probe_shift"]) < 2:
        raise QuirkyError(
            f"features.probe_shift.layers: {layers_of['probe_shift']} needs at least two layers"
        )
    return layers_of


def _probe_target(df: pd.DataFrame, settings: Mapping[str, AttributionSettings], cap: int):
    """The probes' resolved target (`labels` or `model`) from the labels of the records they
    are trained on (the first `cap` trusted ones); None without probe shift."""
    if "probe_shift" not in settings:
        return None
    labels = df["label"].to_numpy(dtype=bool)[df["role"].to_numpy() == "trusted"][:cap]
    return resolve_target(settings["probe_shift"].probe_target, labels)


def _fit_probes(base: dict[str, np.ndarray], target: str, union: list[int],
                layers: list[int], ps: AttributionSettings) -> tuple[dict, dict]:  # fmt: skip
    """({p: (w, b)}, {p: l2}): a probe on the trusted o_proj outputs `base["out"]`
    `[n_trusted, len(union), d_model]` of each probe layer p of L = `layers` (`probe_layers`:
    p > min(L)): logistic on the labels `base["labels"]` (target `labels`) or ridge on the
    model's log-odds (target `model`)."""
    probes, l2s = {}, {}
    for p in probe_layers(layers):
        x = base["out"][:, union.index(p)]
        if target == "labels":
            w, b, l2s[p] = fit_probe(x, base["labels"], ps.cv_folds, ps.seed)
        else:
            w, b, l2s[p] = fit_regression_probe(x, base["log_odds"], ps.cv_folds, ps.seed)
        probes[p] = (w, b)
    return probes, l2s


def _logit_arrays(out: dict[str, Any]) -> dict[str, Any]:
    return {
        "logit_no": (("example",), out["logit_no"].astype(np.float32)),
        "logit_yes": (("example",), out["logit_yes"].astype(np.float32)),
        "log_odds": (("example",), (out["logit_yes"] - out["logit_no"]).astype(np.float32)),
    }


def _write_attribution(out_store, layers, settings, *, model, df, union, mean, out,
                       model_dir, adapter_dir, provenance) -> None:  # fmt: skip
    idx = [union.index(ell) for ell in layers]
    ids = df["id"].tolist()
    values = out["attribution"][:, idx]
    values = to_storage_dtype(values, settings.store_dtype, "attribution", layers, ids)
    arrays = {
        "attribution": (("example", "layer", "head"), values),
        "trusted_mean": (("layer", "d_attn"), mean[idx].astype(np.float32)),
        **_logit_arrays(out),
    }
    attrs = {
        **_provenance("attribution", model, model_dir, adapter_dir, layers, settings),
        **provenance,
    }
    write_store(out_store, arrays, df, layers, attrs)


def _write_probe_shift(out_store, layers, settings, probes, l2s, target, *, model, df, union, mean, out,
                       model_dir, adapter_dir, provenance) -> None:  # fmt: skip
    idx = [union.index(ell) for ell in layers]
    # Probe p's effects cover the union's layers ≤ p; feature_p reads those in L.
    effects = {p: out["probe_effects"][p][:, [i for i in idx if union[i] <= p]] for p in probes}
    values, valid, probe_layers = assemble(out["attribution"][:, idx], effects, layers)
    ids = df["id"].tolist()
    values = to_storage_dtype(values, settings.store_dtype, "probe_shift", probe_layers, ids)
    heads = attr.n_heads(model)
    cols = np.arange(valid.shape[1])
    arrays = {
        "probe_shift": (("example", "layer", "column"), values),
        "probe_shift_valid": (("layer", "column"), valid),
        "column_layer": (("column",), np.asarray(layers, dtype=np.int64)[cols // heads]),
        "column_head": (("column",), (cols % heads).astype(np.int64)),
        "trusted_mean": (("source_layer", "d_attn"), mean[idx].astype(np.float32)),
        "probe_weight": (("layer", "d_model"), np.stack([probes[p][0] for p in probe_layers])),
        "probe_bias": (("layer",), np.array([probes[p][1] for p in probe_layers])),
        "probe_l2": (("layer",), np.array([l2s[p] for p in probe_layers])),
        **_logit_arrays(out),
    }
    attrs = {
        **_provenance("probe_shift", model, model_dir, adapter_dir, layers, settings),
        **provenance,
        "layers": probe_layers,
        "source_layers": layers,
        "valid_mask": "probe_shift_valid",
        "probe_target": target,
        "probe_target_setting": settings.probe_target,
        "probe_target_definition": TARGET_DEFINITIONS[target],
    }
    write_store(out_store, arrays, df, probe_layers, attrs)


def _write_variant(out_store, feature, layers, settings, pcs, *, model, df, union, mean, out,
                   model_dir, adapter_dir, provenance) -> None:  # fmt: skip
    """The `attribution_pcs` or `attribution_grad_norm` store (issue 19; [B1]'s variants)."""
    idx = [union.index(ell) for ell in layers]
    ids = df["id"].tolist()
    if feature == "attribution_pcs":
        values = to_storage_dtype(out["pcs"][:, idx], settings.store_dtype, feature, layers, ids)
        arrays = {
            feature: (("example", "layer", "component", "head"), values),
            "pc_direction": (("layer", "component", "d_attn"), pcs[0][idx].astype(np.float32)),
            "pc_variance": (("layer", "component"), pcs[1][idx]),
            "trusted_mean": (("layer", "d_attn"), mean[idx].astype(np.float32)),
        }
        definition = (
            "(p_k·(μ − z)) · (p_{k,h}·∂f/∂z_h), p_k = top trusted principal directions of z"
        )
    else:
        values = out["grad_norm"][:, idx]
        values = to_storage_dtype(values, settings.store_dtype, feature, layers, ids)
        arrays = {feature: (("example", "layer", "head"), values)}
        definition = "‖∂f/∂z_{ℓ,h}‖² at the last token"
    arrays |= _logit_arrays(out)
    attrs = {
        **_provenance(feature, model, model_dir, adapter_dir, layers, settings),
        **provenance,
        "variant_definition": definition,
    }
    write_store(out_store, arrays, df, layers, attrs)
