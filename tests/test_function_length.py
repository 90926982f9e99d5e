"""Functions fit on a screen: no function or method over 80 lines anywhere in the toolkit package.

The test walks the AST of every module under toolkit/ (found on disk, so a new module or
package is covered without being listed) and fails on any function longer than MAX_LINES.
`python tests/test_function_length.py` lists every long function in the tree.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_LINES = 80
PACKAGE = ROOT / "toolkit"


def long_functions(root: Path = PACKAGE, limit: int = MAX_LINES,
                   base: Path = ROOT) -> list[tuple[str, str, int]]:
    """(file relative to the repository, qualified name, lines) of every function longer than `limit`,
    decorators excluded, nested functions counted on their own and inside their parent."""
    out: list[tuple[str, str, int]] = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        rel = path.relative_to(base).as_posix()

        def visit(node: ast.AST, prefix: str) -> None:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    n = child.end_lineno - child.lineno + 1  # type: ignore[operator]
                    if n > limit:
                        out.append((rel, prefix + child.name, n))
                    visit(child, f"{prefix}{child.name}.")
                elif isinstance(child, ast.ClassDef):
                    visit(child, f"{prefix}{child.name}.")

        visit(tree, "")
    return out


def test_walker_finds_a_long_function(tmp_path: Path) -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_LINES))
    (tmp_path / "m.py").write_text(f"class C:\n    def f(self):\n    {body.replace(chr(10), chr(10) + '    ')}\n"
                                   f"def short():\n    return 1\n", encoding="utf-8")
    assert long_functions(tmp_path, base=tmp_path) == [("m.py", "C.f", MAX_LINES + 1)]
    assert long_functions(tmp_path, limit=MAX_LINES + 1, base=tmp_path) == []


def test_walk_covers_every_toolkit_module() -> None:
    """With limit 0 every function counts as long: each toolkit module that defines a function
    (in any subpackage, however nested) must then be reported, so none escapes the walk."""
    defining = set()
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        if any(isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) for n in ast.walk(tree)):
            defining.add(path.relative_to(ROOT).as_posix())
    assert len({p.parent for p in PACKAGE.rglob("*.py")}) > 1, "toolkit/ has no subpackage: wrong root?"
    assert {rel for rel, _, _ in long_functions(limit=0)} == defining


def test_no_long_functions_in_toolkit() -> None:
    found = long_functions()
    assert not found, "\n".join(f"{rel}: {name} has {n} lines (max {MAX_LINES})" for rel, name, n in found)


if __name__ == "__main__":
    for rel, name, n in long_functions():
        print(f"{rel}: {name} {n}")
    sys.exit(0)
