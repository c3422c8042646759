"""Command line: `quirkymad inspect PATH [--layer N]` describes a feature store;
`quirkymad plan --configfile CONFIG` prints what a run will cost (quirkymad/workflow/plan.py);
`quirkymad explain RECORD_ID --store DIR [--layer N]` prints one record's explanation;
`quirkymad config [--configfile CONFIG]` prints the config as a run sees it, every default filled;
`quirkymad compare-runs A B` says whether two results trees are identical (quirkymad/compare_runs.py);
`quirkymad verify [results/]` checks every artifact against its checksums (quirkymad/verify.py).

Prints the store's arrays (dims, shape, dtype, chunks), coordinates, attributes, and for each
per-layer array (dims `(example, layer, ...)`) the mean L2 norm of its per-example vectors and
its NaN count per layer. A path that is not a complete quirkymad store is one line on stderr
and exit code 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from quirkymad.core.errors import QuirkyError

EXIT_NOT_A_STORE = 2


def _short(value: Any, width: int = 100) -> str:
    text = json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= width else text[: width - 3] + "..."


def _chunks(var) -> str:
    chunks = var.encoding.get("chunks") or var.encoding.get("preferred_chunks")
    if isinstance(chunks, dict):
        chunks = tuple(chunks.values())
    return str(tuple(chunks)) if chunks else "-"


def layer_stats(values: np.ndarray, valid: np.ndarray | None = None) -> dict[str, float]:
    """Stats of one layer `[n_examples, ...]`: mean L2 norm of each example's (valid)
    components, NaN count, and min / mean / max over finite values."""
    x = np.asarray(values, dtype=np.float64).reshape(values.shape[0], -1)
    if valid is not None:
        x = x[:, np.asarray(valid, dtype=bool).reshape(-1)]
    finite = x[np.isfinite(x)]
    return {
        "mean_l2": float(np.linalg.norm(np.nan_to_num(x), axis=1).mean()) if x.size else 0.0,
        "nan": int(np.isnan(x).sum()),
        "width": int(x.shape[1]),
        "min": float(finite.min()) if finite.size else float("nan"),
        "mean": float(finite.mean()) if finite.size else float("nan"),
        "max": float(finite.max()) if finite.size else float("nan"),
    }


def inspect_store(path: str, layer: int | None = None, out=None) -> None:
    """Describe the store at `path` on `out` (stdout); QuirkyError if it is not a quirkymad
    store. NaNs count as 0 in the norms."""
    from quirkymad.core.store import open_store

    out = out or sys.stdout
    ds = open_store(path)
    sizes = ", ".join(f"{k}={v}" for k, v in ds.sizes.items())
    print(f"store {path}: feature {ds.attrs.get('feature', '?')!r}; {sizes}", file=out)
    print("arrays:", file=out)
    for name, var in ds.data_vars.items():
        shape = "×".join(map(str, var.shape))
        print(
            f"  {name} {var.dims} shape {shape} {var.dtype} chunks {_chunks(var)}",
            file=out,
        )
    print("coords:", file=out)
    for name, var in ds.coords.items():
        print(f"  {name} {var.dims} {var.dtype}", file=out)
    print("attrs:", file=out)
    for key, value in ds.attrs.items():
        print(f"  {key}: {_short(value)}", file=out)
    layers = [int(x) for x in ds["layer"].values] if "layer" in ds.coords else []
    if layer is not None and layer not in layers:
        raise QuirkyError(f"{path}: no layer {layer} (layers: {layers})")
    mask_name = ds.attrs.get("valid_mask")
    for name, var in ds.data_vars.items():
        if var.dims[:2] != ("example", "layer"):
            continue
        mask = ds[mask_name] if mask_name and name == ds.attrs.get("feature") else None
        print(f"{name} per layer (mean L2 norm per example, NaN count):", file=out)
        for li, ell in enumerate(layers):
            if layer is not None and ell != layer:
                continue
            valid = None if mask is None else mask.isel(layer=li).values
            s = layer_stats(var.isel(layer=li).values, valid)
            line = f"  layer {ell}: mean_l2 {s['mean_l2']:.6g}  nan {s['nan']}"
            if layer is not None:
                line += (
                    f"  width {s['width']}  min {s['min']:.6g}  mean {s['mean']:.6g}"
                    f"  max {s['max']:.6g}"
                )
            print(line, file=out)


def _print_config(path: str, out=None) -> int:
    """Print `path` validated and completed: the defaults of the stages' settings dataclasses
    (`quirkymad.workflow.config.settings_contracts`) and the schema's, in place. 1 on a bad config."""
    import yaml

    from quirkymad.workflow.plan import load_config

    try:
        config = load_config(path)
    except QuirkyError as exc:
        print(f"quirkymad: {exc}", file=sys.stderr)
        return 1
    yaml.safe_dump(config, out or sys.stdout, sort_keys=False, default_flow_style=None, width=100)
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="quirkymad", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("inspect", help="describe a feature store (Zarr) written by the workflow")
    p.add_argument("path", help="a store, e.g. results/<model>/<dataset>/features/<feature>.zarr")
    p.add_argument("--layer", type=int, help="only this layer's statistics, in more detail")
    # -- plan (issue 22) --
    p = sub.add_parser("plan", help="jobs, GPU/CPU hours, GPU memory and disk of a config")
    from quirkymad.workflow.plan import add_arguments as plan_arguments

    plan_arguments(p)
    # -- end plan --
    # --- explain (issue 21) ---
    e = sub.add_parser("explain", help="print one test record's explanation (docs/explain.md)")
    e.add_argument("record", help="record id (the store's `example` coordinate)")
    e.add_argument("--store", required=True,
                   help="results/<model>/<dataset>/explain/<feature>/<transform>/<detector>")  # fmt: skip
    e.add_argument("--layer", help="layer to detail (default: the largest part of its score)")
    c = sub.add_parser("config", help="print the config with every default filled in (YAML)")
    c.add_argument("--configfile", default="config.yaml", help="the config to complete")
    r = sub.add_parser(
        "compare-runs", help="are two results trees identical? (docs/reliability.md)"
    )
    r.add_argument("a", help="a results directory, or a checkout holding results/")
    r.add_argument("b", help="the other one")
    v = sub.add_parser("verify", help="check every artifact of a results tree (checksums)")
    v.add_argument(
        "path", nargs="?", default="results", help="a results directory (default: results)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "config":
        return _print_config(args.configfile)
    if args.command == "compare-runs":
        from quirkymad.compare_runs import compare_runs, report

        try:
            return report(compare_runs(args.a, args.b))
        except QuirkyError as exc:
            print(f"quirkymad: {exc}", file=sys.stderr)
            return 2
    if args.command == "verify":
        from quirkymad.verify import run as run_verify

        try:
            return run_verify(args.path)
        except QuirkyError as exc:
            print(f"quirkymad: {exc}", file=sys.stderr)
            return 2
    if args.command == "plan":
        from quirkymad.workflow.plan import run as run_plan

        try:
            return run_plan(args)
        except QuirkyError as exc:
            print(f"quirkymad: {exc}", file=sys.stderr)
            return 1
    if args.command == "explain":
        from quirkymad.explain.show import show_record

        try:
            show_record(args.record, args.store, args.layer)
        except QuirkyError as exc:
            print(f"quirkymad explain: {exc}", file=sys.stderr)
            return EXIT_NOT_A_STORE
        return 0
    # A store without consolidated metadata opens anyway; zarr's warning would be noise here.
    warnings.filterwarnings("ignore", message="Failed to open Zarr store with consolidated")
    try:
        inspect_store(args.path, args.layer)
    except QuirkyError as exc:
        print(f"quirkymad inspect: {exc}", file=sys.stderr)
        return EXIT_NOT_A_STORE
    except ValueError:  # e.g. a chunk's checksum, from inside zarr: name the damage if any
        from quirkymad.core.integrity import diagnose

        damaged = diagnose()
        if damaged is None:
            raise
        print(f"quirkymad inspect: {damaged}", file=sys.stderr)
        return EXIT_NOT_A_STORE
    except BrokenPipeError:  # `quirkymad inspect PATH | head`: the reader left, not an error
        # Python docs, "Note on SIGPIPE": point stdout at devnull so the exit flush is quiet.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


if __name__ == "__main__":
    sys.exit(main())
