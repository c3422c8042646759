"""The house rules a reader relies on (issue 17): short functions in the library."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAX_LINES = 60


def _long_functions(source: str, path: str) -> list[str]:
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            n = node.end_lineno - node.lineno + 1
            if n > MAX_LINES:
                out.append(f"{path}:{node.lineno} {node.name} ({n} lines)")
    return out


def test_the_check_finds_a_long_function():
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_LINES))
    assert _long_functions(f"def f():\n{body}\n", "f.py") == [f"f.py:1 f ({MAX_LINES + 1} lines)"]
    assert _long_functions("def g():\n    return 1\n", "g.py") == []


def test_no_library_function_is_longer_than_60_lines():
    found = []
    for path in sorted((ROOT / "quirkymad").rglob("*.py")):
        found += _long_functions(path.read_text(), str(path.relative_to(ROOT)))
    assert found == [], "split these into load -> compute -> write steps:\n" + "\n".join(found)
