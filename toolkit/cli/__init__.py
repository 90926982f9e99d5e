"""The `qst` command: a thin shell over the stage modules.

Each command group's subcommands live in toolkit/cli/<group>.py and register themselves with its
`register(app)`, so stages can grow without touching each other's code. `COMMANDS` names each
command's module, and a module is imported only when one of its commands is looked up (`LazyGroup`):
a `qst` process pays for the command it runs, not for all seventeen. The Typer app itself lives in
`toolkit.cli.group` (imported on first use of `app`, `module_commands`, ...), so that `main` can
serve a `--help` from `toolkit.cli.helpcache` without importing Typer or Rich at all.
"""

from __future__ import annotations

import sys
from typing import Any

from toolkit.errors import ToolkitError

#: Every command and the module in toolkit/cli that registers it, in the order `qst --help` lists
#: them (pipeline order). The module is imported only when one of its commands is looked up: `qst
#: extract` imports toolkit.cli.extract alone, `qst --help` all of them for their help texts.
#: tests/test_cli_startup.py checks this table against what the modules register.
COMMANDS: dict[str, str] = {
    "extract": "extract", "train-attribution": "attribution", "evaluate-attribution": "evaluation",
    "export": "labelstudio", "push": "labelstudio", "pull": "labelstudio", "import": "labelstudio",
    "ls-config": "labelstudio", "status": "labelstudio", "agreement": "agreement", "train": "stance",
    "predict": "stance", "select": "stance", "build-dataset": "dataset", "publish": "dataset",
    "extract-corpus": "corpus", "run": "pipeline",
}
#: Command modules, in pipeline order.
COMMAND_MODULES = list(dict.fromkeys(COMMANDS.values()))

#: The names `toolkit.cli` has always offered that live in `toolkit.cli.group` (with Typer).
_GROUP_NAMES = frozenset({"app", "module_commands", "LazyGroup", "_LazyCommands", "_listing", "_field", "_SETTINGS",
                          "_HELP", "_LISTED"})


def __getattr__(name: str) -> Any:
    """`toolkit.cli.app` and the group's other names, importing Typer on first use (PEP 562)."""
    if name in _GROUP_NAMES:
        from toolkit.cli import group

        return getattr(group, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


#: Set by `main`: this process runs one command and ends (the `qst` entry point, not `app` called in a
#: longer-lived process such as a test's CliRunner). See `one_command_process`.
_ONE_COMMAND = False


def one_command_process() -> bool:
    """Whether this process was started to run one `qst` command (by `main`) and ends after it: a
    command may then make choices that would not suit a process that goes on (toolkit.cli.extract
    imports pyarrow without numpy)."""
    return _ONE_COMMAND


def command_names() -> list[str]:
    """Every `qst` command, in help order."""
    return list(COMMANDS)


def _error(message: str) -> None:
    from rich.console import Console
    from rich.markup import escape

    from toolkit.redact import redact

    # soft_wrap: one line however long the path; escape: a "[…]" in a message is not markup.
    Console(stderr=True).print(f"[bold red]error:[/] {escape(redact(message))}", highlight=False, markup=True, soft_wrap=True)


def main() -> None:
    """Entry point: run the app; bad input or a bad option is one `error:` line and exit code 2.

    Typer runs in non-standalone mode so that its usage errors (an option out of range, a
    missing argument) reach us instead of being drawn as a multi-line box. Every log line and
    every error message goes through toolkit.redact: no API key, token or URL password reaches
    the terminal, whichever library wrote the text.
    """
    from toolkit.cli import helpcache

    if helpcache.replay(sys.argv[1:]):
        sys.exit(0)
    import logging

    import typer

    from toolkit.cli.group import app
    from toolkit.cli.options import is_no_args_help, usage_line
    from toolkit.redact import install_log_redaction

    global _ONE_COMMAND
    _ONE_COMMAND = True
    install_log_redaction()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    recording = helpcache.record(sys.argv[1:])
    try:
        code = app(standalone_mode=False)
    except ToolkitError as exc:
        _error(str(exc))
        sys.exit(2)
    except typer.Abort:
        print("Aborted!", file=sys.stderr)
        sys.exit(1)
    except Exception as exc:
        exit_code = getattr(exc, "exit_code", None)
        if not hasattr(exc, "format_message") or not isinstance(exit_code, int):
            raise  # a bug: Typer's pretty traceback
        if not is_no_args_help(exc):
            _error(usage_line(exc))
        sys.exit(exit_code)
    finally:
        recording.stop()
    code = code if isinstance(code, int) else 0
    if code == 0:
        recording.save()
    sys.exit(code)
