"""The cached help (toolkit.cli.helpcache): the same bytes as the help drawn by Typer, for every
help, on a pipe and on a real terminal (a pseudo-terminal: colours, its own width); never an entry
of another setting or of changed code."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

from toolkit.cli import COMMANDS

CMD = [sys.executable, "-m", "toolkit.cli"]


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {**os.environ, "QST_CACHE_DIR": str(tmp_path / "cache"), "COLUMNS": "100", **extra}
    env.pop("QST_NO_CACHE", None)
    return env


def _help(args: list[str], env: dict[str, str]) -> bytes:
    proc = subprocess.run([*CMD, *args], capture_output=True, env=env, timeout=120)
    assert proc.returncode == 0 and proc.stderr == b"", proc.stderr
    return proc.stdout


def test_every_help_from_the_cache_is_the_help_typer_draws(tmp_path):
    env = _env(tmp_path)
    for args in [["--help"], *([name, "--help"] for name in COMMANDS)]:
        drawn = _help(args, env)
        assert _help(args, env) == drawn == _help(args, {**env, "QST_NO_CACHE": "1"}), args
    assert len(list((tmp_path / "cache").glob("help*.json"))) == len(COMMANDS) + 1
    plain = {**env, "TYPER_USE_RICH": "0"}  # another setting: another entry, Typer's plain help
    assert _help(["--help"], plain) == _help(["--help"], plain) == _help(["--help"], {**plain, "QST_NO_CACHE": "1"})
    assert _help(["--help"], plain) != _help(["--help"], env)


def _on_terminal(args: list[str], env: dict[str, str]) -> bytes:
    """What the command writes to a pseudo-terminal (80 columns, as the kernel reports it)."""
    leader, follower = pty.openpty()
    try:
        proc = subprocess.Popen([*CMD, *args], stdin=follower, stdout=follower, stderr=follower, env=env)
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the follower side closed
                break
            if not chunk:
                break
            chunks.append(chunk)
        assert proc.wait(timeout=120) == 0
    finally:
        os.close(leader)
    return b"".join(chunks)


def test_help_on_a_terminal_from_the_cache_is_the_same(tmp_path):
    env = _env(tmp_path, TERM="xterm-256color")
    env.pop("COLUMNS")
    drawn = _on_terminal(["extract", "--help"], env)
    assert b"\x1b[" in drawn  # colours: a terminal
    assert _on_terminal(["extract", "--help"], env) == drawn
    assert _on_terminal(["extract", "--help"], {**env, "QST_NO_CACHE": "1"}) == drawn
    assert _help(["extract", "--help"], env) != drawn  # a pipe is another setting


def test_an_entry_of_changed_code_or_a_damaged_one_is_not_served(tmp_path):
    env = _env(tmp_path)
    drawn = _help(["--help"], env)
    (entry,) = (tmp_path / "cache").glob("help-*.json")
    data = json.loads(entry.read_text(encoding="utf-8"))
    data["value"]["stdout"] = "served from the cache\n"
    entry.write_text(json.dumps(data), encoding="utf-8")
    assert _help(["--help"], env) == b"served from the cache\n"  # the entry is what is served ...
    data["value"]["files"][0][2] += 1  # ... until a file that drew it is another one (its time here)
    entry.write_text(json.dumps(data), encoding="utf-8")
    assert _help(["--help"], env) == drawn
    (entry,) = (tmp_path / "cache").glob("help-*.json")
    ours = [f for f in json.loads(entry.read_text(encoding="utf-8"))["value"]["files"] if f[3] is not None]
    assert any(f[0].endswith(os.path.join("toolkit", "cli", "group.py")) for f in ours)  # the project's by bytes
    entry.write_text("{not json", encoding="utf-8")
    assert _help(["--help"], env) == drawn
    assert _help(["--help"], {**env, "COLUMNS": "70"}) != drawn  # another width: drawn anew, not the entry
