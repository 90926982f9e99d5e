"""Start-up cost of the `qst` command: CPU seconds of `qst --help` and of a one-article `qst extract`.

Each figure is a whole process, as a user starts it (`python -m toolkit.cli ...` with this tree on
PYTHONPATH), measured by the kernel's own accounting of the finished child (os.wait4: user + system
CPU seconds; wall seconds beside it). After one warm-up per command and tree, the runs alternate
between the trees (A B A B ...), so a drift of the machine's speed hits both alike; the table gives
the median, the range, and the median of the pairwise ratios A/B.

    python scripts/bench_startup.py --runs 11 --compare /path/to/other/tree

Settings, the same for both trees:
- Bytecode: Python writes compiled modules once and reuses them (as an installed package does).
  They go to a temporary PYTHONPYCACHEPREFIX, so neither tree gets __pycache__ folders;
  `--no-bytecode` measures with PYTHONDONTWRITEBYTECODE=1 instead (every run compiles the sources).
- The lexicon cache (toolkit.lexicon.load) lives in a temporary QST_CACHE_DIR that the warm-up fills;
  `--no-lexicon-cache` sets QST_NO_CACHE=1 (the first run after an install or an edit of the lists).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ARTICLE = Path("annotations") / "articles" / "000_3d1b5b7bb4c0a814.txt"


def _env(tree: Path, scratch: Path, bytecode: bool, lexicon_cache: bool) -> dict[str, str]:
    """The environment of one tree's runs: its code first on the path, settings as the docstring says."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "QST_NO_CACHE")}
    env.update(PYTHONPATH=str(tree), COLUMNS="100", QST_CACHE_DIR=str(scratch / "cache"))
    if bytecode:
        env["PYTHONPYCACHEPREFIX"] = str(scratch / "pycache")
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    if not lexicon_cache:
        env["QST_NO_CACHE"] = "1"
    return env


def _run(cmd: list[str], tree: Path, env: dict[str, str]) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one finished process, from the kernel (os.wait4)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=tree, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} in {tree}: exit {proc.returncode}\n{err.decode(errors='replace')[-2000:]}")
    return usage.ru_utime + usage.ru_stime, wall


def _commands(scratch: Path, tree_index: int) -> dict[str, list[str]]:
    py = [sys.executable, "-m", "toolkit.cli"]
    out = scratch / f"out{tree_index}"
    return {"qst --help": [*py, "--help"],
            "qst extract (1 article)": [*py, "extract", str(ARTICLE), "--out", str(out)]}


def _row(name: str, a: list[tuple[float, float]], b: list[tuple[float, float]] | None) -> str:
    def stat(xs: list[float]) -> str:
        return f"{statistics.median(xs):.3f} ({min(xs):.3f}-{max(xs):.3f})"

    cells = [f"{name:24s}", stat([c for c, _ in a]), f"{statistics.median(w for _, w in a):.3f}"]
    if b is not None:
        ratios = [x[0] / y[0] for x, y in zip(a, b)]
        cells += [stat([c for c, _ in b]), f"{statistics.median(w for _, w in b):.3f}", f"{statistics.median(ratios):.2f}"]
    return " | ".join(cells)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tree", type=Path, default=Path(__file__).resolve().parents[1], help="tree A (default: this one)")
    ap.add_argument("--compare", type=Path, default=None, help="tree B, measured in turn with A")
    ap.add_argument("--runs", type=int, default=7, help="counted runs per command and tree (default 7)")
    ap.add_argument("--no-bytecode", action="store_true", help="PYTHONDONTWRITEBYTECODE=1: compile sources every run")
    ap.add_argument("--no-lexicon-cache", action="store_true", help="QST_NO_CACHE=1: read and validate the lists every run")
    args = ap.parse_args(argv)
    trees = [args.tree.resolve()] + ([args.compare.resolve()] if args.compare else [])
    with tempfile.TemporaryDirectory(prefix="qst-bench-startup-") as tmp:
        scratch = [Path(tmp) / f"tree{i}" for i in range(len(trees))]
        envs = [_env(t, s, not args.no_bytecode, not args.no_lexicon_cache) for t, s in zip(trees, scratch)]
        cmds = [_commands(s, i) for i, s in enumerate(scratch)]
        results: dict[str, list[list[tuple[float, float]]]] = {name: [[] for _ in trees] for name in cmds[0]}
        for name in cmds[0]:
            for i, tree in enumerate(trees):
                _run(cmds[i][name], tree, envs[i])  # warm-up: bytecode and lexicon cache written
            for _ in range(args.runs):
                for i, tree in enumerate(trees):
                    results[name][i].append(_run(cmds[i][name], tree, envs[i]))
    settings = f"bytecode {'off' if args.no_bytecode else 'cached'}, lexicon cache {'off' if args.no_lexicon_cache else 'warm'}"
    print(f"# {args.runs} runs each after a warm-up; {settings}; CPU s = user + system of the process (os.wait4)")
    head = ["command".ljust(24), f"A CPU s median (min-max)  [{trees[0]}]", "A wall s"]
    if len(trees) > 1:
        head += [f"B CPU s median (min-max)  [{trees[1]}]", "B wall s", "A/B CPU"]
    print(" | ".join(head))
    for name, per_tree in results.items():
        print(_row(name, per_tree[0], per_tree[1] if len(trees) > 1 else None))
    return 0


if __name__ == "__main__":
    sys.exit(main())
