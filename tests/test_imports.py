"""No import circles inside `quirkymad` (issue 29): the module graph is a DAG; and no stage
imports a later one: every module sits in a layer (`LAYERS`, by its top-level subpackage) and
imports only its own layer and lower ones.

Read from the source with `ast`, not by importing: every `import quirkymad.…` and
`from quirkymad.… import …` counts, at module level and inside functions alike (a lazy import
is still an edge; it only hides the circle until the function runs). `from pkg import name` is
an edge to the submodule `pkg.name` when that is a module, else to `pkg` itself (its
`__init__`, which re-exports `name` and has its own edges).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "quirkymad"


def module_names(root: Path = ROOT) -> dict[str, Path]:
    """Every module of the package by dotted name (`pkg/__init__.py` is `pkg`)."""
    out = {}
    for path in sorted((root / PACKAGE).rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def _owner(name: str, modules: dict[str, Path]) -> str | None:
    """The module that `name` lives in: itself, else its nearest enclosing module."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def _targets(node: ast.AST, here: str, is_package: bool, modules: dict[str, Path]) -> list[str]:
    """Dotted names of the package's modules that one import statement loads."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:  # relative: resolve against this module's package
            pkg = here if is_package else here.rpartition(".")[0]
            for _ in range(node.level - 1):
                pkg = pkg.rpartition(".")[0]
            base = f"{pkg}.{base}" if base else pkg
        names = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
    else:
        return []
    return [_owner(n, modules) for n in names if n == PACKAGE or n.startswith(PACKAGE + ".")]


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """Module -> the package modules it imports anywhere in its body (self-edges dropped)."""
    modules = module_names(root)
    graph = {}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        edges = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            edges.update(t for t in _targets(node, name, is_package, modules) if t)
        graph[name] = edges - {name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import circle `[a, b, …, a]`, or [] when the graph has none (iterative DFS)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for start in sorted(graph):
        if state.get(start):
            continue
        path, stack = [start], [iter(sorted(graph[start]))]
        state[start] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            elif not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(sorted(graph.get(nxt, ()))))
    return []


# The layers, lowest first (docs/architecture.md). A module's layer is that of its top-level
# subpackage (or, for the top-level command modules, its own name); it may import modules of
# its own layer and of lower ones, never of a higher one. Names in one tuple are peers.
LAYERS: list[tuple[str, ...]] = [
    ("core",),  # plumbing; with the root package (`quirkymad/__init__.py`: the version)
    ("models", "datasets"),
    ("finetune",),
    ("features",),
    ("diagnostics", "transforms"),
    ("detectors",),
    ("stats",),  # below scoring: scoring computes its AUROCs and intervals with it
    ("scoring",),
    ("analysis", "explain"),
    ("figures",),
    ("workflow",),  # plan time: config, job table, planner; reads every stage's settings
    ("cli", "compare_runs", "verify", "rehearsal", "__main__"),  # the commands
]
LAYER_OF = {name: i for i, names in enumerate(LAYERS) for name in names}


def layer_of(module: str) -> int | None:
    """The layer index of a package module (None: in no layer)."""
    if module == PACKAGE:
        return LAYER_OF["core"]
    return LAYER_OF.get(module.split(".")[1])


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    """Every import of a module in a higher layer than the importer's, as "a -> b"."""
    return [
        f"{m} -> {t}"
        for m in sorted(graph)
        for t in sorted(graph[m])
        if layer_of(m) is not None and layer_of(t) is not None and layer_of(t) > layer_of(m)
    ]


def test_the_check_finds_a_circle_through_a_lazy_import(tmp_path):
    pkg = tmp_path / PACKAGE
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from quirkymad.sub import helper\n")
    (pkg / "sub" / "__init__.py").write_text("from quirkymad.sub.impl import helper\n")
    (pkg / "sub" / "impl.py").write_text("def helper():\n    from quirkymad import a\n")
    graph = import_graph(tmp_path)
    assert graph["quirkymad.a"] == {"quirkymad.sub"}  # a re-export: an edge to the package
    assert find_cycle(graph) == [
        "quirkymad.a",
        "quirkymad.sub",
        "quirkymad.sub.impl",
        "quirkymad.a",
    ]
    (pkg / "sub" / "impl.py").write_text("def helper():\n    import json\n")
    assert find_cycle(import_graph(tmp_path)) == []


def test_quirkymad_has_no_import_circle():
    graph = import_graph()
    assert "quirkymad.detectors.base" in graph["quirkymad.detectors"]
    cycle = find_cycle(graph)
    assert cycle == [], "import circle: " + " -> ".join(cycle)


def test_the_layer_check_finds_an_upward_import_also_a_lazy_one(tmp_path):
    pkg = tmp_path / PACKAGE
    for sub in ("core", "finetune", "features"):
        (pkg / sub).mkdir(parents=True)
        (pkg / sub / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "core" / "util.py").write_text("X = 1\n")
    (pkg / "features" / "helper.py").write_text("from quirkymad.core.util import X\n")
    (pkg / "finetune" / "lora.py").write_text("from quirkymad.core import util\n")
    assert upward_imports(import_graph(tmp_path)) == []
    (pkg / "finetune" / "lora.py").write_text(
        "def f():\n    from quirkymad.features.helper import X\n"
    )
    assert upward_imports(import_graph(tmp_path)) == [
        "quirkymad.finetune.lora -> quirkymad.features.helper"
    ]


def test_every_module_has_a_layer():
    tops = {m.split(".")[1] for m in module_names() if m != PACKAGE}
    assert tops == set(LAYER_OF), (
        f"not in LAYERS: {sorted(tops - set(LAYER_OF))}; "
        f"in LAYERS but gone: {sorted(set(LAYER_OF) - tops)}"
    )


def test_no_stage_imports_a_later_stage():
    up = upward_imports(import_graph())
    assert up == [], "upward import(s), against LAYERS (docs/architecture.md): " + "; ".join(up)
