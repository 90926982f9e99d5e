"""Package layout: every module imports on its own, and module-level imports form no cycle.

A module that only imports when something else was imported first (a hidden circle resolved
by import order) fails here in a fresh interpreter; two modules importing each other at module
level fail the graph check even when the order happens to work today.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "toolkit"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


#: module name -> file, for every module of the package (`__main__` runs the CLI, so not here).
MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py")) if p.name != "__main__.py"}


def _env() -> dict[str, str]:
    """The test environment, with this checkout first on PYTHONPATH (the rest kept as it is)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    return env


def _import_alone(module: str) -> tuple[str, int, str]:
    code = f"import {module} as m, sys; sys.stdout.write(m.__file__)"
    proc = subprocess.run([sys.executable, "-c", code], env=_env(), cwd=REPO, capture_output=True, text=True,
                          timeout=300)
    return module, proc.returncode, proc.stdout if proc.returncode == 0 else proc.stderr


@pytest.mark.slow
def test_every_module_imports_alone_in_a_fresh_interpreter():
    assert "toolkit.cli" in MODULES and "toolkit.attribution.extract" in MODULES
    with ThreadPoolExecutor(max_workers=max(2, min(4, os.cpu_count() or 1))) as pool:
        results = list(pool.map(_import_alone, sorted(MODULES)))
    failed = {mod: out.strip().splitlines()[-1:] for mod, rc, out in results if rc != 0}
    assert not failed, f"modules that do not import on their own: {failed}"
    elsewhere = {mod: out for mod, rc, out in results if Path(out).resolve() != MODULES[mod].resolve()}
    assert not elsewhere, f"imported from another tree than {REPO}: {elsewhere}"


def test_python_m_toolkit_cli_runs():
    proc = subprocess.run([sys.executable, "-m", "toolkit.cli", "--help"], env=_env(), cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "extract" in proc.stdout


def _resolve(name: str, level: int, importer: str) -> str:
    """Absolute module name of an import statement's `from` part (relative imports resolved)."""
    if not level:
        return name
    base = importer.split(".")
    if not MODULES[importer].name == "__init__.py":
        base = base[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join(base + ([name] if name else []))


def _targets(node: ast.Import | ast.ImportFrom, importer: str) -> set[str]:
    """Toolkit modules an import statement loads: the named module and the packages above it."""
    if isinstance(node, ast.Import):
        named = {alias.name for alias in node.names}
    else:
        base = _resolve(node.module or "", node.level, importer)
        named = {base} | {f"{base}.{alias.name}" for alias in node.names}
    loaded = set()
    for name in named:
        parts = name.split(".")
        loaded |= {".".join(parts[:i]) for i in range(1, len(parts) + 1)}
    return {m for m in loaded if m in MODULES and m != importer}


def module_level_graph() -> dict[str, set[str]]:
    """importer -> toolkit modules it imports in statements at the top of the module body.

    Imports inside functions (lazy) and under `if TYPE_CHECKING:` are not module level.
    """
    graph: dict[str, set[str]] = {}
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        edges: set[str] = set()
        for node in tree.body:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                edges |= _targets(node, module)
        graph[module] = edges
    return graph


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_module_level_imports_are_acyclic():
    graph = module_level_graph()
    assert graph["toolkit.attribution.extract"] >= {"toolkit.attribution.quotes", "toolkit"}  # the parser sees edges
    mutual = sorted((a, b) for a in graph for b in graph[a] if a < b and a in graph[b])
    assert not mutual, f"modules importing each other at module level: {mutual}"
    cycle = _find_cycle(graph)
    assert cycle is None, "module-level import cycle: " + " -> ".join(cycle or [])


def _top_level_names(module: str) -> set[str]:
    """Names a module defines at its top level (defs, classes, assignments, imports), and those its
    module-level `__getattr__` (PEP 562) offers: the strings of a top-level `frozenset({...})`
    assigned to a name ending in `_NAMES` (toolkit.cli's `_GROUP_NAMES`)."""
    names: set[str] = set()
    body = ast.parse(MODULES[module].read_text(encoding="utf-8")).body
    if any(isinstance(node, ast.FunctionDef) and node.name == "__getattr__" for node in body):
        for node in body:
            if (isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id.endswith("_NAMES") for t in node.targets)
                    and isinstance(node.value, ast.Call) and getattr(node.value.func, "id", "") == "frozenset"):
                names |= {c.value for c in ast.walk(node.value) if isinstance(c, ast.Constant) and isinstance(c.value, str)}
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                names |= {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return names


def _stale_references(path: Path) -> list[str]:
    """Imports (at any depth) and "module:function" strings naming toolkit code that is not here.

    Checked statically because an editable install of another checkout can still satisfy an
    import of a module this checkout no longer has.
    """
    where = f"{path.relative_to(REPO)}"
    importer = _module_name(path) if path.is_relative_to(PACKAGE) else ""
    stale = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            stale += [f"{where}:{node.lineno}: import {a.name}" for a in node.names
                      if a.name.split(".")[0] == "toolkit" and a.name not in MODULES]
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(node.module or "", node.level, importer) if node.level else node.module or ""
            if base.split(".")[0] != "toolkit":
                continue
            if base not in MODULES:
                stale.append(f"{where}:{node.lineno}: from {base} import ...")
                continue
            defined = _top_level_names(base)
            stale += [f"{where}:{node.lineno}: from {base} import {a.name}" for a in node.names
                      if f"{base}.{a.name}" not in MODULES and a.name not in defined]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and _names_code(node.value):
            if not _resolves(node.value):
                stale.append(f"{where}:{node.lineno}: {node.value!r}")
    return stale


def _names_code(text: str) -> bool:
    """"toolkit.x.y", "toolkit.x.y.Name" or "toolkit.x.y:name" (pkgutil.resolve_name spellings)."""
    dotted = text.replace(":", ".", 1)
    return text.startswith("toolkit.") and all(part.isidentifier() for part in dotted.split("."))


def _resolves(text: str) -> bool:
    mod, _, attr = text.partition(":")
    if not attr:
        parts = mod.split(".")
        mod = next((".".join(parts[:i]) for i in range(len(parts), 0, -1) if ".".join(parts[:i]) in MODULES), "")
        attr = ".".join(parts[len(mod.split(".")):]) if mod else ""
    return mod in MODULES and (not attr or ("." not in attr and attr in _top_level_names(mod)))


def test_every_toolkit_import_names_code_of_this_checkout():
    files = [p for folder in ("toolkit", "tests", "scripts") for p in sorted((REPO / folder).rglob("*.py"))]
    stale = [ref for p in files for ref in _stale_references(p)]
    assert not stale, "references to toolkit modules or names that do not exist here:\n" + "\n".join(stale)


def test_cycle_finder_finds_a_cycle():
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _find_cycle({"a": {"b"}, "b": set()}) is None
