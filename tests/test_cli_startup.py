"""`qst --help` stays light: the CLI imports a stage's modules only when its command runs.

A real outcome, not a timing: a fresh interpreter renders the help of the app and of every
command, and none of the heavy libraries may have been imported. The help texts that name
library constants without importing them are checked against the constants.
"""

from __future__ import annotations

import os
import subprocess
import sys

HEAVY = ("pandas", "sklearn", "scipy", "datasets", "dask", "pyarrow", "label_studio_sdk", "matplotlib",
         "somajo", "statsmodels", "skops", "huggingface_hub", "numpy")

_PROBE = r"""
import sys
from typer.testing import CliRunner
from toolkit.cli import app, command_names
runner = CliRunner()
names = command_names()
for args in [["--help"]] + [[n, "--help"] for n in names]:
    result = runner.invoke(app, args)
    assert result.exit_code == 0, (args, result.output)
print(len(names), " ".join(sorted(m for m in sys.modules if m.split(".")[0] in HEAVY and "." not in m)))
"""


def test_help_of_every_command_imports_no_heavy_library():
    code = f"HEAVY = {HEAVY!r}\n" + _PROBE
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    n_commands, *loaded = proc.stdout.split()
    assert int(n_commands) >= 12
    assert loaded == []


def test_command_table_matches_what_the_modules_register():
    """`COMMANDS` names each command's module without importing it; the modules are the truth."""
    import importlib

    import typer

    from toolkit.cli import COMMAND_MODULES, COMMANDS

    registered: dict[str, str] = {}
    for module in COMMAND_MODULES:
        sub = typer.Typer()
        importlib.import_module(f"toolkit.cli.{module}").register(sub)
        registered.update({c.name: module for c in sub.registered_commands})
    assert registered == COMMANDS
    assert list(registered) == list(COMMANDS)  # the help lists them in this order


def test_help_lists_every_command_and_an_unknown_one_gets_suggestions():
    from typer.testing import CliRunner

    from toolkit.cli import COMMANDS, app

    result = CliRunner().invoke(app, ["--help"], terminal_width=200)
    assert result.exit_code == 0
    # A command's row starts right after the panel's border; a wrapped help line is indented.
    rows = [line[2:].split(maxsplit=1) for line in result.output.splitlines() if line[:2] == "│ " and line[2:3] != " "]
    listed = [row[0] for row in rows if row and row[0] in COMMANDS]
    assert listed == list(COMMANDS)
    assert all(len(row) == 2 for row in rows if row and row[0] in COMMANDS)  # each with its help text
    proc = subprocess.run([sys.executable, "-m", "toolkit.cli", "extrac"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "error: No such command 'extrac'. Did you mean 'extract', 'extract-corpus'?"


_HELP_PROBE = r"""
import sys
from toolkit.cli import main
sys.argv = ["qst", "--help"]
try:
    main()
except SystemExit:
    pass
print(" ".join(sorted(m for m in sys.modules if m.startswith("toolkit.cli."))), file=sys.stderr)
print(" ".join(sorted(m for m in sys.modules if m in ("typer", "rich", "click"))) or "-", file=sys.stderr)
"""


def test_help_from_the_cached_listing_is_the_help_of_the_commands(tmp_path):
    """`qst --help` draws the command list from the cached listing (toolkit.cli.group._listing) once
    the cache holds it: the same bytes as from the commands themselves, without importing their
    modules; once the help cache (toolkit.cli.helpcache) holds the whole text, not even Typer."""
    env = {**os.environ, "QST_CACHE_DIR": str(tmp_path / "cache"), "COLUMNS": "100"}
    env.pop("QST_NO_CACHE", None)

    def run(e: dict[str, str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-c", _HELP_PROBE], capture_output=True, text=True, timeout=120, env=e)

    runs = [run(env)]
    assert (tmp_path / "cache").is_dir(), runs[0].stderr
    for entry in (tmp_path / "cache").glob("help-*.json"):
        entry.unlink()  # the listing stays: the next run draws the help from it
    runs += [run(env), run(env), run({**env, "QST_NO_CACHE": "1"})]
    assert all(r.returncode == 0 for r in runs), [r.stderr for r in runs]
    assert runs[0].stdout == runs[1].stdout == runs[2].stdout == runs[3].stdout
    assert "extract-corpus" in runs[1].stdout and "Find direct, indirect and mixed quotes" in runs[1].stdout
    # no command module on the cached listing's path
    modules = [r.stderr.splitlines() for r in runs]
    assert modules[1] == ["toolkit.cli.group toolkit.cli.helpcache toolkit.cli.options toolkit.cli.plainparams", "rich typer"]
    assert modules[2] == ["toolkit.cli.helpcache", "-"]  # the cached help: no Typer, no Rich, no group
    assert "toolkit.cli.labelstudio" in modules[3][0].split()  # without the cache: all of them


def test_help_constants_match_the_library():
    from toolkit import agreement
    from toolkit.cli import agreement as cli_agreement, labelstudio as cli_ls, stance as cli_stance
    from toolkit.labelstudio import tasks
    from toolkit.stance import models as baseline

    assert cli_agreement.DEFAULT_RULE_TEXT == " > ".join(agreement.DEFAULT_RULE)
    assert cli_ls.RULE_NAMES == tuple(tasks.RULES)
    assert cli_stance.MODEL_NAMES == tuple(baseline.MODEL_NAMES)


#: What `qst extract` must never import: the stance, dataset, Label Studio and corpus-engine stacks.
#: (pyarrow it needs, for quotes.parquet; SoMaJo for sentences.)
EXTRACT_NEVER = ("sklearn", "scipy", "datasets", "dask", "distributed", "label_studio_sdk", "matplotlib",
                 "statsmodels", "skops", "huggingface_hub", "pandas")
#: ... and, once the cache (toolkit.cache) holds the bundled word lists and the registry: no YAML
#: parser, no jsonschema (records are checked with fastjsonschema), no other command's module.
EXTRACT_WARM_NEVER = EXTRACT_NEVER + ("yaml", "jsonschema", "typer.rich_utils", "markdown_it", "pygments") + tuple(
    f"toolkit.cli.{m}" for m in ("attribution", "evaluation", "labelstudio", "agreement", "stance", "dataset", "corpus",
                                 "pipeline"))

_EXTRACT_PROBE = r"""
import sys
from typer.testing import CliRunner
from toolkit.cli import app
result = CliRunner().invoke(app, ["extract", sys.argv[1], "--out", sys.argv[2]])
assert result.exit_code == 0, result.output
print(" ".join(sorted(m for m in sys.modules if m in NEVER or (m.split(".")[0] in NEVER and "." not in m))) or "-")
"""


def test_extract_imports_no_stage_it_does_not_run(tmp_path):
    from toolkit import ANNOTATIONS_DIR

    env = {**os.environ, "QST_CACHE_DIR": str(tmp_path / "cache")}
    env.pop("QST_NO_CACHE", None)
    outputs = []
    for run, never in ((1, EXTRACT_NEVER), (2, EXTRACT_WARM_NEVER)):
        code = f"NEVER = {never!r}\n" + _EXTRACT_PROBE
        out = tmp_path / f"q{run}"
        proc = subprocess.run([sys.executable, "-c", code, str(ANNOTATIONS_DIR / "articles"), str(out)],
                              capture_output=True, text=True, timeout=300, env=env)
        assert proc.returncode == 0, proc.stderr
        assert (out / "quotes.jsonl").stat().st_size > 0 and (out / "quotes.parquet").exists()
        assert proc.stdout.split() == ["-"], run
        outputs.append((out / "quotes.jsonl").read_bytes())
    assert outputs[0] == outputs[1]  # the cached lists and registry give the same quotes
    assert {p.name.split("-")[0] for p in (tmp_path / "cache").glob("*.json")} == {"lexicon", "registry", "patterns"}


_MAIN_PROBE = r"""
import sys
from toolkit.cli import main
sys.argv = ["qst", "extract", sys.argv[1], "--out", sys.argv[2]]
try:
    main()
except SystemExit as exc:
    assert exc.code == 0, exc.code
print(" ".join(sorted(m for m in sys.modules if m.split(".")[0] in NEVER and "." not in m)) or "-")
"""
#: What the `qst extract` process (toolkit.cli.main) does not import once the cache is warm, beyond
#: EXTRACT_WARM_NEVER: numpy (pyarrow is imported without it, toolkit.cli.extract._pyarrow_without_numpy).
EXTRACT_PROCESS_NEVER = EXTRACT_WARM_NEVER + ("numpy",)


def test_the_extract_process_imports_no_numpy_and_writes_the_same_parquet(tmp_path):
    """`qst extract` as its own process keeps numpy out of pyarrow; the files are the bytes that a
    pyarrow with numpy writes (the CliRunner run inside a process that goes on imports it)."""
    from toolkit import ANNOTATIONS_DIR

    env = {**os.environ, "QST_CACHE_DIR": str(tmp_path / "cache")}
    env.pop("QST_NO_CACHE", None)
    articles = str(ANNOTATIONS_DIR / "articles")
    runner = subprocess.run([sys.executable, "-c", "NEVER = ('numpy',)\n" + _EXTRACT_PROBE, articles, str(tmp_path / "r")],
                            capture_output=True, text=True, timeout=300, env=env)
    assert runner.returncode == 0, runner.stderr
    assert runner.stdout.split() == ["numpy"]  # that pyarrow had numpy
    loaded = []
    for run in (1, 2):
        out = tmp_path / f"m{run}"
        proc = subprocess.run([sys.executable, "-c", f"NEVER = {EXTRACT_PROCESS_NEVER!r}\n" + _MAIN_PROBE, articles,
                               str(out)], capture_output=True, text=True, timeout=300, env=env)
        assert proc.returncode == 0, proc.stderr
        loaded.append(proc.stdout.split())
        for name in ("quotes.parquet", "quotes.jsonl"):
            assert (out / name).read_bytes() == (tmp_path / "r" / name).read_bytes(), name
    assert loaded == [["-"], ["-"]]


def test_no_progress_writes_what_a_transient_rich_progress_writes(monkeypatch):
    """Off a terminal `qst extract` skips Rich's progress bar (toolkit.cli.extract._progress): its
    stand-in writes what a transient `Progress` writes there (one empty line), also when the
    block ends in an error."""
    import io

    from rich.console import Console
    from rich.progress import Progress

    from toolkit.cli import extract

    def written(make, fail: bool) -> str:
        console = Console(file=io.StringIO(), width=100)
        monkeypatch.setattr(extract, "console", console)
        try:
            with make(console) as progress:
                task = progress.add_task("extract", total=None, q=0)
                progress.update(task, advance=1, q=3)
                if fail:
                    raise ValueError("stop")
        except ValueError:
            pass
        return console.file.getvalue()

    for fail in (False, True):
        rich_bytes = written(lambda c: Progress(console=c, transient=True), fail)
        assert rich_bytes == written(lambda c: extract._NoProgress(), fail) == "\n"
    assert isinstance(extract._progress(), extract._NoProgress)  # pytest's stderr is no terminal
