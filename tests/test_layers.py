"""The layered house, checked from the source (AST): arrows only downward, no cycles.

Layers (README, "Layout"): 0 shared records (errors, paths, results, tabular), 1 evidence,
2 engines (meta, survival, firth), 3 questions, 4 figures (plots), 5 outputs, 6 report and CLI.
A module may import modules of its own layer or below; every import counts, including those
inside functions. Figure modules never import an engine or a question (they draw results that
were computed elsewhere); the top-level aliases (``jdmstats/schema.py``, ...) only re-export.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parent.parent / "jdmstats"

LAYERS = {
    "jdmstats": 0, "jdmstats.errors": 0, "jdmstats.paths": 0, "jdmstats.results": 0,
    "jdmstats.tabular": 0,
    "jdmstats.evidence": 1,
    "jdmstats.meta": 2, "jdmstats.survival": 2, "jdmstats.firth": 2,
    "jdmstats.questions": 3,
    "jdmstats.plots": 4,
    "jdmstats.outputs": 5,
    "jdmstats.report": 6, "jdmstats.cli": 6, "jdmstats.__main__": 6,
}  # fmt: skip
ALIASES = {"schema", "harmonise", "validate", "datasets", "descriptive", "prevalence", "delay",
           "response", "pipeline"}  # fmt: skip
ENGINES_AND_QUESTIONS = ("jdmstats.meta", "jdmstats.survival", "jdmstats.firth",
                         "jdmstats.questions")  # fmt: skip


def _name(path: Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_name(p): p for p in sorted(PKG.rglob("*.py"))}


MODULES = _modules()


def _layer(module: str) -> int:
    best = None
    for prefix, layer in LAYERS.items():
        if module == prefix or module.startswith(prefix + "."):
            if best is None or len(prefix) > len(best[0]):
                best = (prefix, layer)
    if best is None:
        raise AssertionError(f"{module} is in no layer: add it to LAYERS (tests/test_layers.py)")
    return best[1]


def _resolve(name: str) -> str | None:
    """The jdmstats module an import names (a module, or the module holding the name)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def imports(module: str) -> set[str]:
    """Every jdmstats module that ``module`` imports, anywhere in its source."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out: set[str] = set()
    typing_only = set()
    for node in ast.walk(tree):  # ``if TYPE_CHECKING:`` blocks are never executed
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            typing_only |= {id(n) for n in ast.walk(node)}
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - (node.level - 1)]
                base = ".".join(parts + ([base] if base else []))
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base
                     for a in node.names]  # fmt: skip
        else:
            continue
        for n in names:
            if n == "jdmstats" or n.startswith("jdmstats."):
                target = _resolve(n)
                if target and target != module:
                    out.add(target)
    # the package itself is imported by every submodule: not an edge
    out.discard("jdmstats")
    return out


RAW = {m: imports(m) for m in MODULES}
ALIAS_TARGET = {f"jdmstats.{a}": next(iter(RAW[f"jdmstats.{a}"])) for a in ALIASES}
GRAPH = {m: {ALIAS_TARGET.get(t, t) for t in targets} for m, targets in RAW.items()}
REAL = [m for m in MODULES if not (m.count(".") == 1 and m.split(".")[1] in ALIASES)]


@pytest.mark.parametrize("module", REAL)
def test_imports_point_only_downward(module):
    mine = _layer(module)
    up = sorted(t for t in GRAPH[module] if _layer(t) > mine)
    assert not up, f"{module} (layer {mine}) imports higher layers: {up}"


@pytest.mark.parametrize("module", [m for m in REAL if m.startswith(ENGINES_AND_QUESTIONS)])
def test_engines_and_questions_import_no_runner_output_figure_or_report(module):
    bad = sorted(t for t in GRAPH[module]
                 if t.startswith(("jdmstats.outputs", "jdmstats.plots", "jdmstats.report",
                                  "jdmstats.cli")))  # fmt: skip
    assert not bad, f"{module} imports {bad}"


@pytest.mark.parametrize("module", [m for m in REAL if m.startswith("jdmstats.plots")])
def test_figures_never_fit(module):
    bad = sorted(t for t in GRAPH[module] if t.startswith(ENGINES_AND_QUESTIONS))
    assert not bad, f"{module} draws figures but imports {bad} (compute in the questions layer)"


def test_aliases_only_re_export():
    for name in ALIASES:
        module = f"jdmstats.{name}"
        assert len(RAW[module]) == 1 and _layer(ALIAS_TARGET[module]) >= 1, module


@pytest.mark.parametrize("module", REAL)
def test_library_code_imports_no_alias(module):
    used = sorted(t for t in RAW[module] if t in ALIAS_TARGET)
    assert not used, f"{module} imports the aliases {used}: import their layer's modules"


def _cycles() -> list[list[str]]:
    graph = {m: {t for t in GRAPH[m] if t in REAL} for m in REAL}
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):  # Tarjan's strongly connected components
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles_counting_function_local_imports():
    assert _cycles() == []


def test_the_checker_sees_function_local_imports():
    # the rules above can fail: imports inside functions are edges like any other
    assert "jdmstats.plots.style" in GRAPH["jdmstats.outputs.steps"]  # imported in a function
    assert "jdmstats.questions.prevalence" in GRAPH["jdmstats.outputs.steps"]
