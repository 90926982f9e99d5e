"""Functions fit on a screen: no function or method over 80 lines in the packages listed here.

The test walks the AST of every module under toolkit/ and asserts on `STRICT_PACKAGES` only;
packages still being shrunk are reported, not failed. Add a package to the tuple once it is
clean. `python tests/test_function_length.py` lists every long function in the tree.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_LINES = 80
#: Packages (folders under the repository root) that must hold no function over MAX_LINES.
STRICT_PACKAGES: tuple[str, ...] = ("toolkit/attribution", "toolkit/lexicon")


def long_functions(root: Path = ROOT / "toolkit", limit: int = MAX_LINES,
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


def test_no_long_functions_in_strict_packages() -> None:
    found = long_functions()
    strict = [f for f in found if any(f[0].startswith(p + "/") for p in STRICT_PACKAGES)]
    others = [f for f in found if f not in strict]
    print(f"\nfunctions over {MAX_LINES} lines outside {', '.join(STRICT_PACKAGES)}: {len(others)}")
    for rel, name, n in others:
        print(f"  {rel}:{name} {n}")
    assert not strict, "\n".join(f"{rel}: {name} has {n} lines (max {MAX_LINES})" for rel, name, n in strict)


if __name__ == "__main__":
    for rel, name, n in long_functions():
        print(f"{rel}: {name} {n}")
    sys.exit(0)
