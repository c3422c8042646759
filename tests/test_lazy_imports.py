"""A scoring job imports only the code its detector uses (issue 16: no process spent mostly on
imports). Each check runs in a fresh interpreter and reads `sys.modules`."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from smk import REPO

PROBE = """
import json, sys
import quirkymad.scoring.stage
from quirkymad.detectors import make_detector
make_detector({name!r}, {{}})
print(json.dumps({{m: m in sys.modules for m in {mods!r}}}))
"""
HEAVY = ["zuko", "quirkymad.transforms.flow", "quirkymad.transforms.sae", "sklearn.ensemble",
         "torch"]  # fmt: skip


def loaded(detector: str) -> dict[str, bool]:
    code = PROBE.format(name=detector, mods=HEAVY)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("detector", ["mahalanobis", "diag_mahalanobis", "que", "lof"])
def test_torch_detectors_load_neither_flows_nor_sklearn_ensembles(detector):
    got = loaded(detector)
    assert not got["zuko"] and not got["quirkymad.transforms.flow"]
    assert not got["quirkymad.transforms.sae"] and not got["sklearn.ensemble"]


def test_isolation_forest_loads_neither_torch_nor_flows():
    got = loaded("isolation_forest")
    assert got["sklearn.ensemble"]
    assert not got["torch"] and not got["zuko"] and not got["quirkymad.transforms.flow"]


def test_flow_prior_loads_no_sklearn_ensemble():
    got = loaded("flow_prior")
    assert not got["sklearn.ensemble"] and not got["zuko"]


def test_registries_list_every_entry_without_importing_it():
    code = (
        "import sys; from quirkymad.detectors import DETECTORS; "
        "from quirkymad.transforms import TRANSFORMS; "
        "print(sorted(DETECTORS), sorted(TRANSFORMS), 'zuko' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("]")[-1].strip() == "False"
    assert "'flow_prior'" in out.stdout and "'flow'" in out.stdout and "'sae'" in out.stdout


def test_lookup_imports_the_entry():
    from quirkymad.detectors import DETECTORS
    from quirkymad.transforms import TRANSFORMS

    assert DETECTORS["isolation_forest"].name == "isolation_forest"
    assert TRANSFORMS["flow"].name == "flow"
    with pytest.raises(KeyError):
        DETECTORS["nope"]
