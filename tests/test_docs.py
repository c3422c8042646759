"""The README stays a front page, and every link between the docs resolves."""

import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_readme_is_a_front_page():
    assert len((REPO / "README.md").read_bytes()) <= 12_500


def test_relative_links_resolve():
    pages = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
    for page in pages:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text()):
            if "://" in target:
                continue
            assert (page.parent / target).exists(), f"{page.name}: {target}"
