"""CI lints before it tests, and then runs the README's second command verbatim."""

import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_ci_lints_then_runs_the_readme_test_command():
    readme = (REPO / "README.md").read_text()
    block = re.search(r"```bash\n(.*?)```", readme, re.S)[1]
    commands = [x for x in block.splitlines() if x.strip() and not x.startswith("#")]
    ci = [x for x in (REPO / ".ci/run").read_text().splitlines() if x and not x.startswith("#")]
    assert ci[-1] == commands[1]
    lints = [".venv/bin/ruff check .", ".venv/bin/ruff format --check .", "snakemake --lint"]
    positions = [next(i for i, x in enumerate(ci) if lint in x) for lint in lints]
    assert positions == sorted(positions) and positions[-1] < len(ci) - 1
