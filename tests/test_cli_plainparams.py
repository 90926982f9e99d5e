"""The pydantic-free coercion of plain parameters (toolkit.cli.plainparams) gives Typer's own outcomes.

For every parameter of every `qst` command that it takes over, each value is coerced both ways,
by `PlainRuntimeParam` and by the pydantic `RuntimeParam` Typer builds itself, and the results
(value and type) or the errors (class and message) must be the same.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer._click import Context
from typer._coercion import build_runtime_param

from toolkit.cli import COMMANDS
from toolkit.cli.group import app, module_commands
from toolkit.cli.plainparams import PlainRuntimeParam

ROOT = Path(__file__).resolve().parents[1]


def _plain_params() -> list[tuple[str, Any]]:
    """(command/param name, parameter) for each parameter the plain coercion takes over, with `--help`."""
    out = []
    for name, module in COMMANDS.items():
        command = module_commands(module)[name]
        for param in command.get_params(Context(command)):
            if isinstance(getattr(param, "_runtime_param", None), PlainRuntimeParam):
                out.append((f"{name}/{param.name}", param))
    return out


def _outcome(runtime: Any, value: Any, param: Any) -> tuple[str, Any]:
    """The coerced value and its type, or the error's class and message."""
    try:
        result = runtime.coerce(value, param=param, ctx=Context(module_commands("extract")["extract"]))
    except Exception as exc:  # noqa: BLE001 - the error itself is the outcome compared
        return "error", (type(exc).__name__, getattr(exc, "message", str(exc)))
    return "value", (type(result).__name__, result)


def _values(tmp_path: Path) -> list[Any]:
    file = tmp_path / "a.txt"
    file.write_text("x", encoding="utf-8")
    return ["x", "./x", "a//b/", "", "-", str(file), str(file) + "/", str(tmp_path), "~/x", "ä ö", Path("out/quotes"),
            True, False, 3, None, ("x", "./y"), ["a", "b"], (), b"bytes"]


PARAMS = _plain_params()


def test_the_plain_coercion_covers_extract() -> None:
    """`qst extract`'s eight parameters and its `--help` are all plain (so no pydantic is built)."""
    names = {n for n, _ in PARAMS if n.startswith("extract/")}
    assert names == {f"extract/{p}" for p in ("articles", "out", "registry", "lexicon", "speakers", "skip_bad",
                                              "attribution_model", "types", "help")}


@pytest.mark.parametrize("name,param", PARAMS, ids=[n for n, _ in PARAMS])
def test_plain_coercion_gives_typers_outcome(name: str, param: Any, tmp_path: Path) -> None:
    typer_own = build_runtime_param(param.type_descriptor)
    for value in _values(tmp_path):
        assert _outcome(param._runtime_param, value, param) == _outcome(typer_own, value, param), (name, value)


def test_absent_paths_read_as_typers(tmp_path: Path) -> None:
    """A path that is not there, also typed with a trailing slash (which `Path` drops, so it is left
    to Typer's own coercion), gives the same as Typer's."""
    param = dict(PARAMS)["extract/articles"]
    typer_own = build_runtime_param(param.type_descriptor)
    for value in [str(tmp_path / "missing"), str(tmp_path / "missing") + "/"]:
        assert _outcome(param._runtime_param, value, param) == _outcome(typer_own, value, param)


def test_group_options_are_plain() -> None:
    """The group's own options (completion, `--help`) take the plain coercion too."""
    import typer

    group = typer.main.get_command(app)
    params = group.get_params(Context(group))
    assert {p.name for p in params if isinstance(p._runtime_param, PlainRuntimeParam)} >= {"help", "install_completion",
                                                                                            "show_completion"}


def test_extract_process_imports_no_pydantic(tmp_path: Path) -> None:
    """A one-article `qst extract` never imports pydantic, and writes its files."""
    probe = ("import sys\nfrom toolkit.cli import main\ntry:\n    main()\nexcept SystemExit:\n    pass\n"
             "print('pydantic' in sys.modules, file=sys.stderr)\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QST_CACHE_DIR": str(tmp_path / "cache")}
    article = ROOT / "annotations" / "articles" / "000_3d1b5b7bb4c0a814.txt"
    proc = subprocess.run([sys.executable, "-c", probe, "extract", str(article), "--out", str(tmp_path / "o")],
                          capture_output=True, text=True, timeout=120, env=env, cwd=ROOT)
    assert proc.stderr.splitlines()[-1] == "False", proc.stderr
    assert (tmp_path / "o" / "quotes.jsonl").is_file()
